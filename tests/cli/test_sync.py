"""Tickets in the next level's tracker and their answers back in the case:
`esc send` to Jira and GitHub (one ticket, whatever crashes or retries),
and `esc sync` reading Jira, GitHub, PagerDuty and a real Dovecot mailbox,
with what `esc show`, `esc due` and `esc summary` then say. The trackers
are the faithful fakes of vendors.py; the mailbox is Dovecot
(imapserver.py), filled with RFC 5322 replies."""

import datetime
import email
import email.policy
import os
import re
import signal
import subprocess
import time

import tlsca
from esctest import ESC, EscTest, main
from imapserver import ImapServer
from servers import SmtpServer
from vendors import GitHubServer, JiraServer, PagerDutyServer

# Secrets, each distinctive enough to be searched for anywhere.
JIRA_TOKEN = "jiraTok3n-Secret-4411-xyz"
JIRA_PAT = "jiraPAT-Secret-Personal-77"
GH_TOKEN = "ghp_SecretTokenForTests0042"
PD_API_TOKEN = "pdRestTok3n-Secret-9981"
PD_ROUTING = "R0utingKeySecret0123456789abcdef"
IMAP_PASSWORD = "imapPa55-Secret-Word!"
SECRETS = [JIRA_TOKEN, JIRA_PAT, GH_TOKEN, PD_API_TOKEN, PD_ROUTING, IMAP_PASSWORD]

ENGINEER = '[engineer]\nname = "Dana Reyes"\nemail = "dana@example.com"\n\n'
SENT_AT = datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.timezone.utc)  # esctest.NOW
LATER = "2026-11-20T15:00:00Z"  # when the syncs run: past engineering's ack_within of 4h


def q(s):
    import json
    return json.dumps(s)


def at(minutes):
    """A clock for a fake: SENT_AT plus `minutes`."""
    return lambda: SENT_AT + datetime.timedelta(minutes=minutes)


class SyncTest(EscTest):

    # ---- set-up -----------------------------------------------------------------

    def setUp(self):
        super().setUp()
        self.env.update({"ESC_JIRA_TOKEN": JIRA_TOKEN, "ESC_GH_TOKEN": GH_TOKEN, "ESC_PD_API": PD_API_TOKEN,
                         "ESC_PD_KEY": PD_ROUTING, "ESC_IMAP_PASSWORD": IMAP_PASSWORD, "ESC_JIRA_PAT": JIRA_PAT})

    def jira(self, **kw):
        kw.setdefault("api_token", JIRA_TOKEN)
        kw.setdefault("pat", JIRA_PAT)
        server = JiraServer(**kw)
        server.clock = at(10)
        return self.serve(server)

    def github(self, **kw):
        kw.setdefault("tokens", (GH_TOKEN,))
        server = GitHubServer(**kw)
        server.clock = at(10)
        return self.serve(server)

    def pagerduty(self):
        server = PagerDutyServer(api_tokens=(PD_API_TOKEN,))
        server.clock = at(10)
        return self.serve(server)

    def imap(self, **kw):
        kw.setdefault("password", IMAP_PASSWORD)
        return self.serve(ImapServer(**kw))

    @staticmethod
    def jira_channel(server, name="eng-jira", bearer=False):
        auth = 'auth = "bearer"\ntoken_env = "ESC_JIRA_PAT"\n' if bearer else \
            'username = "esc-bot@example.com"\ntoken_env = "ESC_JIRA_TOKEN"\n'
        return (f'[[channel]]\nname = "{name}"\ntype = "jira"\nurl = {q(server.base_url)}\nproject = "ESC"\n'
                f'{auth}labels = ["support"]\ntimeout = "3s"\n\n')

    @staticmethod
    def github_channel(server, name="gh"):
        return (f'[[channel]]\nname = "{name}"\ntype = "github"\nurl = {q(server.base_url)}\n'
                f'repo = "acme/support"\ntoken_env = "ESC_GH_TOKEN"\nlabels = ["escalation"]\ntimeout = "3s"\n\n')

    @staticmethod
    def pagerduty_channel(server, name="pd"):
        return (f'[[channel]]\nname = "{name}"\ntype = "pagerduty"\nurl = {q(server.url("/v2/enqueue"))}\n'
                f'routing_key_env = "ESC_PD_KEY"\napi_url = {q(server.base_url)}\napi_token_env = "ESC_PD_API"\n'
                f'timeout = "3s"\n\n')

    @staticmethod
    def mail_channel(smtp, imap, name="eng-mail", imap_url=None, extra=""):
        return (f'[[channel]]\nname = "{name}"\ntype = "smtp"\nurl = {q(smtp.url)}\nfrom = "support@example.com"\n'
                f'to = ["eng-escalations@example.com"]\nimap_url = {q(imap_url or imap.mailbox_url())}\n'
                f'imap_username = "{imap.user}"\nimap_password_env = "ESC_IMAP_PASSWORD"\ntimeout = "5s"\n{extra}\n')

    def configure(self, *channels, paths=None):
        """Paths: engineering (ack within 4h) over `channels` by default."""
        text = ENGINEER
        for name, chans, extra in paths or [("engineering", [c[0] for c in channels], 'ack_within = "4h"\n')]:
            text += f'[[path]]\nname = "{name}"\nchannel = [{", ".join(q(c) for c in chans)}]\n{extra}\n'
        text += f'[routing]\ndefault = "{(paths or [("engineering",)])[0][0]}"\n\n'
        for _, block in channels:
            text += block
        self.write_config(text)
        self.ok("config", "check")

    def sync(self, code=0, *args):
        r = self.esc("sync", *args, env={"ESC_NOW": LATER})
        self.assertEqual(r.code, code, r)
        self.assertNotIn("runtime error", r.err)
        return r

    def entries(self, cid, kind=None):
        es = self.ok("show", cid, "--format", "json").json()["entries"]
        return [e for e in es if kind is None or e["kind"] == kind]

    def due(self):
        return self.ok("due", "--format", "json", env={"ESC_NOW": LATER}).json()

    def db_bytes(self):
        if self.pg:
            return subprocess.run(["pg_dump", "--data-only", "-d", self.pg.uri()], capture_output=True,
                                  check=True).stdout
        data = b""
        for suffix in ("", "-wal"):
            if os.path.exists(self.db + suffix):
                with open(self.db + suffix, "rb") as f:
                    data += f.read()
        return data

    def assertNoSecret(self, where, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        for s in SECRETS:
            self.assertNotIn(s, text, f"a secret leaked into {where}")

    # ---- tickets: made once, shown everywhere -------------------------------------

    def test_jira_ticket_is_made_printed_shown_and_in_later_summaries(self):
        jira = self.jira()
        self.configure(("eng-jira", self.jira_channel(jira)))
        cid, = self.seed({"severity": "critical"})
        r = self.ok("send", cid)
        url = f"{jira.base_url}/browse/ESC-1"
        self.assertIn(f"Escalated #{cid} to engineering: ESC-1 {url}", r.err)
        made, = jira.created()
        self.assertEqual(made["summary"], f"[ESC #{cid}][critical] ACME Corp: Checkout fails for EU cards")
        self.assertEqual(made["priority"], "Highest")
        self.assertIn("Only EU-issued cards fail; US cards pass", made["description"])
        self.assertIn("support", made["labels"])
        # Jira Cloud: Basic e-mail:API token.
        self.assertEqual(jira.requests_to("POST", "/rest/api/2/issue")[0].auth, "esc-bot@example.com")
        x, _ = self.latest(cid)
        self.assertEqual((x["deliveries"][0]["ticket"], x["deliveries"][0]["ticket_url"]), ("ESC-1", url))
        self.assertIn(f"ESC-1 {url}", self.ok("show", cid).out)
        # The next level's summary names the ticket of the level before.
        self.ok("ack", cid)
        summary = self.ok("summary", cid).out
        self.assertIn("ESC-1", summary)
        self.assertIn(url, " ".join(summary.split()))

    def test_jira_data_center_personal_token_and_its_search(self):
        jira = self.jira(flavor="datacenter")
        self.configure(("eng-jira", self.jira_channel(jira, bearer=True)))
        cid, = self.seed({})
        self.ok("send", cid)
        self.assertEqual(len(jira.created()), 1)
        search, = jira.requests_to("GET", "/rest/api/2/search")
        self.assertEqual(search.headers.get("Authorization"), f"Bearer {JIRA_PAT}")
        jira.assign("ESC-1", "Pat Engineer")
        self.sync()
        self.assertEqual(self.latest(cid)[0]["acked_by"], "Pat Engineer")

    def test_jira_answer_lost_after_create_adopts_the_ticket_on_retry(self):
        jira = self.jira()
        self.configure(("eng-jira", self.jira_channel(jira)))
        cid, = self.seed({})
        jira.drop_after_create()
        r = self.esc("send", cid)
        self.assertEqual(r.code, 75, r)
        self.assertEqual(len(jira.created()), 1)  # it was made; esc could not know
        r = self.ok("outbox", "retry", "--all")
        self.assertIn("ESC-1", r.err)
        self.assertIn("the ticket an earlier attempt had made", r.err)
        self.assertEqual(len(jira.created()), 1)
        self.assertEqual(len(jira.requests_to("POST", "/rest/api/2/issue")), 1)
        self.assertEqual(self.latest(cid)[0]["deliveries"][0]["ticket"], "ESC-1")
        self.assertTrue(any("no second one was made" in e["text"] for e in self.entries(cid, "delivery")))
        self.ok("outbox", "retry", "--all")  # nothing left to do, nothing made
        self.assertEqual(len(jira.created()), 1)

    def test_github_answer_lost_after_create_adopts_the_issue_on_retry(self):
        gh = self.github()
        self.configure(("gh", self.github_channel(gh)))
        cid, = self.seed({})
        gh.drop_after_create()
        self.assertEqual(self.esc("send", cid).code, 75)
        self.assertEqual(len(gh.created()), 1)
        r = self.ok("outbox", "retry", "--all")
        self.assertIn("acme/support#1 https://github.com/acme/support/issues/1", r.err)
        self.assertEqual(len(gh.created()), 1)
        issue, = gh.created()
        self.assertEqual(issue["labels"], ["escalation"])
        self.assertTrue(issue["body"].startswith("# [ESC #1][high]") or "ESC #1" in issue["body"])
        self.assertEqual(gh.requests_to("POST", "/repos/acme/support/issues")[0].headers.get("Authorization"),
                         f"Bearer {GH_TOKEN}")

    def test_github_issue_not_yet_in_the_search_index_is_adopted_all_the_same(self):
        # GitHub's search lags behind a new issue; a retry moments after a
        # lost answer finds it among the repository's newest issues.
        gh = self.github(search_lag=300)
        gh.add_issue("Someone else's, with no description", body=None)  # GitHub answers "body": null
        self.configure(("gh", self.github_channel(gh)))
        cid, other = self.seed({}, {"title": "Refunds stuck"})
        gh.drop_after_create()
        self.assertEqual(self.esc("send", cid).code, 75)
        self.ok("send", other)  # a newer issue, also not yet searchable
        r = self.ok("outbox", "retry", "--all")
        self.assertIn("acme/support#2 ", r.err)
        self.assertEqual(len(gh.created()), 2)
        self.assertEqual(len(gh.requests_to("POST", "/repos/acme/support/issues")), 2)
        self.assertEqual([d["deliveries"][0]["ticket"] for d in (self.latest(cid)[0], self.latest(other)[0])],
                         ["acme/support#2", "acme/support#3"])

    def kill_send_while_creating(self, server, create_path, channel_block):
        """esc is killed (SIGKILL) after the tracker took the create request
        and before it answered; the tracker makes the ticket anyway."""
        self.configure(channel_block)
        cid, = self.seed({})
        server.hang_next(seconds=1.5, method="POST", path=create_path)
        proc = subprocess.Popen([ESC, "send", cid], env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not server.requests_to("POST", re.compile(create_path)) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertTrue(server.requests_to("POST", re.compile(create_path)), "esc never asked to create")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        while not server.created() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(server.created()), 1)
        return cid

    def killed_while_creating(self, server, create_path, channel_block):
        """As kill_send_while_creating; then the retry adopts the ticket."""
        cid = self.kill_send_while_creating(server, create_path, channel_block)
        outbox = self.ok("outbox", "--format", "json").json()
        self.assertEqual([d["status"] for d in outbox], ["pending"])  # recorded before delivery, never lost
        r = self.ok("outbox", "retry")
        self.assertIn("the ticket an earlier attempt had made", r.err)
        self.ok("outbox", "retry", "--all")
        self.assertEqual(len(server.created()), 1)
        self.assertEqual(len(server.requests_to("POST", re.compile(create_path))), 1)
        self.assertEqual(self.ok("outbox", "--format", "json").json(), [])
        return cid

    def test_jira_sigkill_between_created_and_recorded_ends_with_one_ticket(self):
        jira = self.jira()
        cid = self.killed_while_creating(jira, r"^/rest/api/2/issue$", ("eng-jira", self.jira_channel(jira)))
        self.assertEqual(self.latest(cid)[0]["deliveries"][0]["ticket"], "ESC-1")

    def test_github_sigkill_between_created_and_recorded_ends_with_one_issue(self):
        gh = self.github()
        cid = self.killed_while_creating(gh, r"^/repos/acme/support/issues$", ("gh", self.github_channel(gh)))
        self.assertEqual(self.latest(cid)[0]["deliveries"][0]["ticket"], "acme/support#1")

    SETTLED = "2026-11-20T09:06:00Z"  # NOW + 6 minutes: past the 5 that Jira's search is given

    def test_jira_search_that_lags_is_not_taken_at_its_word_after_a_lost_answer(self):
        # Jira's search/jql is eventually consistent: an immediate retry that
        # finds nothing must not make a second issue, and says when it will.
        jira = self.jira(search_lag=2)
        self.configure(("eng-jira", self.jira_channel(jira)))
        cid, = self.seed({})
        jira.drop_after_create()
        self.assertEqual(self.esc("send", cid).code, 75)
        r = self.esc("outbox", "retry", "--all")
        self.assertEqual(r.code, 75, r)
        self.assertIn("may have made one that its search does not show yet", r.err)
        self.assertIn("no second issue is made before 2026-11-20 09:05", r.err)
        self.assertEqual(len(jira.requests_to("POST", "/rest/api/2/issue")), 1)
        (d,) = self.ok("outbox", "--format", "json").json()
        self.assertEqual(d["next_attempt_at"], "2026-11-20T09:05:00Z")
        time.sleep(2.2)  # the index catches up
        r = self.ok("outbox", "retry", env={"ESC_NOW": self.SETTLED})
        self.assertIn("the ticket an earlier attempt had made", r.err)
        self.assertEqual(len(jira.created()), 1)
        self.assertEqual(len(jira.requests_to("POST", "/rest/api/2/issue")), 1)
        self.assertEqual(self.latest(cid)[0]["deliveries"][0]["ticket"], "ESC-1")

    def test_jira_sigkill_while_its_search_lags_ends_with_one_ticket(self):
        jira = self.jira(search_lag=2)
        cid = self.kill_send_while_creating(jira, r"^/rest/api/2/issue$", ("eng-jira", self.jira_channel(jira)))
        r = self.esc("outbox", "retry", "--all")  # the claim's holder is dead: taken over at once
        self.assertEqual(r.code, 75, r)
        self.assertIn("no second issue is made before", r.err)
        time.sleep(2.2)
        self.ok("outbox", "retry", env={"ESC_NOW": self.SETTLED})
        self.assertEqual(len(jira.requests_to("POST", "/rest/api/2/issue")), 1)
        self.assertEqual(self.latest(cid)[0]["deliveries"][0]["ticket"], "ESC-1")

    def test_jira_refusal_made_nothing_so_the_retry_after_a_fix_creates_at_once(self):
        # A 4xx answer to the create made no issue: nothing to wait for.
        jira = self.jira(search_lag=60)
        self.configure(("eng-jira", self.jira_channel(jira)))
        cid, = self.seed({})
        jira.fail_next(status=400, method="POST", path="/rest/api/2/issue",
                       body={"errorMessages": [], "errors": {"priority": "Priority name 'Highest' is not valid"}})
        r = self.esc("send", cid)
        self.assertEqual(r.code, 78, r)  # failed for good
        (d,) = self.ok("outbox", "--format", "json").json()
        self.assertEqual(d["status"], "failed")
        r = self.ok("outbox", "retry", str(d["id"]))
        self.assertIn("ESC-1", r.err)
        self.assertEqual(len(jira.created()), 1)

    # ---- sync: Jira and GitHub ------------------------------------------------------

    def test_jira_assignment_comments_and_resolution_come_back_once(self):
        jira = self.jira()
        self.configure(("eng-jira", self.jira_channel(jira)))
        cid, other = self.seed({}, {"title": "Refunds stuck"})
        self.ok("send", cid)
        self.ok("send", other)
        r = self.sync()
        self.assertIn("nothing new", r.err)
        before = self.due()
        self.assertIn(("acknowledge", int(cid)), [(d["kind"], d["case"]) for d in before])

        jira.assign("ESC-1", "Jane Doe", "jane@example.com")
        jira.comment("ESC-1", "Jane Doe", "Looking at the ACS logs now.", created="2026-11-20T10:30:00Z")
        jira.comment("ESC-1", "Raj Patel", "It is the issuer's ACS: their cert expired.\nWorkaround below.",
                     created="2026-11-20T11:00:00Z")
        jira.transition("ESC-2", "In Progress", by="Raj Patel")  # nobody assigned: who moved it, from the changelog
        r = self.sync()
        self.assertIn(f"#{cid} engineering (jira ESC-1): acknowledged by Jane Doe, 2 replies.", r.err)
        self.assertIn(f"#{other} engineering (jira ESC-2): acknowledged by Raj Patel.", r.err)
        self.assertEqual(self.latest(other)[0]["acked_by"], "Raj Patel")
        ack, = self.entries(other, "acknowledged")
        self.assertIn("status In Progress, set by Raj Patel", ack["text"])

        replies = self.entries(cid, "reply")
        self.assertEqual([(e["author"], e["source"], e["at"]) for e in replies],
                         [("Jane Doe", "jira ESC-1", "2026-11-20T10:30:00Z"),
                          ("Raj Patel", "jira ESC-1", "2026-11-20T11:00:00Z")])
        self.assertEqual(replies[1]["text"], "It is the issuer's ACS: their cert expired.\nWorkaround below.")
        self.assertTrue(all(e["remote_id"].startswith("comment:") for e in replies))
        ack, = self.entries(cid, "acknowledged")
        self.assertEqual((ack["author"], ack["source"]), ("Jane Doe", "jira ESC-1"))
        self.assertEqual(self.latest(cid)[0]["acked_by"], "Jane Doe")
        shown = self.ok("show", cid).out
        self.assertIn("(jira ESC-1, Raj Patel) It is the issuer's ACS", shown)
        self.assertIn("acknowledged", shown)

        due = {(d["kind"], d["case"]): d for d in self.due()}
        self.assertEqual(due[("reply", int(cid))]["message"], "engineering replied (2 new)")
        self.assertNotIn(("acknowledge", int(cid)), due)  # sync recorded the answer: no more chasing
        self.assertNotIn(("acknowledge", int(other)), due)

        r = self.sync()  # nothing happened there since
        self.assertIn("nothing new", r.err)
        self.assertEqual(len(self.entries(cid, "reply")), 2)

        jira.resolve("ESC-1", resolution="Fixed", by="Raj Patel")
        r = self.sync()
        self.assertIn(f"#{cid} engineering (jira ESC-1): resolved upstream.", r.err)
        up, = self.entries(cid, "resolved-upstream")
        self.assertIn("resolution Fixed (status Done, set by Raj Patel)", up["text"])
        self.assertEqual(up["author"], "Raj Patel")  # who resolved it, not the assignee
        due = {(d["kind"], d["case"]): d for d in self.due()}
        self.assertEqual(due[("resolved-upstream", int(cid))]["message"],
                         "resolved upstream by engineering: confirm with the client and resolve")
        self.sync()
        self.assertEqual(len(self.entries(cid, "resolved-upstream")), 1)
        # Reopened there: the resolution no longer holds, and `due` stops
        # saying so; resolved again, it says so again.
        jira.reopen("ESC-1", status="Reopened")
        r = self.sync()
        self.assertIn(f"#{cid} engineering (jira ESC-1): reopened upstream.", r.err)
        self.assertIn("no new entry, 1 reopened upstream", r.err)
        up, = self.entries(cid, "resolved-upstream")
        self.assertEqual((up["struck_by"], up["struck_reason"]), ("jira ESC-1", "reopened: status Reopened"))
        self.assertNotIn(("resolved-upstream", int(cid)), [(d["kind"], d["case"]) for d in self.due()])
        self.assertIn("[struck", self.ok("show", cid).out)
        self.assertIn("nothing new", self.sync().err)
        jira.clock = lambda: datetime.datetime(2026, 11, 21, 9, 0, tzinfo=datetime.timezone.utc)
        jira.resolve("ESC-1", resolution="Fixed")
        r = self.sync()
        self.assertIn(f"#{cid} engineering (jira ESC-1): resolved upstream.", r.err)
        self.assertEqual(sorted(e["struck_at"] is None for e in self.entries(cid, "resolved-upstream")), [False, True])
        self.assertIn(("resolved-upstream", int(cid)), [(d["kind"], d["case"]) for d in self.due()])
        # Once the engineer writes on the case, the replies are no longer new.
        self.ok("update", other, "Engineering is on it", env={"ESC_NOW": LATER})
        jira.comment("ESC-2", "Raj Patel", "Need the BIN list", created="2026-11-20T12:00:00Z")
        self.sync()
        due = {(d["kind"], d["case"]): d for d in self.due()}
        self.assertEqual(due[("reply", int(other))]["message"], "engineering replied (1 new)")
        # A resolved case is not read any more.
        self.ok("resolve", cid, "Issuer renewed the certificate", env={"ESC_NOW": LATER})
        jira.clear_requests()
        self.sync()
        self.assertFalse([r for r in jira.requests if "ESC-1" in r.path])

    def test_github_comments_over_several_pages_assignment_and_close(self):
        gh = self.github()
        self.configure(("gh", self.github_channel(gh)))
        cid, = self.seed({})
        self.ok("send", cid)
        for n in range(130):
            gh.comment(1, "octocat" if n % 2 else "hubot", f"comment number {n}",
                       created=SENT_AT + datetime.timedelta(minutes=20 + n))
        gh.assign(1, "octocat")
        r = self.sync()
        self.assertIn("acknowledged by octocat, 130 replies", r.err)
        pages = gh.requests_to("GET", "/repos/acme/support/issues/1/comments")
        self.assertEqual(len(pages), 2)  # followed the Link header's rel="next"
        self.assertIn("page=2", pages[1].path)
        replies = self.entries(cid, "reply")
        self.assertEqual([e["text"] for e in replies], [f"comment number {n}" for n in range(130)])
        self.assertEqual(replies[1]["author"], "octocat")
        self.assertEqual(len({e["remote_id"] for e in replies}), 130)
        self.assertIn("nothing new", self.sync().err)
        self.assertEqual(len(self.entries(cid, "reply")), 130)

        gh.comment(1, "octocat", "Fixed in the gateway, deploying", created=SENT_AT + datetime.timedelta(hours=4))
        gh.close(1, by="octocat")
        r = self.sync()
        self.assertIn("1 reply, resolved upstream", r.err)
        up, = self.entries(cid, "resolved-upstream")
        self.assertEqual((up["author"], up["source"]), ("octocat", "github acme/support#1"))
        self.assertIn("closed as completed", up["text"])
        self.assertIn("resolved upstream by engineering", " ".join(d["message"] for d in self.due()))
        gh.reopen(1)
        r = self.sync()
        self.assertIn("reopened upstream", r.err)
        up, = self.entries(cid, "resolved-upstream")
        self.assertEqual((up["struck_by"], up["struck_reason"]), ("github acme/support#1", "reopened: open"))
        self.assertNotIn("resolved upstream by engineering", " ".join(d["message"] for d in self.due()))

    # ---- sync: PagerDuty ------------------------------------------------------------

    def test_pagerduty_acknowledged_and_resolved_with_who(self):
        pd = self.pagerduty()
        self.configure(("pd", self.pagerduty_channel(pd)))
        cid, = self.seed({})
        self.ok("send", cid)
        _, keys = self.latest(cid)
        self.assertIsNotNone(pd.incident(keys["pd"]))
        self.assertIn("nothing new", self.sync().err)

        pd.acknowledge(keys["pd"], by="Sam Oncall")
        r = self.sync()
        self.assertIn(f"#{cid} engineering (pagerduty #1234): acknowledged by Sam Oncall.", r.err)
        x, _ = self.latest(cid)
        self.assertEqual(x["acked_by"], "Sam Oncall")
        self.assertEqual(x["deliveries"][0]["ticket"], "#1234")
        listing = pd.requests_to("GET", "/incidents")[0]
        self.assertEqual(listing.arg("incident_key"), keys["pd"])
        self.assertEqual(listing.headers.get("Authorization"), f"Token token={PD_API_TOKEN}")

        pd.note(keys["pd"], "Sam Oncall", "Rolled the ACS proxy back")
        pd.resolve(keys["pd"], by="Mia Lead")
        r = self.sync()
        self.assertIn("1 reply, resolved upstream", r.err)
        up, = self.entries(cid, "resolved-upstream")
        self.assertEqual(up["author"], "Mia Lead")
        self.assertIn("incident resolved by Mia Lead", up["text"])
        self.assertEqual([e["text"] for e in self.entries(cid, "reply")], ["Rolled the ACS proxy back"])
        self.assertIn("nothing new", self.sync().err)
        self.assertEqual(len(self.entries(cid, "acknowledged")), 1)

    # ---- sync: e-mail over IMAP -------------------------------------------------------

    def sent_mail(self, smtp):
        return email.message_from_bytes(smtp.messages[-1].data, policy=email.policy.default)

    def test_email_replies_are_matched_by_in_reply_to_and_references(self):
        smtp = self.serve(SmtpServer())
        imap = self.imap(tls=True)
        self.configure(("eng-mail", self.mail_channel(smtp, imap, extra=f"ca_file = {q(tlsca.shared().ca_file)}\n")))
        cid, other = self.seed({}, {"title": "Refunds stuck"})
        self.ok("send", cid)
        handover = self.sent_mail(smtp)
        mid = handover["Message-ID"]
        self.ok("send", other)
        other_mid = self.sent_mail(smtp)["Message-ID"]
        subject = f"Re: {handover['Subject']}"

        # A member of the recipient list answers, quoting the hand-over.
        imap.deliver(
            "From: Jane Eng <jane@example.com>\r\nTo: support@example.com\r\n"
            f"Subject: {subject}\r\nDate: Fri, 20 Nov 2026 10:15:00 +0000\r\n"
            f"Message-ID: <reply-1@mail.example.com>\r\nIn-Reply-To: {mid}\r\nReferences: {mid}\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            "We are on it: the issuer=E2=80=99s ACS answers in 9 s.\r\n\r\n"
            "On Fri, 20 Nov 2026 at 09:00, Support <support@example.com> wrote:\r\n"
            "> Only EU-issued cards fail; US cards pass\r\n> Rolled back the 3-D Secure config\r\n"
            "\r\n-- \r\nJane Eng, Payments engineering\r\n")
        # A vendor joins the thread: only References names the hand-over (a
        # reply to Jane's reply), HTML and plain text, base64, Latin-1 name.
        import base64
        body = base64.encodebytes("Our ACS cluster had a bad node; drained.\n".encode()).decode()
        imap.deliver(
            "From: =?iso-8859-1?Q?Bj=F6rn_Vendor?= <bjorn@acs-vendor.net>\r\nTo: jane@example.com\r\n"
            f"Subject: {subject}\r\nDate: Fri, 20 Nov 2026 12:05:00 +0100\r\n"
            "Message-ID: <v-2@acs-vendor.net>\r\nIn-Reply-To: <reply-1@mail.example.com>\r\n"
            f"References: {mid}\r\n <reply-1@mail.example.com>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            f"{body}\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Our ACS cluster</p>\r\n"
            "--b1--\r\n", seen=True)
        # The engineer's own copy, mail about the other case, and unrelated mail.
        imap.deliver(f"From: Dana Reyes <dana@example.com>\r\nSubject: {subject}\r\nMessage-ID: <own@x>\r\n"
                     f"In-Reply-To: {mid}\r\n\r\nThanks Jane\r\n")
        imap.deliver(f"From: Raj <raj@example.com>\r\nSubject: Re: refunds\r\nMessage-ID: <r-3@x>\r\n"
                     f"Date: Fri, 20 Nov 2026 12:00:00 +0000\r\nReferences: {other_mid}\r\n\r\nLooking\r\n")
        imap.deliver("From: Someone <someone@example.org>\r\nSubject: lunch?\r\nMessage-ID: <l@x>\r\n\r\n"
                     f"Is {mid} a hand-over?\r\n")

        r = self.sync()
        self.assertIn(f"#{cid} engineering (e-mail): acknowledged by Jane Eng <jane@example.com>, 2 replies.", r.err)
        self.assertIn(f"#{other} engineering (e-mail): acknowledged by Raj <raj@example.com>, 1 reply.", r.err)
        replies = self.entries(cid, "reply")
        self.assertEqual([(e["author"], e["at"], e["source"], e["remote_id"]) for e in replies],
                         [("Jane Eng <jane@example.com>", "2026-11-20T10:15:00Z", "e-mail",
                           "<reply-1@mail.example.com>"),
                          ("Björn Vendor <bjorn@acs-vendor.net>", "2026-11-20T11:05:00Z", "e-mail",
                           "<v-2@acs-vendor.net>")])
        texts = {e["remote_id"]: e["text"] for e in replies}
        self.assertEqual(texts["<reply-1@mail.example.com>"], "We are on it: the issuer\u2019s ACS answers in 9 s.")
        self.assertEqual(texts["<v-2@acs-vendor.net>"], "Our ACS cluster had a bad node; drained.")
        ack, = self.entries(cid, "acknowledged")
        self.assertEqual(ack["author"], "Jane Eng <jane@example.com>")
        self.assertEqual(ack["at"], "2026-11-20T10:15:00Z")
        self.assertEqual(self.latest(cid)[0]["acked_by"], "Jane Eng <jane@example.com>")
        # The mailbox is as it was: what was unread is still unread.
        c = imap.client()
        c.select("INBOX")
        typ, data = c.search(None, "UNSEEN")
        self.assertEqual(len(data[0].split()), 4)
        c.logout()

        due = {(d["kind"], d["case"]): d for d in self.due()}
        self.assertEqual(due[("reply", int(cid))]["message"], "engineering replied (2 new)")
        self.assertNotIn(("acknowledge", int(cid)), due)

        self.assertIn("nothing new", self.sync().err)
        imap.deliver(f"From: Jane Eng <jane@example.com>\r\nSubject: {subject}\r\nMessage-ID: <reply-4@x>\r\n"
                     f"Date: Fri, 20 Nov 2026 13:00:00 +0000\r\nIn-Reply-To: <reply-1@mail.example.com>\r\n"
                     f"References: {mid} <reply-1@mail.example.com>\r\n\r\nDeployed the fix.\r\n")
        r = self.sync()
        self.assertIn(f"#{cid} engineering (e-mail): 1 reply.", r.err)
        self.assertEqual(len(self.entries(cid, "reply")), 3)
        self.assertEqual(len(self.entries(cid, "acknowledged")), 1)

    def test_mailbox_over_imaps_wrong_password_and_server_down(self):
        smtp = self.serve(SmtpServer())
        imap = self.imap(tls=True, implicit_tls=True)
        self.configure(("eng-mail", self.mail_channel(smtp, imap, imap_url=imap.imaps_url + "/INBOX",
                                                      extra=f"ca_file = {q(tlsca.shared().ca_file)}\n")))
        cid, = self.seed({})
        self.ok("send", cid)
        mid = self.sent_mail(smtp)["Message-ID"]
        imap.deliver(f"From: eng-escalations@example.com\r\nSubject: Re: x\r\nMessage-ID: <a@b>\r\n"
                     f"References: {mid}\r\n\r\nAck, on it.\r\n")
        r = self.esc("sync", env={"ESC_IMAP_PASSWORD": "not-the-" + IMAP_PASSWORD, "ESC_NOW": LATER})
        self.assertEqual(r.code, 78, r)
        line, = [l for l in r.err.splitlines() if l.startswith("esc: error:")]
        self.assertIn("eng-mail: ", line)
        self.assertIn("refused the login", line)
        self.assertIn("$ESC_IMAP_PASSWORD", line)
        self.assertNotIn(IMAP_PASSWORD, r.err + r.out)
        self.assertEqual(self.entries(cid, "reply"), [])

        r = self.sync()
        self.assertIn("acknowledged by eng-escalations@example.com, 1 reply", r.err)
        imap.stop_server()
        r = self.sync(75)
        self.assertIn("eng-mail: not synced this time", r.err)

    # ---- failures: one channel down, credentials refused, rate limits -----------------

    def test_unreachable_tracker_exits_75_and_the_others_are_synced(self):
        jira, gh = self.jira(), self.github()
        self.configure(("eng-jira", self.jira_channel(jira)), ("gh", self.github_channel(gh)))
        cid, = self.seed({})
        self.ok("send", cid)
        jira.comment("ESC-1", "Jane Doe", "Seen it", created="2026-11-20T10:00:00Z")
        gh.comment(1, "octocat", "Me too", created="2026-11-20T10:05:00Z")
        jira.stop()
        r = self.sync(75)
        self.assertIn("esc: eng-jira: not synced this time", r.err)
        self.assertIn(f"#{cid} engineering (github acme/support#1): 1 reply.", r.err)
        self.assertEqual([e["source"] for e in self.entries(cid, "reply")], ["github acme/support#1"])
        r = self.sync(75, "--quiet")
        self.assertEqual(len(r.err.strip().splitlines()), 1, r)  # quiet: the trouble only
        jira.start()
        self.sync()
        self.assertEqual(sorted(e["source"] for e in self.entries(cid, "reply")), ["github acme/support#1",
                                                                                  "jira ESC-1"])
        self.assertEqual(self.sync(0, "--quiet").err, "")
        # A ticket deleted there: said, left for the next run, the rest still read.
        with jira.lock:
            del jira.issues["ESC-1"]
        gh.comment(1, "octocat", "Still there?", created="2026-11-20T12:00:00Z")
        r = self.sync(75)
        self.assertIn(f"esc: #{cid} eng-jira: ESC-1 not found at Jira (HTTP 404)", r.err)
        self.assertIn(f"#{cid} engineering (github acme/support#1): 1 reply.", r.err)

    def test_refused_token_is_one_line_naming_the_channel_never_the_token(self):
        jira, gh = self.jira(), self.github()
        self.configure(("eng-jira", self.jira_channel(jira)), ("gh", self.github_channel(gh)))
        cid, = self.seed({})
        self.ok("send", cid)
        gh.comment(1, "octocat", "Me too")
        jira.comment("ESC-1", "Jane Doe", "Seen it")
        wrong = "wrong-" + GH_TOKEN
        r = self.esc("sync", env={"ESC_GH_TOKEN": wrong, "ESC_NOW": LATER})
        self.assertEqual(r.code, 78, r)
        errors = [l for l in r.err.splitlines() if l.startswith("esc: error:")]
        self.assertEqual(errors, ["esc: error: gh: GitHub refused the credentials (HTTP 401): check the token in "
                                  "$ESC_GH_TOKEN"])
        self.assertNotIn(wrong, r.err + r.out)
        self.assertEqual([e["source"] for e in self.entries(cid, "reply")], ["jira ESC-1"])
        jira.unauthorized_next()
        r = self.esc("sync", env={"ESC_NOW": LATER})
        self.assertEqual(r.code, 78, r)
        self.assertIn("esc: error: eng-jira: Jira refused the credentials (HTTP 401): check the token in "
                      "$ESC_JIRA_TOKEN", r.err)
        self.assertEqual(len(self.entries(cid, "reply")), 2)  # GitHub's came once the token was right

    def test_rate_limits_a_short_wait_is_waited_a_long_one_is_left_for_later(self):
        jira, gh = self.jira(), self.github()
        self.configure(("eng-jira", self.jira_channel(jira)), ("gh", self.github_channel(gh)))
        cid, = self.seed({})
        self.ok("send", cid)
        jira.comment("ESC-1", "Jane Doe", "Seen it")
        gh.comment(1, "octocat", "Me too")
        jira.rate_limit_next(retry_after=1, path="/comment")
        gh.rate_limit_next(retry_after=3600, path="/comments")
        started = time.monotonic()
        r = self.sync(75)
        self.assertLess(time.monotonic() - started, 30)
        self.assertIn("gh: not synced this time", r.err)
        self.assertIn("asks esc to slow down (HTTP 429); try again in 1h", r.err)
        self.assertEqual([e["source"] for e in self.entries(cid, "reply")], ["jira ESC-1"])
        self.assertEqual(len(jira.requests_to("GET", "/rest/api/2/issue/ESC-1/comment")), 2)  # waited, asked again
        # GitHub's primary limit answers 403 with x-ratelimit-remaining: 0: later, not refused.
        gh.exhaust_rate_limit(reset_in=600)
        r = self.sync(75)
        self.assertNotIn("esc: error:", r.err)
        gh.rate_reset_at = None
        gh.rate_remaining = gh.rate_limit
        self.sync()
        self.assertEqual(len(self.entries(cid, "reply")), 2)

    # ---- follow-up and secrets --------------------------------------------------------

    def test_re_escalation_summary_carries_the_answers_so_far(self):
        jira = self.jira()
        archive = os.path.join(self.home, "handovers")
        self.configure(("eng-jira", self.jira_channel(jira)), ("archive", f'[[channel]]\nname = "archive"\n'
                                                                          f'type = "file"\ndir = {q(archive)}\n\n'),
                       paths=[("tier2", ["eng-jira"], 'ack_within = "4h"\nnext = "engineering"\n'),
                              ("engineering", ["archive"], "")])
        cid, = self.seed({})
        self.ok("send", cid)
        jira.comment("ESC-1", "Jane Doe", "Not ours: the ACS belongs to engineering", created="2026-11-20T10:00:00Z")
        jira.assign("ESC-1", "Jane Doe")
        self.sync()
        self.ok("send", cid, "--to", "engineering", "--note", "tier2 says it is engineering's",
                env={"ESC_NOW": LATER})
        handover, = [os.path.join(archive, f) for f in os.listdir(archive)]
        with open(handover, encoding="utf-8") as f:
            text = " ".join(f.read().split())
        self.assertIn("ANSWERS FROM THE NEXT LEVEL SO FAR", text)
        self.assertIn("Not ours: the ACS belongs to engineering", text)
        self.assertIn("reply, jira ESC-1", text)
        self.assertIn("ESC-1", text.split("ANSWERS")[0])  # the level before, with its ticket
        self.assertIn("Not ours", self.ok("summary", cid, "--format", "markdown").out)

    def test_secrets_never_reach_entries_output_errors_or_the_log(self):
        jira, gh, pd = self.jira(), self.github(), self.pagerduty()
        smtp = self.serve(SmtpServer())
        imap = self.imap()
        self.configure(("eng-jira", self.jira_channel(jira)), ("gh", self.github_channel(gh)),
                       ("pd", self.pagerduty_channel(pd)), ("eng-mail", self.mail_channel(smtp, imap)))
        cid, = self.seed({})
        outputs = [self.ok("send", cid)]
        _, keys = self.latest(cid)
        mid = email.message_from_bytes(smtp.messages[-1].data)["Message-ID"]
        jira.comment("ESC-1", "Jane Doe", "Seen it")
        gh.comment(1, "octocat", "Me too")
        pd.acknowledge(keys["pd"], by="Sam Oncall")
        imap.deliver(f"From: Jane <jane@example.com>\r\nMessage-ID: <j@x>\r\nIn-Reply-To: {mid}\r\n\r\nOn it\r\n")
        outputs.append(self.sync())
        self.assertEqual(len(self.entries(cid, "reply")), 3)
        # Every kind of failure, each with a secret in play.
        jira.unauthorized_next()
        gh.fail_next(status=500, body=f"upstream said: {GH_TOKEN}")
        pd.stop()
        outputs.append(self.sync(78))
        outputs.append(self.esc("sync", env={"ESC_IMAP_PASSWORD": "x" + IMAP_PASSWORD, "ESC_NOW": LATER}))
        for args in (("show", cid, "--format", "json"), ("show", cid), ("export",), ("config", "show"),
                     ("due",), ("summary", cid)):
            outputs.append(self.ok(*args, env={"ESC_NOW": LATER}))
        for n, res in enumerate(outputs):
            self.assertNoSecret(f"output {n}", res.out)
            self.assertNoSecret(f"stderr {n}", res.err)
        self.assertNoSecret("the log", self.db_bytes())
        # Where a secret would have been, its place is named instead.
        self.assertIn("$ESC_JIRA_TOKEN", outputs[2].err)

    def test_channels_that_cannot_be_followed_are_said_so_and_nothing_is_a_log_of_its_own(self):
        pd = self.pagerduty()
        self.write_config(ENGINEER + '[[path]]\nname = "engineering"\nchannel = ["pd", "archive"]\n\n'
                          f'[[channel]]\nname = "pd"\ntype = "pagerduty"\nurl = {q(pd.url("/v2/enqueue"))}\n'
                          'routing_key_env = "ESC_PD_KEY"\ntimeout = "3s"\n\n'
                          f'[[channel]]\nname = "archive"\ntype = "file"\ndir = "~/handovers"\n\n')
        r = self.esc("sync")
        self.assertEqual(r.code, 66, r)  # reads never make a log
        cid, = self.seed({})
        self.ok("send", cid)
        r = self.sync()
        self.assertIn("channel pd is not followed: set api_token_env", r.err)
        self.assertIn("Nothing to sync", r.err)
        self.assertEqual(pd.requests_to("GET"), [])


if __name__ == "__main__":
    main()
