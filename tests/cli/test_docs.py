"""The manual pages and the completion scripts agree with the binary: every
command, flag, config key, exit code and environment variable esc has is
documented, nothing documented is missing from esc, and `esc completions`
prints the shipped scripts."""

import concurrent.futures
import functools
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from esctest import ESC

SOURCE_DIR = os.environ.get("ESC_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ESC1 = os.path.join(SOURCE_DIR, "man", "esc.1")
ESC_TOML5 = os.path.join(SOURCE_DIR, "man", "esc.toml.5")
SCRIPTS = {"bash": "esc.bash", "zsh": "_esc", "fish": "esc.fish"}
GLOBAL_FLAGS = {"--help", "--version", "--db", "--config", "--color", "--quiet"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def esc(*args, env=None):
    home = tempfile.mkdtemp(prefix="esc-docs-")
    try:
        env = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "ASAN_OPTIONS": "detect_leaks=0", **(env or {})}
        return subprocess.run([ESC, *args], capture_output=True, env=env, timeout=60)
    finally:
        shutil.rmtree(home, ignore_errors=True)


@functools.lru_cache(maxsize=None)
def values(*args):
    """The first column of `esc __complete ARGS`."""
    r = esc("__complete", *args)
    assert r.returncode == 0, r
    return tuple(line.split("\t")[0] for line in r.stdout.decode().splitlines())


def render(path):
    """The page as `man` shows it, one paragraph a line."""
    r = subprocess.run(["mandoc", "-T", "ascii", "-O", "width=400", path], capture_output=True, text=True)
    assert r.returncode == 0, r
    return re.sub(r".\x08", "", r.stdout)


def section(text, name):
    """A top-level section of a rendered page."""
    m = re.search(rf"^{re.escape(name)}\n(.*?)(?=^\S)", text, re.S | re.M)
    assert m, f"no {name} section"
    return m.group(1)


@functools.lru_cache(maxsize=None)
def commands():
    """{"new": [], "outbox": ["retry", "drop"], ...} from `esc --help`."""
    def listed(*cmd):
        out = esc(*cmd, "--help").stdout.decode()
        m = re.search(r"^Subcommands:\n((?:  .*\n)+)", out, re.M)
        return [line.split()[0] for line in m.group(1).splitlines()] if m else []
    names = listed()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return dict(zip(names, pool.map(listed, names)))


def man_commands():
    """{"new": mdoc source of its item, "outbox retry": ..., ...} from esc.1:
    items that start `.It Nm Cm WORDS` or `.It Xo` `.Nm` `.Cm WORDS`."""
    lines = read(ESC1).splitlines()
    starts = []
    for i, line in enumerate(lines):
        words = None
        if line.startswith(".It Nm Cm "):
            words = line.split()[3:]
        elif line == ".It Xo" and lines[i + 1] == ".Nm" and lines[i + 2].startswith(".Cm "):
            words = lines[i + 2].split()[1:]
        if words is not None:
            name = []
            for w in words:
                if re.fullmatch(r"[A-Z][a-z]", w):
                    break
                name.append(w)
            starts.append((i, " ".join(name)))
    blocks = {}
    for k, (i, name) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        body = []
        for line in lines[i:end]:
            if line.startswith((".Ss ", ".Sh ")):
                break
            body.append(line)
        blocks[name] = "\n".join(body)
    return blocks


def documented_flags(block):
    """Long flags in a block's synopsis (.Op) and option list (.It Fl)."""
    found = set()
    for line in block.splitlines():
        if line.startswith((".Op ", ".It Fl ", ".It Nm ")):
            found |= {"-" + f for f in re.findall(r"\bFl (-[\w-]+)", line)}
    return found


def option_list(block):
    """Long flags in a block's option list (.It Fl ...)."""
    found = set()
    for line in re.findall(r"^\.It Fl .*$", block, re.M):
        found |= {"-" + f for f in re.findall(r"\bFl (-[\w-]+)", line)}
    return found


class ManPages(unittest.TestCase):
    def test_lint_clean(self):
        self.assertTrue(shutil.which("mandoc"), "install the Debian package mandoc")
        for page in (ESC1, ESC_TOML5):
            with self.subTest(page=os.path.basename(page)):
                r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", page], capture_output=True, text=True)
                self.assertEqual(r.stdout + r.stderr, "")
                self.assertEqual(r.returncode, 0)

    def test_every_command_is_in_esc1(self):
        blocks = man_commands()
        want = set()
        for cmd, subs in commands().items():
            want.add(cmd)
            want |= {f"{cmd} {s}" for s in subs}
        # `config` itself only groups its subcommands.
        self.assertEqual(set(blocks) | {"config"}, want)
        self.assertEqual(set(commands()), set(values("commands")))

    def test_every_flag_is_in_esc1_and_no_other(self):
        blocks = man_commands()
        self.assertGreater(len(blocks), 20)
        for name, block in blocks.items():
            with self.subTest(command=name):
                real = set(f for f in values("flags", *name.split()) if f.startswith("--"))
                own = real - GLOBAL_FLAGS
                # Each flag the command has, in its option list; each flag the
                # page shows for it, a flag it has.
                self.assertLessEqual(own, option_list(block))
                self.assertLessEqual(documented_flags(block), real)

    def test_global_flags_are_in_esc1(self):
        src = read(ESC1)
        m = re.search(r"^\.Ss Global options\n(.*?)^\.Sh ", src, re.S | re.M)
        self.assertIsNotNone(m)
        root = set(f for f in values("flags") if f.startswith("--"))
        self.assertEqual(root, GLOBAL_FLAGS)
        self.assertEqual(option_list(m.group(1)), root)

    def test_exit_codes_are_in_esc1(self):
        header = read(os.path.join(SOURCE_DIR, "include", "esc", "error.hpp"))
        codes = set(re.findall(r"^\s+\w+ = (\d+),", header, re.M))
        self.assertIn("75", codes)
        listed = set(re.findall(r"^     (\d+) ", section(render(ESC1), "EXIT STATUS"), re.M))
        self.assertEqual(listed, codes)

    def test_environment_variables_are_in_esc1(self):
        used = set()
        for folder, _, files in os.walk(os.path.join(SOURCE_DIR, "src")):
            for name in files:
                if name.endswith((".cpp", ".hpp", ".in")):
                    used |= set(re.findall(r'(?:getenv|env_or)\("([A-Z_]+)"', read(os.path.join(folder, name))))
        self.assertLessEqual({"ESC_DB", "ESC_CONFIG", "ESC_NOW", "NO_COLOR", "PAGER", "VISUAL", "EDITOR"}, used)
        env = section(render(ESC1), "ENVIRONMENT")
        listed = set()
        for first, second in re.findall(r"^     ([A-Z_]+)(?:, ([A-Z_]+))?", env, re.M):
            listed |= {first, second} - {""}
        self.assertLessEqual(used, listed)

    def test_config_keys_are_in_esc_toml5(self):
        src = read(os.path.join(SOURCE_DIR, "src", "config", "config_keys.cpp"))
        body = src[src.index("config_keys() {"):]
        body = body[:body.index("return keys;")]
        keys = re.findall(r'\{"(\w+)",\s*"([^"]+)",\s*"([^"]+)",\s*"((?:[^"\\]|\\.)*)",\s*"', body)
        self.assertGreater(len(keys), 30)

        # The rendered page: "   [table]" headings, "     key = type" items.
        documented, table, item = {}, None, None
        for line in section(render(ESC_TOML5), "DESCRIPTION").splitlines():
            if m := re.match(r"^   \[+(\w+)\]+$", line):
                table, item = m.group(1), None
            elif m := re.match(r"^     (\S+) = (.+)$", line):
                item = documented[(table, m.group(1))] = {"type": m.group(2), "text": ""}
            elif item is not None:
                item["text"] += line.strip() + " "

        for table, key, type_, default in keys:
            name = key.strip("<>")
            with self.subTest(key=f"{table}.{key}"):
                self.assertIn((table, name), documented)
                doc = documented[(table, name)]
                self.assertEqual(doc["type"], type_)
                default = default.replace('\\"', '"').lstrip("$")
                if default:
                    self.assertIn(default, doc["text"])
        self.assertEqual(set(documented), {(t, k.strip("<>")) for t, k, _, _ in keys})

    def test_example_config_keys_are_in_esc_toml5(self):
        table, found = None, set()
        for line in read(os.path.join(SOURCE_DIR, "esc.toml.example")).splitlines():
            line = line.lstrip("# ")
            if m := re.match(r"^\[+(\w+)\]+", line):
                table = m.group(1)
            elif (m := re.match(r"^(\w+) = ", line)) and table:
                found.add((table, m.group(1)))
        self.assertGreater(len(found), 30)
        text = section(render(ESC_TOML5), "DESCRIPTION")
        for table, key in sorted(found):
            with self.subTest(key=f"{table}.{key}"):
                part = re.search(rf"^   \[+{table}\]+$(.*?)(?=^   \S|\Z)", text, re.S | re.M)
                self.assertIsNotNone(part)
                if key in ("critical", "high", "medium", "low") and table in ("routing", "deadlines"):
                    key = "severity"
                self.assertRegex(part.group(1), rf"(?m)^     {key} = ")

    def test_esc_toml5_example_is_a_valid_config(self):
        example = section(render(ESC_TOML5), "EXAMPLES")
        toml = "\n".join(line[11:] for line in example.splitlines() if line.startswith("           "))
        self.assertIn("[[channel]]", toml)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "esc.toml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(toml + "\n")
            # The secrets it names, set as a user would have them.
            secrets = {name: "https://chat.example.com/hook" if "WEBHOOK" in name else "secret"
                       for name in re.findall(r'_env = "(\w+)"', toml)}
            self.assertTrue(secrets)
            r = esc("--config", path, "config", "check", env=secrets)
            self.assertEqual(r.returncode, 0, r)
            # Without them, `config check` says which is missing.
            r = esc("--config", path, "config", "check")
            self.assertEqual(r.returncode, 78, r)
            for name in secrets:
                self.assertIn(f"${name} is not set", r.stderr.decode())


class CompletionScripts(unittest.TestCase):
    def test_esc_completions_prints_the_shipped_scripts(self):
        for shell, name in SCRIPTS.items():
            with self.subTest(shell=shell):
                r = esc("completions", shell)
                self.assertEqual(r.returncode, 0, r)
                with open(os.path.join(SOURCE_DIR, "completions", name), "rb") as f:
                    shipped = f.read()
                self.assertGreater(len(shipped), 500)
                self.assertEqual(r.stdout, shipped)

    def test_scripts_take_commands_and_subcommands_from_esc(self):
        # The scripts list no command themselves: they ask `esc __complete`,
        # which must serve exactly what `esc --help` lists (test_completions
        # checks that each shell offers them).
        self.assertEqual(list(values("commands")), list(commands()))
        for cmd, subs in commands().items():
            with self.subTest(command=cmd):
                self.assertEqual(list(values("subcommands", cmd)), subs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
