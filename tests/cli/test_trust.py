"""No false confidence, nothing sent twice, nothing silently changed: the
promises a hand-over rests on, each tried the way a user would break it."""

import json
import os
import sqlite3
import subprocess
import threading
import time

from esctest import BACKEND, ESC, EscTest, main
from servers import HttpReceiver
from test_send import ENGINEER, command, filedir, path_block, routing, webhook
from test_readiness import PtySession

TWO_PATHS = (ENGINEER + path_block("tier2", ["archive"], 'ack_within = "4h"\nnext = "engineering"\n')
             + path_block("engineering", ["archive"]) + routing("tier2") + filedir("archive", "~/archive"))


def full_device(path):
    """A character device that fails every write, as /dev/full does."""
    subprocess.run(["mknod", path, "c", "1", "7"], check=True)
    return path


class OneEscalationPerPath(EscTest):
    def setUp(self):
        super().setUp()
        self.write_config(TWO_PATHS)

    def escalations(self, cid):
        return self.ok("show", cid, "--format", "json").json()["escalations"]

    def test_sending_twice_refuses_and_says_what_to_do(self):
        cid = self.ready_case()
        self.ok("send", cid)
        r = self.fails(1, "send", cid)
        self.assertIn("has no answer yet; nothing was sent", r.err)
        for way in ("esc outbox retry", f"esc send {cid} --to NEXT", "(engineering)", "--again --reason"):
            self.assertIn(way, r.err)
        self.assertEqual(len(self.escalations(cid)), 1)
        self.assertEqual(len(os.listdir(os.path.join(self.home, "archive"))), 1)

    def test_two_sends_at_once_make_one_escalation(self):
        cid = self.ready_case()
        procs = [subprocess.Popen([ESC, "send", cid], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(4)]
        codes = sorted(p.wait(timeout=60) for p in procs)
        self.assertEqual(codes, [0, 1, 1, 1])
        self.assertEqual(len(self.escalations(cid)), 1)
        self.assertEqual(len(os.listdir(os.path.join(self.home, "archive"))), 1)

    def test_again_with_a_reason_makes_a_new_level_and_records_why(self):
        cid = self.ready_case()
        self.ok("send", cid)
        self.fails(64, "send", cid, "--again")  # a reason is required
        self.ok("send", cid, "--again", "--reason", "tier2 lost the first one")
        xs = self.escalations(cid)
        self.assertEqual([x["level"] for x in xs], [1, 2])
        self.assertEqual(xs[1]["again_reason"], "tier2 lost the first one")
        self.assertNotEqual(xs[0]["deliveries"][0]["key"], xs[1]["deliveries"][0]["key"])

    def test_an_answered_path_or_the_next_one_takes_a_new_level(self):
        cid = self.ready_case()
        self.ok("send", cid)
        self.ok("send", cid, "--to", "engineering", "--note", "tier2 did not answer in 4h")
        self.fails(1, "send", cid, "--to", "engineering", "--note", "again")
        self.ok("ack", cid, "--by", "Sam")
        self.ok("send", cid, "--to", "engineering", "--note", "a new problem on the same case")
        self.assertEqual([(x["path"], x["level"]) for x in self.escalations(cid)],
                         [("tier2", 1), ("engineering", 2), ("engineering", 3)])

    def test_channel_delivers_the_unanswered_escalation_again_without_a_new_level(self):
        self.write_config(TWO_PATHS + filedir("spare", "~/spare"))
        cid = self.ready_case()
        self.ok("send", cid)
        x1 = self.escalations(cid)
        r = self.ok("send", cid, "--channel", "spare")
        self.assertIn("Delivered level 1", r.err)
        xs = self.escalations(cid)
        self.assertEqual(len(xs), 1)
        self.assertEqual(sorted(d["channel"] for d in xs[0]["deliveries"]), ["archive", "spare"])
        self.assertEqual(xs[0]["uuid"], x1[0]["uuid"])
        # Delivered there already: said so, nothing sent twice.
        r = self.fails(1, "send", cid, "--channel", "archive")
        self.assertIn("already delivered to archive", r.err)
        self.assertEqual(len(os.listdir(os.path.join(self.home, "archive"))), 1)

    def test_the_note_heads_the_summary_of_a_re_escalation(self):
        cid = self.ready_case()
        self.ok("send", cid)
        self.ok("send", cid, "--to", "engineering", "--note", "Re-escalated because tier2 did not answer in 4h")
        files = sorted(os.listdir(os.path.join(self.home, "archive")))
        texts = []
        for f in files:
            with open(os.path.join(self.home, "archive", f), encoding="utf-8") as fh:
                texts.append(fh.read())
        second = [t for t in texts if "WHY IT IS SENT NOW" in t]
        self.assertEqual(len(second), 1)
        body = second[0]
        self.assertLess(body.index("WHY IT IS SENT NOW"), body.index("WHY IT IS ESCALATED"))
        self.assertIn("Re-escalated because tier2 did not answer in 4h", body)
        self.assertIn("level 1 to tier2", body)  # and what was sent before

    def test_the_note_is_asked_for_on_a_terminal_when_re_escalating(self):
        cid = self.ready_case()
        self.ok("send", cid)
        s = PtySession(["send", cid, "--to", "engineering"], self.env)
        s.read_until("Why is it sent now")
        s.send("tier2 is on holiday")
        self.assertEqual(s.wait(), 0)
        self.assertEqual(self.escalations(cid)[-1]["note"], "tier2 is on holiday")


class DeliveredButNotRecorded(EscTest):
    def lock_command(self):
        """A program that holds the log locked for a few seconds, in a process
        of its own: the log locked past esc's timeout."""
        if BACKEND == "sqlite":
            return ["/usr/bin/python3", "-c", "import sqlite3, time; c = sqlite3.connect(%r, isolation_level=None); "
                    "c.execute('BEGIN IMMEDIATE'); time.sleep(4)" % self.db]
        return ["psql", "-q", "-d", self.pg.uri(), "-c",
                "BEGIN; LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT"]

    def delivered_but_not_recorded(self):
        """The command channel's program locks the log as it delivers: the
        delivery went out, recording it cannot. Returns the case and the
        file that counts deliveries."""
        counter = os.path.join(self.home, "delivered")
        locker = os.path.join(self.home, "locker.py")
        with open(locker, "w") as f:
            f.write(f"""import subprocess, sys, time
open({counter!r}, "a").write("x")
sys.stdin.read()
subprocess.Popen({self.lock_command()!r}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
time.sleep(0.7)
""")
        self.write_config(ENGINEER + '[database]\nbusy_timeout = "1s"\n\n' + path_block("tier2", ["cmd"])
                          + routing("tier2") + command("cmd", ["/usr/bin/python3", locker], timeout="20s"))
        if BACKEND == "postgres":  # a statement waits for a lock at most this long
            self.env["ESC_DB"] += "&options=-c%20statement_timeout%3D1000"
        cid = self.ready_case()
        r = self.esc("send", cid)
        self.assertEqual(r.code, 75, r)
        self.assertIn("delivered to cmd but not recorded; `esc outbox retry` will record it without sending again",
                      r.err)
        self.assertNotIn("try again", r.err)
        time.sleep(4.5)
        return cid, counter

    def test_a_locked_log_after_delivery_says_so_and_retry_records_without_sending_again(self):
        cid, counter = self.delivered_but_not_recorded()
        r = self.ok("outbox", "retry")
        self.assertIn("Recorded 1 delivery outcome", r.err)
        with open(counter) as f:
            self.assertEqual(f.read(), "x")  # delivered once, not twice
        self.assertEqual(self.ok("outbox", "--format", "json").json(), [])
        x, _ = self.latest(cid)
        self.assertEqual(x["deliveries"][0]["status"], "delivered")


    def test_a_kept_outcome_recorded_meanwhile_is_forgotten(self):
        cid, _ = self.delivered_but_not_recorded()
        kept = os.path.join(self.home, ".local", "state", "esc", "unrecorded")
        self.assertEqual(len(os.listdir(kept)), 1)
        (d,) = self.ok("outbox", "--format", "json").json()
        self.ok("outbox", "drop", str(d["id"]))  # someone settled it meanwhile
        r = self.ok("outbox", "retry")
        self.assertNotIn("Recorded", r.err)
        self.assertEqual(os.listdir(kept), [])


class NothingReportedDoneThatWasNot(EscTest):
    def test_every_write_to_stdout_is_checked(self):
        cid = self.ready_case()
        dev = full_device(os.path.join(self.home, "full"))
        for args in (["show", cid], ["list"], ["summary", cid], ["search", "cards"], ["due", "--format", "json"],
                     ["stats"], ["config", "show"], ["send", cid, "--dry-run"], ["new", "Another"],
                     ["export"], ["show", cid, "--format", "json"], ["lessons", "--format", "csv"]):
            with self.subTest(args=args):
                with open(dev, "w") as out:
                    p = subprocess.run([ESC, *args], stdout=out, stderr=subprocess.PIPE, env=self.env, timeout=60)
                err = p.stderr.decode()
                self.assertEqual(p.returncode, 74, err)
                self.assertIn("cannot write to standard output", err)
                self.assertEqual(len([l for l in err.splitlines() if l.startswith("esc: error:")]), 1)

    def test_a_mistyped_db_makes_no_log_for_a_read(self):
        typo = os.path.join(self.home, "tpyo", "esc.db")
        for args in (["list"], ["due", "--exit-code"], ["stats"], ["show", "1"], ["outbox"], ["search", "x"]):
            with self.subTest(args=args):
                r = self.fails(66, "--db", typo, *args)
                self.assertIn(f"no case log at {typo}", r.err)
                self.assertIn("hint:", r.err)
        r = self.fails(66, "due", "--exit-code", env={"ESC_DB": typo})
        self.assertFalse(os.path.exists(os.path.dirname(typo)))
        self.ok("--db", typo, "new", "The first case")
        self.assertTrue(os.path.exists(typo))

    def test_a_mistyped_server_address_makes_no_local_log_and_shows_no_password(self):
        # A scheme typo or libpq's key=value form is not a file name: as one
        # it would make a local log the user takes for the team's.
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.home)
        before = sorted(os.listdir(self.home))
        for location in ("postgress://esc:hunter2secret@127.0.0.1/esc",
                         "host=127.0.0.1 port=5432 password=hunter2secret"):
            for args in (["new", "The first case"], ["list"]):
                with self.subTest(location=location, args=args):
                    r = self.fails(64, "--db", location, *args)
                    self.assertNotIn("hunter2secret", r.err + r.out)
                    self.assertIn("postgresql://", r.err)
            r = self.fails(64, "new", "x", env={"ESC_DB": location})
        self.assertEqual(sorted(os.listdir(self.home)), before)

    def test_an_empty_value_is_refused_not_taken_for_no_value(self):
        # `--db "$DB"` with DB unset must not fall back to the default log.
        cid = self.ready_case()
        for args in (["--db", "", "new", "x"], ["report", "-o", ""], ["summary", cid, "--to", ""],
                     ["ack", cid, "--by", ""], ["log", cid, "note", "--at", "", "x"], ["send", cid, "--to", ""]):
            with self.subTest(args=args):
                r = self.fails(64, *args)
                self.assertIn("must not be empty", r.err)
        self.assertEqual(len(self.ok("list", "--format", "json").json()), 1)
        self.assertEqual(self.ok("show", cid, "--format", "json").json()["escalations"], [])
        self.ok("edit", cid, "--ref", "")  # its help says what "" does: clears the ref

    def test_config_check_reports_each_missing_secret(self):
        self.write_config(ENGINEER + path_block("p", ["chat", "mail"]) + routing("p")
                          + webhook("chat", "slack", "ESC_UNSET_HOOK")
                          + '[[channel]]\nname = "mail"\ntype = "smtp"\nurl = "smtps://127.0.0.1:4650"\n'
                            'to = "b@example.com"\npassword_file = "~/no-such-password"\n'
                            'username_file = "~/loose-user"\n')
        loose = os.path.join(self.home, "loose-user")
        with open(loose, "w") as f:
            f.write("dana\n")
        os.chmod(loose, 0o644)
        r = self.esc("config", "check", env={"ESC_UNSET_HOOK": None})
        self.assertEqual(r.code, 78, r)
        self.assertIn("$ESC_UNSET_HOOK is not set", r.err)
        self.assertIn("~/no-such-password does not exist", r.err)
        self.assertIn("~/loose-user can be read by others", r.err)
        self.assertIn("3 problem(s)", r.err)
        self.assertNotIn(": OK (", r.err)

    def test_due_says_when_nothing_reached_the_next_level(self):
        self.write_config(ENGINEER + path_block("tier2", ["down"], 'ack_within = "1h"\n') + routing("tier2")
                          + command("down", ["/bin/false"]))
        cid = self.ready_case()
        self.esc("send", cid)
        for d in self.ok("outbox", "--format", "json").json():
            self.ok("outbox", "drop", str(d["id"]))
        r = self.ok("due", "--format", "json", env={"ESC_NOW": "2026-11-20T12:00:00Z"})
        kinds = [i["kind"] for i in r.json()]
        self.assertIn("unreached", kinds)
        self.assertNotIn("acknowledge", kinds)
        item = [i for i in r.json() if i["kind"] == "unreached"][0]
        self.assertIn("nothing reached tier2", item["message"])


class PermanentFailures(EscTest):
    def setUp(self):
        super().setUp()
        self.hook = HttpReceiver()
        self.serve(self.hook)
        self.env["ESC_HOOK"] = self.hook.url("/hook")
        self.write_config(ENGINEER + path_block("tier2", ["chat"]) + routing("tier2")
                          + webhook("chat", "generic", "ESC_HOOK"))

    def test_a_4xx_needs_a_person_and_cron_never_retries_it(self):
        self.hook.respond(404, body="no such hook")
        cid = self.ready_case()
        r = self.esc("send", cid)
        self.assertEqual(r.code, 78, r)  # not temporary: the channel needs fixing
        self.assertIn("failed for good, needs a person", r.err)
        self.assertIn("HTTP 404", r.err)
        (d,) = self.ok("outbox", "--format", "json").json()
        self.assertEqual(d["status"], "failed")
        self.assertIn("needs you", self.ok("outbox").out)
        due = self.ok("due", "--format", "json").json()
        self.assertIn("failed for good", [i for i in due if i["kind"] == "delivery"][0]["message"])
        before = len(self.hook.requests)
        r = self.esc("outbox", "retry", "--all")  # what cron runs: leaves it alone
        self.assertEqual(r.code, 78, r)
        self.assertEqual(len(self.hook.requests), before)
        self.hook.ok()
        r = self.ok("outbox", "retry", str(d["id"]))  # after the fix, by hand
        self.assertIn("Delivered", r.err)
        self.assertEqual(self.ok("outbox", "--format", "json").json(), [])

    def test_429_and_503_are_tried_again_when_the_server_says(self):
        self.hook.respond(429, headers={"Retry-After": "120"}, times=1)
        cid = self.ready_case()
        r = self.esc("send", cid)
        self.assertEqual(r.code, 75, r)
        self.assertIn("deferred, kept in the outbox", r.err)
        self.assertIn("HTTP 429", r.err)  # a deferral gives its reason
        (d,) = self.ok("outbox", "--format", "json").json()
        self.assertEqual(d["status"], "pending")
        self.assertEqual(d["next_attempt_at"], "2026-11-20T09:02:00Z")  # ESC_NOW + Retry-After
        r = self.esc("outbox", "retry", env={"ESC_NOW": "2026-11-20T09:01:00Z"})
        self.assertIn("1 not yet due", r.err)
        self.ok("outbox", "retry", env={"ESC_NOW": "2026-11-20T09:02:00Z"})

    def test_a_missing_secret_fails_for_good(self):
        cid = self.ready_case()
        r = self.esc("send", cid, env={"ESC_HOOK": None})
        self.assertEqual(r.code, 78, r)
        self.assertIn("$ESC_HOOK is not set", r.err)
        self.assertEqual(self.ok("outbox", "--format", "json").json()[0]["status"], "failed")


class DataKeptAsItWas(EscTest):
    def test_import_merges_and_deletes_nothing_local(self):
        cid = self.ready_case()
        exported = self.ok("export").out
        other = os.path.join(self.home, "other.db")
        self.ok("--db", other, "import", "-", input=exported)
        # Each side adds something.
        self.ok("--db", other, "log", cid, "note", "added over there", env={"ESC_NOW": "2026-11-20T10:00:00Z"})
        self.ok("log", cid, "note", "added here", env={"ESC_NOW": "2026-11-20T09:30:00Z"})
        self.ok("import", "-", input=self.ok("--db", other, "export").out)
        texts = [e["text"] for e in self.ok("show", cid, "--format", "json").json()["entries"]]
        self.assertIn("added here", texts)
        self.assertIn("added over there", texts)
        self.assertEqual(len(texts), len(set(texts)))

    def test_import_keeps_numbers_and_says_what_it_renumbered(self):
        self.new_case("Ours one", "--ref", "ZD-1")
        self.new_case("Ours two")
        other = os.path.join(self.home, "other.db")
        for title, ref in (("Theirs one", "ZD-1"), ("Theirs two", None), ("Theirs three", None)):
            self.ok("--db", other, "new", title, *(["--ref", ref] if ref else []))
        r = self.ok("import", "-", input=self.ok("--db", other, "export").out)
        self.assertIn("Imported: 3 new", r.err)
        self.assertIn("case #1 in the file is #3 here", r.err)
        self.assertIn("case #2 in the file is #4 here", r.err)
        self.assertIn("case #3 in the file is #5 here", r.err)
        self.assertIn("case #3: ref ZD-1 belongs to case #1 here", r.err)
        ids = {c["title"]: c["id"] for c in self.ok("list", "--format", "json").json()}
        self.assertEqual(ids["Ours one"], 1)
        self.assertEqual(ids["Ours two"], 2)

    def test_a_word_that_is_one_case_id_and_another_ref_is_ambiguous(self):
        self.new_case("First")
        r = self.ok("new", "Second", "--ref", "1")
        self.assertIn("the ref 1 is a bare number", r.err)  # said when it is given, not first when it bites
        self.assertIn("say ref:1 for this one", r.err)
        self.assertNotIn("bare number", self.ok("new", "Third", "--ref", "ZD-1").err)
        self.assertIn("bare number", self.ok("edit", "3", "--ref", "77").err)
        r = self.fails(64, "log", "1", "note", "which one?")
        self.assertIn("\"1\" is both case #1 and the ref of case #2", r.err)
        self.assertIn("`#1` for the number, `ref:1` for the ref", r.err)
        self.ok("log", "#1", "note", "to the first")
        self.ok("log", "ref:1", "note", "to the second")
        self.assertEqual([e["text"] for e in self.ok("show", "#2", "--format", "json").json()["entries"]],
                         ["to the second"])

    def test_stats_machine_formats_carry_seconds_and_fractions(self):
        self.write_config(TWO_PATHS)
        cid = self.ready_case()
        self.ok("send", cid, env={"ESC_NOW": "2026-11-20T10:00:00Z"})
        self.ok("ack", cid, env={"ESC_NOW": "2026-11-20T10:30:00Z"})
        self.ok("send", cid, "--to", "engineering", "--note", "n", env={"ESC_NOW": "2026-11-20T11:00:00Z"})
        self.ok("ack", cid, env={"ESC_NOW": "2026-11-20T13:00:00Z"})
        header, row = self.ok("stats", "--format", "csv").out.splitlines()
        fields = dict(zip(header.split(","), row.split(",")))
        self.assertEqual(fields["tte_median_seconds"], "3600")
        self.assertEqual(fields["tta_median_seconds"], str((1800 + 7200) // 2))  # both levels' acknowledgements
        self.assertEqual(fields["escalation_rate"], "1.0000")
        g = self.ok("stats", "--format", "json").json()["groups"][0]
        self.assertEqual(g["time_to_acknowledge"]["count"], 2)
        self.assertEqual(g["escalation_rate"], 1.0)
        table = self.ok("stats").out
        self.assertIn("1h", table)  # people read durations
        self.assertIn("100%", table)


class EverydayFriction(EscTest):
    def test_unknown_flags_and_commands_get_a_did_you_mean(self):
        r = self.fails(64, "list", "--limt", "5")
        self.assertIn("unknown option --limt for `esc list`", r.err)
        self.assertIn("did you mean --limit?", r.err)
        r = self.fails(64, "lsit")
        self.assertIn("did you mean `esc list`?", r.err)
        r = self.fails(64, "config", "frob")
        self.assertIn("unknown command \"frob\" of `esc config`", r.err)
        self.assertIn("check, show, path", r.err)

    def test_conversion_errors_read_as_escs_own(self):
        self.ok("init")
        r = self.fails(64, "list", "--limit", "abc")
        self.assertIn("--limit: expected a whole number, got \"abc\"", r.err)
        self.assertNotIn("Could not convert", r.err)
        r = self.fails(64, "resolve", "1", "--csat", "7")
        self.assertIn("expected a whole number from 1 to 5", r.err)

    def test_esc_help_works_for_the_program_and_each_command(self):
        root = self.ok("help").out
        for cmd in ("new", "send", "strike", "snooze", "inbox"):
            self.assertIn(cmd, root)
        self.assertIn("--limit", self.ok("help", "list").out)
        self.assertIn("--all", self.ok("help", "outbox", "retry").out)
        self.fails(64, "help", "frob")

    def test_filters_ignore_case(self):
        self.new_case("A", "--customer", "ACME Corp", "--tag", "VPN")
        self.new_case("B", "--customer", "Globex")
        self.assertEqual(self.ok("list", "--customer", "acme corp", "--format", "ids").out, "1\n")
        self.assertEqual(self.ok("list", "--tag", "vpn", "--format", "ids").out, "1\n")

    def test_at_takes_local_time(self):
        cid = self.new_case()
        env = {"TZ": "America/New_York", "ESC_NOW": "2026-12-01T15:00:00Z"}  # 10:00 in New York
        self.ok("log", cid, "step", "--at", "2026-12-01 09:30", "thirty minutes ago, by the clock", env=env)
        self.ok("log", cid, "step", "--at", "09:45", "today, by the clock", env=env)
        self.ok("log", cid, "step", "--at", "yesterday 14:00", "yesterday afternoon", env=env)
        self.fails(64, "log", cid, "step", "--at", "25:00", "no such time", env=env)
        self.fails(64, "log", cid, "step", "--at", "tomorrow 10:00", "not a time we take", env=env)
        at = {e["text"]: e["at"] for e in self.ok("show", cid, "--format", "json").json()["entries"]}
        self.assertEqual(at["thirty minutes ago, by the clock"], "2026-12-01T14:30:00Z")
        self.assertEqual(at["today, by the clock"], "2026-12-01T14:45:00Z")
        self.assertEqual(at["yesterday afternoon"], "2026-11-30T19:00:00Z")
        # Shown in the local zone, summarised in UTC (said so).
        shown = self.ok("show", cid, env=env).out
        self.assertIn("2026-12-01 09:30", shown)
        self.assertIn("2026-12-01 14:30 UTC", self.ok("summary", cid, env=env).out)
        kolkata = self.ok("show", cid, env={"TZ": "Asia/Kolkata", "ESC_NOW": "2026-12-01T15:00:00Z"}).out
        self.assertIn("2026-12-01 20:00", kolkata)  # 14:30Z is 20:00 in Kolkata

    def test_strike_keeps_an_entry_but_leaves_it_out_of_summaries(self):
        cid = self.ready_case()
        wrong = self.ok("log", cid, "fact", "It only fails on Mondays").err
        entry = wrong.split("Logged fact ")[1].split(" ")[0]
        self.assertIn("It only fails on Mondays", self.ok("summary", cid).out)
        self.fails(64, "strike", entry)  # a reason is required
        self.ok("strike", entry, "--reason", "that was another customer")
        self.assertNotIn("It only fails on Mondays", self.ok("summary", cid).out)
        shown = self.ok("show", cid).out
        self.assertIn("It only fails on Mondays", shown)
        self.assertIn("[struck", shown)
        self.assertIn("that was another customer", shown)
        e = [e for e in self.ok("show", cid, "--format", "json").json()["entries"] if e["id"] == int(entry)][0]
        self.assertEqual(e["struck_reason"], "that was another customer")

    def test_a_hypothesis_state_changes_by_its_entry_number(self):
        cid = self.new_case()
        out = self.ok("log", cid, "hypothesis", "The ACS times out").err
        entry = out.split("Logged hypothesis ")[1].split(" ")[0]
        self.ok("state", entry, "confirmed")
        self.assertIn("HYPOTHESIS (confirmed)", self.ok("summary", cid).out)
        self.fails(65, "state", str(int(entry) + 1), "refuted")  # the correction entry: not a hypothesis
        e = self.ok("show", cid, "--format", "json").json()["entries"]
        self.assertEqual(e[0]["state"], "confirmed")
        self.assertEqual(e[1]["kind"], "correction")

    def test_snooze_keeps_a_case_out_of_due_until_then(self):
        cid = self.new_case("Late", "--severity", "high")
        later = {"ESC_NOW": "2026-11-20T20:00:00Z"}
        self.assertTrue(self.ok("due", "--format", "json", env=later).json())
        self.fails(64, "snooze", cid, "2h")  # a reason is required
        self.ok("snooze", cid, "2026-11-21 08:00", "--reason", "client is testing overnight", env=later)
        self.assertEqual(self.ok("due", "--format", "json", env=later).json(), [])
        self.assertTrue(self.ok("due", "--format", "json", env={"ESC_NOW": "2026-11-21T08:00:00Z"}).json())
        self.assertIn("snoozed until", self.ok("show", cid, env=later).out)

    def test_tables_keep_the_column_that_matters(self):
        cid = self.new_case("A title that says what is wrong with the checkout", "--severity", "high")
        due = self.ok("due", env={"COLUMNS": "100", "ESC_NOW": "2026-11-20T20:00:00Z"}).out
        self.assertIn("A title that", due)
        for line in due.splitlines():
            self.assertLessEqual(len(line), 100)
        self.ok("resolve", cid)
        self.ok("review", cid, "--lesson", "Get the ACS trace id before anything else")
        lessons = self.ok("lessons", env={"COLUMNS": "80"}).out
        self.assertIn("Get the ACS", lessons)
        self.assertIn("A title", lessons)

    def test_show_without_a_pager_prints_directly(self):
        cid = self.new_case()
        bindir = os.path.join(self.home, "bin")
        os.makedirs(bindir)
        for tool in ("sh",):
            os.symlink(f"/bin/{tool}", os.path.join(bindir, tool))
        env = dict(self.env, PATH=bindir)
        env.pop("PAGER", None)
        s = PtySession(["show", cid], env)
        s.read_until("Checkout fails for EU cards")
        self.assertEqual(s.wait(), 0)

    def test_dry_run_quotes_arguments_and_labels_formats(self):
        self.write_config(ENGINEER + path_block("tier2", ["cmd", "json"]) + routing("tier2")
                          + command("cmd", ["mail", "-s", "{subject}", "team@example.com"])
                          + '[[channel]]\nname = "json"\ntype = "stdout"\nformat = "json"\n\n')
        cid = self.ready_case("It's broken; really")
        r = self.ok("send", cid, "--dry-run")
        self.assertIn("standard input of: mail -s '[ESC #1][high] ACME Corp: It'\\''s broken; really' "
                      "team@example.com (text/plain)", r.err)
        self.assertIn("via channel json: standard output (application/json)", r.err)

    def test_a_filled_value_that_would_be_an_option_is_refused(self):
        self.write_config(ENGINEER + path_block("tier2", ["cmd"]) + routing("tier2")
                          + command("cmd", ["/bin/echo", "{customer}"]))
        self.ok("new", "x", "--customer=-rf")
        for kind, text in (("fact", "f"), ("step", "s"), ("hypothesis", "h"), ("notice", "n")):
            self.ok("log", "1", kind, text)
        self.ok("edit", "1", "--trigger", "sla-breach")
        r = self.esc("send", "1")
        self.assertEqual(r.code, 78, r)
        self.assertIn("would start with '-'", r.err)
        self.assertEqual(self.ok("outbox", "--format", "json").json()[0]["status"], "failed")


if __name__ == "__main__":
    main()
