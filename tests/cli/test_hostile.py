"""Hostile input and faults: pasted logs, files from other people, config
from a dotfile repository, servers esc does not control. Each gets a clear
error or a bounded, correct result: no crash, no hang, no leak."""

import json
import os
import signal
import stat
import subprocess
import threading
import time
import uuid

import tlsca
from esctest import ESC, EscTest, main
from servers import HttpReceiver, SmtpServer
from test_send import ENGINEER, command, filedir, path_block, routing, smtp, webhook


def run(args, env, timeout=60, **kw):
    return subprocess.run([ESC, *args], env=env, capture_output=True, timeout=timeout, **kw)


def config_check_fails(test, **kw):
    """`esc config check` lists every problem, then exits 78."""
    r = test.esc("config", "check", **kw)
    test.assertEqual(r.code, 78, r)
    return r


class CrashesAndHangs(EscTest):
    def test_a_100_mb_entry_shows_summarises_and_sends_in_seconds(self):
        self.write_config(ENGINEER + path_block("p", ["archive"]) + routing("p") + filedir("archive", "~/archive"))
        cid = self.ready_case()
        line = "GET /api/v1/orders 500 after 30s card 4111111111111111 Bearer abc.def\n"
        paste = line * (100_000_000 // len(line))
        start = time.monotonic()
        self.ok("log", cid, "diagnostic", "-", input=paste, timeout=120)
        for args in (["show", cid], ["summary", cid], ["summary", cid, "--format", "json"], ["send", cid]):
            with self.subTest(args=args):
                t = time.monotonic()
                p = self.esc(*args, timeout=120)
                self.assertEqual(p.code, 0, p.err[-2000:])
                self.assertLess(time.monotonic() - t, 60)
        self.assertNotIn("4111111111111111", open(os.path.join(self.home, "archive", os.listdir(
            os.path.join(self.home, "archive"))[0]), encoding="utf-8").read(200_000))
        self.assertLess(time.monotonic() - start, 240)

    def test_a_long_token_is_masked_and_a_backtracking_rule_withholds_the_text(self):
        self.write_config(ENGINEER + "[[redact]]\npattern = 'Bearer [A-Za-z0-9._~+/=-]+'\nreplace = 'Bearer [token]'\n\n"
                          "[[redact]]\npattern = '(a+)+$'\nreplace = '[x]'\n")
        cid = self.ready_case()
        self.ok("log", cid, "diagnostic", "-", input="Authorization: Bearer " + "A" * 66_000 + "\n")
        self.ok("log", cid, "note", "a" * 60 + "!")
        out = self.ok("summary", cid, timeout=30).out
        self.assertIn("Bearer [token]", out)
        self.assertNotIn("A" * 100, out)
        self.assertIn("withheld: redaction rule 2 could not finish", out)
        self.assertNotIn("a" * 60, out)
        r = self.esc("config", "check")
        self.assertEqual(r.code, 0, r)  # a warning, not an error
        self.assertIn("warning:", r.err)
        self.assertIn("may backtrack badly", r.err)

    def test_a_deeply_nested_config_is_refused_before_parsing(self):
        self.write_config("x = " + "[" * 7000 + "]" * 7000 + "\n")
        r = config_check_fails(self)
        self.assertIn("nested more than 32 deep", r.err)
        self.assertIn("esc.toml:1:", r.err)

    def test_a_config_that_is_not_a_regular_file_is_refused_at_once(self):
        for path in ("/dev/zero", os.path.join(self.home, "fifo")):
            if path.endswith("fifo"):
                os.mkfifo(path)
            with self.subTest(path=path):
                start = time.monotonic()
                r = self.fails(78, "--config", path, "list", timeout=10)
                self.assertIn("is not a regular file", r.err)
                self.assertLess(time.monotonic() - start, 5)
        big = os.path.join(self.home, "big.toml")
        with open(big, "w") as f:
            f.write("# padding\n" * 200_000)
        r = self.fails(78, "--config", big, "list")
        self.assertIn("is larger than 1024 KiB", r.err)

    def test_a_malformed_search_is_bad_input_with_a_hint(self):
        self.new_case()
        for q in ("a OR OR b", "OR a", "a OR"):
            with self.subTest(q=q):
                r = self.fails(65, "search", q)
                self.assertIn("OR must stand between two words", r.err)
                self.assertIn("hint:", r.err)
        self.ok("search", "\"unbalanced (quote* NEAR(")

    def test_send_while_an_import_rewrites_the_case_loses_nothing(self):
        self.write_config(ENGINEER + path_block("p", ["slow"]) + routing("p")
                          + command("slow", ["/bin/sh", "-c", "cat > /dev/null; sleep 1"]))
        cid = self.ready_case()
        # A newer copy of the same case, from elsewhere.
        record = json.loads(self.ok("export").out)
        record["case"]["title"] = "Renamed elsewhere"
        record["case"]["updated_at"] = "2026-11-20T10:00:00Z"
        sender = subprocess.Popen([ESC, "send", cid], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.3)
        self.ok("import", "-", input=json.dumps(record) + "\n")
        out, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 0, err)
        c = self.ok("show", cid, "--format", "json").json()
        self.assertEqual(c["title"], "Renamed elsewhere")
        self.assertEqual(len(c["escalations"]), 1)  # what reached the receiver is still in the log
        self.assertEqual(c["escalations"][0]["deliveries"][0]["status"], "delivered")


class AClaimThatHolds(EscTest):
    def test_a_stopped_process_loses_its_claim_and_records_nothing_on_resuming(self):
        counter = os.path.join(self.home, "count")
        self.write_config(ENGINEER + '[database]\nbusy_timeout = "1s"\n\n' + path_block("p", ["cmd"]) + routing("p")
                          + command("cmd", ["/bin/sh", "-c", f"cat > /dev/null; echo x >> {counter}; sleep 2"],
                                    timeout="3s"))
        cid = self.ready_case()
        first = subprocess.Popen([ESC, "send", cid], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.5)
        first.send_signal(signal.SIGSTOP)  # a laptop's lid closed mid-delivery
        try:
            time.sleep(15)  # the claim's lease: the timeout, the wait for a busy log, and 10s
            r = self.ok("outbox", "retry")
            self.assertIn("Delivered", r.err)
        finally:
            first.send_signal(signal.SIGCONT)
        out, err = first.communicate(timeout=60)
        self.assertIn(b"took this delivery over", err)
        self.assertIn(b"nothing was recorded", err)
        (x,) = self.ok("show", cid, "--format", "json").json()["escalations"]
        (d,) = x["deliveries"]
        self.assertEqual(d["status"], "delivered")
        self.assertEqual(d["attempts"], 1)  # the outcome of the one that held the claim, not overwritten
        self.assertIsNone(d["last_error"])


class UntrustedFilesStayData(EscTest):
    def crafted(self, **case):
        base = {"id": 1, "uuid": str(uuid.uuid4()), "title": "Imported", "customer": "", "severity": "high",
                "status": "escalated", "ref": None, "triggers": [], "tags": [], "engineer": "mallory",
                "created_at": "2026-11-20T08:00:00Z", "updated_at": "2026-11-20T08:00:00Z"}
        base.update(case)
        return base

    def test_an_imported_pending_delivery_is_never_sent(self):
        marker = os.path.join(self.home, "ran")
        self.write_config(ENGINEER + path_block("p", ["cmd"]) + routing("p")
                          + command("cmd", ["/bin/sh", "-c", f"cat > {marker}"]))
        x = {"id": 1, "uuid": str(uuid.uuid4()), "level": 1, "path": "p", "at": "2026-11-20T08:00:00Z",
             "subject": "forged", "snapshot": json.dumps({"subject": "forged", "case": self.crafted()})}
        d = {"id": 1, "escalation_id": 1, "channel": "cmd", "key": str(uuid.uuid4()), "status": "pending",
             "attempts": 0, "created_at": "2026-11-20T08:00:00Z", "next_attempt_at": "2026-11-20T08:00:00Z"}
        line = json.dumps({"case": self.crafted(), "entries": [], "escalations": [x], "deliveries": [d]})
        self.ok("import", "-", input=line + "\n")
        self.assertEqual(self.ok("outbox", "--format", "json").json(), [])
        self.ok("outbox", "retry", "--all")
        self.assertFalse(os.path.exists(marker))
        self.fails(65, "outbox", "retry", "1")
        self.assertIn("imported", self.ok("show", "1").out)

    def test_imported_text_gets_the_checks_typed_text_gets(self):
        for field, value in (("title", "evil\x1b]52;c;aGk=\x07"), ("customer", "a\rb"), ("ref", "Z\x00D"),
                             ("engineer", "mal\x9blory"), ("tags", ["ok", "bad\x1b[2J"]),
                             ("triggers", ["x\x07"])):
            with self.subTest(field=field):
                line = json.dumps({"case": self.crafted(**{field: value}), "entries": [], "escalations": [],
                                   "deliveries": []})
                r = self.fails(65, "import", "-", input=line + "\n")
                self.assertIn("control characters", r.err)
                self.assertIn("nothing was imported", r.err)

    def test_a_record_that_would_lose_part_of_itself_imports_nothing(self):
        # Each of these was dropped in silence before: a line is taken
        # whole, or not at all.
        def entry(u, kind="fact"):
            return {"id": 1, "uuid": u, "kind": kind, "text": "t", "at": "2026-11-20T08:00:00Z"}
        x = {"id": 1, "uuid": str(uuid.uuid4()), "level": 1, "path": "p", "at": "2026-11-20T08:00:00Z",
             "subject": "s", "snapshot": ""}
        d = {"id": 1, "escalation_id": 2, "channel": "cmd", "key": str(uuid.uuid4()), "status": "delivered",
             "attempts": 1, "created_at": "2026-11-20T08:00:00Z"}
        twice = str(uuid.uuid4())
        for what, record, says in (
                ("an entry UUID twice", {"entries": [entry(twice), entry(twice, "step")]},
                 "entries[1].uuid: the same as another's in this record"),
                ("a delivery of no escalation here", {"escalations": [x], "deliveries": [d]},
                 "deliveries[0].escalation_id: no escalation of this record has that id"),
                ("a UUID that is not one", {"entries": [entry("not-a-uuid")]}, "entries[0].uuid: expected a UUID"),
                ("a case UUID that is not one", {"case": self.crafted(uuid="x")}, "case.uuid: expected a UUID"),
                ("no severity", {"case": self.crafted(severity="")}, "case.severity: empty")):
            with self.subTest(what):
                line = json.dumps({"case": self.crafted(), "entries": [], "escalations": [], "deliveries": [],
                                   **record})
                r = self.fails(65, "import", "-", input=line + "\n")
                self.assertIn(says, r.err)
                self.assertIn("nothing was imported", r.err)
        # An entry this log holds under another case.
        cid = self.new_case("Here first")
        self.ok("log", cid, "fact", "mine")
        mine = next(e for e in self.ok("show", cid, "--format", "json").json()["entries"] if e["kind"] == "fact")
        line = json.dumps({"case": self.crafted(id=7), "entries": [entry(mine["uuid"])], "escalations": [],
                           "deliveries": []})
        r = self.fails(65, "import", "-", input=line + "\n")
        self.assertIn(f"stdin:1: entry {mine['uuid']} is case #{cid}'s here, not this case's", r.err)
        self.assertEqual(len(self.ok("list", "--format", "json").json()), 1)

    def test_every_output_format_shows_control_characters_inert(self):
        cid = self.new_case("Plain title")
        self.ok("log", cid, "note", "click \x1b]8;;http://evil.example\x07here\x1b]8;;\x07 or \x1b]52;c;aGk=\x07")
        for args in (["show", cid], ["show", cid, "--format", "json"], ["list", "--format", "csv"],
                     ["search", "click", "--format", "csv"], ["search", "click"], ["summary", cid],
                     ["summary", cid, "--format", "markdown"], ["export"], ["search", "click", "--format", "json"]):
            with self.subTest(args=args):
                out = self.ok(*args).out
                self.assertNotIn("\x1b", out)
                self.assertNotIn("\x07", out)
                for c1 in ("\x9b", "\x9d"):
                    self.assertNotIn(c1, out)


class SecretsAndTheNetwork(EscTest):
    def test_credentials_in_a_url_are_refused_and_never_printed(self):
        self.write_config(ENGINEER + path_block("p", ["mail"]) + routing("p")
                          + smtp("mail", "smtp://bob:Sup3rSecretPw@127.0.0.1:2525"))
        r = config_check_fails(self)
        self.assertIn("credentials in a URL are refused", r.err)
        self.assertNotIn("Sup3rSecretPw", r.err)
        r = self.esc("config", "show")
        self.assertNotIn("Sup3rSecretPw", r.out + r.err)

    def test_plain_http_is_refused_beyond_this_machine(self):
        hook = self.serve(HttpReceiver())
        self.write_config(ENGINEER + path_block("p", ["chat"]) + routing("p") + webhook("chat", "generic", "HOOK"))
        cid = self.ready_case()
        r = self.esc("send", cid, env={"HOOK": "http://hooks.example.com/secret-path-12345"})
        self.assertEqual(r.code, 78, r)
        self.assertIn("plain http:// sends the hand-over unencrypted", r.err)
        self.assertNotIn("secret-path-12345", r.err)
        self.ok("outbox", "drop", "1")
        self.ok("send", cid, "--again", "--reason", "loopback is fine", env={"HOOK": hook.url("/hook")})
        self.assertEqual(len(hook.requests), 1)
        # No scheme at all: a config error for a URL in the config, a failure for a secret one.
        r = self.esc("send", cid, "--again", "--reason", "r", env={"HOOK": "hooks.example.com/x"})
        self.assertIn("has no scheme", r.err)
        self.write_config(ENGINEER + path_block("p", ["pd"]) + routing("p") +
                          '[[channel]]\nname = "pd"\ntype = "pagerduty"\nrouting_key_env = "K"\n'
                          'url = "http://events.example.com/v2/enqueue"\n')
        self.assertIn("plain http://", config_check_fails(self).err)
        self.write_config(ENGINEER + path_block("p", ["pd"]) + routing("p") +
                          '[[channel]]\nname = "pd"\ntype = "pagerduty"\nrouting_key_env = "K"\n'
                          'url = "http://events.example.com/v2/enqueue"\nallow_http = true\n')
        self.assertNotIn("plain http://", self.esc("config", "check", env={"K": "k"}).err)

    def tls_hook(self, variant, ca=None):
        hook = self.serve(HttpReceiver(tls=tlsca.server_context(variant)))
        extra = f'ca_file = "{ca}"\n' if ca else ""
        self.write_config(ENGINEER + path_block("p", ["chat"]) + routing("p")
                          + webhook("chat", "generic", "HOOK").replace('timeout = "5s"\n', 'timeout = "5s"\n' + extra))
        return hook

    def test_tls_certificates_are_verified_and_a_private_ca_can_be_named(self):
        ca = tlsca.shared()
        for variant in ("selfsigned", "unknown_ca", "wrong_name"):
            with self.subTest(variant=variant):
                hook = self.tls_hook(variant, ca.ca_file)
                cid = self.new_case(f"TLS {variant}", "--trigger", "sla-breach")
                r = self.esc("send", cid, "--force", "--reason", "test", env={"HOOK": hook.url("/hook")})
                self.assertEqual(r.code, 78, r)
                self.assertIn("certificate was refused", r.err)
                self.assertEqual(hook.requests, [])
                hook.stop()
        # Without ca_file the test CA is unknown; with it, the good certificate is accepted.
        hook = self.tls_hook("good")
        cid = self.new_case("TLS no CA", "--trigger", "sla-breach")
        r = self.esc("send", cid, "--force", "--reason", "t", env={"HOOK": hook.url("/hook"), "SSL_CERT_FILE": None})
        self.assertEqual(r.code, 78, r)
        self.assertIn("name its CA with ca_file", r.err)
        hook.stop()
        hook = self.tls_hook("good", ca.ca_file)
        cid = self.new_case("TLS with CA", "--trigger", "sla-breach")
        self.ok("send", cid, "--force", "--reason", "t", env={"HOOK": hook.url("/hook")})
        self.assertEqual(len(hook.requests), 1)

    def test_smtp_passwords_go_only_over_verified_tls(self):
        ca = tlsca.shared()
        self.env["SMTP_PW"] = "Sm7pPassw0rd!"
        plain = self.serve(SmtpServer())
        self.write_config(ENGINEER + path_block("p", ["mail"]) + routing("p")
                          + smtp("mail", plain.url, 'username = "dana"\npassword_env = "SMTP_PW"\n'))
        cid = self.ready_case()
        r = self.esc("send", cid)
        self.assertEqual(r.code, 78, r)
        self.assertIn("password is sent only over TLS", r.err)
        self.assertEqual(plain.logins, [])
        secure = self.serve(SmtpServer(tls=tlsca.server_context("good"), require_starttls=True))
        self.write_config(ENGINEER + path_block("p", ["mail"]) + routing("p")
                          + smtp("mail", secure.url, f'username = "dana"\npassword_env = "SMTP_PW"\n'
                                                      f'ca_file = "{ca.ca_file}"\n'))
        cid = self.new_case("Over TLS", "--trigger", "sla-breach")
        self.ok("send", cid, "--force", "--reason", "t")
        self.assertEqual(len(secure.messages), 1)
        self.assertTrue(secure.messages[0].tls)
        self.assertTrue(all(a.tls for a in secure.auths))

    def test_the_command_channel_gets_no_secret_in_its_environment(self):
        dump = os.path.join(self.home, "env")
        self.env.update({"ESC_HOOK": "https://hooks.example.com/T/B/x", "SMTP_PW": "pw", "OTHER": "kept"})
        self.write_config(ENGINEER + path_block("p", ["cmd"]) + routing("p")
                          + command("cmd", ["/bin/sh", "-c", f"cat > /dev/null; env > {dump}"])
                          + webhook("chat", "slack", "ESC_HOOK")
                          + smtp("mail", "smtps://127.0.0.1:4650", 'password_env = "SMTP_PW"\n'))
        cid = self.ready_case()
        self.ok("send", cid)
        with open(dump) as f:
            names = {line.split("=", 1)[0] for line in f if "=" in line}
        self.assertNotIn("ESC_HOOK", names)
        self.assertNotIn("SMTP_PW", names)
        self.assertIn("OTHER", names)

    def test_files_esc_writes_for_people_are_private(self):
        cid = self.ready_case()
        out = os.path.join(self.home, "handover.txt")
        old = os.umask(0o022)
        try:
            self.ok("summary", cid, "--to", out)
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)


if __name__ == "__main__":
    main()
