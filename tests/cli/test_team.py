"""A team on one PostgreSQL log: a hand-over reaches the next tier's inbox
and comes back acknowledged; the role esc runs as needs no more than
SELECT, INSERT and UPDATE; two people and two machines never lose or
double a change; a server that is down, restarted or slow gets an honest
one-line error and a retry succeeds; personal logs move in losslessly.

Always against a real server (a throw-away cluster, pgcluster.py), whatever
ESC_TEST_BACKEND says."""

import json
import os
import signal
import subprocess
import threading
import time

import pgcluster
from esctest import ESC, EscTest, free_port, main

FRONTLINE_CONFIG = """
[engineer]
name = "Dana Reyes"
email = "dana@example.com"

[[path]]
name = "tier2"
channel = "handover"

[[channel]]
name = "handover"
type = "file"
dir = "{dir}"
"""

TIER2_CONFIG = """
[engineer]
name = "Sam Okafor"
email = "sam@example.com"
serves = ["tier2"]
"""


class TeamTest(EscTest):
    def setUp(self):
        super().setUp()
        if self.pg is None:
            self.pg = pgcluster.fresh_database(self)
            self.env["ESC_DB"] = self.pg.uri()
        self.cluster = self.pg.cluster
        self.sent_dir = os.path.join(self.home, "sent")
        self.write_config(FRONTLINE_CONFIG.format(dir=self.sent_dir))
        self.tier2 = self.other_home("sam", TIER2_CONFIG)

    def other_home(self, user, config):
        """The environment of a second engineer, on another 'machine': a home
        of their own, the same database."""
        home = os.path.join(self.home, "other-" + user)
        env = {"HOME": home, "XDG_CONFIG_HOME": os.path.join(home, ".config"),
               "XDG_DATA_HOME": os.path.join(home, ".local", "share"), "USER": user}
        os.makedirs(os.path.join(home, ".config", "esc"))
        with open(os.path.join(home, ".config", "esc", "esc.toml"), "w") as f:
            f.write(config)
        return env

    def dump(self):
        """The whole database, as pg_dump sees it (schema and rows)."""
        c = self.cluster
        argv = [os.path.join(c.bindir, "pg_dump"), "-h", c.socket_dir, "-p", str(c.port), "-U", "postgres",
                "-d", self.pg.name, "--no-owner"]
        out = subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout
        # pg_dump 15.14 and later wrap the dump in \restrict KEY, a new key each time.
        return b"\n".join(ln for ln in out.splitlines() if not ln.startswith((b"\\restrict", b"\\unrestrict")))

    def sent_files(self):
        return sorted(os.listdir(self.sent_dir)) if os.path.isdir(self.sent_dir) else []


class Handover(TeamTest):
    def test_handover_reaches_the_inbox_and_comes_back_acknowledged(self):
        cid = self.ready_case()
        self.ok("send", cid)
        self.assertEqual(len(self.sent_files()), 1)

        r = self.ok("inbox", env=self.tier2)
        line = [ln for ln in r.out.splitlines() if ln.strip().startswith("#1")]
        self.assertEqual(len(line), 1, r.out)
        self.assertIn("tier2", line[0])
        self.assertIn("Dana Reyes", line[0])
        self.assertIn("Checkout fails for EU cards", line[0])
        j = self.ok("inbox", "--format", "json", env=self.tier2).json()
        self.assertEqual([i["id"] for i in j], [1])
        self.assertEqual(j[0]["escalation"]["sent_by"], "Dana Reyes")
        # The frontline engineer serves no path: saying so beats an empty inbox.
        r = self.fails(64, "inbox")
        self.assertIn("serve", r.err)

        r = self.ok("ack", cid, env=self.tier2)
        self.assertIn("acknowledged by Sam Okafor", r.err)
        x = self.ok("show", cid, "--format", "json").json()["escalations"][0]
        self.assertEqual(x["acked_by"], "Sam Okafor")
        self.assertIsNotNone(x["acked_at"])
        self.assertIn("Nothing waits on tier2", self.ok("inbox", env=self.tier2).err)

        # Each engineer's identity is on what they write.
        self.ok("log", cid, "note", "Pulled the ACS logs for the EU BINs", env=self.tier2)
        entries = self.ok("show", cid, "--format", "json").json()["entries"]
        authors = {e["text"]: e["author"] for e in entries}
        self.assertEqual(authors["Pulled the ACS logs for the EU BINs"], "Sam Okafor")
        self.assertEqual(authors["Rolled back the 3-D Secure config"], "Dana Reyes")

    def test_mine_engineer_and_take(self):
        a = self.ready_case("Checkout fails for EU cards")
        b = self.new_case("Exports time out", "--severity", "low")
        self.assertEqual(self.ok("list", "--mine", "--format", "ids").out.split(), [b, a])
        self.assertEqual(self.ok("list", "--mine", "--format", "ids", env=self.tier2).out.split(), [])
        r = self.ok("take", a, env=self.tier2)
        self.assertIn(f"Case #{a} is yours now (was Dana Reyes)", r.err)
        self.assertEqual(self.ok("list", "--mine", "--format", "ids", env=self.tier2).out.split(), [a])
        self.assertEqual(self.ok("list", "--mine", "--format", "ids").out.split(), [b])
        self.assertEqual(self.ok("list", "--engineer", "Sam Okafor", "--format", "ids").out.split(), [a])
        self.assertEqual(self.ok("list", "--engineer", "sam@example.com", "--format", "ids").out.split(), [a])
        self.assertIn("Case #1 is already yours", self.ok("take", a, env=self.tier2).err)
        texts = [e["text"] for e in self.ok("show", a, "--format", "json").json()["entries"]]
        self.assertIn("Sam Okafor took the case over from Dana Reyes.", texts)

    def test_lessons_and_stats_are_team_wide(self):
        a = self.ready_case()
        self.ok("send", a)
        self.ok("ack", a, env=self.tier2)
        self.ok("resolve", a, "Issuer fixed their ACS", env=self.tier2)
        self.ok("review", a, "--lesson", "Check the issuer's ACS status page first", "--no-input", env=self.tier2)
        b = self.new_case("Exports time out")
        self.ok("take", b, env=self.tier2)
        lessons = self.ok("lessons", "ACS", "--format", "json").json()
        self.assertEqual([item["text"] for item in lessons], ["Check the issuer's ACS status page first"])
        by = {row["group"]: row for row in self.ok("stats", "--by", "engineer", "--format", "json").json()["groups"]}
        self.assertEqual(set(by), {"Dana Reyes", "Sam Okafor"})
        paths = {row["group"]: row for row in self.ok("stats", "--by", "path", "--format", "json",
                                                      env=self.tier2).json()["groups"]}
        self.assertEqual(paths["tier2"]["escalated"], 1)


class LeastPrivilege(TeamTest):
    """The owner runs `esc init` (and each upgrade); everyone's esc runs as
    a role that may read and write rows but not change or drop tables."""

    GRANTS = """
CREATE ROLE esc_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
GRANT CONNECT ON DATABASE {db} TO esc_app;
GRANT USAGE ON SCHEMA esc TO esc_app;
ALTER ROLE esc_app IN DATABASE {db} SET search_path = esc;
ALTER DEFAULT PRIVILEGES FOR ROLE esc IN SCHEMA esc GRANT SELECT, INSERT, UPDATE ON TABLES TO esc_app;
ALTER DEFAULT PRIVILEGES FOR ROLE esc IN SCHEMA esc GRANT USAGE, SELECT ON SEQUENCES TO esc_app;
"""

    def setUp(self):
        super().setUp()
        self.pg.psql(self.GRANTS.format(db=f'"{self.pg.name}"'))
        self.addCleanup(self.drop_role)
        self.app_db = self.pg.uri(user="esc_app")

    def drop_role(self):
        self.pg.psql("DROP OWNED BY esc_app;", check=False)
        self.pg.drop()
        self.cluster.psql("DROP ROLE IF EXISTS esc_app;", database="postgres", check=False)

    def test_the_runtime_role_works_but_cannot_drop_tables(self):
        self.ok("init")  # as esc, the owner of schema esc
        app = {"ESC_DB": self.app_db}
        cid = self.ok("new", "Checkout fails for EU cards", "--customer", "ACME Corp", "--severity", "high",
                      "--trigger", "sla-breach", env=app).out.strip()
        for kind, text in (("fact", "Only EU cards fail"), ("step", "Rolled back 3DS"),
                           ("hypothesis", "ACS times out"), ("notice", "Told the client: escalating")):
            self.ok("log", cid, kind, text, env=app)
        self.ok("send", cid, env=app)
        self.ok("ack", cid, "--by", "Sam", env=app)
        self.ok("edit", cid, "--tag", "payments", env=app)
        self.ok("search", "ACS", env=app)
        self.ok("import", "-", input=self.ok("export", env=app).out, env=app)
        self.assertEqual(len(self.sent_files()), 1)

        code, _, err = self.pg.psql("DROP TABLE cases", user="esc_app", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("must be owner", err)
        entries = self.pg.psql("SELECT count(*) FROM esc.entries")
        code, _, err = self.pg.psql("DELETE FROM entries", user="esc_app", check=False)
        self.assertIn("permission denied", err)
        self.assertEqual(self.pg.psql("SELECT count(*) FROM esc.entries"), entries)
        self.assertEqual(self.pg.psql("SELECT count(*) FROM esc.cases", user="esc_app"), "1")

    def test_a_log_that_needs_upgrading_says_who_may(self):
        self.ok("init")
        # As if this esc were newer than the schema: the runtime role may not migrate.
        self.pg.psql("UPDATE esc.esc_schema SET version = 0")
        before = self.dump()
        r = self.fails(74, "list", env={"ESC_DB": self.app_db})
        self.assertEqual(len(r.err.strip().splitlines()), 2, r.err)  # the error and its hint
        self.assertIn("may not change the schema", r.err)
        self.assertIn("`esc init` once as the role that owns the tables", r.err)
        self.assertEqual(self.dump(), before)

    def test_a_runtime_role_cannot_make_the_log(self):
        r = self.esc("init", env={"ESC_DB": self.app_db})
        self.assertEqual(r.code, 74, r)
        self.assertIn("esc: error: the case log at postgresql://esc_app@", r.err)
        self.assertIn("may not change the schema", r.err)
        self.assertEqual(self.pg.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'esc'"), "0")


class Schema(TeamTest):
    def test_a_server_newer_than_esc_is_refused_untouched(self):
        cid = self.ready_case()
        self.pg.psql("UPDATE esc.esc_schema SET version = 99")
        before = self.dump()
        for args in (("list",), ("log", cid, "note", "x"), ("send", cid), ("init",)):
            r = self.esc(*args)
            self.assertEqual(r.code, 74, r)
            self.assertIn("schema version 99, newer than this esc understands", r.err)
            self.assertIn("upgrade esc", r.err)
        self.assertEqual(self.dump(), before)
        self.assertEqual(self.sent_files(), [])

    def test_a_log_of_the_earlier_schema_is_brought_up_to_date_with_all_it_held(self):
        cid = self.ready_case()
        self.ok("send", cid)
        # Schema 1 had no attempted_at.
        self.pg.psql("ALTER TABLE esc.deliveries DROP COLUMN attempted_at; UPDATE esc.esc_schema SET version = 1")
        self.assertIn("Checkout fails for EU cards", self.ok("list").out)
        self.assertEqual(self.pg.psql("SELECT version FROM esc.esc_schema"), "2")
        x, = self.ok("show", cid, "--format", "json").json()["escalations"]
        self.assertEqual(x["deliveries"][0]["status"], "delivered")
        self.ok("log", cid, "note", "after the upgrade")

    def test_a_database_without_a_log(self):
        r = self.fails(66, "list")
        self.assertIn("the database has no esc tables", r.err)
        self.assertEqual(self.pg.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'esc'"), "0")
        self.ok("init")
        self.assertIn("No open or escalated cases", self.ok("list").err)


class Faults(TeamTest):
    def test_server_unreachable(self):
        port = free_port()
        url = f"postgresql://esc:hunter2secret@127.0.0.1:{port}/esc?connect_timeout=2"
        for args, code in ((("list",), 74), (("new", "x"), 74), (("log", "1", "note", "x"), 74),
                           (("send", "1"), 75), (("outbox", "retry"), 74)):
            r = self.fails(code, *args, env={"ESC_DB": url})
            first = r.err.strip().splitlines()[0]
            self.assertIn("the database server cannot be reached", first)
            self.assertIn(f"127.0.0.1:{port}", first)
            self.assertNotIn("hunter2secret", r.err)
            self.assertNotIn("hunter2secret", r.out)
        self.assertEqual(self.sent_files(), [])

    def test_a_wrong_password_is_a_refusal_and_no_password_is_ever_shown(self):
        self.ok("init")
        r = self.fails(74, "list", env={"ESC_DB": self.pg.tcp_uri(password="Wr0ngPassw0rd")})
        self.assertIn("the database server refused the connection", r.err)
        self.assertIn("password authentication failed", r.err)
        self.assertIn("~/.pgpass", r.err)
        self.assertNotIn("Wr0ngPassw0rd", r.err)
        # A password where libpq finds one, however it is written, is never echoed.
        base = self.pg.tcp_uri(password=False)
        for uri, secret in ((base + "?password=S3cretInQuery", "S3cretInQuery"),
                            (base + "?pass%77ord=S3cretEncoded", "S3cretEncoded"),
                            (base.replace("esc@", "esc:Wr@ngPart7@"), "ngPart7")):
            with self.subTest(uri=uri.replace(secret, "...")):
                r = self.esc("list", env={"ESC_DB": uri})
                self.assertNotIn(secret, r.err + r.out)
                r = self.esc("config", "show", env={"ESC_DB": uri})
                self.assertNotIn(secret, r.err + r.out)
                with open(self.config_file, "a") as f:
                    f.write(f'\n[database]\nurl = "{uri}"\n')
                r = self.esc("config", "check", env={"ESC_DB": None})
                self.assertEqual(r.code, 78, r)
                self.assertIn("database.url holds a password", r.err)
                self.assertNotIn(secret, r.err + r.out)
                self.write_config(FRONTLINE_CONFIG.format(dir=self.sent_dir))

    def test_a_libpq_that_cannot_be_loaded_is_one_clear_error(self):
        # libpq is loaded when a PostgreSQL log is first opened; a broken one
        # is a temporary failure (75) that names it, and SQLite needs none.
        libs = os.path.join(self.home, "libs")
        os.makedirs(libs)
        with open(os.path.join(libs, "libpq.so.5"), "wb") as f:
            f.write(b"not a shared library")
        broken = {"LD_LIBRARY_PATH": libs, "ESC_DB": "postgresql://esc:hunter2secret@127.0.0.1:9/esc"}
        for args in (("list",), ("new", "x")):
            r = self.fails(75, *args, env=broken)
            self.assertEqual(len(r.err.strip().splitlines()), 1, r)
            self.assertIn("cannot load libpq: ", r.err)
            self.assertNotIn("hunter2secret", r.err)
        self.ok("--db", os.path.join(self.home, "personal.db"), "new", "x", env=broken)

    def test_send_with_the_server_down_sends_nothing(self):
        cid = self.ready_case()
        self.cluster.stop_server()
        try:
            r = self.fails(75, "send", cid)
            self.assertIn("cannot be reached", r.err)
            self.assertIn("nothing was sent", r.err)
            r = self.fails(74, "log", cid, "note", "while down")
        finally:
            self.cluster.start_server()
        self.assertEqual(self.sent_files(), [])
        self.ok("send", cid)
        self.assertEqual(len(self.sent_files()), 1)
        self.assertEqual(len(self.ok("show", cid, "--format", "json").json()["escalations"]), 1)

    def hold_lock(self, table="cases"):
        """A psql session that holds an exclusive lock on `table` until
        release() (or 60 s)."""
        c = self.cluster
        argv = [os.path.join(c.bindir, "psql"), "-X", "-q", "-h", c.socket_dir, "-p", str(c.port), "-U", "postgres",
                "-d", self.pg.name, "-c",
                f"BEGIN; LOCK TABLE esc.{table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;"]
        p = subprocess.Popen(argv, env=dict(os.environ, PGAPPNAME="esc-test-locker"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self.release, p)
        for _ in range(200):
            if self.pg.psql("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                            f"WHERE c.relname = '{table}' AND l.mode = 'AccessExclusiveLock' AND l.granted") != "0":
                return p
            time.sleep(0.05)
        self.fail("the lock was never taken")

    def release(self, locker):
        """Ends the locking session (its backend would sleep on otherwise)."""
        if self.cluster.running:
            self.pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = 'esc-test-locker'")
        locker.kill()
        locker.wait()

    def start_blocked(self, *args, env=None):
        """Starts esc, and returns once it waits on the lock."""
        e = dict(self.env, **(env or {}))
        p = subprocess.Popen([ESC, *args], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(400):
            if self.pg.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'esc' AND wait_event_type = 'Lock'"
                            f" AND datname = '{self.pg.name}'") != "0":
                return p
            time.sleep(0.05)
        p.kill()
        self.fail("esc never waited on the lock")

    def finish(self, p):
        out, err = p.communicate(timeout=60)
        return p.returncode, out.decode(), err.decode()

    def test_connection_ended_mid_command_then_a_retry_succeeds(self):
        cid = self.ready_case()
        locker = self.hold_lock()
        p = self.start_blocked("edit", cid, "--customer", "Globex")
        self.assertGreater(self.pg.terminate_connections(user="esc"), 0)
        code, out, err = self.finish(p)
        self.assertEqual(code, 74, err)
        self.assertEqual(len(err.strip().splitlines()), 2, err)
        self.assertIn("cannot be reached", err)
        self.assertIn("run the command again", err)
        self.release(locker)
        self.assertEqual(self.ok("show", cid, "--format", "json").json()["customer"], "ACME Corp")  # not half-done
        self.ok("edit", cid, "--customer", "Globex")
        self.assertEqual(self.ok("show", cid, "--format", "json").json()["customer"], "Globex")

    def test_server_restarted_mid_send(self):
        cid = self.ready_case()
        locker = self.hold_lock("escalations")
        p = self.start_blocked("send", cid)
        self.cluster.restart()  # which ends the lock too
        code, out, err = self.finish(p)
        self.assertIn(code, (0, 75), err)
        escalations = self.ok("show", cid, "--format", "json").json()["escalations"]
        if code == 75:  # not recorded: nothing went out
            self.assertIn("nothing was sent", err)
            self.assertEqual(self.sent_files(), [])
            self.assertEqual(escalations, [])
            self.ok("send", cid)
        self.assertEqual(len(self.sent_files()), 1)
        self.assertEqual(len(self.ok("show", cid, "--format", "json").json()["escalations"]), 1)

    def test_a_statement_that_times_out(self):
        cid = self.ready_case()
        slow = self.pg.uri(options="-c statement_timeout=500")
        locker = self.hold_lock()
        r = self.fails(74, "edit", cid, "--customer", "Globex", env={"ESC_DB": slow})
        self.assertIn("did not answer in time", r.err)
        r = self.fails(75, "send", cid, env={"ESC_DB": slow})
        self.assertIn("nothing was sent", r.err)
        self.assertEqual(self.sent_files(), [])
        self.release(locker)
        self.ok("edit", cid, "--customer", "Globex", env={"ESC_DB": slow})
        self.ok("send", cid, env={"ESC_DB": slow})
        self.assertEqual(len(self.sent_files()), 1)


class Concurrency(TeamTest):
    def on_machine(self, host, *args, env=None):
        """esc run as if on another machine: its own host name (a UTS
        namespace of its own)."""
        e = dict(self.env, **(env or {}))
        prefix = ["unshare", "-u"] if os.geteuid() == 0 else ["unshare", "-r", "-u"]
        return subprocess.Popen([*prefix, "sh", "-c", 'hostname "$0" && exec "$@"', host, ESC, *args], env=e,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def queue(self, n, received, gate):
        """n escalations whose delivery waits in the outbox (the command
        channel fails until `gate` exists)."""
        self.write_config(f"""
[engineer]
name = "Dana Reyes"

[outbox]
retry_base = "1s"

[[path]]
name = "tier2"
channel = "pager"

[[channel]]
name = "pager"
type = "command"
argv = ["sh", "-c", "[ -e {gate} ] || exit 1; sleep 0.2; cat >/dev/null; echo \\"$0\\" >> {received}", "{{key}}"]
timeout = "5s"
""")
        ids = self.seed(*[{"title": f"Case {i}"} for i in range(n)])
        for cid in ids:
            r = self.esc("send", cid)
            self.assertEqual(r.code, 75, r)  # queued, not delivered
        self.assertEqual(len(self.ok("outbox", "--format", "json").json()), n)
        return ids

    def test_two_machines_retrying_deliver_each_once(self):
        received = os.path.join(self.home, "received")
        gate = os.path.join(self.home, "gate")
        self.queue(12, received, gate)
        open(gate, "w").close()
        procs = [self.on_machine(h, "outbox", "retry", "--all") for h in ("machine-a", "machine-b")]
        results = [(p.communicate(timeout=120)[1].decode(), p.returncode)[::-1] for p in procs]
        for code, err in results:
            # Each says what it delivered, and what the other one did.
            self.assertIn(code, (0, 75), err)
            self.assertRegex(err, r"\d+ delivered, 0 deferred, 0 not yet due, 0 failed for good")
            if code == 75:
                self.assertIn("still held by another esc", err)
        self.assertIn("delivered by another esc", results[0][1] + results[1][1])
        with open(received) as f:
            keys = f.read().split()
        self.assertEqual(len(keys), 12)
        self.assertEqual(len(set(keys)), 12)
        self.assertEqual(self.ok("outbox", "--format", "json").json(), [])

    def test_a_dead_holder_on_another_machine_loses_its_claim_when_the_lease_ends(self):
        received = os.path.join(self.home, "received")
        gate = os.path.join(self.home, "gate")
        # 1 s channel timeout + 1 s busy timeout + the 10 s margin: a 12 s lease.
        self.queue(1, received, gate)
        with open(self.config_file, "a") as f:
            f.write('\n[database]\nbusy_timeout = "1s"\n')
        with open(self.config_file) as f:
            text = f.read().replace('timeout = "5s"', 'timeout = "1s"').replace("sleep 0.2", "sleep 30")
        with open(self.config_file, "w") as f:
            f.write(text)
        open(gate, "w").close()
        a = self.on_machine("machine-a", "outbox", "retry", "--all")
        for _ in range(200):
            if self.pg.psql("SELECT count(*) FROM esc.deliveries WHERE claim_token LIKE 'machine-a|%'") == "1":
                break
            time.sleep(0.05)
        else:
            self.fail("machine-a never claimed the delivery")
        os.killpg(a.pid, signal.SIGKILL)  # esc and the channel's command
        a.communicate()
        started = time.monotonic()
        b = self.on_machine("machine-b", "outbox", "retry", "--all")
        err = b.communicate(timeout=60)[1].decode()
        self.assertEqual(b.returncode, 75, err)
        self.assertIn("1 still held by another esc", err)
        self.assertFalse(os.path.exists(received))
        with open(self.config_file) as f:
            text = f.read().replace("sleep 30", "sleep 0.1")
        with open(self.config_file, "w") as f:
            f.write(text)
        # The lease is kept in whole seconds of the server's clock: it ends
        # once that clock has passed claimed_until, up to 1 s after 12 s.
        left = float(self.pg.psql("SELECT claimed_until + 1 - extract(epoch FROM clock_timestamp()) "
                                  "FROM esc.deliveries WHERE claim_token LIKE 'machine-a|%'"))
        self.assertLessEqual(left, 13.2 - (time.monotonic() - started))
        time.sleep(max(0.0, left + 0.1))
        b = self.on_machine("machine-b", "outbox", "retry", "--all")
        err = b.communicate(timeout=60)[1].decode()
        self.assertEqual(b.returncode, 0, err)
        with open(received) as f:
            self.assertEqual(len(f.read().split()), 1)

    def test_two_people_editing_one_case_keep_both_changes(self):
        cid = self.new_case("Checkout fails for EU cards")
        errors = []

        def edit(*args):
            r = subprocess.run([ESC, "edit", cid, *args], env=self.env, capture_output=True, timeout=120)
            if r.returncode != 0:
                errors.append(r.stderr.decode())

        changes = [("--tag", f"tag{i}") for i in range(8)] + [("--customer", "Globex"), ("--severity", "critical"),
                                                               ("--trigger", "sla-breach")]
        threads = [threading.Thread(target=edit, args=c) for c in changes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        c = self.ok("show", cid, "--format", "json").json()
        self.assertEqual(sorted(c["tags"]), [f"tag{i}" for i in range(8)])
        self.assertEqual((c["customer"], c["severity"], c["triggers"]), ("Globex", "critical", ["sla-breach"]))


class MovingIn(TeamTest):
    def personal_log(self, name, titles):
        path = os.path.join(self.home, f"{name}.db")
        for t in titles:
            cid = self.ok("new", t, "--db", path).out.strip()
            self.ok("log", cid, "fact", f"{t}: a fact", "--db", path)
        return path

    def test_personal_logs_move_in_losslessly_and_idempotently(self):
        dana = self.personal_log("dana", ["Checkout fails", "Exports time out"])
        sam = self.personal_log("sam", ["Login loops", "Invoices doubled", "Search is slow"])
        self.ok("init")
        r = self.ok("import", "-", input=self.ok("export", "--db", dana).out)
        self.assertNotIn("was taken", r.err)
        r = self.ok("import", "-", input=self.ok("export", "--db", sam).out)
        # Sam's #1 and #2 were taken: said so, case by case.
        self.assertIn("case #1 in the file is #3 here (#1 was taken)", r.err)
        self.assertIn("case #3 in the file is #5 here (#3 was taken)", r.err)
        again = self.ok("import", "-", input=self.ok("export", "--db", sam).out)
        self.assertNotIn("was taken", again.err)
        self.assertIn("0 new", again.err)
        records = [json.loads(line) for line in self.ok("export").out.splitlines()]
        self.assertEqual(sorted(r["case"]["title"] for r in records),
                         sorted(["Checkout fails", "Exports time out", "Login loops", "Invoices doubled",
                                 "Search is slow"]))
        self.assertEqual(len({r["case"]["id"] for r in records}), 5)
        self.assertEqual(sum(len(r["entries"]) for r in records), 5)
        # Each case arrived whole: its UUIDs and its text, as the personal log had them.
        for path in (dana, sam):
            for line in self.ok("export", "--db", path).out.splitlines():
                mine = json.loads(line)
                there = next(r for r in records if r["case"]["uuid"] == mine["case"]["uuid"])
                self.assertEqual(there["case"]["title"], mine["case"]["title"])
                self.assertEqual([(e["uuid"], e["text"]) for e in there["entries"]],
                                 [(e["uuid"], e["text"]) for e in mine["entries"]])


if __name__ == "__main__":
    main()
