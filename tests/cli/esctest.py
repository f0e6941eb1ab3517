"""Harness for the end-to-end tests: runs the real esc binary in a
throw-away HOME with its own XDG folders, and checks exit code, stdout and
stderr. A failed test leaves its folder behind and prints where it is."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
import uuid

ESC = os.environ.get("ESC_BIN") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "esc")
NOW = "2026-11-20T09:00:00Z"
# The case log every test runs against: an SQLite file in the test's home,
# or (ESC_TEST_BACKEND=postgres) a fresh database on a throw-away
# PostgreSQL cluster started for the test process (pgcluster.py).
BACKEND = os.environ.get("ESC_TEST_BACKEND", "sqlite")
assert BACKEND in ("sqlite", "postgres"), f"ESC_TEST_BACKEND={BACKEND}: expected sqlite or postgres"


def sqlite_only(reason):
    """A test of what only an SQLite file has (its modes, its bytes, its
    locks): said so, by name, when the suite runs on PostgreSQL."""
    return unittest.skipIf(BACKEND != "sqlite", f"about the SQLite file only: {reason}")


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


class EscTest(unittest.TestCase):
    """Base class: self.esc(...) runs the binary in this test's home."""

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix=f"esc-{self.id().split('.')[-1]}-")
        self.env = {
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "XDG_DATA_HOME": os.path.join(self.home, ".local", "share"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "USER": "tester",
            "ESC_NOW": NOW,
            # Sanitizer builds: fail loudly, and leaks are not the point here.
            "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0",
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
        }
        self._outcome_failed = False
        self.pg = None
        if BACKEND == "postgres":
            import pgcluster
            self.pg = pgcluster.fresh_database(self)
            self.env["ESC_DB"] = self.pg.uri()

    def tearDown(self):
        failed = False
        outcome = getattr(self, "_outcome", None)
        if outcome is not None:
            result = getattr(outcome, "result", None)
            errors = getattr(result, "errors", []) + getattr(result, "failures", [])
            failed = any(test is self for test, _ in errors)
        if failed:
            sys.stderr.write(f"\n(left {self.home} for a look)\n")
        else:
            shutil.rmtree(self.home, ignore_errors=True)

    @property
    def db(self):
        """The SQLite file of the default log (sqlite_only tests)."""
        return os.path.join(self.home, ".local", "share", "esc", "esc.db")

    @property
    def log(self):
        """Where the test's log is, for --db: the file or the URI."""
        return self.pg.uri() if self.pg else self.db

    @property
    def config_file(self):
        return os.path.join(self.home, ".config", "esc", "esc.toml")

    def write_config(self, text):
        os.makedirs(os.path.dirname(self.config_file), exist_ok=True)
        with open(self.config_file, "w", encoding="utf-8") as f:
            f.write(text)

    def esc(self, *args, input=None, env=None, timeout=60):
        e = dict(self.env)
        if env:
            for k, v in env.items():
                if v is None:
                    e.pop(k, None)
                else:
                    e[k] = v
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run([ESC, *args], input=data if data is not None else b"",
                              capture_output=True, env=e, timeout=timeout)
        proc.stdout = proc.stdout.decode("utf-8", "replace")
        proc.stderr = proc.stderr.decode("utf-8", "replace")
        return Result(proc)

    def ok(self, *args, **kw):
        r = self.esc(*args, **kw)
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("runtime error", r.err)
        return r

    def fails(self, code, *args, **kw):
        r = self.esc(*args, **kw)
        self.assertEqual(r.code, code, r)
        self.assertTrue(r.err.startswith("esc: error: ") or code in (1, 75), r)
        self.assertNotIn("runtime error", r.err)
        return r

    def serve(self, server):
        server.start()
        self.addCleanup(server.stop)
        return server

    def seed(self, *cases):
        """Imports cases in one go, each a dict of title, customer, severity,
        ref, facts and ready (default: the built-in checklist is met).
        Returns their ids as strings, numbered from 1."""
        lines = []
        at = "2026-11-20T08:00:00Z"
        entry_id = 0
        for n, spec in enumerate(cases, start=1):
            ready = spec.get("ready", True)
            entries = []

            def add(kind, text, state=None):
                nonlocal entry_id
                entry_id += 1
                entries.append({"id": entry_id, "uuid": str(uuid.uuid4()), "kind": kind, "text": text,
                                "state": state, "at": at, "author": "Dana Reyes"})

            for fact in spec.get("facts", ["Only EU-issued cards fail; US cards pass"]):
                add("fact", fact)
            add("step", "Rolled back the 3-D Secure config")
            if ready:
                add("hypothesis", "The issuer's ACS times out", "unconfirmed")
                add("notice", "Told the client: escalating to tier 2, news by 16:00")
            case = {"id": n, "uuid": str(uuid.uuid4()), "title": spec.get("title", "Checkout fails for EU cards"),
                    "customer": spec.get("customer", "ACME Corp"), "severity": spec.get("severity", "high"),
                    "status": "open", "ref": spec.get("ref"), "triggers": ["sla-breach"], "tags": [],
                    "engineer": "Dana Reyes", "created_at": at, "updated_at": at, "resolved_at": None,
                    "csat": None, "unnecessary": False}
            lines.append(json.dumps({"case": case, "entries": entries, "escalations": [], "deliveries": []}))
        self.ok("import", "-", input="\n".join(lines) + "\n")
        return [str(n) for n in range(1, len(cases) + 1)]

    def latest(self, cid):
        """The case's latest escalation, and its delivery keys by channel."""
        x = self.ok("show", cid, "--format", "json").json()["escalations"][-1]
        return x, {d["channel"]: d["key"] for d in x["deliveries"]}

    def new_case(self, title="Checkout fails for EU cards", *extra):
        r = self.ok("new", title, *extra)
        return r.out.strip()

    def ready_case(self, title="Checkout fails for EU cards", *extra):
        """A case that passes the built-in checklist."""
        cid = self.new_case(title, "--customer", "ACME Corp", "--severity", "high", "--trigger", "sla-breach", *extra)
        self.ok("log", cid, "fact", "Only EU-issued cards fail; US cards pass")
        self.ok("log", cid, "step", "Rolled back the 3-D Secure config")
        self.ok("log", cid, "hypothesis", "The issuer's ACS times out")
        self.ok("log", cid, "notice", "Told the client: escalating to tier 2, news by 16:00")
        return cid


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    unittest.main(verbosity=2)
