# fish completion for esc(1)
#
# Every list comes from the binary (`esc __complete WHAT`): commands, flags,
# entry kinds, severities, triggers, paths, channels and case ids (with their
# titles) follow the installed esc and the active config, honouring --db and
# --config on the line.
#
# Install: esc completions fish > ~/.config/fish/completions/esc.fish

function __esc_complete
    # Flags that take no value; every other flag takes the next word.
    set -l novalue -h --help --version -q --quiet --dry-run --force --again --exit-code --no-input --unnecessary --newest --all --mine --clear
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l esc $words[1]
    set -l cmd
    set -l n 0

    # Walk the words before the cursor: the esc to ask (with --db/--config),
    # the command path (e.g. "outbox drop") and how many positionals follow it.
    set -l i 2
    while test $i -le (count $words)
        set -l w $words[$i]
        switch $w
            case '--db=*' '--config=*'
                set -a esc (string split -m1 = -- $w | string replace -r '^~/' ~/)
            case --db --config
                set i (math $i + 1)
                set -a esc $w (string replace -r '^~/' ~/ -- $words[$i])
            case '-*'
                if not string match -q -- '*=*' $w; and not contains -- $w $novalue
                    set i (math $i + 1)
                end
            case '*'
                if test (count $cmd) -eq 0
                    set cmd $w
                else if test $n -eq 0 -a (count $cmd) -eq 1; and contains -- $w ($esc __complete subcommands $cmd[1] 2>/dev/null | string replace -r '\t.*' '')
                    set -a cmd $w
                else
                    set n (math $n + 1)
                end
        end
        set i (math $i + 1)
    end

    # The flag whose value is under the cursor: the word before it, or
    # "--flag=" in front of it.
    set -l prev
    set -l pre ''
    if string match -qr -- '^--[^=]+=' $cur
        set prev (string replace -r '=.*' '' -- $cur)
        set pre $prev=
    else if test (count $words) -gt 1; and string match -q -- '-*' $words[-1]
        and not string match -q -- '*=*' $words[-1]; and not contains -- $words[-1] $novalue
        set prev $words[-1]
    end

    # The value of the flag before the cursor.
    if test -n "$prev"
        switch $prev
            case --db --config
                __fish_complete_path (string replace -- $pre '' $cur) | string replace -r -- '^' $pre
            case --color
                printf '%s\n' $pre{auto,always,never}
            case --severity
                $esc __complete severities 2>/dev/null | string replace -r -- '^' $pre
            case --trigger --remove-trigger
                $esc __complete triggers 2>/dev/null | string replace -r -- '^' $pre
            case --state
                $esc __complete states 2>/dev/null | string replace -r -- '^' $pre
            case --kind
                printf '%s\t%s\n' $pre"title" "titles only"
                $esc __complete kinds 2>/dev/null | string replace -r -- '^' $pre
            case --channel
                $esc __complete channels 2>/dev/null | string replace -r -- '^' $pre
            case --path
                $esc __complete paths 2>/dev/null | string replace -r -- '^' $pre
            case --status
                printf '%s\n' $pre{open,escalated,resolved,all,active}
            case --to
                if test "$cmd[1]" = send
                    $esc __complete paths 2>/dev/null | string replace -r -- '^' $pre
                else
                    __fish_complete_path (string replace -- $pre '' $cur) | string replace -r -- '^' $pre
                end
            case --by
                test "$cmd[1]" = stats; and printf '%s\n' $pre{month,engineer,path,trigger,severity,customer}
                test "$cmd[1]" = report; and printf '%s\n' $pre{month,engineer,path,trigger,severity}
            case --chart
                printf '%s\n' $pre{cases,escalations,resolved,rate,tte,tte-p90,tta,tta-p90,ttr,ttr-p90,forced,unnecessary,updates,csat}
            case --format
                # "Output format: table, json, csv" in the flag's description.
                $esc __complete flags $cmd 2>/dev/null | string match -r -- '^--format\t.*' \
                    | string replace -r '^[^:]*: ' '' | string split ', ' | string replace -r -- '^' $pre
        end
        return
    end

    if string match -q -- '-*' $cur
        $esc __complete flags $cmd 2>/dev/null
    else if test (count $cmd) -eq 0
        $esc __complete commands 2>/dev/null
    else
        switch "$cmd:$n"
            case outbox:0 config:0
                $esc __complete subcommands $cmd[1] 2>/dev/null
            case 'outbox drop:0' 'outbox retry:0'
                $esc __complete deliveries 2>/dev/null
            case show:0 log:0 edit:0 check:0 summary:0 send:0 ack:0 resolve:0 update:0 snooze:0 take:0
                $esc __complete cases 2>/dev/null
            case reopen:0 review:0
                $esc __complete cases resolved 2>/dev/null
            case log:1
                $esc __complete kinds 2>/dev/null
            case state:1
                $esc __complete states 2>/dev/null
            case help:0
                $esc __complete commands 2>/dev/null
            case completions:0
                printf '%s\n' bash zsh fish
            case import:0
                __fish_complete_path $cur
        end
    end
end

complete -c esc -f -a '(__esc_complete)'
