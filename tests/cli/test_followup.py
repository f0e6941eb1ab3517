"""Follow-up, resolution, review and lessons, stats, export and import,
with a fixed clock (ESC_NOW)."""

import json
import os

from esctest import EscTest, main

CONFIG = """
[[path]]
name = "tier2"
channel = "stdout"
ack_within = "4h"
next = "engineering"

[[path]]
name = "engineering"
channel = "stdout"

[routing]
default = "tier2"

[deadlines]
critical = "1h"
high = "4h"
client_update_every = "24h"
"""


class Due(EscTest):
    def setUp(self):
        super().setUp()
        self.write_config(CONFIG)

    def at(self, when, *args, **kw):
        return self.esc(*args, env={"ESC_NOW": when}, **kw)

    def test_deadline_boundary(self):
        self.new_case("High case", "--severity", "high")  # opened 09:00
        r = self.at("2026-11-20T12:59:59Z", "due", "--exit-code")
        self.assertEqual(r.code, 0, r)
        self.assertIn("Nothing is due", r.err)
        r = self.at("2026-11-20T13:00:00Z", "due", "--exit-code", "--format", "json")
        self.assertEqual(r.code, 1, r)
        items = r.json()
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["kind"], "escalate")
        self.assertEqual(items[0]["case"], 1)
        self.assertEqual(items[0]["overdue_seconds"], 0)
        self.assertEqual(items[0]["due_at"], "2026-11-20T13:00:00Z")

    def test_unacknowledged_suggests_next_and_client_updates(self):
        cid = self.ready_case()  # notice at 09:00
        self.assertEqual(self.at("2026-11-20T10:00:00Z", "send", cid).code, 0)
        r = self.at("2026-11-20T13:59:59Z", "due", "--format", "json")
        self.assertEqual(r.json(), [])
        items = self.at("2026-11-20T14:00:00Z", "due", "--format", "json").json()
        self.assertEqual([i["kind"] for i in items], ["acknowledge"])
        self.assertEqual(items[0]["suggestion"], "esc send 1 --to engineering")
        self.assertEqual(self.at("2026-11-20T14:30:00Z", "ack", cid, "--by", "Sam").code, 0)
        # Last word to the client was the notice at 09:00: due at 09:00 next day.
        self.assertEqual(self.at("2026-11-21T08:59:59Z", "due", "--format", "json").json(), [])
        items = self.at("2026-11-22T09:00:00Z", "due", "--format", "json").json()
        self.assertEqual([i["kind"] for i in items], ["client-update"])
        self.assertEqual(self.at("2026-11-21T09:30:00Z", "update", cid, "Still on it; next news by 15:00").code, 0)
        self.assertEqual(self.at("2026-11-21T10:00:00Z", "due", "--format", "json").json(), [])
        table = self.at("2026-11-22T10:00:00Z", "due").out
        self.assertIn("client-update", table)

    def test_most_urgent_first(self):
        self.new_case("high one", "--severity", "high")
        self.new_case("critical one", "--severity", "critical")
        items = self.at("2026-11-20T20:00:00Z", "due", "--format", "json").json()
        self.assertEqual([i["case"] for i in items], [2, 1])


class Resolution(EscTest):
    def test_resolve_reopen_review_lessons(self):
        cid = self.ready_case()
        self.ok("send", cid)
        self.ok("resolve", cid, "Raised the challenge window", "--csat", "4", "--unnecessary")
        c = self.ok("show", cid, "--format", "json").json()
        self.assertEqual(c["status"], "resolved")
        self.assertEqual(c["csat"], 4)
        self.assertTrue(c["unnecessary"])
        self.fails(65, "resolve", cid)
        self.fails(64, "resolve", cid, "--csat", "6")
        self.ok("review", cid, "--worked", "Diagnostics up front", "--improve", "Ask for the BIN sooner",
                "--lesson", "For 3DS failures get the ACS trace id first", "--lesson", "Check issuer status pages")
        kinds = [(e["kind"], e["state"]) for e in self.ok("show", cid, "--format", "json").json()["entries"]]
        self.assertIn(("review", "worked"), kinds)
        self.assertIn(("review", "improve"), kinds)
        lessons = self.ok("lessons", "--format", "json").json()
        self.assertEqual(len(lessons), 2)
        hits = self.ok("lessons", "trace", "--format", "json").json()
        self.assertEqual(len(hits), 1)
        self.assertEqual(hits[0]["case"], 1)
        self.assertEqual(hits[0]["title"], "Checkout fails for EU cards")
        self.assertIn("ACS trace", self.ok("lessons").out)
        self.ok("reopen", cid)
        c = self.ok("show", cid, "--format", "json").json()
        self.assertEqual(c["status"], "escalated")
        self.assertIsNone(c["resolved_at"])
        self.fails(65, "review", cid, "--lesson", "not yet")

    def test_unnecessary_needs_an_escalation(self):
        cid = self.new_case()
        self.fails(64, "resolve", cid, "--unnecessary")
        self.ok("resolve", cid)

    def test_similar_resolved_cases_on_stderr_only(self):
        old = self.new_case("Checkout fails for EU cards after 3DS change")
        self.ok("resolve", old, "fixed")
        r = self.ok("new", "EU cards checkout fails again")
        self.assertEqual(r.out, "2\n")
        self.assertIn("Similar resolved cases", r.err)
        self.assertIn("#1", r.err)
        r = self.ok("new", "Completely unrelated printer jam")
        self.assertNotIn("Similar", r.err)


class Stats(EscTest):
    def at(self, when, *args):
        return self.ok(*args, env={"ESC_NOW": when})

    def test_hand_computed_figures(self):
        # Case 1: opened 09:00, sent 10:00, acked 11:00, resolved 20:00 (10h after), CSAT 4.
        a = self.ready_case("one")
        self.at("2026-11-20T10:00:00Z", "send", a)
        self.at("2026-11-20T11:00:00Z", "ack", a)
        self.at("2026-11-20T20:00:00Z", "resolve", a, "--csat", "2")
        # Case 2: opened 09:00, forced at 12:00, resolved 30h later, unnecessary, CSAT 4.
        b = self.new_case("two", "--severity", "low")
        self.at("2026-11-20T12:00:00Z", "send", b, "--force", "--reason", "client on the phone")
        self.at("2026-11-21T18:00:00Z", "resolve", b, "--csat", "4", "--unnecessary")
        # Case 3: never escalated.
        self.new_case("three")
        s = self.at("2026-11-22T09:00:00Z", "stats", "--format", "json").json()
        g = s["groups"][0]
        self.assertEqual((g["opened"], g["escalated"], g["resolved"]), (3, 2, 2))
        self.assertAlmostEqual(g["escalation_rate"], 2 / 3)
        self.assertEqual(g["time_to_escalate"]["median_seconds"], 2 * 3600)  # mean of 1h and 3h
        self.assertEqual(g["time_to_escalate"]["p90_seconds"], 3 * 3600)
        self.assertEqual(g["time_to_acknowledge"]["count"], 1)
        self.assertEqual(g["time_to_acknowledge"]["median_seconds"], 3600)
        self.assertEqual(g["time_to_resolve"]["median_seconds"], 20 * 3600)  # mean of 10h and 30h
        self.assertAlmostEqual(g["forced_share"], 0.5)
        self.assertAlmostEqual(g["unnecessary_share"], 0.5)
        self.assertAlmostEqual(g["csat_mean"], 3.0)
        # Case 1's client heard at 09:00 and the case closed at 20:00: on time.
        # Case 2's client heard nothing in the 30h to resolution: not on time.
        self.assertAlmostEqual(g["client_update_compliance"], 0.5)
        by = self.at("2026-11-22T09:00:00Z", "stats", "--by", "severity", "--format", "json").json()["groups"]
        self.assertEqual([x["group"] for x in by], ["high", "medium", "low"] if len(by) == 3 else ["high", "low"])
        month = self.at("2026-11-22T09:00:00Z", "stats", "--by", "month").out
        self.assertIn("2026-11", month)
        csv = self.at("2026-11-22T09:00:00Z", "stats", "--format", "csv").out.splitlines()
        self.assertEqual(len(csv), 2)
        self.assertEqual(self.at("2026-11-22T09:00:00Z", "stats", "--since", "2026-12-01", "--format",
                                 "json").json()["groups"][0]["opened"], 0)

    def test_empty_log_says_n_a(self):
        self.fails(66, "stats")  # no log yet: not an empty one either
        self.ok("init")
        out = self.ok("stats").out
        self.assertIn("n/a", out)
        g = self.ok("stats", "--format", "json").json()["groups"][0]
        self.assertIsNone(g["escalation_rate"])
        self.assertIsNone(g["csat_mean"])
        self.fails(64, "stats", "--since", "last tuesday")
        self.fails(64, "stats", "--by", "weather")


class ExportImport(EscTest):
    def test_round_trip_is_identical(self):
        a = self.ready_case("one", "--ref", "ZD-1", "--tag", "vip")
        self.ok("send", a)
        self.ok("ack", a, "--by", "Sam")
        self.new_case("two")
        first = self.ok("export").out
        self.assertEqual(len(first.splitlines()), 2)
        rec = json.loads(first.splitlines()[0])
        self.assertEqual(set(rec), {"case", "entries", "escalations", "deliveries"})
        self.assertEqual(rec["escalations"][0]["level"], 1)
        self.assertEqual(rec["deliveries"][0]["status"], "delivered")
        path = os.path.join(self.home, "export.jsonl")
        with open(path, "w") as f:
            f.write(first)
        other = os.path.join(self.home, "other.db")
        r = self.ok("--db", other, "import", path)
        self.assertIn("2 new", r.err)
        self.assertEqual(self.ok("--db", other, "export").out, first)
        r = self.ok("--db", other, "import", path)  # idempotent
        self.assertIn("0 new, 0 merged, 2 unchanged", r.err)
        self.assertEqual(self.ok("--db", other, "export").out, first)
        r = self.ok("--db", other, "import", "-", input=first)
        self.assertIn("2 unchanged", r.err)

    def test_a_bad_line_changes_nothing(self):
        self.new_case("one")
        good = self.ok("export").out
        other = os.path.join(self.home, "other.db")
        rec = json.loads(good)
        rec["case"]["uuid"] = "11111111-1111-4111-8111-111111111111"
        rec["case"]["id"] = 5
        bad = json.loads(good)
        bad["case"]["status"] = "pending"
        path = os.path.join(self.home, "mixed.jsonl")
        with open(path, "w") as f:
            f.write(good + json.dumps(rec) + "\n" + json.dumps(bad) + "\n")
        r = self.fails(65, "--db", other, "import", path)
        self.assertIn(":3:", r.err)
        self.assertIn("status", r.err)
        self.assertEqual(self.ok("--db", other, "list", "--format", "ids").out, "")
        with open(path, "w") as f:
            f.write(good + "{not json\n")
        r = self.fails(65, "--db", other, "import", path)
        self.assertIn(":2:", r.err)
        self.fails(66, "import", os.path.join(self.home, "missing.jsonl"))

    def test_since_limits_the_export(self):
        self.new_case("old")
        self.ok("new", "new", env={"ESC_NOW": "2026-11-25T09:00:00Z"})
        out = self.ok("export", "--since", "2026-11-24").out
        self.assertEqual(len(out.splitlines()), 1)
        self.assertEqual(json.loads(out)["case"]["title"], "new")


if __name__ == "__main__":
    main()
