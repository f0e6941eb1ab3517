"""The lead's view: `esc report` (one self-contained HTML file with inline
SVG charts) checked against a hand-computed log, rendered in headless
Chromium at desktop and phone widths, with hostile case text; and the
terminal's trends: `esc stats --by month` sparklines, `esc stats --chart`."""

import html.parser
import os
import re
import shutil
import sqlite3
import stat
import struct
import subprocess
import tempfile
import zlib

from esctest import BACKEND, ESC, EscTest, main

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
client_update_every = "24h"
"""

NOW = "2026-11-20T09:00:00Z"
HOSTILE = "</svg><script>alert(\"x\")</script> <img src=x onerror=alert(1)> 'quoted' & \"double\""
HOSTILE_LESSON = "Never trust <b>bold</b> claims\n</ol><script>document.title='owned'</script>"


# ---- reading what esc wrote ---------------------------------------------------

class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, tag=None, cls=None):
        """Every element below this one, in document order, by tag and class."""
        for c in self.children:
            if isinstance(c, Node):
                if (tag is None or c.tag == tag) and (cls is None or cls in c.attrs.get("class", "").split()):
                    yield c
                yield from c.all(tag, cls)

    def first(self, tag=None, cls=None):
        return next(self.all(tag, cls), None)


class Tree(html.parser.HTMLParser):
    """The document as a tree of elements, the way a browser's DOM holds it
    (void elements close themselves; the parser is fed Chromium's DOM)."""
    VOID = {"meta", "img", "br", "hr", "input", "link", "source", "wbr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.at = self.root
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.at)
        self.at.children.append(node)
        if tag not in self.VOID:
            self.at = node

    def handle_startendtag(self, tag, attrs):
        self.at.children.append(Node(tag, attrs, self.at))

    def handle_endtag(self, tag):
        n = self.at
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.at = n.parent

    def handle_data(self, data):
        self.at.children.append(data)


def png_pixels(path):
    """Width, height and rows of (r, g, b) of an 8-bit RGB or RGBA PNG, as
    Chromium writes its screenshots."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def close_to(colour, hex_colour, tolerance=40):
    want = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(colour, want))


def chromium(*args, timeout=90):
    """Debian's headless Chromium on a file of ours: no network is needed,
    none is used (the page's own policy forbids every load)."""
    exe = shutil.which("chromium")
    if not exe:
        raise AssertionError("chromium is not installed (Debian package chromium; scripts/deps.sh lists it)")
    profile = tempfile.mkdtemp(prefix="esc-chromium-")
    try:
        r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--disable-extensions", "--disable-background-networking", "--disable-sync",
                            "--hide-scrollbars", f"--user-data-dir={profile}", *args],
                           capture_output=True, timeout=timeout, env={**os.environ, "HOME": profile})
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if r.returncode != 0:
        raise AssertionError(f"chromium {args} failed ({r.returncode}): {r.stderr.decode(errors='replace')[-2000:]}")
    return r.stdout.decode("utf-8", "replace")


# ---- the log the figures are computed from by hand ----------------------------

class ReportTest(EscTest):
    def setUp(self):
        super().setUp()
        self.write_config(CONFIG)
        self.env["PAGER"] = "cat"

    def at(self, when, *args, env=None, **kw):
        return self.ok(*args, env={"ESC_NOW": when, **(env or {})}, **kw)

    def raw_sql(self, sql, value):
        """Writes straight into the log, as a damaged or foreign writer might."""
        if BACKEND == "sqlite":
            with sqlite3.connect(self.db) as db:
                db.execute(sql, (value,))
        else:
            literal = "E'" + "".join(f"\\x{ord(ch):02x}" if ord(ch) < 32 else ch.replace("\\", "\\\\").replace("'", "''")
                                     for ch in value) + "'"
            self.pg.psql("SET search_path = esc; " + sql.replace("?", literal))

    def build_log(self, hostile=False):
        """Four cases over three months (times UTC):

        #1 Sep 2, ACME, sla-breach: opened 09:00, sent ready 10:00 to tier2
           (escalate 1h), acknowledged 11:00 (1h), client updated 20:00,
           resolved Sep 3 10:00 (24h after the escalation), CSAT 4; reviewed
           with a lesson. The client never waited 24h: on time.
        #2 Sep 5, ACME, sla-breach + beyond-scope: never escalated, resolved.
        #3 Nov 3, Globex, beyond-scope: opened 09:00, forced to tier2 12:00
           (3h), forced to engineering 13:00, which acknowledged 15:00 (2h);
           resolved Nov 5 12:00 (48h), unnecessary, CSAT 2. No client
           update: not on time.
        #4 Nov 10, Initech, time-sensitive: opened 09:00, forced to tier2
           15:00 (6h); still open, unacknowledged: waiting since then.
        October has no case."""
        c1 = self.at("2026-09-02T09:00:00Z", "new", "Checkout fails for EU cards", "--customer", "ACME",
                     "--severity", "high", "--trigger", "sla-breach").out.strip()
        for kind, text in (("fact", "Only EU cards fail"), ("step", "Rolled back 3DS"),
                           ("hypothesis", "The issuer's ACS times out"), ("notice", "Told the client")):
            self.at("2026-09-02T09:00:00Z", "log", c1, kind, text)
        self.at("2026-09-02T10:00:00Z", "send", c1)
        self.at("2026-09-02T11:00:00Z", "ack", c1, "--by", "Sam")
        self.at("2026-09-02T20:00:00Z", "update", c1, "Fix being tested")
        self.at("2026-09-03T10:00:00Z", "resolve", c1, "Issuer fixed its ACS", "--csat", "4")
        lesson = HOSTILE_LESSON if hostile else "Ask for the HAR file first"
        self.at("2026-09-03T11:00:00Z", "review", c1, "--worked", "Quick repro", "--improve", "Earlier notice",
                "--lesson", lesson)
        c2 = self.at("2026-09-05T09:00:00Z", "new", "Invoices show the wrong VAT", "--customer", "ACME",
                     "--trigger", "sla-breach", "--trigger", "beyond-scope").out.strip()
        self.at("2026-09-06T09:00:00Z", "resolve", c2)
        c3 = self.at("2026-11-03T09:00:00Z", "new", "SSO login loops", "--customer", "Globex", "--severity",
                     "critical", "--trigger", "beyond-scope").out.strip()
        self.at("2026-11-03T12:00:00Z", "send", c3, "--force", "--reason", "client on the phone")
        self.at("2026-11-03T13:00:00Z", "send", c3, "--to", "engineering", "--force", "--reason", "tier2 is out")
        self.at("2026-11-03T15:00:00Z", "ack", c3, "--by", "Lee")
        self.at("2026-11-05T12:00:00Z", "resolve", c3, "--csat", "2", "--unnecessary")
        title4 = "Exports time out" if not hostile else HOSTILE
        c4 = self.at("2026-11-10T09:00:00Z", "new", title4, "--customer", "Initech" if not hostile else "O'Brien & <Co>",
                     "--severity", "low", "--trigger", "time-sensitive").out.strip()
        self.at("2026-11-10T15:00:00Z", "send", c4, "--force", "--reason", "deadline today")
        return c1, c2, c3, c4

    def report(self, *args, name="r.html"):
        path = os.path.join(self.home, name)
        r = self.at(NOW, "report", *args, "-o", path)
        with open(path, encoding="utf-8") as f:
            return r, f.read(), path

    @staticmethod
    def charts(tree):
        return {f.attrs["id"]: f for f in tree.root.all("figure", "chart")}

    @staticmethod
    def bars(figure):
        """{series: [(data-value, title), ...]} in group order."""
        out = {}
        for g in figure.all("g", "bars"):
            out[g.attrs["data-series"]] = [(b.attrs["data-value"], b.first("title").text()) for b in g.all("rect", "bar")]
        return out


class Report(ReportTest):
    def test_hand_computed_figures_in_the_svg(self):
        self.build_log()
        r, page, _ = self.report()
        self.assertIn("4 cases, 3 escalated", r.err)
        tree = Tree(page)
        charts = self.charts(tree)
        self.assertEqual(list(charts), ["chart-cases", "chart-rate", "chart-tte", "chart-tta", "chart-ttr",
                                        "chart-forced", "chart-unnecessary", "chart-updates", "chart-csat"])
        # Every month from the first case's to now's, October empty.
        cases = self.bars(charts["chart-cases"])
        self.assertEqual([t for _, t in cases["opened"]],
                         ["2026-09 · opened: 2", "2026-10 · opened: 0", "2026-11 · opened: 2"])
        self.assertEqual([v for v, _ in cases["escalated"]], ["1", "0", "2"])
        rate = self.bars(charts["chart-rate"])["escalated"]
        self.assertEqual(rate, [("0.5", "2026-09 · escalated: 50% (1 of 2 cases)"),
                                ("", "2026-10 · escalated: n/a (no cases)"),
                                ("1", "2026-11 · escalated: 100% (2 of 2 cases)")])
        tte = self.bars(charts["chart-tte"])
        self.assertEqual(tte["median"][0], ("3600", "2026-09 · median: 1h (3600 s, 1 escalated)"))
        self.assertEqual(tte["median"][2], ("16200", "2026-11 · median: 4h 30m (16200 s, 2 escalated)"))
        self.assertEqual(tte["90th percentile"][2][0], "21600")
        tta = self.bars(charts["chart-tta"])
        self.assertEqual([v for v, _ in tta["median"]], ["3600", "", "7200"])
        ttr = self.bars(charts["chart-ttr"])
        self.assertEqual([v for v, _ in ttr["median"]], ["86400", "", "172800"])
        self.assertEqual([v for v, _ in self.bars(charts["chart-forced"])["sent unprepared"]], ["0", "", "1"])
        self.assertEqual(self.bars(charts["chart-unnecessary"])["unnecessary"][2],
                         ("0.5", "2026-11 · unnecessary: 50% (1 of 2 escalated)"))
        self.assertEqual([v for v, _ in self.bars(charts["chart-updates"])["on time"]], ["1", "", "0"])
        self.assertEqual([v for v, _ in self.bars(charts["chart-csat"])["mean CSAT"]], ["4", "", "2"])

        # The geometry: the cases axis runs to 2, the plot is 176 units high.
        rects = list(charts["chart-cases"].all("rect", "bar"))
        self.assertEqual([r.attrs["height"] for r in rects], ["176", "0", "176", "88", "0", "176"])
        self.assertEqual([t.text() for t in charts["chart-cases"].first("g", "y").all("text")],
                         ["0", "1", "2", "cases"])
        # Time to escalate in hours, to 6: the median of November (4.5h) is 3/4 of the plot.
        self.assertEqual(charts["chart-tte"].first("g", "y").all("text").__next__().text(), "0")
        self.assertIn("hours", charts["chart-tte"].first("g", "y").text())
        self.assertEqual([r.attrs["height"] for r in charts["chart-tte"].all("rect", "bar")][2], "132")

        # The period's figures, the tops, what waits and what was learnt.
        tiles = {dt.text(): dt.parent.first("dd").text() for dt in tree.root.first("dl", "tiles").all("dt")}
        self.assertEqual(tiles["Cases opened"], "4")
        self.assertEqual(tiles["Escalation rate"], "75%")
        self.assertEqual(tiles["Time to escalate (median)"], "3h")
        self.assertEqual(tiles["Time to acknowledge (median)"], "1h 30m")
        self.assertEqual(tiles["Time to resolve after escalation (median)"], "1d 12h")
        self.assertEqual(tiles["Sent unprepared (--force)"], "67%")
        self.assertEqual(tiles["Client updates on time"], "33%")
        self.assertEqual(tiles["Mean CSAT"], "3.0")

        def table(heading):
            h = next(h for h in tree.root.all("h3") if h.text() == heading)
            return [[td.text() for td in tr.all("td")] for tr in h.parent.first("tbody").all("tr")]
        self.assertEqual(table("Triggers"), [["beyond-scope", "2", "1", "50%", "100%", "100%"],
                                             ["sla-breach", "2", "1", "50%", "0%", "0%"],
                                             ["time-sensitive", "1", "1", "100%", "100%", "0%"]])
        self.assertEqual([row[:3] for row in table("Customers")], [["ACME", "2", "1"], ["Globex", "1", "1"],
                                                                  ["Initech", "1", "1"]])
        self.assertEqual(table("Paths"), [["tier2", "3", "1", "66.7%", "3", "33.3%"],
                                          ["engineering", "1", "1", "100%", "1", "100%"]])
        waiting = next(s for s in tree.root.all("section") if s.attrs.get("id") == "waiting")
        rows = [[td.text() for td in tr.all("td")] for tr in waiting.all("tr")][1:]
        self.assertEqual(rows, [["#4", "Exports time out", "Initech", "low", "tier2 (level 1)", "2026-11-10 15:00",
                                 "9d 18h", "not yet"]])
        lessons = next(s for s in tree.root.all("section") if s.attrs.get("id") == "lessons")
        self.assertEqual(lessons.first("p", "lesson").text(), "Ask for the HAR file first")
        self.assertIn("#1 Checkout fails for EU cards · ACME", lessons.text())
        self.assertIn("2026-11 is counted to 2026-11-20 09:00.", page)

        # The same figures as `esc stats` gives them.
        months = {g["group"]: g for g in self.at(NOW, "stats", "--by", "month", "--format", "json").json()["groups"]}
        self.assertEqual(months["2026-11"]["time_to_escalate"]["median_seconds"], 16200)
        self.assertEqual(months["2026-09"]["time_to_resolve"]["median_seconds"], 86400)

    def test_a_period_and_another_grouping(self):
        self.build_log()
        _, page, _ = self.report("--since", "2026-10-01", "--until", "2026-12-01")
        charts = self.charts(Tree(page))
        self.assertEqual([t for _, t in self.bars(charts["chart-cases"])["opened"]],
                         ["2026-10 · opened: 0", "2026-11 · opened: 2"])
        self.assertIn("Cases opened from 2026-10-01 to before 2026-12-01", page)
        _, page, _ = self.report("--by", "severity", name="s.html")
        charts = self.charts(Tree(page))
        self.assertEqual([t.split(" · ")[0] for _, t in self.bars(charts["chart-cases"])["opened"]],
                         ["critical", "high", "medium", "low"])
        self.assertIn("Cases opened and escalated by severity", page)
        # A period with no case says so, and draws nothing.
        _, page, _ = self.report("--since", "2027-01-01", name="e.html")
        self.assertIn("No cases were opened in this period", page)
        self.assertNotIn("<svg", page)

    def test_self_contained_and_nothing_but_the_log(self):
        self.build_log()
        _, page, _ = self.report()
        for loads in ("<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import", "@font-face"):
            self.assertNotIn(loads, page)
        self.assertEqual(re.findall(r"https?://[^\s\"']+", page), ["http://www.w3.org/2000/svg"] * 9)
        self.assertIn("default-src 'none'", page)
        self.assertIn("@media (prefers-color-scheme:dark)", page)
        self.assertIn("@media print", page)
        self.assertNotIn(self.home, page)  # no path, no config, no environment

    def test_where_the_report_goes(self):
        self.build_log()
        # Not a terminal, no -o: standard output (so does -o -).
        r = self.at(NOW, "report")
        self.assertTrue(r.out.startswith("<!DOCTYPE html>"), r.out[:100])
        self.assertEqual(self.at(NOW, "report", "-o", "-").out, r.out)
        self.assertEqual(self.at(NOW, "report", "-o", "/dev/stdout").out, r.out)  # a pipe, written in place
        # On a terminal without -o: asked where to.
        t = subprocess.run(["script", "-qec", f"{ESC} report", "/dev/null"], capture_output=True,
                           env=self.env, timeout=60)
        self.assertEqual(t.returncode, 64, t)
        self.assertIn(b"esc: error: where should the report go?", t.stdout)
        # Nowhere to write: an I/O error, and nothing left behind.
        before = sorted(os.listdir(self.home))
        r = self.fails(74, "report", "-o", os.path.join(self.home, "missing", "r.html"))
        self.assertEqual(r.err.splitlines()[0], f"esc: error: cannot write {self.home}/missing/r.html: "
                                                "No such file or directory")
        os.mkdir(os.path.join(self.home, "taken"))
        self.fails(74, "report", "-o", os.path.join(self.home, "taken"))
        self.assertEqual(os.listdir(os.path.join(self.home, "taken")), [])
        r = self.fails(74, "report", "-o", "/dev/full")
        self.assertIn("No space left on device", r.err)
        self.assertEqual(sorted(os.listdir(self.home)), sorted(before + ["taken"]))
        # An existing report is replaced whole, or not at all.
        _, old, path = self.report()
        self.fails(64, "report", "--since", "last tuesday", "-o", path)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read(), old)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        # Bad input: one line, the spec's code.
        r = self.fails(64, "report", "--by", "weather", "-o", path)
        self.assertEqual(len(r.err.splitlines()), 2, r)  # the error and its hint
        self.fails(64, "report", "--until", "2026-13-01", "-o", path)
        r = self.fails(64, "report", "--since", "2026-10-01", "--until", "2026-09-01", "-o", path)
        self.assertEqual(r.err, "esc: error: --until 2026-09-01 is not after --since 2026-10-01: the period is empty\n")

    def test_reads_never_create_a_log(self):
        path = os.path.join(self.home, "r.html")
        self.fails(66, "report", "-o", path)
        self.assertFalse(os.path.exists(path))

    def test_hostile_text_is_inert(self):
        c = self.build_log(hostile=True)
        # Control characters never get in through esc; one that a foreign
        # writer put in the log is shown, not obeyed.
        self.raw_sql("UPDATE cases SET customer = ? WHERE id = 3", "Globex\x1b[31m\x07\x01")
        _, page, _ = self.report()
        self.assertNotIn("<script", page)
        self.assertNotIn("<img", page)
        self.assertNotIn("<b>", page)
        self.assertNotIn("\x1b", page)
        self.assertNotIn("\x07", page)
        self.assertIn("Globex^[[31m^G^A", page)
        tree = Tree(page)
        waiting = next(s for s in tree.root.all("section") if s.attrs.get("id") == "waiting")
        self.assertEqual([td.text() for td in waiting.all("td")][1:3], [HOSTILE, "O'Brien & <Co>"])
        self.assertIsNone(tree.root.first("script"))
        self.assertEqual(len(list(tree.root.all("svg"))), 9)  # no chart closed early
        lesson = next(s for s in tree.root.all("section") if s.attrs.get("id") == "lessons").first("p", "lesson")
        self.assertEqual(lesson.text(), HOSTILE_LESSON)
        self.assertEqual(c[3], "4")


class Masked(ReportTest):
    def test_card_numbers_and_redact_patterns_are_masked_in_the_report(self):
        # A report is made to be mailed and printed: it leaves the machine
        # as a summary does, masked as a summary is.
        with open(self.config_file, "a") as f:
            f.write("\n[[redact]]\npattern = 'secret-[a-z]+'\n")
        c = self.at("2026-11-10T09:00:00Z", "new", "Card 4111111111111111 declined", "--customer",
                    "Cust 4111 1111 1111 1111", "--severity", "high", "--trigger", "sla-breach").out.strip()
        for kind in ("fact", "step", "hypothesis", "notice"):
            self.at("2026-11-10T09:00:00Z", "log", c, kind, "x")
        self.at("2026-11-10T10:00:00Z", "send", c)
        other = self.at("2026-11-10T11:00:00Z", "new", "Token secret-abc leaked", "--customer", "Initech").out.strip()
        self.at("2026-11-10T12:00:00Z", "resolve", other)
        self.at("2026-11-10T13:00:00Z", "review", other, "--lesson", "card 6011111111111117 and secret-xyz")
        _, page, _ = self.report()
        for secret in ("4111111111111111", "4111 1111 1111 1111", "6011111111111117", "secret-abc", "secret-xyz"):
            self.assertNotIn(secret, page)
        self.assertIn("Card [card number] declined", page)
        self.assertIn("Cust [card number]", page)
        self.assertIn("card [card number] and [redacted]", page)
        self.assertIn("Token [redacted] leaked", page)


class InChromium(ReportTest):
    """One log, rendered by Chromium three times: its DOM, a desktop
    screenshot in light mode and a phone one in dark mode."""

    def test_rendered_by_a_browser(self):
        self.build_log(hostile=True)
        _, page, path = self.report()
        url = "file://" + path

        dom = chromium("--dump-dom", url)
        tree = Tree(dom)
        self.assertIsNone(tree.root.first("script"), "a script element got into the page")
        self.assertEqual(tree.root.first("title").text(), "Escalation report: Every case in the log")
        figures = list(tree.root.all("figure", "chart"))
        self.assertEqual(len(figures), 9)
        series = {"chart-cases": 2, "chart-tte": 2, "chart-tta": 2, "chart-ttr": 2}
        for f in figures:
            with self.subTest(chart=f.attrs["id"]):
                caption = f.first("figcaption").text()
                self.assertTrue(caption.endswith(" per month"), caption)
                svg = f.first("svg")
                self.assertEqual(svg.attrs.get("role"), "img")
                self.assertEqual(svg.first("title").text(), caption)
                x, y = svg.first("g", "x"), svg.first("g", "y")
                self.assertIsNotNone(x.first("line"))
                self.assertIsNotNone(y.first("line"))
                self.assertEqual(x.first("text", "axis-title").text(), "month")
                self.assertTrue(y.first("text", "axis-title").text())
                self.assertEqual([t.text() for t in x.all("text")][:2], ["Sep", "2026"])
                self.assertGreaterEqual(len([t for t in y.all("text") if "axis-title" not in t.attrs.get("class", "")]), 2)
                bars = list(svg.all("rect", "bar"))
                self.assertEqual(len(bars), 3 * series.get(f.attrs["id"], 1))  # three months a series
                for b in bars:
                    self.assertTrue(b.first("title").text().startswith(("2026-09 · ", "2026-10 · ", "2026-11 · ")))
        # The hostile title is text in its cell, the lesson text in its paragraph.
        waiting = next(s for s in tree.root.all("section") if s.attrs.get("id") == "waiting")
        self.assertEqual([td.text() for td in waiting.all("td")][1], HOSTILE)
        lessons = next(s for s in tree.root.all("section") if s.attrs.get("id") == "lessons")
        self.assertEqual(lessons.first("p", "lesson").text(), HOSTILE_LESSON)
        self.assertIsNone(lessons.first("b"))

        shots = {}
        for name, (w, h), extra in (("desktop", (1280, 900), ()), ("phone", (390, 1400), ("--force-dark-mode",))):
            png = os.path.join(self.home, f"{name}.png")
            chromium(f"--screenshot={png}", f"--window-size={w},{h}", *extra, url)
            width, height, rows = png_pixels(png)
            self.assertEqual((width, height), (w, h), name)
            shots[name] = rows
        for name, bg, bar in (("desktop", "#ffffff", "#0969da"), ("phone", "#0d1117", "#4493f8")):
            with self.subTest(screenshot=name):
                rows = shots[name]
                self.assertTrue(close_to(rows[2][2], bg, 8), (name, rows[2][2]))
                colours = {px for row in rows[::4] for px in row[::4]}
                self.assertGreater(len(colours), 50, f"{name}: a nearly blank page")
                bar_pixels = sum(1 for row in rows[::2] for px in row[::2] if close_to(px, bar, 30))
                self.assertGreater(bar_pixels, 200, f"{name}: no chart bars on screen")


class InTheTerminal(ReportTest):
    def tty(self, command, **env):
        r = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True,
                           env={**self.env, "TERM": "xterm", **env}, timeout=60)
        self.assertEqual(r.returncode, 0, r)
        return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]|\x1b[=>]", "", r.stdout.decode("utf-8")).replace("\r", "")

    def test_sparklines_by_month_on_a_terminal_numbers_when_piped(self):
        self.build_log()
        out = self.tty(f"{ESC} stats --by month", ESC_NOW=NOW)
        lines = [l for l in out.splitlines() if l.startswith("2026-")]
        self.assertEqual([l.split()[0] for l in lines], ["2026-09", "2026-11"])
        # Each figure marked by its size in its column: OPEN 2 and 2 are full,
        # ESC 1 of 2 halfway, RATE 50% of 100% halfway.
        self.assertEqual(lines[0].split()[1:5], ["2█", "1▅", "2█", "50%▅"])
        self.assertEqual(lines[1].split()[1:5], ["2█", "2█", "1▅", "100%█"])
        ascii_out = self.tty(f"{ESC} stats --by month", ESC_NOW=NOW, LANG="C", LC_ALL="")
        self.assertIn("50%=", ascii_out)
        piped = self.at(NOW, "stats", "--by", "month").out
        self.assertNotIn("█", piped)
        self.assertRegex(piped, r"2026-09 +2 +1 +2 +50%")

    def test_a_bar_chart_that_fits_the_width(self):
        self.build_log()
        for columns in ("40", "100"):
            out = self.at(NOW, "stats", "--chart", "escalations", env={"COLUMNS": columns}).out
            lines = out.splitlines()
            self.assertEqual(lines[0], "Cases escalated per month")
            self.assertEqual([l.split()[0] for l in lines[1:]], ["2026-09", "2026-10", "2026-11"])
            for l in lines:
                self.assertLessEqual(len(l), int(columns), l)
            self.assertEqual([l.split()[-1] for l in lines[1:]], ["1", "0", "2"])
            full = lines[3].count("█")
            self.assertEqual(len(lines[3]), int(columns))
            self.assertEqual(lines[1].count("█") * 2, full)  # 1 is half of 2
            self.assertNotIn("█", lines[2])
        out = self.at(NOW, "stats", "--chart", "tte", "--by", "severity", env={"LANG": "C"}).out
        self.assertEqual(out.splitlines()[0], "Time to escalate (median) by severity")
        self.assertRegex(out, r"low +#+ +6h\n")
        self.assertRegex(out, r"medium +n/a\n")
        # On a terminal, its width.
        out = self.tty(f"{ESC} stats --chart rate", ESC_NOW=NOW, COLUMNS="")
        self.assertTrue(all(len(l) <= 80 for l in out.splitlines()), out)
        self.assertIn("2026-11", out)

    def test_unknown_metric_and_misuse(self):
        self.ok("init")
        r = self.fails(64, "stats", "--chart", "weather")
        first = r.err.splitlines()[0]
        self.assertTrue(first.startswith("esc: error: --chart: weather not in {cases,escalations,"), first)
        for name in ("rate", "tte", "tta-p90", "ttr", "forced", "unnecessary", "updates", "csat"):
            self.assertIn(name, first)
        self.fails(64, "stats", "--chart", "rate", "--format", "json")


if __name__ == "__main__":
    main()
