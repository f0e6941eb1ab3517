"""The case log end to end: new, list, show, log, edit, search, ids, and
bad input (unknown ids and flags, broken config, hostile text, damaged or
foreign databases, concurrent writers)."""

import json
import os
import sqlite3
import subprocess
import threading

from esctest import sqlite_only, EscTest, ESC, main, read_bytes


class CaseLog(EscTest):
    def test_new_prints_the_id_alone_and_list_show_find_it(self):
        r = self.ok("new", "Checkout fails for EU cards", "--customer", "ACME Corp", "--severity", "high",
                    "--ref", "ZD-4411", "--trigger", "sla-breach", "--tag", "payments")
        self.assertEqual(r.out, "1\n")
        self.assertIn("Opened case #1", r.err)
        self.assertEqual(self.new_case("Second case"), "2")
        rows = self.ok("list", "--format", "json").json()
        self.assertEqual([c["id"] for c in rows], [2, 1])
        c = rows[1]
        for field in ("id", "uuid", "title", "customer", "severity", "status", "ref", "triggers", "tags",
                      "engineer", "created_at", "updated_at"):
            self.assertIn(field, c)
        self.assertEqual(c["status"], "open")
        self.assertEqual(c["ref"], "ZD-4411")
        self.assertEqual(c["triggers"], ["sla-breach"])
        self.assertEqual(c["engineer"], "tester")
        self.assertEqual(c["created_at"], "2026-11-20T09:00:00Z")
        self.assertEqual(self.ok("list", "--format", "ids").out, "2\n1\n")
        csv = self.ok("list", "--format", "csv").out.splitlines()
        self.assertTrue(csv[0].startswith("id,uuid,title"))
        self.assertEqual(len(csv), 3)
        table = self.ok("list").out
        self.assertIn("Checkout fails for EU cards", table)
        self.assertNotIn("\x1b[", table)  # no colour when piped

    def test_ids_accept_number_hash_and_ref(self):
        self.new_case("A case", "--ref", "ZD-4411")
        for ident in ("1", "#1", "ZD-4411"):
            self.assertEqual(self.ok("show", ident, "--format", "json").json()["id"], 1)
        r = self.fails(66, "show", "42")
        self.assertIn("no case #42", r.err)
        self.fails(66, "show", "ZD-9999")
        self.fails(66, "log", "7", "fact", "x")

    def test_log_every_kind_and_text_sources(self):
        cid = self.new_case()
        kinds = ["fact", "diagnostic", "step", "contact", "hypothesis", "impact", "outcome", "notice",
                 "heads-up", "update", "note"]
        for k in kinds:
            self.ok("log", cid, k, f"a {k} entry")
        self.ok("log", cid, "diagnostic", "-", input="from stdin via -\n")
        self.ok("log", cid, "note", input="piped without text\n")
        editor = os.path.join(self.home, "editor.sh")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\nprintf 'written in the editor\\n' > \"$1\"\n")
        os.chmod(editor, 0o755)
        # The editor only opens on a terminal; through `script` stdin is one.
        r = subprocess.run(["script", "-qec", f"{ESC} log {cid} fact", "/dev/null"], capture_output=True,
                           env={**self.env, "EDITOR": editor, "VISUAL": ""}, timeout=30)
        self.assertEqual(r.returncode, 0, r)
        entries = self.ok("show", cid, "--format", "json").json()["entries"]
        texts = [e["text"] for e in entries]
        self.assertEqual([e["kind"] for e in entries][:len(kinds)], kinds)
        self.assertIn("from stdin via -", texts)
        self.assertIn("piped without text", texts)
        self.assertIn("written in the editor", texts)
        hyp = [e for e in entries if e["kind"] == "hypothesis"][0]
        self.assertEqual(hyp["state"], "unconfirmed")
        for e in entries:
            self.assertEqual(set(e) >= {"id", "kind", "text", "at", "author"}, True)
        self.fails(64, "log", cid, "facts", "typo in kind")
        self.fails(64, "log", cid, "fact", input="   \n")
        self.fails(64, "log", cid, "fact", "--state", "confirmed", "x")

    def test_log_at_backdates(self):
        cid = self.new_case()
        self.ok("log", cid, "step", "--at", "2h", "two hours ago")
        self.ok("log", cid, "step", "--at", "2026-11-19T10:00:00Z", "yesterday")
        self.ok("log", cid, "hypothesis", "--state", "refuted", "not the DNS")
        entries = self.ok("show", cid, "--format", "json").json()["entries"]
        self.assertEqual(entries[0]["at"], "2026-11-19T10:00:00Z")
        self.assertEqual(entries[1]["at"], "2026-11-20T07:00:00Z")
        self.assertEqual(entries[2]["state"], "refuted")
        self.fails(64, "log", cid, "step", "--at", "sometime", "x")
        self.fails(64, "log", cid, "step", "--at", "2030-01-01T00:00:00Z", "future")

    def test_edit(self):
        cid = self.new_case("Old title", "--trigger", "sla-breach")
        for i in range(3):
            self.ok("log", cid, "note", f"note {i}")  # each moves the case's updated_at
        titles = lambda word: [h["case"] for h in self.ok("search", word, "--kind", "title", "--format", "json").json()]
        self.assertEqual(titles("old"), [1])
        self.ok("edit", cid, "--title", "New title", "--severity", "critical", "--trigger", "legal-compliance",
                "--remove-trigger", "sla-breach", "--tag", "vip", "--ref", "ZD-1")
        c = self.ok("show", "ZD-1", "--format", "json").json()
        self.assertEqual(c["title"], "New title")
        self.assertEqual(c["severity"], "critical")
        self.assertEqual(c["triggers"], ["legal-compliance"])
        self.assertEqual(c["tags"], ["vip"])
        # The title's index follows the title, once.
        self.assertEqual((titles("old"), titles("new")), ([], [1]))
        self.ok("edit", cid, "--severity", "high")
        self.assertEqual((titles("old"), titles("new")), ([], [1]))
        other = self.new_case("Other", "--ref", "ZD-2")
        self.fails(65, "edit", other, "--ref", "ZD-1")
        self.fails(64, "edit", cid, "--severity", "urgent")
        self.fails(64, "edit", cid, "--trigger", "because")

    def test_list_filters(self):
        self.new_case("a", "--severity", "high", "--customer", "ACME", "--tag", "vip")
        self.new_case("b", "--severity", "low", "--customer", "Globex")
        self.assertEqual(self.ok("list", "--severity", "high", "--format", "ids").out, "1\n")
        self.assertEqual(self.ok("list", "--customer", "globex", "--format", "ids").out, "2\n")
        self.assertEqual(self.ok("list", "--tag", "vip", "--format", "ids").out, "1\n")
        self.assertEqual(self.ok("list", "--limit", "1", "--format", "ids").out, "2\n")
        self.assertEqual(self.ok("list", "--status", "resolved", "--format", "json").json(), [])
        self.fails(64, "list", "--status", "closed")

    def test_lists_of_any_length_in_every_format(self):
        # 1,500 cases: past the 1,000 that a table lays out in memory, so the
        # table of `--limit 0` is measured on one pass and printed on another.
        n = 1500
        lines = []
        for i in range(1, n + 1):
            t = f"2026-{1 + i // 200:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
            lines.append(json.dumps({
                "case": {"id": i, "uuid": f"00000000-0000-4000-8000-{i:012d}",
                         "title": f"Case {i} " + ("ünïcödé " if i % 7 == 0 else "") + "x" * (i % 50),
                         "customer": f"Customer {i % 13}", "severity": ["critical", "high", "medium", "low"][i % 4],
                         "status": "resolved" if i % 4 == 3 else "open", "ref": None, "triggers": [],
                         "tags": [], "engineer": "", "created_at": t, "updated_at": t,
                         "resolved_at": t if i % 4 == 3 else None, "csat": None, "unnecessary": False},
                "entries": [{"id": i, "uuid": f"00000000-0000-4000-9000-{i:012d}", "kind": "review",
                             "state": "lesson", "text": f"Lesson {i}", "at": t, "author": "dana"}],
                "escalations": [], "deliveries": []}))
        src = os.path.join(self.home, "cases.jsonl")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.ok("import", src)
        ids = self.ok("list", "--status", "all", "--limit", "0", "--format", "ids").out.split()
        self.assertEqual(len(ids), n)
        self.assertEqual(sorted(ids, key=int), [str(i) for i in range(1, n + 1)])
        listed = self.ok("list", "--status", "all", "--limit", "0", "--format", "json").json()
        self.assertEqual([str(c["id"]) for c in listed], ids)  # the same order
        self.assertEqual(len(self.ok("list", "--status", "all", "--limit", "0", "--format", "csv").out.splitlines()),
                         n + 1)
        r = self.ok("list", "--status", "all", "--limit", "0")
        rows = r.out.splitlines()
        self.assertEqual(len(rows), n + 1)  # a header, then every case
        self.assertEqual([row.split()[0] for row in rows[1:]], ["#" + i for i in ids])
        # Columns line up: every title starts where the header's does.
        title_at = rows[0].index("TITLE")
        for row, c in zip(rows[1:], listed):
            self.assertEqual(row[title_at:title_at + len(c["title"])], c["title"])
        self.assertNotIn("hint", r.err)
        # A long limit is laid out the same way, and says that there are more.
        r = self.ok("list", "--status", "all", "--limit", "1200")
        self.assertEqual(r.out.splitlines(), rows[:1201])
        self.assertIn("showing the 1200 most recently active", r.err)
        r = self.ok("list", "--status", "all", "--limit", "10")
        self.assertEqual([row.split()[0] for row in r.out.splitlines()[1:]], ["#" + i for i in ids[:10]])
        self.assertEqual(self.ok("list", "--status", "all", "--limit", "0", "--customer", "nobody").err.strip(),
                         "No cases match.")
        # Lessons too: every one, newest first, in every format.
        lessons = self.ok("lessons", "--limit", "0", "--format", "json").json()
        self.assertEqual([str(h["case"]) for h in lessons], ids)  # each case's lesson is as old as the case
        rows = self.ok("lessons", "--limit", "0").out.splitlines()
        self.assertEqual([row.split()[0] for row in rows[1:]], ["#" + i for i in ids])
        self.assertEqual(self.ok("lessons").out.splitlines(), rows[:51])
        self.assertEqual(len(self.ok("lessons", "--limit", "0", "--format", "csv").out.splitlines()), n + 1)
        self.fails(64, "lessons", "--limit", "-1")
        self.assertEqual(len(self.ok("due", "--format", "json").json()), 1125)  # the open cases, all overdue

    def test_due_of_any_length(self):
        # 5,100 open cases past their deadline: more than `due` lays out in
        # memory, so its table is made a row at a time, twice.
        n = 5100
        with open(os.path.join(self.home, "open.jsonl"), "w") as f:
            for i in range(1, n + 1):
                t = f"2026-{1 + i // 600:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
                f.write(json.dumps({
                    "case": {"id": i, "uuid": f"00000000-0000-4000-8000-{i:012d}", "title": f"Open case {i}",
                             "customer": "", "severity": ["critical", "high", "medium", "low"][i % 4],
                             "status": "open", "ref": None, "triggers": [], "tags": [], "engineer": "",
                             "created_at": t, "updated_at": t, "resolved_at": None, "csat": None,
                             "unnecessary": False},
                    "entries": [], "escalations": [], "deliveries": []}) + "\n")
        self.ok("import", os.path.join(self.home, "open.jsonl"))
        due = self.ok("due", "--format", "json").json()
        self.assertEqual(len(due), n)
        rows = self.ok("due").out.splitlines()
        self.assertEqual(len(rows), n + 1)
        self.assertEqual([row.split()[0] for row in rows[1:]], [f"#{d['case']}" for d in due])
        detail_at = rows[0].index("DETAIL")
        for row, d in zip(rows[1:], due):
            self.assertEqual(row[detail_at:detail_at + len(d["message"])], d["message"])
        self.assertEqual(len(self.ok("due", "--format", "csv").out.splitlines()), n + 1)

    def test_search_best_match_with_snippet(self):
        a = self.new_case("Checkout fails for EU cards")
        b = self.new_case("Login slow")
        self.ok("log", a, "fact", "The issuer ACS times out for 3DS challenges")
        self.ok("log", b, "note", "ACS mentioned once among many other words about login latency and caches")
        hits = self.ok("search", "ACS", "--format", "json").json()
        self.assertEqual(len(hits), 2)
        self.assertIn("[ACS]", hits[0]["snippet"])
        self.assertEqual({h["case"] for h in hits}, {1, 2})
        self.assertEqual(self.ok("search", "checkout", "--format", "json").json()[0]["kind"], "title")
        self.assertEqual(self.ok("search", "ACS", "--kind", "fact", "--format", "json").json()[0]["case"], 1)
        self.assertEqual(self.ok("search", "nothing-like-this", "--format", "json").json(), [])
        self.ok("search", '"unbalanced', "AND", "(")  # FTS syntax in user text is not an error
        self.fails(64, "search", "x", "--kind", "facts")

    def test_unknown_command_and_flag_are_usage_errors(self):
        r = self.fails(64, "lsit")
        self.assertIn("did you mean `esc list`", r.err)
        r = self.fails(64, "list", "--bogus")
        self.assertIn("--bogus", r.err)
        self.fails(64, "new")
        self.fails(64, "new", "x", "--severity", "urgent")
        self.fails(64)

    @sqlite_only("help opens no file")
    def test_help_and_version(self):
        r = self.ok("--help")
        for cmd in ("new", "list", "show", "log", "send", "due", "stats"):
            self.assertIn(cmd, r.out)
        self.assertRegex(self.ok("--version").out, r"^esc \d+\.\d+\.\d+\n$")
        self.assertIn("Example", self.ok("log", "--help").out)
        self.assertFalse(os.path.exists(self.db))  # --help opens no database
        # Running a command builds only its options; help and version still see everything.
        r = self.ok("--db", self.db, "--color", "never", "--help")
        for cmd in ("new", "list", "due", "stats", "import", "completions"):
            self.assertIn(cmd, r.out)
        self.assertIn("--limit", self.ok("--help", "list").out)
        self.assertRegex(self.ok("--color", "never", "--version").out, r"^esc \d+\.\d+\.\d+\n$")
        self.assertRegex(self.ok("--version", "list").out, r"^esc \d+\.\d+\.\d+\n$")
        r = self.ok("--color", "never", "list", "--help")
        self.assertIn("--limit", r.out)
        self.assertNotIn("--csat", r.out)  # resolve's, not list's
        r = self.fails(64, "--color", "never", "list", "--csat", "5")
        self.assertIn("esc help list", r.err)
        self.assertIn("unknown option --csat", r.err)

    def test_invalid_utf8_and_control_characters_in_a_title(self):
        r = self.esc("new", b"bad \xff title".decode("latin-1").encode("latin-1").decode("utf-8", "surrogateescape"))
        self.assertEqual(r.code, 65, r)
        r = self.fails(65, "new", "Title\r\nBcc: x@y")
        self.assertIn("control characters", r.err)
        self.fails(65, "new", "bell\a")
        self.assertFalse(os.path.exists(self.db) and self.ok("list", "--format", "ids").out)
        # Escape sequences inside entry text are kept but shown inert.
        cid = self.new_case("Fine title")
        self.ok("log", cid, "fact", "evil \x1b]52;c;ZWNobyBoaQ==\x07 and \x1b[2J clear")
        shown = self.ok("show", cid).out
        self.assertNotIn("\x1b", shown)
        self.assertNotIn("\x07", shown)
        self.assertIn("^[]52;", shown)
        table = self.ok("list").out.splitlines()
        self.assertEqual(len(table), 2)

    def test_a_one_megabyte_entry(self):
        cid = self.new_case()
        big = ("0123456789abcdef" * 65536)[: 1024 * 1024]
        self.ok("log", cid, "diagnostic", "-", input=big)
        e = self.ok("show", cid, "--format", "json").json()["entries"][0]
        self.assertEqual(len(e["text"]), len(big))
        self.assertEqual(e["text"], big)

    def test_broken_config_is_78_with_line_and_column(self):
        self.write_config('[engineer]\nname = "Dana"\n\n[[channel]]\nname = "chat"\ntype = "webhook"\n'
                          'url_env = "X"\nformat = "slak"\n')
        # A problem in one channel: what delivers refuses, the rest warns and goes on.
        r = self.fails(78, "due")
        self.assertRegex(r.err, r"esc\.toml:8:10: channel \"chat\": unknown format \"slak\"")
        r = self.ok("new", "still works")
        self.assertRegex(r.err, r"warning: .*esc\.toml:8:10: channel \"chat\"")
        r = self.esc("config", "check")
        self.assertEqual(r.code, 78)
        self.assertIn(":8:10:", r.err)
        self.write_config("[engineer\nname = 1\n")
        r = self.fails(78, "list")  # not one channel's problem: nothing can be read
        self.assertIn("esc.toml:1:", r.err)
        self.fails(66, "--config", os.path.join(self.home, "missing.toml"), "list")

    def test_every_change_to_the_config_is_seen_at_once(self):
        # The config is read anew by every command: a change to the file,
        # even of the same size and within the same second, counts.
        for n in range(5):
            self.write_config(f'[engineer]\nname = "Dana {n}"\n[case]\nseverities = ["p{n}", "q{n}"]\n'
                              f'default_severity = "q{n}"\n')
            cid = self.ok("new", f"case {n}", "--severity", f"p{n}").out.strip()
            self.assertEqual(self.ok("show", cid, "--format", "json").json()["severity"], f"p{n}")
            self.assertIn(f"expected one of: p{n}, q{n}", self.fails(64, "new", "old", "--severity", f"p{n - 1}").err)
            self.assertEqual(self.ok("new", "defaulted").out.strip(), str(int(cid) + 1))
        self.assertFalse(os.path.exists(os.path.join(self.home, ".cache")))  # nothing kept between runs
        self.write_config('[engineer]\nname = "Dana"\n[case]\nseverities = 3\n')
        self.assertIn("esc.toml:4:", self.fails(78, "list").err)

    @sqlite_only("a file that is not SQLite")
    def test_a_file_that_is_not_sqlite_is_refused_untouched(self):
        path = os.path.join(self.home, "notes.db")
        with open(path, "wb") as f:
            f.write(b"my notes, not a database\n" * 100)
        before = read_bytes(path)
        r = self.fails(74, "--db", path, "list")
        self.assertIn("not an esc case log", r.err)
        self.assertEqual(read_bytes(path), before)
        self.assertFalse(os.path.exists(path + "-wal"))

    @sqlite_only("the file's user_version (test_team has the server's)")
    def test_a_newer_schema_is_refused_untouched(self):
        self.new_case()
        con = sqlite3.connect(self.db)
        con.execute("PRAGMA user_version = 999")
        con.commit()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        before = read_bytes(self.db)
        r = self.fails(74, "list")
        self.assertIn("newer", r.err)
        self.assertEqual(read_bytes(self.db), before)

    @sqlite_only("its modes and journal")
    def test_database_and_folder_are_private_and_wal(self):
        self.new_case()
        self.assertEqual(os.stat(self.db).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.dirname(self.db)).st_mode & 0o777, 0o700)
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], 10)

    @sqlite_only("file paths in --db and $ESC_DB")
    def test_env_and_flag_choose_the_database(self):
        other = os.path.join(self.home, "other.db")
        self.ok("--db", other, "new", "in other")
        self.assertEqual(self.ok("list", "--format", "ids", env={"ESC_DB": other}).out, "1\n")
        # The default log was never made, and a read does not make it.
        self.fails(66, "list", "--format", "ids")
        self.assertFalse(os.path.exists(self.db))

    def test_two_writers_at_once_keep_both_entries(self):
        cid = self.new_case()
        procs = []
        for i in range(2):
            procs.append(subprocess.Popen([ESC, "log", cid, "note", f"writer {i}"], env=self.env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for p in procs:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
        texts = sorted(e["text"] for e in self.ok("show", cid, "--format", "json").json()["entries"])
        self.assertEqual(texts, ["writer 0", "writer 1"])

    def test_colour_only_when_asked_or_on_a_terminal(self):
        self.new_case("x", "--severity", "critical")
        self.assertNotIn("\x1b[", self.ok("list").out)
        self.assertIn("\x1b[", self.ok("--color", "always", "list").out)
        self.assertNotIn("\x1b[", self.ok("--color", "never", "list").out)
        r = subprocess.run(["script", "-qec", f"{ESC} list", "/dev/null"], capture_output=True,
                           env={**self.env, "PAGER": "cat", "TERM": "xterm"}, timeout=30)
        self.assertIn(b"\x1b[", r.stdout)
        r = subprocess.run(["script", "-qec", f"{ESC} list", "/dev/null"], capture_output=True,
                           env={**self.env, "PAGER": "cat", "TERM": "xterm", "NO_COLOR": "1"}, timeout=30)
        self.assertNotIn(b"\x1b[1;31m", r.stdout)

    def test_tables_fit_the_terminal_width(self):
        self.new_case("A very long title " * 10, "--customer", "ACME Corporation International")
        for width in ("80", "200"):
            out = self.ok("--color", "always", "list", env={"COLUMNS": width}).out
            for line in out.splitlines():
                import re
                plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
                self.assertLessEqual(len(plain), int(width), line)

    def test_completion_never_creates_a_database(self):
        self.assertEqual(self.ok("__complete", "cases").out, "")
        self.assertFalse(os.path.exists(self.db))
        self.new_case("Open one")
        self.assertEqual(self.ok("__complete", "cases").out, "1\tOpen one\n")
        self.assertEqual(self.ok("__complete", "cases", "resolved").out, "")

    def test_init_writes_a_config_that_passes_check(self):
        self.fails(66, "list")
        r = self.ok("init")
        self.assertIn("Case log ready", r.err)
        self.assertTrue(os.path.exists(self.config_file))
        self.ok("list")  # the log exists now, empty
        self.ok("config", "check")
        self.assertEqual(self.ok("config", "path").out.strip(), self.config_file)
        self.assertIn("kept", self.ok("init").err)
        shown = self.ok("config", "show").out
        self.assertIn('[[path]]\nname = "default"', shown)


if __name__ == "__main__":
    main()
