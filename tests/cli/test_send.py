"""`esc send`, the channels, the outbox and `esc ack`, end to end: the real
binary delivering to real servers on 127.0.0.1 started by each test
(servers.py), and to real programs and folders."""

import datetime
import glob
import json
import os
import re
import subprocess
import time
import uuid

from email.utils import parsedate_to_datetime

import esctest
from esctest import NOW, EscTest, main
from servers import HttpReceiver, SilentServer, SmtpServer

# Secrets, each distinctive enough to be searched for anywhere.
SLACK_PATH = "/services/T0ESCTEST/B0ESCTEST/xoxbSecretToken4Hook"
SLACK_TOKEN = "xoxbSecretToken4Hook"
FILE_HOOK_TOKEN = "qTokenFromAFile9931"
SMTP_PASSWORD = "pw-Sm7pSecret!Pass"
PD_KEY = "R0utingKeySecret0123456789abcdef"

CARD = "4111 1111 1111 1111"  # passes the Luhn check
CARD_DIGITS = "4111111111111111"

ENGINEER = '[engineer]\nname = "Dana Reyes"\nemail = "dana@example.com"\n\n'


def q(s):
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(s)


def squash(text):
    """Text with runs of white space made single spaces (summaries wrap)."""
    return " ".join(text.split())


def path_block(name, channels, extra=""):
    chans = "[" + ", ".join(q(c) for c in channels) + "]"
    return f"[[path]]\nname = {q(name)}\nchannel = {chans}\n{extra}\n"


def webhook(name, fmt, env, timeout="5s"):
    return (f"[[channel]]\nname = {q(name)}\ntype = \"webhook\"\nformat = {q(fmt)}\n"
            f"url_env = {q(env)}\ntimeout = {q(timeout)}\n\n")


def smtp(name, url, extra="", timeout="5s", to=("eng@example.com",), frm="support@example.com"):
    tos = "[" + ", ".join(q(t) for t in to) + "]"
    return (f"[[channel]]\nname = {q(name)}\ntype = \"smtp\"\nurl = {q(url)}\nfrom = {q(frm)}\n"
            f"to = {tos}\ntimeout = {q(timeout)}\n{extra}\n")


def pagerduty(name, url, timeout="5s"):
    return (f"[[channel]]\nname = {q(name)}\ntype = \"pagerduty\"\nrouting_key_env = \"ESC_PD_KEY\"\n"
            f"url = {q(url)}\ntimeout = {q(timeout)}\n\n")


def command(name, argv, timeout="5s"):
    args = "[" + ", ".join(q(a) for a in argv) + "]"
    return f"[[channel]]\nname = {q(name)}\ntype = \"command\"\nargv = {args}\ntimeout = {q(timeout)}\n\n"


def filedir(name, d):
    return f"[[channel]]\nname = {q(name)}\ntype = \"file\"\ndir = {q(d)}\n\n"


def routing(default):
    return f"[routing]\ndefault = {q(default)}\n\n"


class SendTest(EscTest):

    # ---- helpers --------------------------------------------------------------

    def deferred(self, *args, **kw):
        """Runs esc and expects exit 75: something was deferred and stays queued."""
        r = self.esc(*args, **kw)
        self.assertEqual(r.code, 75, r)
        self.assertTrue(r.err.strip(), r)
        self.assertNotIn("runtime error", r.err)
        return r

    def outbox(self):
        return self.ok("outbox", "--format", "json").json()

    def db_bytes(self):
        if self.pg:  # everything the server holds for this log
            return subprocess.run(["pg_dump", "--data-only", "-d", self.pg.uri()], capture_output=True,
                                  check=True).stdout
        data = b""
        for suffix in ("", "-wal", "-journal"):
            p = self.db + suffix
            if os.path.exists(p):
                with open(p, "rb") as f:
                    data += f.read()
        return data

    def assertNoSecret(self, where, text, secrets):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        for s in secrets:
            self.assertNotIn(s, text, f"a secret leaked into {where}")

    # ---- delivered first time ---------------------------------------------------

    def test_email_headers_body_and_envelope(self):
        mail = self.serve(SmtpServer())
        title = "Zahlung schlägt fehl – Kartenprüfung für alle Kartentypen im Webshop ✓"
        self.write_config(ENGINEER + path_block("tier2", ["eng-mail"]) + routing("tier2")
                          + smtp("eng-mail", mail.url, frm="Support München <support@example.com>",
                                 to=("eng@example.com", "Zoë Lead <lead@example.org>")))
        # A line holding only a dot ends the SMTP DATA phase: case text that
        # tries it must neither cut the message short nor add a recipient.
        smuggle = "Gateway log:\n.\nMAIL FROM:<evil@example.net>\nRCPT TO:<x@example.net>\nDATA\nSubject: forged"
        cid, = self.seed({"title": title, "customer": "Müller GmbH",
                          "facts": ["Only EU-issued cards fail; US cards pass", smuggle]})
        r = self.ok("send", cid)
        self.assertIn("eng-mail", r.err)
        x, keys = self.latest(cid)
        subject, key = x["subject"], keys["eng-mail"]
        self.assertEqual(subject, f"[ESC #1][high] Müller GmbH: {title}")

        self.assertEqual(len(mail.messages), 1, mail.attempts)
        got = mail.messages[0]
        self.assertEqual(got.mail_from, "support@example.com")
        self.assertEqual(sorted(got.rcpt_tos), ["eng@example.com", "lead@example.org"])

        head, sep, _ = got.data.partition(b"\r\n\r\n")
        self.assertTrue(sep, "no blank line between header and body")
        for line in head.split(b"\r\n"):
            self.assertTrue(all(b < 128 for b in line), f"raw 8-bit header line: {line!r}")
            self.assertLessEqual(len(line), 998)
        for word in re.findall(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=", head):
            self.assertLessEqual(len(word), 75, word)

        msg = got.message()
        self.assertEqual(msg["Subject"], subject)
        self.assertEqual(parsedate_to_datetime(msg["Date"]),
                         datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.timezone.utc))
        self.assertEqual(msg["Message-ID"], f"<{key}@example.com>")
        self.assertEqual(msg["From"].addresses[0].addr_spec, "support@example.com")
        self.assertEqual(msg["From"].addresses[0].display_name, "Support München")
        self.assertEqual(sorted(a.addr_spec for a in msg["To"].addresses), ["eng@example.com", "lead@example.org"])
        self.assertEqual([a.display_name for a in msg["To"].addresses], ["", "Zoë Lead"])
        self.assertEqual(msg["MIME-Version"], "1.0")
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        self.assertIsNone(msg["Bcc"])
        self.assertEqual(len(msg.get_all("Subject")), 1)

        body = msg.get_content()
        flat = squash(body)
        self.assertTrue(body.startswith(subject), body[:200])
        for text in ("Customer: Müller GmbH", "WHY IT IS ESCALATED", "FACTS AND DIAGNOSTIC RESULTS",
                     "Only EU-issued cards fail; US cards pass", "STEPS ALREADY TAKEN",
                     "Rolled back the 3-D Secure config", "CLIENT INTERACTIONS",
                     "Told the client: escalating to tier 2, news by 16:00", "unconfirmed: a suggestion",
                     "The issuer's ACS times out"):
            self.assertIn(text, flat)
        # The smuggled lines arrive as text of the one message.
        self.assertIn("RCPT TO:<x@example.net>", body)
        self.assertIn("Subject: forged", body)

    def test_slack_payload_blocks_key_and_escaping(self):
        hook = self.serve(HttpReceiver())
        self.env["ESC_SLACK_URL"] = hook.url(SLACK_PATH)
        self.write_config(ENGINEER + path_block("tier2", ["chat"]) + routing("tier2")
                          + webhook("chat", "slack", "ESC_SLACK_URL"))
        cid, = self.seed({"title": "Checkout fails <!here> for EU cards", "customer": "A&B <Corp>",
                          "facts": ["Paging <!channel> and <@U123> & <https://evil.example|click here>"]})
        dry = self.ok("send", cid, "--dry-run")
        self.assertEqual(hook.requests, [])
        self.ok("send", cid)
        key = self.latest(cid)[1]["chat"]

        self.assertEqual(len(hook.requests), 1)
        req = hook.requests[0]
        self.assertEqual(req.method, "POST")
        self.assertEqual(req.path, SLACK_PATH)
        self.assertTrue(req.headers["Content-Type"].startswith("application/json"), req.headers["Content-Type"])
        self.assertEqual(req.headers["Idempotency-Key"], key)
        body = req.json()
        # --dry-run showed exactly this payload.
        self.assertEqual(json.loads(dry.out), body)

        blocks = body["blocks"]
        self.assertIsInstance(blocks, list)
        self.assertLessEqual(len(blocks), 50)
        self.assertEqual(blocks[0]["type"], "header")
        self.assertEqual(blocks[0]["text"]["type"], "plain_text")
        self.assertIn("Checkout fails", blocks[0]["text"]["text"])
        sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
        self.assertTrue(sections)
        for b in blocks[1:]:
            self.assertEqual(b["type"], "section")
            self.assertEqual(b["text"]["type"], "mrkdwn")
            self.assertLessEqual(len(b["text"]["text"]), 3000)
        # Everything Slack parses for mentions and links is escaped.
        for text in sections + [body["text"]]:
            self.assertNotRegex(text, r"<[!@#]|<https?:", text)
        mrkdwn = "\n".join(sections)
        self.assertIn("&lt;!channel&gt;", mrkdwn)
        self.assertIn("&lt;@U123&gt;", mrkdwn)
        self.assertIn("&amp; &lt;https://evil.example|click here&gt;", mrkdwn)
        self.assertIn("A&amp;B &lt;Corp&gt;", mrkdwn)
        self.assertIn("&lt;!here&gt;", body["text"])
        self.assertIn("The issuer's ACS times out", mrkdwn)

    def test_slack_carries_every_section_of_a_long_summary(self):
        self.env["ESC_SLACK_URL"] = "http://127.0.0.1:9/unused"
        self.write_config(ENGINEER + path_block("tier2", ["chat"]) + routing("tier2")
                          + webhook("chat", "slack", "ESC_SLACK_URL"))
        long_fact = "Gateway said A&B <x> " * 8000 + "END-OF-PASTE"  # 168,000 characters
        cid, = self.seed({"facts": ["First fact", long_fact]})
        self.ok("log", cid, "heads-up", "Sam in tier 2 knows it is coming")
        body = json.loads(self.ok("send", cid, "--dry-run").out)
        blocks = body["blocks"]
        self.assertLessEqual(len(blocks), 50)
        sections = [b["text"]["text"] for b in blocks[1:]]
        for text in sections:
            self.assertLessEqual(len(text), 3000)
            self.assertIsNone(re.search(r"&(?!amp;|lt;|gt;)", text), "an escape was cut in two")
            self.assertTrue(text.strip())
        joined = squash(" ".join(sections))
        # The long entry keeps its head and tail, with how much was cut ...
        self.assertIn("First fact", joined)
        self.assertIn(squash("Gateway said A&amp;B &lt;x&gt; " * 20), joined)
        self.assertIn("END-OF-PASTE", joined)
        self.assertIn("bytes cut here", joined)
        self.assertIn(f"esc show {cid}", joined)
        # ... and no section is pushed out by it.
        for heading in ("Steps already taken", "Hypothesis (unconfirmed", "Client interactions", "Next level forewarned",
                        "Rolled back the 3-D Secure config", "Sam in tier 2 knows it is coming"):
            self.assertIn(heading, joined)

    def test_teams_mattermost_discord_generic_pagerduty_shapes(self):
        hook = self.serve(HttpReceiver())
        for name in ("teams", "mm", "discord", "generic"):
            self.env[f"ESC_{name.upper()}_URL"] = hook.url(f"/hook/{name}/secret-{name}-Path77")
        self.env["ESC_PD_KEY"] = PD_KEY
        chans = ["teams", "mm", "discord", "generic", "pd"]
        self.write_config(ENGINEER + path_block("oncall", chans) + routing("oncall")
                          + webhook("teams", "teams", "ESC_TEAMS_URL") + webhook("mm", "mattermost", "ESC_MM_URL")
                          + webhook("discord", "discord", "ESC_DISCORD_URL")
                          + webhook("generic", "generic", "ESC_GENERIC_URL")
                          + pagerduty("pd", hook.url("/v2/enqueue")))
        cid, = self.seed({"title": "Checkout fails @channel", "severity": "critical", "customer": "A&B <Corp>",
                          "facts": ["Only EU-issued cards fail", "Ask @channel and @here and @everyone",
                                    "Also @Channel, @ALL and <@U123>"]})
        r = self.ok("send", cid)
        x, keys = self.latest(cid)
        summary_subject = x["subject"]
        self.assertEqual(len(hook.requests), 5, hook.requests)

        def one(name):
            got = hook.to(f"/hook/{name}/secret-{name}-Path77")
            self.assertEqual(len(got), 1, name)
            self.assertEqual(got[0].headers["Idempotency-Key"], keys[name])
            return got[0].json()

        teams = one("teams")
        self.assertEqual(teams["type"], "message")
        att = teams["attachments"][0]
        self.assertEqual(att["contentType"], "application/vnd.microsoft.card.adaptive")
        card = att["content"]
        self.assertEqual(card["type"], "AdaptiveCard")
        self.assertIn("version", card)
        kinds = [b["type"] for b in card["body"]]
        self.assertIn("TextBlock", kinds)
        self.assertIn("FactSet", kinds)
        self.assertIn("Only EU-issued cards fail", json.dumps(card, ensure_ascii=False))

        mm = one("mm")
        self.assertIn("Only EU-issued cards fail", mm["text"])
        for word in ("channel", "here", "everyone", "all"):
            self.assertNotRegex(mm["text"], rf"(?i)@{word}\b")
        self.assertIn("Ask @\u200bchannel", mm["text"])
        self.assertIn("Also @\u200bChannel", mm["text"])

        discord = one("discord")
        self.assertEqual(discord["allowed_mentions"], {"parse": []})
        self.assertLessEqual(len(discord["content"]), 2000)
        self.assertEqual(discord["embeds"][0]["title"], summary_subject)
        description = discord["embeds"][0]["description"]
        self.assertIn("Only EU-issued cards fail", description)
        # Discord shows HTML entities as typed: text arrives as characters,
        # with mentions kept from rendering by a backslash.
        self.assertIn("A&B \\<Corp\\>", description)
        self.assertIn("\\<@U123\\>", description)
        self.assertNotIn("&amp;", description + discord["content"])
        self.assertNotIn("&lt;", description + discord["content"])
        self.assertLessEqual(len(discord["embeds"][0]["description"]), 4096)

        generic = one("generic")
        self.assertEqual(generic["subject"], summary_subject)
        self.assertEqual(generic["case"]["id"], 1)
        self.assertEqual(generic["case"]["severity"], "critical")
        self.assertEqual([f["text"] for f in generic["facts"]],
                         ["Only EU-issued cards fail", "Ask @channel and @here and @everyone",
                          "Also @Channel, @ALL and <@U123>"])
        self.assertEqual(generic["case"]["customer"], "A&B <Corp>")
        self.assertEqual(generic["hypotheses"][0]["text"], "The issuer's ACS times out")
        self.assertTrue(generic["readiness"]["ready"])
        self.assertEqual(generic["idempotency_key"], keys["generic"])

        pd, = hook.to("/v2/enqueue")
        event = pd.json()
        self.assertEqual(event["routing_key"], PD_KEY)
        self.assertEqual(event["event_action"], "trigger")
        self.assertEqual(event["dedup_key"], keys["pd"])
        self.assertEqual(event["payload"]["severity"], "critical")
        self.assertEqual(event["payload"]["summary"], summary_subject)
        self.assertTrue(event["payload"]["source"])
        # The routing key goes to PagerDuty and nowhere else.
        exported = self.ok("export").out
        for where, text in (("stdout", r.out), ("stderr", r.err), ("export", exported),
                            ("database", self.db_bytes())):
            self.assertNoSecret(where, text, [PD_KEY, "secret-teams-Path77", "secret-generic-Path77"])

    def test_command_gets_summary_on_stdin_and_subject_as_one_argument(self):
        canary = os.path.join(self.home, "canary")
        open(canary, "w").close()
        script = 'printf "%s\\0" "$@" > "$HOME/cmd.args"; cat > "$HOME/cmd.stdin"'
        self.write_config(ENGINEER + path_block("ticket", ["ticket"]) + routing("ticket")
                          + command("ticket", ["/bin/sh", "-c", script, "sh", "-s", "{subject}", "{id}",
                                               "{severity}", "{customer}", "{ref}", "x{id}y",
                                               "{level}", "{unknown}"]))
        title = "Pay \"now\" isn't working; rm -rf ~ && touch $HOME/pwned `touch $HOME/pwned2` $(id)"
        cid, = self.seed({"title": title, "customer": "O'Brien & Co; echo hi", "ref": "ZD-4411"})
        dry = self.ok("send", cid, "--dry-run")
        self.assertFalse(os.path.exists(os.path.join(self.home, "cmd.args")))
        self.ok("send", cid)
        subject = self.ok("show", cid, "--format", "json").json()["escalations"][0]["subject"]
        self.assertIn(title, subject)

        with open(os.path.join(self.home, "cmd.args"), "rb") as f:
            args = f.read().decode().split("\0")[:-1]
        self.assertEqual(args, ["-s", subject, cid, "high", "O'Brien & Co; echo hi", "ZD-4411", f"x{cid}y",
                                "1", "{unknown}"])
        with open(os.path.join(self.home, "cmd.stdin"), encoding="utf-8") as f:
            stdin = f.read()
        self.assertEqual(stdin, dry.out)
        self.assertTrue(stdin.startswith(subject))
        self.assertIn("Only EU-issued cards fail", squash(stdin))
        self.assertTrue(os.path.exists(canary))
        self.assertEqual(glob.glob(os.path.join(self.home, "pwned*")), [])

    def test_default_path_prints_the_summary_on_stdout(self):
        cid, other = self.seed({}, {"title": "Invoices export times out"})  # no config: path "default" to stdout
        dry = self.ok("send", cid, "--dry-run")
        r = self.ok("send", cid)
        self.assertEqual(r.out, dry.out)
        self.assertTrue(r.out.startswith("[ESC #1][high] ACME Corp: Checkout fails for EU cards\n"), r.out[:100])
        self.assertIn("Rolled back the 3-D Secure config", squash(r.out))
        self.assertIn("level 1", r.err)

        # `esc send 2 | program-that-exits-at-once`: nobody reads the summary,
        # so it stays in the outbox instead of esc dying of SIGPIPE.
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = subprocess.run([esctest.ESC, "send", other], stdin=subprocess.DEVNULL, stdout=write_end,
                                  stderr=subprocess.PIPE, env=self.env, timeout=60)
        finally:
            os.close(write_end)
        err = proc.stderr.decode()
        self.assertEqual(proc.returncode, 75, err)
        self.assertIn("standard output is closed", err)
        d, = self.outbox()
        self.assertEqual((d["case"], d["channel"], d["attempts"]), (2, "stdout", 1))

    def test_file_channel_writes_one_whole_file_per_delivery(self):
        d = os.path.join(self.home, "escalations")
        self.write_config(ENGINEER + path_block("archive", ["archive"]) + routing("archive")
                          + filedir("archive", "~/escalations"))
        a, b = self.seed({"title": "Checkout fails for EU cards"}, {"title": "Invoices export times out"})
        modes = {}
        for cid, umask in ((a, 0o077), (b, 0o022)):
            old = os.umask(umask)
            try:
                self.ok("send", cid)
            finally:
                os.umask(old)
        records = [json.loads(line) for line in self.ok("export").out.splitlines()]
        keys = {r["case"]["id"]: r["deliveries"][0]["key"] for r in records}
        names = sorted(os.listdir(d))
        self.assertEqual(len(names), 2, names)
        self.assertFalse([n for n in names if n.startswith(".")], names)  # no temporary file left behind
        for cid, title in ((1, "Checkout fails for EU cards"), (2, "Invoices export times out")):
            mine = [n for n in names if keys[cid] in n]
            self.assertEqual(len(mine), 1, (keys[cid], names))
            with open(os.path.join(d, mine[0]), encoding="utf-8") as f:
                text = f.read()
                modes[cid] = os.fstat(f.fileno()).st_mode & 0o777
            self.assertIn(title, text.splitlines()[0])
            self.assertIn("Rolled back the 3-D Secure config", squash(text))
            self.assertTrue(text.endswith("\n"))
        # A hand-over is for its owner only, whatever the umask; so is its folder.
        self.assertEqual(modes, {1: 0o600, 2: 0o600})
        self.assertEqual(os.stat(d).st_mode & 0o777, 0o700)

    # ---- the network goes away and comes back -------------------------------------

    def test_email_and_chat_down_then_back_delivers_once(self):
        mail = self.serve(SmtpServer())
        hook = self.serve(HttpReceiver())
        self.env["ESC_SLACK_URL"] = hook.url(SLACK_PATH)
        self.write_config(ENGINEER + path_block("tier2", ["eng-mail", "chat"]) + routing("tier2")
                          + smtp("eng-mail", mail.url) + webhook("chat", "slack", "ESC_SLACK_URL"))
        first, second = self.seed({"title": "Checkout fails for EU cards"}, {"title": "Invoices export times out"})

        self.ok("send", first)
        self.assertEqual((len(mail.messages), len(hook.requests)), (1, 1))
        self.assertEqual(self.outbox(), [])

        mail.stop()
        hook.stop()
        r = self.deferred("send", second)
        self.assertIn("deferred", r.err)
        self.assertIn("outbox", r.err)
        queued = self.outbox()
        self.assertEqual(sorted(d["channel"] for d in queued), ["chat", "eng-mail"])
        for d in queued:
            self.assertEqual(d["case"], 2)
            self.assertEqual(d["status"], "pending")
            self.assertEqual(d["attempts"], 1)
            self.assertTrue(d["last_error"])
        keys = {d["channel"]: d["key"] for d in queued}
        self.assertNoSecret("outbox", json.dumps(queued), [SLACK_TOKEN])
        self.assertIn(f"http://127.0.0.1:{hook.port}/…", {d["channel"]: d["last_error"] for d in queued}["chat"])

        mail.start()
        hook.start()
        r = self.ok("outbox", "retry", "--all")
        self.assertEqual((len(mail.messages), len(hook.requests)), (2, 2))
        self.assertEqual(mail.messages[1].message()["Message-ID"], f"<{keys['eng-mail']}@example.com>")
        self.assertIn("Invoices export times out", mail.messages[1].message()["Subject"])
        self.assertEqual(hook.requests[1].headers["Idempotency-Key"], keys["chat"])
        self.assertIn("Invoices export times out", hook.requests[1].json()["text"])

        r = self.ok("outbox", "retry", "--all")
        self.assertIn("Nothing to deliver", r.err)
        self.assertEqual((len(mail.messages), len(hook.requests)), (2, 2))
        show = self.ok("show", second, "--format", "json").json()
        self.assertEqual(show["status"], "escalated")
        self.assertEqual(sorted((d["status"], d["attempts"]) for d in show["escalations"][0]["deliveries"]),
                         [("delivered", 2), ("delivered", 2)])

    def test_message_id_is_the_same_on_every_attempt(self):
        mail = self.serve(SmtpServer())
        mail.mode = "tempfail"
        self.write_config(ENGINEER + path_block("tier2", ["eng-mail"]) + routing("tier2") + smtp("eng-mail", mail.url))
        cid, = self.seed({})
        r = self.deferred("send", cid)
        self.assertIn("451 4.3.0 Mailbox busy", r.err)
        key, = [d["key"] for d in self.outbox()]
        mail.mode = "ok"
        self.ok("outbox", "retry", "--all")
        self.assertEqual(len(mail.attempts), 2)
        self.assertEqual(len(mail.messages), 1)
        ids = [m.message()["Message-ID"] for m in mail.attempts]
        self.assertEqual(ids, [f"<{key}@example.com>"] * 2)
        self.assertEqual(mail.attempts[0].data, mail.attempts[1].data)  # Date and all: the same message

    def test_retry_waits_for_the_back_off_and_drop_gives_up(self):
        hook = self.serve(HttpReceiver())
        hook.stop()
        self.env["ESC_SLACK_URL"] = hook.url(SLACK_PATH)
        self.env["ESC_OTHER_URL"] = hook.url("/other")
        self.write_config(ENGINEER + path_block("tier2", ["chat", "other"]) + routing("tier2")
                          + webhook("chat", "slack", "ESC_SLACK_URL") + webhook("other", "generic", "ESC_OTHER_URL"))
        cid, = self.seed({})
        self.deferred("send", cid)
        queued = {d["channel"]: d for d in self.outbox()}
        self.assertEqual(queued["chat"]["next_attempt_at"], "2026-11-20T09:01:00Z")  # retry_base: 1m
        hook.start()

        r = self.deferred("outbox", "retry")  # not due yet at the same moment
        self.assertIn("not yet due", r.err)
        self.assertEqual(hook.requests, [])

        self.ok("outbox", "drop", str(queued["other"]["id"]))
        r = self.ok("outbox", "retry", env={"ESC_NOW": "2026-11-20T09:02:00Z"})
        self.assertEqual([x.path for x in hook.requests], [SLACK_PATH])
        self.fails(65, "outbox", "drop", str(queued["other"]["id"]))
        self.fails(66, "outbox", "drop", "999")
        show = self.ok("show", cid, "--format", "json").json()
        self.assertEqual({d["channel"]: d["status"] for d in show["escalations"][0]["deliveries"]},
                         {"chat": "delivered", "other": "dropped"})

    def test_a_delivery_under_way_is_not_dropped_behind_its_back(self):
        # The drop would be overwritten by the attempt's outcome, or the log
        # would say "given up" about what then went out.
        started = os.path.join(self.home, "started")
        self.write_config(ENGINEER + path_block("tier2", ["cmd"]) + routing("tier2")
                          + command("cmd", ["/bin/sh", "-c", f"cat > /dev/null; touch {started}; sleep 2; exit 75"]))
        cid, = self.seed({})
        self.deferred("send", cid)
        os.remove(started)
        (d,) = self.outbox()
        retry = subprocess.Popen([esctest.ESC, "outbox", "retry", "--all"], env=self.env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not os.path.exists(started) and time.monotonic() < deadline:
            time.sleep(0.02)
        r = self.esc("outbox", "drop", str(d["id"]))
        self.assertEqual(r.code, 75, r)
        self.assertIn("is being delivered by another esc right now; nothing was dropped", r.err)
        retry.wait(30)
        (d,) = self.outbox()
        self.assertEqual((d["status"], d["attempts"]), ("pending", 2))
        self.ok("outbox", "drop", str(d["id"]))  # once the attempt is over
        self.assertEqual(self.outbox(), [])

    # ---- failures: hang, 500, a failing command ------------------------------------

    def test_servers_that_hang_time_out(self):
        hook = self.serve(HttpReceiver(hang_seconds=30))
        hook.mode = "hang"
        silent = self.serve(SilentServer())  # accepts, never greets
        self.env["ESC_SLACK_URL"] = hook.url(SLACK_PATH)
        self.write_config(ENGINEER + path_block("tier2", ["chat", "eng-mail"]) + routing("tier2")
                          + webhook("chat", "slack", "ESC_SLACK_URL", timeout="2s")
                          + smtp("eng-mail", f"smtp://127.0.0.1:{silent.port}", timeout="2s"))
        cid, = self.seed({})
        started = time.monotonic()
        r = self.deferred("send", cid)
        elapsed = time.monotonic() - started
        # Two 2s timeouts one after the other; either server would wait far longer.
        self.assertGreaterEqual(elapsed, 3.8)
        self.assertLess(elapsed, 9, "a 2s timeout did not fire in time")
        self.assertEqual(len(hook.requests), 1)
        self.assertNoSecret("stderr", r.err, [SLACK_TOKEN])
        errors = {d["channel"]: d["last_error"] for d in self.outbox()}
        self.assertIn("timed out after 2s", errors["chat"])
        self.assertIn("timed out after 2s", errors["eng-mail"])

    def test_http_500_is_deferred_with_the_status_then_retried_under_the_same_key(self):
        hook = self.serve(HttpReceiver())
        hook.mode = "error"
        self.env["ESC_SLACK_URL"] = hook.url(SLACK_PATH)
        self.write_config(ENGINEER + path_block("tier2", ["chat"]) + routing("tier2")
                          + webhook("chat", "slack", "ESC_SLACK_URL"))
        cid, = self.seed({})
        r = self.deferred("send", cid)
        self.assertIn("HTTP 500", r.err)
        self.assertIn(f"http://127.0.0.1:{hook.port}/…", r.err)
        self.assertNoSecret("stderr", r.err, [SLACK_TOKEN, "T0ESCTEST"])
        d, = self.outbox()
        self.assertIn("HTTP 500", d["last_error"])
        self.assertNoSecret("outbox", d["last_error"], [SLACK_TOKEN, "T0ESCTEST"])
        hook.mode = "ok"
        self.ok("outbox", "retry", "--all")
        self.assertEqual([x.headers["Idempotency-Key"] for x in hook.requests], [d["key"], d["key"]])
        self.assertEqual(hook.requests[0].body, hook.requests[1].body)

    def test_an_error_page_quoting_the_url_does_not_leak_it(self):
        hook = self.serve(HttpReceiver())
        hook.mode = "echo"
        self.env["ESC_SLACK_URL"] = hook.url(SLACK_PATH + "?key=QuerySecret77")
        self.write_config(ENGINEER + path_block("tier2", ["chat"]) + routing("tier2")
                          + webhook("chat", "slack", "ESC_SLACK_URL"))
        cid, = self.seed({})
        r = self.esc("send", cid)
        self.assertEqual(r.code, 78, r)  # a 404 fails for good
        self.assertIn("HTTP 404", r.err)
        self.assertIn("no webhook at", r.err)
        error = self.outbox()[0]["last_error"]
        self.assertIn("HTTP 404", error)
        for where, text in (("stderr", r.err), ("outbox", error), ("database", self.db_bytes())):
            self.assertNoSecret(where, text, [SLACK_TOKEN, "QuerySecret77", "B0ESCTEST"])

    def test_failing_and_slow_commands_are_deferred_with_their_reason(self):
        self.write_config(ENGINEER + path_block("ticket", ["fails", "slow", "missing"]) + routing("ticket")
                          + command("fails", ["/bin/sh", "-c", 'cat > /dev/null; echo "mailbox full: quota" >&2; exit 3'])
                          + command("slow", ["sleep", "30"], timeout="2s")
                          + command("missing", ["/nonexistent/esc-notify", "{subject}"]))
        cid, = self.seed({})
        started = time.monotonic()
        r = self.deferred("send", cid)
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 8, "the 2s timeout did not fire in time")
        self.assertIn("mailbox full: quota", r.err)
        errors = {d["channel"]: d["last_error"] for d in self.outbox()}
        self.assertIn("exited with status 3", errors["fails"])
        self.assertIn("mailbox full: quota", errors["fails"])
        self.assertIn("timed out", errors["slow"])
        self.assertIn("cannot run /nonexistent/esc-notify", errors["missing"])
        table = self.ok("outbox")
        self.assertIn("mailbox full: quota", table.out)

    # ---- case text cannot forge headers --------------------------------------------

    def test_header_injection_is_refused_and_cannot_reach_a_message(self):
        mail = self.serve(SmtpServer())
        self.write_config(ENGINEER + path_block("tier2", ["eng-mail"]) + routing("tier2") + smtp("eng-mail", mail.url))
        cid, = self.seed({"title": "Checkout fails: Bcc: x@y", "customer": "ACME Corp"})
        self.fails(65, "new", "Checkout fails\r\nBcc: x@y", "--customer", "ACME")
        self.fails(65, "new", "Checkout fails", "--customer", "ACME\r\nBcc: x@y")
        self.fails(65, "edit", cid, "--customer", "ACME Corp\r\nBcc: x@y")
        self.fails(65, "edit", cid, "--title", "Checkout fails\nBcc: x@y")
        record = {"case": {"id": 9, "uuid": str(uuid.uuid4()), "title": "Checkout\r\nBcc: x@y", "customer": "ACME",
                           "severity": "high", "status": "open", "ref": None, "triggers": [], "tags": [],
                           "engineer": "Dana", "created_at": NOW, "updated_at": NOW},
                  "entries": [], "escalations": [], "deliveries": []}
        self.fails(65, "import", "-", input=json.dumps(record) + "\n")

        self.ok("send", cid)
        got, = mail.messages
        self.assertEqual(got.rcpt_tos, ["eng@example.com"])
        msg = got.message()
        self.assertIsNone(msg["Bcc"])
        self.assertEqual(msg["Subject"], "[ESC #1][high] ACME Corp: Checkout fails: Bcc: x@y")
        head = got.data.partition(b"\r\n\r\n")[0].decode()
        self.assertNotRegex(head, r"(?im)^bcc:")
        self.assertEqual(sorted(set(k.lower() for k in msg.keys())),
                         ["content-transfer-encoding", "content-type", "date", "from", "message-id",
                          "mime-version", "reply-to", "subject", "to", "x-esc-case"])

    # ---- dry run, force, ack and the next level ----------------------------------

    def test_dry_run_shows_each_payload_and_records_nothing(self):
        mail = self.serve(SmtpServer())
        hook = self.serve(HttpReceiver())
        self.env["ESC_SLACK_URL"] = hook.url(SLACK_PATH)
        self.env["ESC_PD_KEY"] = PD_KEY
        out = os.path.join(self.home, "ticket.txt")
        chans = ["chat", "eng-mail", "archive", "ticket", "pd"]
        self.write_config(ENGINEER + path_block("tier2", chans) + routing("tier2")
                          + webhook("chat", "slack", "ESC_SLACK_URL") + smtp("eng-mail", mail.url)
                          + filedir("archive", "~/escalations") + command("ticket", ["tee", out])
                          + pagerduty("pd", hook.url("/v2/enqueue")))
        cid, = self.seed({})
        r = self.ok("send", cid, "--dry-run")
        for name in chans:
            self.assertIn(f"channel {name}", r.err)
        self.assertIn('"blocks"', r.out)
        self.assertIn("Subject: [ESC #1][high] ACME Corp: Checkout fails for EU cards", r.out)
        self.assertIn("Message-ID:", r.out)
        self.assertIn("FACTS AND DIAGNOSTIC RESULTS", r.out)
        self.assertIn('"dedup_key"', r.out)
        self.assertNoSecret("dry-run", r.out + r.err, [PD_KEY, SLACK_TOKEN])
        r = self.ok("send", cid, "--dry-run", "--channel", "chat")
        self.assertIn("channel chat", r.err)
        self.assertNotIn("channel eng-mail", r.err)
        self.assertIn("blocks", json.loads(r.out))

        show = self.ok("show", cid, "--format", "json").json()
        self.assertEqual(show["escalations"], [])
        self.assertEqual(show["status"], "open")
        self.assertEqual([e["kind"] for e in show["entries"] if e["kind"] in ("escalated", "delivery")], [])
        self.assertEqual(self.outbox(), [])
        self.assertEqual((mail.messages, hook.requests), ([], []))
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(os.path.join(self.home, "escalations")))

    def test_a_dry_run_says_and_exits_as_the_real_send_would(self):
        # A script that checks with --dry-run first is told what send would.
        cid = self.new_case("Not ready yet", "--trigger", "sla-breach")
        r = self.fails(1, "send", cid, "--dry-run")
        self.assertIn("a real send would refuse: case #1 is not ready to escalate; missing:", r.err)
        self.assertIn("STILL MISSING FROM THE CHECKLIST", r.out)  # what it would have sent, all the same
        self.ok("send", cid, "--dry-run", "--force", "--reason", "client on the phone")
        ready = self.ready_case()
        self.ok("send", ready)
        r = self.fails(1, "send", ready, "--dry-run")
        self.assertIn(f"a real send would refuse: case #{ready} was escalated to default", r.err)
        self.assertIn("--again --reason", r.err)
        self.ok("send", ready, "--dry-run", "--again", "--reason", "no answer")
        self.assertEqual(len(self.ok("show", ready, "--format", "json").json()["escalations"]), 1)
        self.assertEqual(self.ok("show", cid, "--format", "json").json()["escalations"], [])

    def test_force_needs_a_reason_and_is_recorded(self):
        d = os.path.join(self.home, "escalations")
        self.write_config(ENGINEER + path_block("tier2", ["archive"]) + routing("tier2") + filedir("archive", d))
        cid, = self.seed({"ready": False})
        r = self.fails(1, "send", cid)
        self.assertIn("hypothesis", r.err)
        self.assertIn("client-told", r.err)
        self.fails(64, "send", cid, "--force")
        self.fails(64, "send", cid, "--reason", "client's CFO on the phone")
        self.assertFalse(os.path.exists(d))
        self.ok("send", cid, "--force", "--reason", "client's CFO on the phone")
        x, = self.ok("show", cid, "--format", "json").json()["escalations"]
        self.assertTrue(x["forced"])
        self.assertEqual(x["force_reason"], "client's CFO on the phone")
        name, = os.listdir(d)
        with open(os.path.join(d, name), encoding="utf-8") as f:
            self.assertIn("client's CFO on the phone", squash(f.read()))

    def test_ack_then_send_to_the_next_path_is_level_two(self):
        self.write_config(ENGINEER
                          + path_block("tier2", ["t2"], 'ack_within = "4h"\nnext = "engineering"')
                          + path_block("engineering", ["eng"]) + routing("tier2")
                          + filedir("t2", "~/tier2") + filedir("eng", "~/engineering"))
        cid, = self.seed({})
        r = self.ok("send", cid)
        self.assertIn("level 1", r.err)
        self.ok("ack", cid, "--by", "Sam (tier 2)")
        r = self.ok("send", cid, "--to", "engineering")
        self.assertIn("level 2", r.err)
        xs = self.ok("show", cid, "--format", "json").json()["escalations"]
        self.assertEqual([(x["level"], x["path"]) for x in xs], [(1, "tier2"), (2, "engineering")])
        self.assertEqual(xs[0]["acked_by"], "Sam (tier 2)")
        self.assertEqual(xs[0]["acked_at"], NOW)
        self.assertIsNone(xs[1]["acked_at"])
        self.assertEqual(len(os.listdir(os.path.join(self.home, "tier2"))), 1)
        name, = os.listdir(os.path.join(self.home, "engineering"))
        with open(os.path.join(self.home, "engineering", name), encoding="utf-8") as f:
            self.assertIn("level 1 to tier2", squash(f.read()))

    # ---- secrets and redaction ---------------------------------------------------

    def test_secrets_never_appear_in_output_database_or_export(self):
        mail = self.serve(SmtpServer())
        hook = self.serve(HttpReceiver())
        hook.stop()  # the network is down at first
        url_file = os.path.join(self.home, "hook-url")
        with open(url_file, "w") as f:
            f.write(hook.url(f"/generic/hook?token={FILE_HOOK_TOKEN}") + "\n")
        os.chmod(url_file, 0o600)
        self.env["ESC_SLACK_URL"] = hook.url(SLACK_PATH)
        self.env["ESC_SMTP_PASSWORD"] = SMTP_PASSWORD
        self.env["ESC_PD_KEY"] = PD_KEY
        self.write_config(ENGINEER + path_block("tier2", ["chat", "generic", "pd", "eng-mail"]) + routing("tier2")
                          + webhook("chat", "slack", "ESC_SLACK_URL")
                          + f"[[channel]]\nname = \"generic\"\ntype = \"webhook\"\nformat = \"generic\"\n"
                            f"url_file = {q(url_file)}\ntimeout = \"5s\"\n\n"
                          + pagerduty("pd", hook.url("/v2/enqueue"))
                          + smtp("eng-mail", mail.url, extra='username = "support"\npassword_env = "ESC_SMTP_PASSWORD"\n'))
        secrets = [SLACK_TOKEN, "T0ESCTEST", FILE_HOOK_TOKEN, SMTP_PASSWORD, PD_KEY]
        cid, = self.seed({})
        outputs = []

        r = self.esc("send", cid)
        self.assertEqual(r.code, 78, r)  # the mail fails for good: see below
        outputs.append(("send", r))
        self.assertIn(f"http://127.0.0.1:{hook.port}/…", r.err)
        for args in (("outbox",), ("outbox", "--format", "csv")):
            outputs.append((" ".join(args), self.ok(*args)))

        hook.start()
        r = self.esc("outbox", "retry", "--all")  # the mail still cannot go: see below
        self.assertEqual(r.code, 78, r)
        outputs.append(("retry", r))
        self.assertEqual(sorted(x.path for x in hook.requests),
                         sorted([SLACK_PATH, f"/generic/hook?token={FILE_HOOK_TOKEN}", "/v2/enqueue"]))
        self.assertEqual(hook.to("/v2/enqueue")[0].json()["routing_key"], PD_KEY)
        # A password is never sent over a connection that is not encrypted;
        # the mail waits in the outbox, saying why.
        self.assertEqual((mail.logins, mail.messages), ([], []))
        mail_error = {d["channel"]: d["last_error"] for d in self.outbox()}["eng-mail"]
        self.assertIn("STARTTLS", mail_error)

        for args in (("show", cid, "--format", "json"), ("export",), ("config", "show")):
            outputs.append((" ".join(args), self.ok(*args)))
        for where, res in outputs:
            self.assertNoSecret(f"{where}: stdout", res.out, secrets)
            self.assertNoSecret(f"{where}: stderr", res.err, secrets)
        self.assertNoSecret("the database", self.db_bytes(), secrets)

    def test_a_redirect_is_not_followed_and_needs_the_config_fixed(self):
        hook = self.serve(HttpReceiver())
        hook.respond(301, headers={"Location": "https://elsewhere.example/hooks/abc?token=Red1rectTok"})
        self.env["ESC_HOOK_URL"] = hook.url("/hooks/SECRETPATH99")
        self.write_config(ENGINEER + path_block("tier2", ["chat"]) + routing("tier2")
                          + webhook("chat", "slack", "ESC_HOOK_URL"))
        cid, = self.seed({})
        r = self.esc("send", cid)
        self.assertEqual(r.code, 78, r)  # failed for good: the url needs fixing
        self.assertIn("HTTP 301 (a redirect to https://elsewhere.example/…, which esc does not follow", r.err)
        self.assertNotIn("Red1rectTok", r.err)
        self.assertNotIn("SECRETPATH99", r.err)
        self.assertEqual(len(hook.requests), 1)
        self.assertEqual(self.outbox()[0]["status"], "failed")

    def test_a_short_token_in_a_webhook_query_is_masked_when_the_server_echoes_it(self):
        # A receiver that quotes part of the URL back in its refusal: each
        # piece of a secret URL is masked, down to a query value of 4.
        hook = self.serve(HttpReceiver())
        hook.respond(403, body="invalid_token: SECRETXYZ?token=QSECRT7 (key QSECRT7)")
        self.env["ESC_HOOK_URL"] = hook.url("/hooks/SECRETXYZ?token=QSECRT7&format=json")
        self.write_config(ENGINEER + path_block("tier2", ["chat"]) + routing("tier2")
                          + webhook("chat", "slack", "ESC_HOOK_URL"))
        cid, = self.seed({})
        r = self.esc("send", cid)
        self.assertIn("HTTP 403", r.err)
        for where, text in (("send", r.err + r.out), ("outbox", self.ok("outbox", "--format", "json").out),
                            ("export", self.ok("export").out), ("the database", self.db_bytes().decode("latin-1"))):
            self.assertNotIn("QSECRT7", text, where)
            self.assertNotIn("SECRETXYZ", text, where)

    def test_card_numbers_are_masked_in_every_channel_and_the_snapshot(self):
        mail = self.serve(SmtpServer())
        hook = self.serve(HttpReceiver())
        for name in ("slack", "teams", "mattermost", "discord", "generic"):
            self.env[f"ESC_{name.upper()}_URL"] = hook.url(f"/{name}")
        self.env["ESC_PD_KEY"] = PD_KEY
        tee_out = os.path.join(self.home, "ticket.txt")
        hooks = ["slack", "teams", "mattermost", "discord", "generic"]
        chans = hooks + ["pd", "eng-mail", "archive", "ticket"]
        self.write_config(ENGINEER + path_block("all", chans) + routing("all")
                          + "".join(webhook(n, n, f"ESC_{n.upper()}_URL") for n in hooks)
                          + pagerduty("pd", hook.url("/pd")) + smtp("eng-mail", mail.url)
                          + filedir("archive", "~/escalations") + command("ticket", ["tee", tee_out])
                          + "[[redact]]\npattern = 'ACCT-\\d{6}'\nreplace = \"[account]\"\n\n")
        cid, = self.seed({"title": "Refund to 5500-0000-0000-0004 failed",
                          "facts": [f"Card {CARD} declined for ACCT-123456", "Order 1234567890123 is fine"]})
        self.ok("send", cid)

        def check(where, text):
            text = text.replace("\\", "")
            self.assertNotIn(CARD, text, where)
            self.assertNotIn(CARD_DIGITS, text, where)
            self.assertNotIn("5500-0000-0000-0004", text, where)
            self.assertNotIn("ACCT-123456", text, where)
            self.assertIn("[card number]", text, where)
            self.assertIn("[account]", text, where)
            self.assertIn("1234567890123", text, where)  # not a card number: kept

        self.assertEqual(len(hook.requests), 6)
        for req in hook.requests:
            check(req.path, json.dumps(req.json(), ensure_ascii=False))
        msg = mail.messages[0].message()
        check("e-mail", msg.get_content())
        self.assertIn("[card number]", msg["Subject"])
        name, = os.listdir(os.path.join(self.home, "escalations"))
        with open(os.path.join(self.home, "escalations", name), encoding="utf-8") as f:
            check("file", f.read())
        with open(tee_out, encoding="utf-8") as f:
            check("command", f.read())
        x, = json.loads(self.ok("export").out)["escalations"]
        check("snapshot", x["snapshot"])
        self.assertIn("[card number]", x["subject"])

    def test_libcurl_is_loaded_only_when_a_network_channel_delivers(self):
        # Not linked, so not loaded before main(): `--version` runs without it.
        dynamic = subprocess.run(["readelf", "-d", esctest.ESC], capture_output=True, text=True, check=True).stdout
        self.assertIn("(NEEDED)", dynamic)
        self.assertNotIn("libcurl", dynamic)
        r = self.esc("--version", env={"LD_DEBUG": "libs"})
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("libcurl", r.err)

        # Loaded when an e-mail and a webhook are delivered, which arrive as ever.
        mail = self.serve(SmtpServer())
        hook = self.serve(HttpReceiver())
        self.env["ESC_SLACK_URL"] = hook.url(SLACK_PATH)
        self.write_config(ENGINEER + path_block("tier2", ["eng-mail", "chat"]) + routing("tier2")
                          + smtp("eng-mail", mail.url) + webhook("chat", "slack", "ESC_SLACK_URL"))
        cid, = self.seed({"title": "Checkout fails for EU cards"})
        r = self.esc("send", cid, env={"LD_DEBUG": "libs"})
        self.assertEqual(r.code, 0, r)
        self.assertIn("libcurl.so.4", r.err)
        self.assertEqual((len(mail.messages), len(hook.requests)), (1, 1))
        self.assertIn("Checkout fails for EU cards", mail.messages[0].message()["Subject"])
        self.assertIn("Checkout fails for EU cards", hook.requests[0].json()["text"])
        self.assertEqual(self.outbox(), [])

    def test_a_libcurl_that_cannot_be_loaded_defers_the_delivery(self):
        # A broken or missing libcurl is found at the first delivery: the
        # escalation is recorded, its delivery waits with the reason, and the
        # retry, once the library loads, sends it once.
        hook = self.serve(HttpReceiver())
        self.env["ESC_SLACK_URL"] = hook.url(SLACK_PATH)
        self.write_config(ENGINEER + path_block("tier2", ["chat"]) + routing("tier2")
                          + webhook("chat", "slack", "ESC_SLACK_URL"))
        cid, = self.seed({})
        libs = os.path.join(self.home, "libs")
        os.makedirs(libs)
        with open(os.path.join(libs, "libcurl.so.4"), "wb") as f:
            f.write(b"not a shared library")
        r = self.deferred("send", cid, env={"LD_LIBRARY_PATH": libs})
        self.assertIn("cannot load libcurl", r.err)
        self.assertEqual(hook.requests, [])
        queued, = self.outbox()
        self.assertEqual(queued["status"], "pending")
        self.assertIn("cannot load libcurl", queued["last_error"])
        self.ok("outbox", "retry", "--all")
        self.assertEqual(len(hook.requests), 1)
        self.assertEqual(hook.requests[0].headers["Idempotency-Key"], queued["key"])
        self.assertEqual(self.outbox(), [])


if __name__ == "__main__":
    main()
