# bash completion for esc(1)
#
# Every list comes from the binary (`esc __complete WHAT`): commands, flags,
# entry kinds, severities, triggers, paths, channels and case ids follow the
# installed esc and the active config, honouring --db and --config on the line.
#
# Install: esc completions bash > ~/.local/share/bash-completion/completions/esc

# Flags that take no value; every other flag takes the next word.
_esc_novalue=" -h --help --version -q --quiet --dry-run --force --again --exit-code --no-input --unnecessary --newest --all --mine --clear "

_esc() {
    local cur prev words cword split=false
    if declare -F _init_completion >/dev/null; then
        _init_completion -s || return
    else
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    fi

    # Walk the words before the cursor: the esc to ask (with --db/--config),
    # the command path (e.g. "outbox drop") and how many positionals follow it.
    local -a esc=("${words[0]/#\~/$HOME}") cmd=() values=()
    local i w n=0
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
            --db=* | --config=*) w=${w#*=} && esc+=("${words[i]%%=*}" "${w/#\~/$HOME}") ;;
            --db | --config) w=${words[i + 1]} && esc+=("${words[i]}" "${w/#\~/$HOME}") && ((++i)) ;;
            -*) [[ $w == *=* || $_esc_novalue == *" $w "* ]] || ((++i)) ;;
            *)
                if ((${#cmd[@]} == 0)); then
                    cmd=("$w")
                elif ((n == 0 && ${#cmd[@]} == 1)) && _esc_values subcommands "${cmd[0]}" &&
                    [[ " ${values[*]} " == *" $w "* ]]; then
                    cmd+=("$w")
                else
                    ((++n))
                fi
                ;;
        esac
    done
    values=()

    if [[ $prev == -* && $prev != *=* && $_esc_novalue != *" $prev "* ]]; then
        # The value of the flag before the cursor.
        case $prev in
            --db | --config) _esc_files; return ;;
            --color) values=(auto always never) ;;
            --severity) _esc_values severities ;;
            --trigger | --remove-trigger) _esc_values triggers ;;
            --state) _esc_values states ;;
            --kind) _esc_values kinds && values+=(title) ;;
            --channel) _esc_values channels ;;
            --path) _esc_values paths ;;
            --status) values=(open escalated resolved all active) ;;
            --to) [[ ${cmd[0]} == send ]] || { _esc_files; return; }
                _esc_values paths ;;
            --by) [[ ${cmd[0]} == stats ]] && values=(month engineer path trigger severity customer)
                [[ ${cmd[0]} == report ]] && values=(month engineer path trigger severity) ;;
            --chart) values=(cases escalations resolved rate tte tte-p90 tta tta-p90 ttr ttr-p90 forced unnecessary updates csat) ;;
            --format)
                # "Output format: table, json, csv" in the flag's description.
                local -a lines
                mapfile -t lines < <("${esc[@]}" __complete flags "${cmd[@]}" 2>/dev/null)
                for w in "${lines[@]}"; do
                    [[ $w == --format$'\t'"Output format: "* ]] && IFS=', ' read -ra values <<<"${w#*: }"
                done
                ;;
        esac
    elif [[ $cur == -* ]]; then
        _esc_values flags "${cmd[@]}"
    elif ((${#cmd[@]} == 0)); then
        _esc_values commands
    else
        case "${cmd[*]}:$n" in
            outbox:0 | config:0) _esc_values subcommands "${cmd[0]}" ;;
            "outbox drop:0" | "outbox retry:0") _esc_values deliveries ;;
            show:0 | log:0 | edit:0 | check:0 | summary:0 | send:0 | ack:0 | resolve:0 | update:0 | snooze:0 | take:0)
                _esc_cases cases; return ;;
            reopen:0 | review:0) _esc_cases cases resolved; return ;;
            log:1) _esc_values kinds ;;
            state:1) _esc_values states ;;
            help:0) _esc_values commands ;;
            help:1) _esc_values subcommands "${words[cword - 1]}" ;;
            completions:0) values=(bash zsh fish) ;;
            import:0) _esc_files; return ;;
        esac
    fi

    COMPREPLY=()
    for w in "${values[@]}"; do
        [[ $w == "$cur"* ]] && COMPREPLY+=("$w")
    done
}

# Cases: numbers in numeric order, then refs. When several match, each is
# shown with its title ("12  Checkout fails"); one alone is inserted bare.
_esc_cases() {
    local -a lines ids
    local line
    mapfile -t lines < <("${esc[@]}" __complete "$@" 2>/dev/null)
    for line in "${lines[@]}"; do
        [[ ${line%%$'\t'*} == "$cur"* ]] && ids+=("$line")
    done
    COMPREPLY=()
    if ((${#ids[@]} == 1)); then
        COMPREPLY=("${ids[0]%%$'\t'*}")
    elif ((${#ids[@]} > 1)); then
        mapfile -t ids < <(printf '%s\n' "${ids[@]}" | sort -t $'\t' -k1,1n -s)
        for line in "${ids[@]}"; do
            COMPREPLY+=("${line%%$'\t'*}  ${line#*$'\t'}")
        done
        compopt -o nosort 2>/dev/null
    fi
}

# Sets `values` to the first column of `esc __complete ...`.
_esc_values() {
    mapfile -t values < <("${esc[@]}" __complete "$@" 2>/dev/null)
    values=("${values[@]%%$'\t'*}")
}

_esc_files() {
    if declare -F _filedir >/dev/null; then
        _filedir
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}

complete -F _esc esc
