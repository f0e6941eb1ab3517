"""Readiness checklist and handover summary, end to end, including the
interactive walk on a real pseudo-terminal."""

import json
import os
import pty
import select
import subprocess
import termios
import time

from esctest import EscTest, ESC, main


class PtySession:
    """Runs esc on a pseudo-terminal and answers its prompts."""

    def __init__(self, args, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(ESC, [ESC, *args], env)
        self.buffer = b""

    def read_until(self, marker, timeout=20):
        return self.read_until_any([marker], timeout)

    def read_until_any(self, markers, timeout=20):
        deadline = time.time() + timeout
        while not any(m.encode() in self.buffer for m in markers):
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {markers!r}; got {self.buffer.decode(errors='replace')}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"esc ended before {markers!r}; got {self.buffer.decode(errors='replace')}")
                self.buffer += data
        text = self.buffer.decode(errors="replace")
        end = min(self.buffer.index(m.encode()) + len(m) for m in markers if m.encode() in self.buffer)
        self.buffer = self.buffer[end:]
        return text

    def send(self, line):
        os.write(self.fd, line.encode() + b"\r")

    def eof(self, timeout=20):
        # Ctrl-D is end of input only once the line editor has the terminal
        # in raw mode: typed earlier, the terminal's own line discipline takes
        # it. The editor shows its prompt before it switches the mode, so wait
        # for the prompt and then for the mode itself.
        self.read_until_any(["> ", "+ "])
        deadline = time.time() + timeout
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            if time.time() > deadline:
                raise AssertionError("the line editor never took the terminal")
            time.sleep(0.01)
        os.write(self.fd, b"\x04")

    def wait(self, timeout=30):
        """esc's exit status; fails (and kills it) if it does not end."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                r, _, _ = select.select([self.fd], [], [], 0.2)
                if r and not os.read(self.fd, 4096):
                    pass
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"esc did not end within {timeout} s")


class Readiness(EscTest):
    def test_check_reports_and_exits_1_then_0(self):
        cid = self.new_case()
        r = self.esc("check", cid, "--no-input")
        self.assertEqual(r.code, 1, r)
        self.assertIn("NOT READY (5 required items missing)", r.out)
        self.assertIn("[ ] facts", r.out)
        j = self.esc("check", cid, "--format", "json").json()
        self.assertEqual(j["case"], 1)
        self.assertFalse(j["ready"])
        self.assertEqual([i["key"] for i in j["items"]],
                         ["reason", "facts", "steps", "hypothesis", "client-told", "outcome", "impact", "heads-up"])
        self.assertEqual(set(j["items"][0]), {"key", "question", "required", "met", "entries"})
        ready = self.ready_case("Another")
        r = self.ok("check", ready, "--no-input")
        self.assertIn("READY", r.out)
        j = self.ok("check", ready, "--format", "json").json()
        self.assertTrue(j["ready"])
        self.assertEqual(j["items"][1]["entries"], 1)
        self.fails(66, "check", "99")

    def test_a_refuted_hypothesis_does_not_count(self):
        cid = self.ready_case()
        con_entries = self.ok("show", cid, "--format", "json").json()["entries"]
        self.assertTrue(any(e["kind"] == "hypothesis" for e in con_entries))
        cid2 = self.new_case("Other", "--trigger", "sla-breach")
        self.ok("log", cid2, "fact", "f")
        self.ok("log", cid2, "step", "s")
        self.ok("log", cid2, "notice", "n")
        self.ok("log", cid2, "hypothesis", "--state", "refuted", "was not DNS")
        self.assertEqual(self.esc("check", cid2, "--no-input").code, 1)
        self.ok("log", cid2, "hypothesis", "--state", "confirmed", "it was the certificate")
        self.ok("check", cid2, "--no-input")

    def test_interactive_walk_records_answers_and_skips(self):
        cid = self.new_case()
        s = PtySession(["check", cid], self.env)
        s.read_until("Give the number or name of a trigger")
        s.send("4, time")  # a number from the list and an unambiguous prefix
        s.read_until("What facts and diagnostic results do you have?")
        s.send("Only EU cards fail")
        s.read_until("another, or Enter")
        s.send("US cards pass")
        s.read_until("another, or Enter")
        s.send("")
        s.read_until("What have you already tried")
        s.send("")  # skip
        s.read_until("What do you think is wrong?")
        s.send("The ACS times out")
        s.read_until("another, or Enter")
        s.send("")
        s.read_until("What did you tell the client")
        s.send("Told ACME we escalate; news by 16:00")
        s.read_until("another, or Enter")
        s.send("")
        s.read_until("What do you want from the next level")
        s.send("")
        s.read_until("What does it cost")
        s.send("EUR 40k an hour")
        s.read_until("another, or Enter")
        s.send("")
        s.read_until("forewarned")
        s.eof()
        code = s.wait()
        self.assertEqual(code, 1)  # steps was skipped: still not ready
        c = self.ok("show", cid, "--format", "json").json()
        self.assertEqual(c["triggers"], ["sla-breach", "time-sensitive"])
        texts = {}
        for e in c["entries"]:
            texts.setdefault(e["kind"], []).append(e)
        self.assertEqual([e["text"] for e in texts["fact"]], ["Only EU cards fail", "US cards pass"])
        self.assertEqual(texts["hypothesis"][0]["state"], "unconfirmed")
        self.assertEqual(texts["notice"][0]["text"], "Told ACME we escalate; news by 16:00")
        self.assertEqual(texts["impact"][0]["text"], "EUR 40k an hour")
        self.assertNotIn("step", texts)
        self.assertNotIn("outcome", texts)

    def test_a_bare_yes_or_no_is_not_an_answer(self):
        cid = self.new_case("x", "--trigger", "sla-breach")
        s = PtySession(["check", cid], self.env)
        s.read_until("What facts and diagnostic results do you have?")
        for consent in ("yes", "No", "ok", "-", "done."):
            s.send(consent)
            s.read_until("says whether, not what")
        s.send("The gateway times out after 5s")
        s.read_until("another, or Enter")
        s.send("")
        s.read_until("What have you already tried")
        s.send("y")
        s.read_until("says whether, not what")
        s.send("")
        s.read_until("What do you think is wrong")
        s.send("")
        s.read_until("What did you tell the client")
        s.send("no")  # the answer that once made the case READY
        s.read_until("says whether, not what")
        s.eof()
        self.assertEqual(s.wait(), 1)
        entries = self.ok("show", cid, "--format", "json").json()["entries"]
        self.assertEqual([(e["kind"], e["text"]) for e in entries], [("fact", "The gateway times out after 5s")])
        self.assertEqual(self.esc("check", cid, "--no-input").code, 1)

    def test_a_trigger_that_names_several_or_none_is_asked_again(self):
        self.write_config('[case]\ntriggers = ["vip", "vendor-down", "legal"]\n')
        cid = self.new_case()
        s = PtySession(["check", cid], self.env)
        s.read_until("Give the number or name of a trigger")
        s.send("v")  # vip or vendor-down
        text = s.read_until("; give a number or a name")
        self.assertIn("could be", text)
        s.send("99")
        text = s.read_until("; give a number or a name")
        self.assertIn("is not one of the triggers listed", text)
        s.send("leg")
        s.read_until("What facts")
        s.eof()
        s.wait()
        self.assertEqual(self.ok("show", cid, "--format", "json").json()["triggers"], ["legal"])

    def test_checklist_items_take_their_prompt_from_the_config(self):
        self.write_config('[[checklist]]\nkey = "logs"\nquestion = "Logs attached?"\n'
                          'prompt = "Paste the trace id of the failing request"\nkinds = ["diagnostic"]\n')
        cid = self.new_case()
        s = PtySession(["check", cid], self.env)
        s.read_until("Paste the trace id of the failing request")
        s.send("trace 7f3a")
        s.read_until("another, or Enter")
        s.send("")
        self.assertEqual(s.wait(), 0)
        self.assertIn("Logs attached?", self.ok("check", cid, "--no-input").out)

    def test_ctrl_d_keeps_what_was_recorded(self):
        cid = self.new_case("x", "--trigger", "sla-breach")
        s = PtySession(["check", cid], self.env)
        s.read_until("What facts and diagnostic results")
        s.send("fact before ctrl-d")
        s.read_until("another, or Enter")
        s.eof()
        s.wait()
        entries = self.ok("show", cid, "--format", "json").json()["entries"]
        self.assertEqual([e["text"] for e in entries], ["fact before ctrl-d"])

    def test_no_input_never_asks_on_a_terminal(self):
        cid = self.new_case()
        s = PtySession(["check", cid, "--no-input"], self.env)
        out = s.read_until("heads-up")
        self.assertNotIn("> ", out)
        self.assertEqual(s.wait(), 1)


class Summary(EscTest):
    def test_text_summary_sections_in_order(self):
        cid = self.ready_case("Checkout fails for EU cards", "--ref", "ZD-4411")
        self.ok("log", cid, "impact", "40% of EU checkouts fail")
        self.ok("log", cid, "outcome", "Confirm the ACS timeout")
        self.ok("log", cid, "contact", "Call with ACME's CTO")
        out = self.ok("summary", cid).out
        self.assertTrue(out.startswith("[ESC #1][high] ACME Corp: Checkout fails for EU cards\n"))
        order = ["Customer:", "Severity:", "Status:", "Engineer:", "Opened:", "WHY IT IS ESCALATED", "IMPACT",
                 "DESIRED OUTCOME", "FACTS AND DIAGNOSTIC RESULTS", "STEPS ALREADY TAKEN",
                 "CLIENT INTERACTIONS AND WHAT THE CLIENT WAS TOLD", "HYPOTHESIS (unconfirmed",
                 "STILL MISSING FROM THE CHECKLIST"]
        positions = [out.index(h) for h in order]
        self.assertEqual(positions, sorted(positions))
        self.assertIn("a suggestion, not a confirmed diagnosis", out)
        self.assertIn("heads-up", out.split("STILL MISSING")[1])
        self.assertIn("ref ZD-4411", out)
        # Same case, same bytes.
        self.assertEqual(out, self.ok("summary", cid).out)

    def test_empty_sections_are_left_out(self):
        cid = self.new_case()
        out = self.ok("summary", cid).out
        for heading in ("IMPACT", "STEPS ALREADY TAKEN", "HYPOTHESIS", "FACTS"):
            self.assertNotIn(heading, out)
        self.assertIn("STILL MISSING FROM THE CHECKLIST", out)
        self.assertIn("steps (required)", out)

    def test_markdown_and_json(self):
        cid = self.ready_case()
        self.ok("log", cid, "fact", "Use <b>bold</b> and *stars* and a | pipe")
        md = self.ok("summary", cid, "--format", "markdown").out
        self.assertIn("### Hypothesis (unconfirmed", md)
        self.assertIn("&lt;b&gt;bold&lt;/b&gt;", md)
        self.assertIn("\\*stars\\*", md)
        j = self.ok("summary", cid, "--format", "json").json()
        self.assertEqual(j["subject"], "[ESC #1][high] ACME Corp: Checkout fails for EU cards")
        self.assertEqual(j["case"]["id"], 1)
        for section in ("why", "impact", "outcome", "facts", "steps", "client", "hypotheses", "readiness"):
            self.assertIn(section, j)
        self.assertEqual(j["steps"][0]["text"], "Rolled back the 3-D Secure config")
        self.assertEqual(set(j["steps"][0]) >= {"at", "text", "author"}, True)
        self.assertTrue(j["readiness"]["ready"])

    def test_summary_to_a_file(self):
        cid = self.ready_case()
        path = os.path.join(self.home, "handover.txt")
        self.ok("summary", cid, "--to", path)
        with open(path) as f:
            self.assertEqual(f.read(), self.ok("summary", cid).out)

    def test_age_follows_esc_now(self):
        cid = self.ready_case()
        later = self.ok("summary", cid, env={"ESC_NOW": "2026-11-21T12:30:00Z"}).out
        self.assertIn("(1d 3h before this summary)", later)

    def test_500_entries_long_lines_and_non_ascii(self):
        cid = self.ready_case("Zahlungen schlagen fehl – 東京")
        # 500 entries through one import keeps the test quick.
        export = self.ok("export").out.strip()
        rec = json.loads(export)
        base = rec["entries"][0]
        rec["entries"] = [dict(base, id=1000 + i, uuid=f"00000000-0000-4000-8000-{i:012d}", kind="step",
                               text=f"step {i} " + "ü東" * 120) for i in range(500)]
        rec["case"]["updated_at"] = "2026-11-20T10:00:00Z"
        path = os.path.join(self.home, "big.jsonl")
        with open(path, "w") as f:
            f.write(json.dumps(rec) + "\n")
        self.ok("import", path)
        out = self.ok("summary", cid).out
        self.assertIn("500. 2026-11-20", out)
        from unicodedata import east_asian_width
        for line in out.splitlines():
            width = sum(2 if east_asian_width(ch) in "WF" else 1 for ch in line)
            self.assertLessEqual(width, 72, line)
        self.fails(66, "summary", "42")


if __name__ == "__main__":
    main()
