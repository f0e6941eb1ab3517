"""Tab completion in real shells: bash (with bash-completion), zsh and fish
load the shipped scripts the way an installed copy is loaded, and complete
against a case log made by esc. Most expectations come from `esc --help`, so
a command, flag or value added to the binary must also complete."""

import concurrent.futures
import functools
import os
import pty
import re
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from esctest import ESC, NOW

SOURCE_DIR = os.environ.get("ESC_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
COMPLETIONS = os.path.join(SOURCE_DIR, "completions")
SCRIPTS = {"bash": "esc.bash", "zsh": "_esc", "fish": "esc.fish"}
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"

CONFIG = """
[case]
triggers = ["sla-breach", "beyond-scope", "vip-customer"]

[[channel]]
name = "ticket"
type = "command"
argv = ["false"]

[[channel]]
name = "archive"
type = "file"
dir = "~/archive"

[[path]]
name = "tier2"
channel = "archive"
next = "engineering"

[[path]]
name = "engineering"
channel = ["ticket"]
"""

KINDS = {"fact", "diagnostic", "step", "contact", "hypothesis", "impact", "outcome", "notice", "heads-up", "update",
         "note"}
OPEN_CASES = {"1": "Printer on fire", "2": "Checkout fails for EU cards", "ZD-4411": "#2 Checkout fails for EU cards"}  # case 3 is resolved
RESOLVED_CASES = {"3"}  # what reopen and review take


# ---- what the binary says it has -----------------------------------------------

def _help(*args):
    env = {"HOME": tempfile.gettempdir(), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    r = subprocess.run([ESC, *args, "--help"], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r
    return r.stdout


def parse_help(text):
    """Positionals, options (value? choices, description) and subcommands
    of one CLI11 help page."""
    info = {"positionals": [], "options": {}, "subcommands": []}
    section, last = None, None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line[:-1] if line.endswith(":") else None
            continue
        if section == "Positionals":
            m = re.match(r"^  ([a-z]+) ([A-Z]+)(?::\{([^}]*)\})?", line)
            if m:
                info["positionals"].append((m.group(1), m.group(3).split(",") if m.group(3) else None))
        elif section == "Options":
            m = re.match(r"^  (?:-\w,)?(--[\w-]+)(?: ([A-Z][^\s:{]*)(?::\{([^}]*)\})?\S*)?(.*)$", line)
            if m:
                last = info["options"][m.group(1)] = {
                    "value": m.group(2) is not None,
                    "choices": m.group(3).split(",") if m.group(3) else None,
                    "description": m.group(4).strip(),
                }
            elif last is not None and not last["description"] and line.strip():
                last["description"] = line.strip()
        elif section == "Subcommands":
            m = re.match(r"^  ([a-z][\w-]*)\s", line)
            if m:
                info["subcommands"].append(m.group(1))
    return info


@functools.lru_cache(maxsize=None)
def cli():
    """{"": the root page, "list": ..., "outbox retry": ...}"""
    pages = {"": parse_help(_help())}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        def fetch(names):
            pages.update(zip((" ".join(n) for n in names), pool.map(lambda n: parse_help(_help(*n)), names)))
        fetch([(cmd,) for cmd in pages[""]["subcommands"]])
        fetch([(cmd, sub) for cmd in pages[""]["subcommands"] for sub in pages[cmd]["subcommands"]])
    return pages


def case_commands():
    """Commands whose first argument is a case id."""
    return [c for c, p in cli().items() if c and p["positionals"][:1] and p["positionals"][0][0] == "id"]


def checks(shell, home):
    """(line, expected values, exact?) for one shell."""
    pages = cli()
    commands = set(pages[""]["subcommands"])
    other_db = os.path.join(home, "other.db")
    other_config = os.path.join(home, "other.toml")
    broken_config = os.path.join(home, "broken.toml")
    out = [
        # A command, a flag, an entry kind, a case id.
        ("esc sh", {"show"}, True),
        ("esc list --sev", {"--severity"}, True),
        ("esc log 1 hyp", {"hypothesis"}, True),
        ("esc show ", set(OPEN_CASES), True),
        # Values from the config and the database.
        ("esc send 1 --to ", {"tier2", "engineering"}, True),
        ("esc send 1 --channel ", {"archive", "ticket", "stdout"}, True),
        ("esc edit 2 --trigger vip", {"vip-customer"}, True),
        ("esc edit 2 --remove-trigger ", {"sla-breach", "beyond-scope", "vip-customer"}, True),
        ("esc list --severity ", {"critical", "high", "medium", "low"}, True),
        ("esc log 1 ", KINDS, True),
        ("esc search x --kind ", KINDS | {"title"}, True),
        ("esc outbox drop ", {"1"}, True),
        ("esc outbox dr", {"drop"}, True),
        # Flags with and without a value before the word being completed.
        ("esc log --at 2h 1 ", KINDS, True),
        ("esc send --dry-run ", set(OPEN_CASES), True),
        ("esc list --severity=h", {"--severity=high"} if shell == "fish" else {"high"}, True),
        # --db and --config on the line are the ones asked.
        (f"esc --db {other_db} show ", {"1", "2", "3", "4"}, True),
        (f"esc show --db={other_db} ", {"1", "2", "3", "4"}, True),
        (f"esc --config {other_config} send 1 --to ", {"vendor"}, True),
        # A broken config completes no values, quietly, and commands still.
        (f"esc --config {broken_config} show ", set(), True),
        (f"esc --config {broken_config} sh", {"show"}, True),
        # Everything `esc --help` lists.
        ("esc ", commands, True),
        ("esc --quiet ", commands, True),
        ("esc -", set(pages[""]["options"]), False),
        ("esc list --", set(pages["list"]["options"]), False),
    ]
    seen = set()
    for cmd, page in pages.items():
        prefix = f"esc {cmd} " if cmd else "esc "
        for opt, o in page["options"].items():
            if o["choices"] and (opt, tuple(o["choices"])) not in seen:
                seen.add((opt, tuple(o["choices"])))
                out.append((f"{prefix}{opt} ", set(o["choices"]), True))
        if cmd and page["subcommands"]:
            out.append((prefix, set(page["subcommands"]), True))
        if " " in cmd and set(page["options"]) - {"--help"}:
            out.append((prefix + "--", set(page["options"]), False))
        if page["positionals"] and page["positionals"][0][1]:
            out.append((prefix, set(page["positionals"][0][1]), True))
    for cmd in case_commands():
        out.append((f"esc {cmd} ", RESOLVED_CASES if cmd in ("reopen", "review") else set(OPEN_CASES), True))
    lines = [line for line, _, _ in out]
    return [c for i, c in enumerate(out) if c[0] not in lines[:i]]


def home_env(home):
    bindir = os.path.join(home, "bin")
    return {"HOME": home, "XDG_CONFIG_HOME": f"{home}/.config", "XDG_DATA_HOME": f"{home}/.local/share",
            "PATH": bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": "UTC",
            "USER": "tester", "ESC_NOW": NOW, "ASAN_OPTIONS": "detect_leaks=0"}


def make_home(home):
    """A config, three cases (one resolved), a deferred delivery, another
    database with four cases, and a folder with `esc` for the front of PATH."""
    env = home_env(home)

    def esc(*args, code=0):
        r = subprocess.run([ESC, *args], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == code, (args, r)
        return r.stdout.strip()

    os.makedirs(f"{home}/.config/esc")
    os.makedirs(f"{home}/bin")
    os.symlink(os.path.abspath(ESC), f"{home}/bin/esc")
    with open(f"{home}/.config/esc/esc.toml", "w") as f:
        f.write(CONFIG)
    with open(f"{home}/other.toml", "w") as f:
        f.write('[[path]]\nname = "vendor"\nchannel = "stdout"\n')
    with open(f"{home}/broken.toml", "w") as f:
        f.write("[[path]\n")
    assert esc("new", "Printer on fire", "--severity", "critical") == "1"
    assert esc("new", "Checkout fails for EU cards", "--severity", "high", "--ref", "ZD-4411") == "2"
    assert esc("new", "Old and done") == "3"
    esc("resolve", "3", "Fixed")
    # The "ticket" channel fails: delivery 1 stays pending in the outbox.
    esc("send", "2", "--force", "--reason", "urgent", "--to", "engineering", code=75)
    for title in ("Elsewhere one", "Elsewhere two", "Elsewhere three", "Elsewhere four"):
        esc("--db", f"{home}/other.db", "new", title)


# ---- the shells ----------------------------------------------------------------

def bash_words(line):
    """COMP_WORDS as bash splits the line: at blanks, and around '='."""
    words = []
    for tok in line.split():
        words += [w for w in re.split(r"(=)", tok) if w]
    if line.endswith(" ") or not words:
        words.append("")
    return words


ZSHRC = r"""
PS1='' RPS1=''
# compinit scans only esc's folder and the base functions (scanning every
# completion zsh ships takes seconds); the rest still autoloads when called.
all=($fpath)
fpath=(@COMPLETIONS@ ${(M)fpath:#*/Completion(|/Base)})
autoload -Uz compinit && compinit -u -D
fpath+=($all)
bindkey -e
compadd() {
  # Calls that only collect matches into arrays go straight through.
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits __dscr
  if (( $@[(I)-d] )); then
    local __d=${@[$(( ${@[(i)-d]} + 1 ))]}
    if [[ $__d == \(* ]]; then eval "__dscr=$__d"; else __dscr=("${(@P)__d}"); fi
  fi
  builtin compadd -A __hits -D __dscr "$@"
  local i
  for (( i = 1; i <= $#__hits; i++ )); do print -r -- "@@HIT@@$__hits[i]@@DESC@@$__dscr[i]@@"; done
}
_capture() { print -r -- $'\n@@BEGIN@@'; zle complete-word; print -r -- '@@END@@'; }
zle -N _capture
bindkey '^I' _capture
print -r -- '@@READY@@'
"""


def run_bash(home, env, lines):
    """bash-completion and the script sourced; for each line, COMP_WORDS and
    COMP_CWORD set as bash sets them and the function that `complete -p esc`
    names called; COMPREPLY printed."""
    assert os.path.exists(BASH_COMPLETION), "install the Debian package bash-completion"
    script = [f"source {BASH_COMPLETION}", f"source {shlex.quote(os.path.join(COMPLETIONS, SCRIPTS['bash']))}",
              'read -ra spec <<<"$(complete -p esc)"',
              'for ((k = 0; k < ${#spec[@]}; k++)); do [[ ${spec[k]} == -F ]] && fn=${spec[k+1]}; done']
    for line in lines:
        words = bash_words(line)
        script += [
            f"COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}",
            "COMP_WORDS=(" + " ".join(shlex.quote(w) for w in words) + f"); COMP_CWORD={len(words) - 1}",
            "COMPREPLY=()",
            f'"$fn" esc {shlex.quote(words[-1])} {shlex.quote(words[-2] if len(words) > 1 else "")}',
            'printf "%s\\n" "${COMPREPLY[@]}"; echo @@END@@',
        ]
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(script)], capture_output=True,
                       text=True, env=env, cwd=home, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r
    chunks = r.stdout.split("@@END@@\n")
    assert len(chunks) == len(lines) + 1, r.stdout
    # Several cases show as "12  title": the value is the first word.
    return [[(v.split("  ")[0], v.split("  ", 1)[1] if "  " in v else "") for v in c.splitlines() if v]
            for c in chunks[:-1]]


def run_fish(home, env, lines):
    """fish autoloads the script from its completion path, as it does an
    installed esc.fish; `complete -C LINE` prints what TAB offers."""
    assert shutil.which("fish"), "install the Debian package fish"
    script = ("set -p fish_complete_path $argv[1]\n"
              "for l in $argv[2..-1]; complete -C $l; echo @@END@@; end")
    r = subprocess.run(["fish", "--no-config", "-c", script, COMPLETIONS, *lines], capture_output=True,
                       text=True, env=env, cwd=home, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r
    chunks = r.stdout.split("@@END@@\n")
    assert len(chunks) == len(lines) + 1, r.stdout
    return [[tuple((l.split("\t", 1) + [""])[:2]) for l in c.splitlines()] for c in chunks[:-1]]


def run_zsh(home, env, lines):
    """An interactive zsh on a pseudo-terminal, compinit with the completions
    folder on fpath; TAB runs the real completion widget. compadd is wrapped
    to print each match it accepts (zsh itself does the matching) with its
    description instead of inserting it."""
    assert shutil.which("zsh"), "install the Debian package zsh"
    zdot = tempfile.mkdtemp(prefix="zdot-", dir=home)
    with open(os.path.join(zdot, ".zshenv"), "w") as f:
        f.write("unsetopt GLOBAL_RCS\n")
    with open(os.path.join(zdot, ".zshrc"), "w") as f:
        f.write(ZSHRC.replace("@COMPLETIONS@", COMPLETIONS))
    master, slave = pty.openpty()
    proc = subprocess.Popen(["zsh", "-i"], stdin=slave, stdout=slave, stderr=slave, cwd=home,
                            env=dict(env, ZDOTDIR=zdot, TERM="dumb"), start_new_session=True)
    os.close(slave)
    buf = b""

    def until(token, timeout=120):
        nonlocal buf
        end = time.time() + timeout
        while token not in buf:
            ready, _, _ = select.select([master], [], [], max(0.0, end - time.time()))
            data = b""
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    pass
            assert data, f"zsh did not print {token!r}; it printed {buf[-2000:]!r}"
            buf += data
        i = buf.index(token) + len(token)
        out, buf = buf[:i], buf[i:]
        return out.decode("utf-8", "replace")

    results = []
    try:
        until(b"@@READY@@")
        for line in lines:
            os.write(master, line.encode() + b"\t")
            out = until(b"@@END@@")
            out = out[out.rindex("@@BEGIN@@"):]
            assert "command not found" not in out, out
            results.append(re.findall(r"@@HIT@@(.*?)@@DESC@@(.*?)@@", out))
            os.write(master, b"\x15")  # kill-whole-line
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)
    return results


RUNNERS = {"bash": run_bash, "zsh": run_zsh, "fish": run_fish}


class Completion(unittest.TestCase):
    """Each shell completes every line of checks() in one session, in a home
    with a config, three cases (one resolved), a deferred delivery, another
    database with four cases, and `esc` first on PATH. The three sessions
    run side by side."""

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="esc-completions-")
        template = os.path.join(cls.root, "template")
        make_home(template)
        cls.homes, cls.results = {}, {}
        with concurrent.futures.ThreadPoolExecutor(len(RUNNERS)) as pool:
            for shell, run in RUNNERS.items():
                home = cls.homes[shell] = os.path.join(cls.root, shell)
                shutil.copytree(template, home, symlinks=True)
                env = home_env(home)
                cls.results[shell] = pool.submit(run, home, env, [line for line, _, _ in checks(shell, home)])
            concurrent.futures.wait(cls.results.values())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def run_checks(self, shell):
        expected = checks(shell, self.homes[shell])
        got = self.results[shell].result()
        self.assertEqual(len(got), len(expected))
        for (line, want, exact), offered in zip(expected, got):
            values = {v for v, _ in offered}
            with self.subTest(line=line):
                if exact:
                    self.assertEqual(values, want)
                else:
                    self.assertLessEqual(want, values)
        return dict(zip([line for line, _, _ in expected], got))

    def test_bash(self):
        self.run_checks("bash")

    def test_zsh(self):
        got = self.run_checks("zsh")
        # Case ids come with their titles, kinds with what they mean.
        shown = dict(got["esc show "])
        for cid, title in OPEN_CASES.items():
            self.assertIn(title, shown[cid])
        self.assertIn("a suggestion", dict(got["esc log 1 hyp"])["hypothesis"])

    def test_fish(self):
        got = self.run_checks("fish")
        self.assertEqual(dict(got["esc show "]), OPEN_CASES)
        self.assertIn("a suggestion", dict(got["esc log 1 hyp"])["hypothesis"])


class ScriptsAgreeWithTheHelp(unittest.TestCase):
    """What the scripts cannot ask the binary, they must match it on."""

    def test_flags_without_a_value(self):
        # Every script skips the word after a flag unless the flag takes none.
        want = set()
        for page in cli().values():
            want |= {opt for opt, o in page["options"].items() if not o["value"]}
        for shell, name in SCRIPTS.items():
            with self.subTest(shell=shell):
                with open(os.path.join(COMPLETIONS, name), encoding="utf-8") as f:
                    m = re.search(r"novalue[= ](.*)", f.read())
                self.assertIsNotNone(m, "the script names its flags without a value in `novalue`")
                listed = {w for w in m.group(1).replace('"', " ").split() if w.startswith("--")}
                self.assertEqual(listed, want)

    def test_format_descriptions_list_the_choices(self):
        # The scripts read --format's values from "Output format: a, b, c".
        n = 0
        for cmd, page in cli().items():
            fmt = page["options"].get("--format")
            if fmt:
                n += 1
                with self.subTest(command=cmd):
                    self.assertEqual(fmt["description"], "Output format: " + ", ".join(fmt["choices"]))
        self.assertGreaterEqual(n, 8)

    def test_the_help_parses(self):
        pages = cli()
        self.assertIn("outbox", pages[""]["subcommands"])
        self.assertEqual(sorted(case_commands()), sorted(
            ["show", "log", "edit", "check", "summary", "send", "ack", "resolve", "reopen", "update", "review",
             "snooze", "take"]))
        self.assertEqual(pages["list"]["options"]["--format"]["choices"], ["table", "json", "csv", "ids"])
        self.assertFalse(pages["send"]["options"]["--dry-run"]["value"])
        self.assertTrue(pages["send"]["options"]["--to"]["value"])
        self.assertIn("--all", pages["outbox retry"]["options"])


class ManyCases(unittest.TestCase):
    """On a log of years, completion offers the most recently active cases,
    not every case ever opened."""

    def test_the_200_most_recently_active(self):
        import json
        with tempfile.TemporaryDirectory() as home:
            env = home_env(home)
            lines = []
            for i in range(1, 261):
                resolved = i > 230  # 30 resolved, 230 open
                t = f"2026-10-{1 + i // 24:02d}T{i % 24:02d}:00:00Z"
                lines.append(json.dumps({
                    "case": {"id": i, "uuid": f"00000000-0000-4000-8000-{i:012d}", "title": f"Case number {i}",
                             "customer": "", "severity": "low", "status": "resolved" if resolved else "open",
                             "ref": None, "triggers": [], "tags": [], "engineer": "", "created_at": t,
                             "updated_at": t, "resolved_at": t if resolved else None, "csat": None,
                             "unnecessary": False},
                    "entries": [], "escalations": [], "deliveries": []}))
            src = os.path.join(home, "cases.jsonl")
            with open(src, "w") as f:
                f.write("\n".join(lines) + "\n")
            run = functools.partial(subprocess.run, capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(run([ESC, "import", src]).returncode, 0)
            active = run([ESC, "__complete", "cases"]).stdout.splitlines()
            self.assertEqual(len(active), 200)
            self.assertEqual(active[0].split("\t")[0], "230")  # most recently active first
            self.assertEqual(active[-1].split("\t")[0], "31")
            resolved = [line.split("\t")[0] for line in run([ESC, "__complete", "cases", "resolved"]).stdout.splitlines()]
            self.assertEqual(resolved, [str(i) for i in range(260, 230, -1)])
            self.assertEqual(len(run([ESC, "__complete", "cases", "all"]).stdout.splitlines()), 200)
            # bash shows each with its title, in the order of the numbers; one alone goes in bare.
            os.makedirs(os.path.join(home, "bin"))
            os.symlink(os.path.abspath(ESC), os.path.join(home, "bin", "esc"))
            offered = run_bash(home, env, ["esc show ", "esc show 229"])
            numbers = [int(v) for v, _ in offered[0]]
            self.assertEqual(numbers, sorted(numbers))
            self.assertEqual(numbers[:3], [31, 32, 33])  # the 200 most recent are 31 to 230, 31 before 100
            self.assertTrue(all(title.startswith("Case number ") for _, title in offered[0]))
            self.assertEqual(offered[1], [("229", "")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
