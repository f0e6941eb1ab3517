"""The statements esc runs for each everyday command, as it prepares them
(found by tracing sqlite3_prepare with an LD_PRELOAD), with the values
filled in: {show} the case `show` reads, {now} the log's now in seconds,
{word} the searched word. bench/run's floors and bench/team's psql run
them, so that both measure against what esc does. When a command's
statements change, change them here."""

CASE_COLUMNS = ("c.id, c.uuid, c.title, c.customer, c.severity, c.status, c.ref, c.triggers, c.tags, c.engineer, "
                "c.engineer_email, c.created_at, c.updated_at, c.resolved_at, c.csat, c.unnecessary, "
                "c.snoozed_until, c.snooze_reason")
ONE_CASE = f"SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = {{show}}"
ENTRIES = ("SELECT e.id, e.uuid, e.case_id, e.kind, e.text, e.state, e.at, e.author, e.source, e.remote_id, "
           "e.struck_at, e.struck_by, e.struck_reason FROM entries e WHERE e.case_id = {show} ORDER BY e.at, e.id")
ESCALATIONS = ("SELECT x.id, x.uuid, x.case_id, x.level, x.path, x.at, x.sent_by, x.forced, x.force_reason, "
               "x.again_reason, x.note, x.subject, '', x.acked_at, x.acked_by FROM escalations x "
               "WHERE x.case_id = {show} ORDER BY x.level, x.at, x.id")
DELIVERY_COLUMNS = ("d.id, d.escalation_id, x.case_id, d.channel, d.key, d.status, d.attempts, d.last_error, "
                    "d.created_at, d.next_attempt_at, d.delivered_at, d.remote_key, d.remote_url, d.sync_cursor, "
                    "d.imported")
DELIVERIES = (f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN escalations x ON x.id = d.escalation_id "
              "WHERE x.case_id = {show} ORDER BY d.id")
ACTIVE = (f"SELECT {CASE_COLUMNS} FROM cases c WHERE 1 = 1 AND c.status <> 'resolved' "
          "ORDER BY c.updated_at DESC, c.id DESC LIMIT 50")
# Search ranks the newest 2,000 hits of each index (bm25) and makes snippets
# for the 20 it shows; the floor does as much: the same candidate queries,
# then 20 snippets.
SEARCH = ["SELECT e.id, e.case_id, e.kind, e.at, c.title, bm25(entry_fts) FROM entry_fts "
          "JOIN entries e ON e.id = entry_fts.rowid JOIN cases c ON c.id = e.case_id "
          "WHERE entry_fts MATCH '\"{word}\"' AND e.struck_at IS NULL ORDER BY entry_fts.rowid DESC LIMIT 2000",
          "SELECT c.id, c.updated_at, c.title, bm25(case_fts) FROM case_fts JOIN cases c ON c.id = case_fts.rowid "
          "WHERE case_fts MATCH '\"{word}\"' ORDER BY case_fts.rowid DESC LIMIT 2000",
          "SELECT snippet(entry_fts, 0, char(2), char(3), '…', 16) FROM entry_fts WHERE entry_fts MATCH '\"{word}\"' "
          "ORDER BY rowid DESC LIMIT 20"]
STATS = ["SELECT id, created_at, resolved_at, csat, unnecessary, severity, engineer, customer, triggers FROM cases "
         "WHERE created_at >= 0 AND created_at < {now} ORDER BY id",
         "SELECT x.case_id, x.level, x.path, x.at, x.acked_at, x.forced FROM escalations x "
         "ORDER BY x.case_id, x.level, x.at, x.id",
         "SELECT case_id, at FROM entries WHERE kind IN ('contact', 'notice', 'update') AND struck_at IS NULL "
         "ORDER BY case_id, at"]
DUE = [f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN escalations x ON x.id = d.escalation_id "
       "WHERE d.status IN ('pending', 'failed') AND d.imported = 0 ORDER BY d.id",
       "SELECT c.id, c.title, c.severity, c.status, c.created_at, c.snoozed_until, x.id, x.level, x.path, x.at, "
       "x.acked_at, x.acked_by, "
       "(SELECT count(*) FROM deliveries d WHERE d.escalation_id = x.id AND d.status = 'delivered'), "
       "(SELECT count(*) FROM deliveries d WHERE d.escalation_id = x.id AND d.status = 'pending' "
       "AND d.imported = 0), "
       "(SELECT count(*) FROM deliveries d WHERE d.escalation_id = x.id AND d.status IN ('failed', 'dropped')), "
       "(SELECT max(e.at) FROM entries e WHERE e.case_id = c.id AND e.kind IN ('contact', 'notice', 'update') "
       "AND e.struck_at IS NULL), "
       "(SELECT count(*) FROM entries r WHERE r.case_id = c.id AND r.kind = 'reply' AND r.struck_at IS NULL "
       "AND r.id > coalesce((SELECT max(m.id) FROM entries m WHERE m.case_id = c.id AND m.source = '' "
       "AND m.kind IN ('fact', 'diagnostic', 'step', 'contact', 'hypothesis', 'impact', 'outcome', 'notice', "
       "'heads-up', 'update', 'note', 'acknowledged')), 0)), "
       "coalesce((SELECT r.state FROM entries r WHERE r.case_id = c.id AND r.kind = 'reply' AND r.struck_at IS NULL "
       "ORDER BY r.id DESC LIMIT 1), ''), "
       "(SELECT count(*) FROM entries u WHERE u.case_id = c.id AND u.kind = 'resolved-upstream' "
       "AND u.struck_at IS NULL) "
       "FROM cases c LEFT JOIN escalations x ON x.id = (SELECT y.id FROM escalations y WHERE y.case_id = c.id "
       "ORDER BY y.level DESC, y.at DESC, y.id DESC LIMIT 1) WHERE c.status <> 'resolved' ORDER BY c.id"]
# A case named by number: esc also looks for a case with that ref (a number
# that is one case's id and another's ref is ambiguous).
FIND_CASE = [ONE_CASE, f"SELECT {CASE_COLUMNS} FROM cases c WHERE c.ref = '{{show}}'"]
COMPLETE = ["SELECT id, ref, title, severity, status FROM cases WHERE status <> 'resolved' "
            "ORDER BY updated_at DESC, id DESC LIMIT 200"]
