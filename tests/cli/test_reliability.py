"""Reliability under concurrent writers, crashes at any moment, damaged
state and a full disk: nothing stored is lost, nothing is half-written."""

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import threading
import time

from esctest import BACKEND, sqlite_only, EscTest, ESC, main, read_bytes

WRITERS = 8
# The full load (8 writers x 200 entries) runs on the optimised binary that
# scripts/test builds for the benchmark (ESC_STRESS_BIN); the sanitizer
# build, some ten times slower to start, takes a lighter one.
STRESS_BIN = os.environ.get("ESC_STRESS_BIN") or ESC
ENTRIES_PER_WRITER = int(os.environ.get("ESC_STRESS_ENTRIES", "200" if os.environ.get("ESC_STRESS_BIN") else "25"))


class Concurrency(EscTest):
    def test_many_writers_and_a_reader(self):
        base = self.new_case("shared case")
        errors = []
        stop = threading.Event()

        def run(*args):
            p = subprocess.run([STRESS_BIN, *args], env=self.env, capture_output=True, timeout=120)
            return p

        def writer(n):
            mine = run("new", f"case of writer {n}")
            if mine.returncode != 0:
                errors.append(mine)
                return
            for i in range(ENTRIES_PER_WRITER):
                target = base if i % 2 else mine.stdout.decode().strip()
                r = run("log", target, "note", f"writer {n} entry {i} marker{n}x{i}")
                if r.returncode != 0:
                    errors.append(r)
                    return

        def reader():
            while not stop.is_set():
                for args in (("list", "--format", "ids"), ("search", "writer", "--format", "json")):
                    r = run(*args)
                    if r.returncode != 0:
                        errors.append(r)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        watcher = threading.Thread(target=reader)
        watcher.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        watcher.join()
        self.assertEqual(errors, [], errors[:3])
        records = [json.loads(line) for line in self.ok("export").out.splitlines()]
        texts = [e["text"] for r in records for e in r["entries"]]
        self.assertEqual(len(texts), WRITERS * ENTRIES_PER_WRITER)  # every change kept
        self.assertEqual(len(set(texts)), len(texts))                # none twice
        ids = [r["case"]["id"] for r in records]
        self.assertEqual(len(ids), WRITERS + 1)
        self.assertEqual(len(set(ids)), len(ids))
        if BACKEND == "sqlite":
            con = sqlite3.connect(self.db)
            con.execute("INSERT INTO entry_fts(entry_fts) VALUES('integrity-check')")
            con.execute("INSERT INTO case_fts(case_fts) VALUES('integrity-check')")
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        # Every entry is findable through the index.
        hits = self.ok("search", f"marker{WRITERS - 1}x{ENTRIES_PER_WRITER - 1}", "--format", "json").json()
        self.assertEqual(len(hits), 1)


class Crashes(EscTest):
    """SIGKILL `esc send` at many moments, then `esc outbox retry`."""

    def setUp(self):
        super().setUp()
        self.received = os.path.join(self.home, "received.log")
        # A slow receiver: it records the delivery key once it has the whole summary.
        self.write_config(f"""
[[path]]
name = "tier2"
channel = "slow"

[[channel]]
name = "slow"
type = "command"
argv = ["sh", "-c", "sleep 0.3; cat > /dev/null; echo \\"$0\\" >> {self.received}", "{{key}}"]
timeout = "10s"
""")

    def test_killed_at_any_moment_nothing_lost_nothing_new(self):
        delays = [0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.5]
        cases = []
        for delay in delays:
            cid = self.ready_case(f"kill after {delay}s")
            p = subprocess.Popen([ESC, "send", cid], env=self.env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
            cases.append(cid)
        time.sleep(0.5)  # let orphaned receivers finish
        r = self.esc("outbox", "retry", "--all")
        self.assertIn(r.code, (0, 75), r)
        r = self.ok("outbox", "retry", "--all")
        self.assertEqual(self.ok("outbox", "--format", "json").json(), [])
        if BACKEND == "sqlite":
            con = sqlite3.connect(self.db)
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        keys = set()
        attempts = {}
        sent = 0
        for cid in cases:
            c = self.ok("show", cid, "--format", "json").json()
            # Killed before the transaction: no escalation, case still open. After: exactly one.
            self.assertLessEqual(len(c["escalations"]), 1)
            self.assertEqual(c["status"], "escalated" if c["escalations"] else "open")
            for x in c["escalations"]:
                sent += 1
                self.assertEqual(len(x["deliveries"]), 1)
                self.assertEqual(x["deliveries"][0]["status"], "delivered")
                keys.add(x["deliveries"][0]["key"])
                attempts[x["deliveries"][0]["key"]] = x["deliveries"][0]["attempts"]
        self.assertGreater(sent, 0)
        with open(self.received) as f:
            seen = [line.strip() for line in f if line.strip()]
        # Every delivered key reached the receiver; no key the outbox does not know.
        self.assertEqual(set(seen), keys)
        for key in set(seen):
            # At most once per attempt that ran to the end, plus one for a killed sender's orphan.
            self.assertLessEqual(seen.count(key), attempts[key] + 1)


class DamagedState(EscTest):
    @sqlite_only("a damaged file")
    def test_truncated_database(self):
        cid = self.ready_case()
        for i in range(50):
            self.ok("log", cid, "note", "padding " * 200)
        con = sqlite3.connect(self.db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        size = os.path.getsize(self.db)
        with open(self.db, "r+b") as f:
            f.truncate(size // 2)
        damaged = read_bytes(self.db)
        r = self.esc("show", cid)
        self.assertEqual(r.code, 74, r)
        self.assertTrue(r.err.startswith("esc: error: "), r)
        self.assertNotIn("Traceback", r.err)
        self.assertEqual(read_bytes(self.db), damaged)

    @sqlite_only("another program's SQLite file")
    def test_foreign_sqlite_database(self):
        path = os.path.join(self.home, "other.sqlite")
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE inventory(item TEXT)")
        con.execute("INSERT INTO inventory VALUES ('laptop')")
        con.commit()
        con.close()
        before = read_bytes(path)
        r = self.fails(74, "--db", path, "new", "x")
        self.assertIn("not an esc case log", r.err)
        self.assertEqual(read_bytes(path), before)

    @sqlite_only("a file past its size limit")
    def test_full_disk_keeps_what_was_stored(self):
        cid = self.ready_case()
        con = sqlite3.connect(self.db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        before = self.ok("show", cid, "--format", "json").json()["entries"]
        limit = os.path.getsize(self.db) + 64 * 1024

        def small_disk():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        big = "x" * (2 * 1024 * 1024)
        p = subprocess.run([ESC, "log", cid, "diagnostic", "-"], input=big.encode(), env=self.env,
                           capture_output=True, preexec_fn=small_disk, timeout=60)
        self.assertEqual(p.returncode, 74, p)
        self.assertTrue(p.stderr.decode().startswith("esc: error: "), p.stderr)
        after = self.ok("show", cid, "--format", "json").json()["entries"]
        self.assertEqual(after, before)
        self.ok("log", cid, "note", "still writable once there is room")
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")

    @sqlite_only("a read-only folder")
    def test_read_only_database_folder(self):
        cid = self.new_case()
        folder = os.path.dirname(self.db)
        if os.geteuid() == 0:
            # root ignores permissions: run esc as nobody over files nobody may read but not write.
            for dirpath, dirnames, filenames in os.walk(self.home):
                os.chmod(dirpath, 0o755)
                for name in filenames:
                    os.chmod(os.path.join(dirpath, name), 0o644)
            con = sqlite3.connect(self.db)
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.close()
            for extra in ("-wal", "-shm"):
                if os.path.exists(self.db + extra):
                    os.remove(self.db + extra)
            os.chmod(self.home, 0o755)
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        else:
            os.chmod(folder, 0o500)
            os.chmod(self.db, 0o400)
            prefix = []
        try:
            before = read_bytes(self.db)
            p = subprocess.run(prefix + [ESC, "log", cid, "note", "cannot be written"], env=self.env,
                               capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 74, p)
            self.assertTrue(p.stderr.decode().startswith("esc: error: "), p.stderr)
            self.assertEqual(read_bytes(self.db), before)
        finally:
            os.chmod(folder, 0o700)
            os.chmod(self.db, 0o600)
        self.assertEqual(self.ok("show", cid, "--format", "json").json()["entries"], [])


class Secrets(EscTest):
    def test_config_show_never_prints_a_secret_and_warns_on_loose_files(self):
        secret_file = os.path.join(self.home, "smtp-password")
        with open(secret_file, "w") as f:
            f.write("hunter2-file-secret\n")
        os.chmod(secret_file, 0o644)
        self.write_config(f"""
[[path]]
name = "p"
channel = ["chat", "mail"]

[[channel]]
name = "chat"
type = "webhook"
url_env = "ESC_TEST_WEBHOOK"

[[channel]]
name = "mail"
type = "smtp"
url = "smtp://127.0.0.1:2525"
from = "a@example.com"
to = "b@example.com"
password_file = "{secret_file}"
""")
        env = {"ESC_TEST_WEBHOOK": "https://hooks.example.com/services/T000/B000/tokentokentoken"}
        r = self.ok("config", "show", env=env)
        self.assertNotIn("tokentokentoken", r.out + r.err)
        self.assertNotIn("hunter2", r.out + r.err)
        self.assertIn("ESC_TEST_WEBHOOK", r.out)
        self.assertIn("set (value hidden)", r.out)
        # A secret file others can read makes the config unusable until it is fixed.
        r = self.esc("config", "check", env=env)
        self.assertEqual(r.code, 78, r)
        self.assertIn(f"{secret_file} can be read by others (chmod 600", r.err)
        self.assertNotIn("hunter2", r.out + r.err)
        os.chmod(secret_file, 0o600)
        r = self.ok("config", "check", env=env)
        self.assertNotIn("read by others", r.err)


if __name__ == "__main__":
    main()
