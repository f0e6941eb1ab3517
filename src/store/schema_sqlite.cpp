// The SQLite schema, one numbered migration at a time. Migration N brings a
// database from user_version N-1 to N. Never edit a released migration:
// add the next one.

#include "schema.hpp"

namespace esc::schema {

namespace {

constexpr const char* kMigrations[] = {
    // 1: cases, entries, escalations, deliveries, full-text indexes.
    R"sql(
CREATE TABLE cases (
  id          INTEGER PRIMARY KEY,
  uuid        TEXT NOT NULL UNIQUE,
  title       TEXT NOT NULL,
  customer    TEXT NOT NULL DEFAULT '',
  severity    TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('open', 'escalated', 'resolved')),
  ref         TEXT,
  triggers    TEXT NOT NULL DEFAULT '[]',
  tags        TEXT NOT NULL DEFAULT '[]',
  engineer    TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  resolved_at INTEGER,
  csat        INTEGER CHECK (csat BETWEEN 1 AND 5),
  unnecessary INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX cases_ref ON cases(ref) WHERE ref IS NOT NULL;
CREATE INDEX cases_updated ON cases(updated_at DESC, id DESC);
CREATE INDEX cases_status_updated ON cases(status, updated_at DESC, id DESC);
-- The open and escalated cases, whole, most recently active first: what
-- `list`, `due` and completion read, a few hundred rows however long the
-- history. Queries name its condition exactly, so that it can be used.
CREATE INDEX cases_active ON cases(updated_at DESC, id DESC, status, uuid, title, customer, severity, ref, triggers,
                                   tags, engineer, created_at, resolved_at, csat, unnecessary)
  WHERE status = 'open' OR status = 'escalated';
CREATE INDEX cases_created ON cases(created_at);

CREATE TABLE entries (
  id      INTEGER PRIMARY KEY,
  uuid    TEXT NOT NULL,
  case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  kind    TEXT NOT NULL,
  text    TEXT NOT NULL,
  state   TEXT NOT NULL DEFAULT '',
  at      INTEGER NOT NULL,
  author  TEXT NOT NULL DEFAULT ''
);
-- A named index rather than a UNIQUE column, so that a large import can
-- build it once at its end (see Store::upsert_record).
CREATE UNIQUE INDEX entries_uuid ON entries(uuid);
CREATE INDEX entries_case ON entries(case_id, at, id);
CREATE INDEX entries_kind ON entries(kind, case_id, at);

CREATE VIRTUAL TABLE entry_fts USING fts5(
  text, content='entries', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
  INSERT INTO entry_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
  INSERT INTO entry_fts(entry_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER entries_fts_update AFTER UPDATE OF text ON entries BEGIN
  INSERT INTO entry_fts(entry_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO entry_fts(rowid, text) VALUES (new.id, new.text);
END;

CREATE VIRTUAL TABLE case_fts USING fts5(
  title, content='cases', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
  INSERT INTO case_fts(rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN
  INSERT INTO case_fts(case_fts, rowid, title) VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER cases_fts_update AFTER UPDATE OF title ON cases BEGIN
  INSERT INTO case_fts(case_fts, rowid, title) VALUES ('delete', old.id, old.title);
  INSERT INTO case_fts(rowid, title) VALUES (new.id, new.title);
END;

CREATE TABLE escalations (
  id           INTEGER PRIMARY KEY,
  uuid         TEXT NOT NULL UNIQUE,
  case_id      INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  level        INTEGER NOT NULL,
  path         TEXT NOT NULL,
  at           INTEGER NOT NULL,
  forced       INTEGER NOT NULL DEFAULT 0,
  force_reason TEXT NOT NULL DEFAULT '',
  subject      TEXT NOT NULL,
  snapshot     TEXT NOT NULL,
  acked_at     INTEGER,
  acked_by     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX escalations_case ON escalations(case_id, level);

CREATE TABLE deliveries (
  id              INTEGER PRIMARY KEY,
  escalation_id   INTEGER NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
  channel         TEXT NOT NULL,
  key             TEXT NOT NULL UNIQUE,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dropped')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  next_attempt_at INTEGER,
  delivered_at    INTEGER,
  claimed_by      INTEGER,  -- pid of the esc process delivering it now
  claimed_until   INTEGER   -- wall-clock end of that claim
);
CREATE INDEX deliveries_escalation ON deliveries(escalation_id);
CREATE INDEX deliveries_pending ON deliveries(next_attempt_at) WHERE status = 'pending';
)sql",

    // 2: what `esc stats` needs of each case's escalations, kept on the case
    // (see escalation_facts()), and one narrow index that metrics over any
    // period read instead of the cases themselves. Store::migrate() fills
    // the new columns of existing cases after migration 3.
    R"sql(
ALTER TABLE cases ADD COLUMN esc_at INTEGER;                 -- first escalation
ALTER TABLE cases ADD COLUMN esc_acked_at INTEGER;           -- of the first escalation
ALTER TABLE cases ADD COLUMN esc_path TEXT;                  -- of the first escalation
ALTER TABLE cases ADD COLUMN esc_forced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN silence INTEGER;                -- seconds; resolved escalated cases
ALTER TABLE cases ADD COLUMN contact_at INTEGER;             -- when the client last heard from us
UPDATE cases SET contact_at = (SELECT max(at) FROM entries e INDEXED BY entries_kind
                               WHERE e.case_id = cases.id AND e.kind IN ('contact', 'notice', 'update'));
-- What `esc due` reads of the escalated cases, without their summaries.
DROP INDEX escalations_case;
CREATE INDEX escalations_case ON escalations(case_id, level, path, at, acked_at);
DROP INDEX cases_active;
CREATE INDEX cases_active ON cases(updated_at DESC, id DESC, status, uuid, title, customer, severity, ref, triggers,
                                   tags, engineer, created_at, resolved_at, csat, unnecessary, contact_at)
  WHERE status = 'open' OR status = 'escalated';
-- What metrics read instead of the cases: counts from the first, the
-- escalated cases from the second (see Store::case_counts, escalated_stats).
DROP INDEX cases_created;
CREATE INDEX cases_created ON cases(created_at, resolved_at, csat);
CREATE INDEX cases_escalated ON cases(created_at, esc_at, esc_acked_at, resolved_at, csat, esc_forced, unnecessary,
                                      silence, severity, esc_path) WHERE esc_at IS NOT NULL;
)sql",

    // 3: cases opened, resolved and rated, by the calendar month (UTC) in
    // which they were opened, kept by triggers: `esc stats` reads a row a
    // month instead of stepping through every case (see Store::case_counts).
    // The silence of escalated cases not yet resolved is kept too, up to
    // their last contact, and each case's newest escalation, which `esc due`
    // follows up, in cases_active. Store::migrate() fills them in.
    R"sql(
ALTER TABLE cases ADD COLUMN latest_id INTEGER;        -- the newest escalation: highest level, then latest
ALTER TABLE cases ADD COLUMN latest_level INTEGER;
ALTER TABLE cases ADD COLUMN latest_path TEXT;
ALTER TABLE cases ADD COLUMN latest_at INTEGER;
ALTER TABLE cases ADD COLUMN latest_acked_at INTEGER;
DROP INDEX cases_active;
CREATE INDEX cases_active ON cases(updated_at DESC, id DESC, status, uuid, title, customer, severity, ref, triggers,
                                   tags, engineer, created_at, resolved_at, csat, unnecessary, contact_at,
                                   latest_id, latest_level, latest_path, latest_at, latest_acked_at)
  WHERE status = 'open' OR status = 'escalated';
-- The escalated cases, with when the client last heard from us: the silence
-- of a case not yet resolved is measured from it (silence_by()).
DROP INDEX cases_escalated;
CREATE INDEX cases_escalated ON cases(created_at, esc_at, esc_acked_at, resolved_at, csat, esc_forced, unnecessary,
                                      silence, severity, esc_path, contact_at) WHERE esc_at IS NOT NULL;
CREATE TABLE case_months (
  month      INTEGER PRIMARY KEY,         -- the month's first second, Unix time
  opened     INTEGER NOT NULL DEFAULT 0,
  resolved   INTEGER NOT NULL DEFAULT 0,  -- of the cases opened in the month
  csat_count INTEGER NOT NULL DEFAULT 0,
  csat_sum   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO case_months(month, opened, resolved, csat_count, csat_sum)
  SELECT unixepoch(created_at, 'unixepoch', 'start of month'), count(*), count(resolved_at), count(csat),
         ifnull(sum(csat), 0)
  FROM cases GROUP BY 1;
CREATE TRIGGER cases_months_insert AFTER INSERT ON cases BEGIN
  INSERT INTO case_months(month, opened, resolved, csat_count, csat_sum)
    VALUES (unixepoch(new.created_at, 'unixepoch', 'start of month'), 1, new.resolved_at IS NOT NULL,
            new.csat IS NOT NULL, ifnull(new.csat, 0))
    ON CONFLICT(month) DO UPDATE SET opened = opened + 1, resolved = resolved + excluded.resolved,
      csat_count = csat_count + excluded.csat_count, csat_sum = csat_sum + excluded.csat_sum;
END;
CREATE TRIGGER cases_months_delete AFTER DELETE ON cases BEGIN
  UPDATE case_months SET opened = opened - 1, resolved = resolved - (old.resolved_at IS NOT NULL),
      csat_count = csat_count - (old.csat IS NOT NULL), csat_sum = csat_sum - ifnull(old.csat, 0)
    WHERE month = unixepoch(old.created_at, 'unixepoch', 'start of month');
END;
CREATE TRIGGER cases_months_update AFTER UPDATE OF created_at, resolved_at, csat ON cases BEGIN
  UPDATE case_months SET opened = opened - 1, resolved = resolved - (old.resolved_at IS NOT NULL),
      csat_count = csat_count - (old.csat IS NOT NULL), csat_sum = csat_sum - ifnull(old.csat, 0)
    WHERE month = unixepoch(old.created_at, 'unixepoch', 'start of month');
  INSERT INTO case_months(month, opened, resolved, csat_count, csat_sum)
    VALUES (unixepoch(new.created_at, 'unixepoch', 'start of month'), 1, new.resolved_at IS NOT NULL,
            new.csat IS NOT NULL, ifnull(new.csat, 0))
    ON CONFLICT(month) DO UPDATE SET opened = opened + 1, resolved = resolved + excluded.resolved,
      csat_count = csat_count + excluded.csat_count, csat_sum = csat_sum + excluded.csat_sum;
END;
)sql",

    // 4: what `esc stats` needs of the escalated cases opened in a month,
    // kept from one run to the next: any change to such a case deletes its
    // month's row (the triggers), and the next `esc stats` computes the
    // month again from cases_escalated and stores it (Store::escalated_stats).
    // The durations are sorted arrays of 32-bit little-endian seconds, so
    // that medians over many months need no sort. Whether the client of an
    // unresolved case is kept informed depends on when one asks: those few
    // are read each time, from cases_escalated_unresolved.
    R"sql(
CREATE TABLE stats_months (
  month          INTEGER PRIMARY KEY,  -- the month's first second, Unix time
  escalated      INTEGER NOT NULL,
  forced         INTEGER NOT NULL,
  unnecessary    INTEGER NOT NULL,
  to_escalate    BLOB NOT NULL,        -- opening to first escalation, every case
  to_acknowledge BLOB NOT NULL,        -- first escalation to its acknowledgement
  to_resolve     BLOB NOT NULL,        -- first escalation to resolution
  silence        BLOB NOT NULL         -- the longest the client went without news, resolved cases
);
CREATE TRIGGER cases_stats_insert AFTER INSERT ON cases WHEN new.esc_at IS NOT NULL BEGIN
  DELETE FROM stats_months WHERE month = unixepoch(new.created_at, 'unixepoch', 'start of month');
END;
CREATE TRIGGER cases_stats_delete AFTER DELETE ON cases WHEN old.esc_at IS NOT NULL BEGIN
  DELETE FROM stats_months WHERE month = unixepoch(old.created_at, 'unixepoch', 'start of month');
END;
CREATE TRIGGER cases_stats_update
  AFTER UPDATE OF created_at, resolved_at, unnecessary, esc_at, esc_acked_at, esc_forced, silence ON cases
  WHEN (old.esc_at IS NOT NULL OR new.esc_at IS NOT NULL)
   AND (old.created_at IS NOT new.created_at OR old.resolved_at IS NOT new.resolved_at
        OR old.unnecessary IS NOT new.unnecessary OR old.esc_at IS NOT new.esc_at
        OR old.esc_acked_at IS NOT new.esc_acked_at OR old.esc_forced IS NOT new.esc_forced
        OR (old.silence IS NOT new.silence AND (old.resolved_at IS NOT NULL OR new.resolved_at IS NOT NULL)))
BEGIN
  DELETE FROM stats_months WHERE month IN (unixepoch(old.created_at, 'unixepoch', 'start of month'),
                                           unixepoch(new.created_at, 'unixepoch', 'start of month'));
END;
CREATE INDEX cases_escalated_unresolved ON cases(created_at, esc_at, silence, contact_at)
  WHERE esc_at IS NOT NULL AND resolved_at IS NULL;
-- The lessons learned, newest first (`esc lessons`), without the other entries.
CREATE INDEX entries_lessons ON entries(at, id) WHERE kind = 'review' AND state = 'lesson';
)sql",

    // 5: what the triggers did (the full-text indexes, case_months and
    // forgetting stats_months), Store does itself, in the transaction of
    // each change (see Store::Impl::case_added and the functions beside it).
    // SQLite parses every trigger of the schema whenever a program opens the
    // log, to run none of them on a read: a fifth of what `esc show` cost.
    R"sql(
DROP TRIGGER entries_fts_insert;
DROP TRIGGER entries_fts_delete;
DROP TRIGGER entries_fts_update;
DROP TRIGGER cases_fts_insert;
DROP TRIGGER cases_fts_delete;
DROP TRIGGER cases_fts_update;
DROP TRIGGER cases_months_insert;
DROP TRIGGER cases_months_delete;
DROP TRIGGER cases_months_update;
DROP TRIGGER cases_stats_insert;
DROP TRIGGER cases_stats_delete;
DROP TRIGGER cases_stats_update;
)sql",

    // 6: the log as the store keeps it now. What can be derived is derived
    // when asked, from narrow indexes (`esc stats` reads them in one pass),
    // instead of being kept on the cases and in month tables by hand; the
    // full-text indexes are kept by triggers again; a delivery can fail for
    // good, is claimed with a token and a lease, and an imported one is
    // history, never sent from here; entries can be struck and come from
    // `esc sync`; cases can be snoozed and carry their engineer's e-mail.
    R"sql(
DROP TABLE case_months;
DROP TABLE stats_months;
DROP INDEX cases_active;
DROP INDEX cases_escalated;
DROP INDEX cases_escalated_unresolved;
DROP INDEX cases_created;
ALTER TABLE cases DROP COLUMN esc_at;
ALTER TABLE cases DROP COLUMN esc_acked_at;
ALTER TABLE cases DROP COLUMN esc_path;
ALTER TABLE cases DROP COLUMN esc_forced;
ALTER TABLE cases DROP COLUMN silence;
ALTER TABLE cases DROP COLUMN contact_at;
ALTER TABLE cases DROP COLUMN latest_id;
ALTER TABLE cases DROP COLUMN latest_level;
ALTER TABLE cases DROP COLUMN latest_path;
ALTER TABLE cases DROP COLUMN latest_at;
ALTER TABLE cases DROP COLUMN latest_acked_at;
ALTER TABLE cases ADD COLUMN engineer_email TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN snoozed_until INTEGER;
ALTER TABLE cases ADD COLUMN snooze_reason TEXT NOT NULL DEFAULT '';
-- The cases not yet resolved, most recently active first: `list`, `due`,
-- `inbox` and completion read these, however long the history.
CREATE INDEX cases_active ON cases(updated_at DESC, id DESC) WHERE status <> 'resolved';
CREATE INDEX cases_created ON cases(created_at);

ALTER TABLE entries ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE entries ADD COLUMN remote_id TEXT;
ALTER TABLE entries ADD COLUMN struck_at INTEGER;
ALTER TABLE entries ADD COLUMN struck_by TEXT NOT NULL DEFAULT '';
ALTER TABLE entries ADD COLUMN struck_reason TEXT NOT NULL DEFAULT '';
DROP INDEX entries_kind;
-- When each client heard from us: `due` and `stats` read only these.
CREATE INDEX entries_contacts ON entries(case_id, at)
  WHERE kind IN ('contact', 'notice', 'update') AND struck_at IS NULL;
-- What `esc sync` found, recorded once.
CREATE UNIQUE INDEX entries_remote ON entries(source, remote_id) WHERE remote_id IS NOT NULL;
CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
  INSERT INTO entry_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
  INSERT INTO entry_fts(entry_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER entries_fts_update AFTER UPDATE OF text ON entries BEGIN
  INSERT INTO entry_fts(entry_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO entry_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
  INSERT INTO case_fts(rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN
  INSERT INTO case_fts(case_fts, rowid, title) VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER cases_fts_update AFTER UPDATE OF title ON cases BEGIN
  INSERT INTO case_fts(case_fts, rowid, title) VALUES ('delete', old.id, old.title);
  INSERT INTO case_fts(rowid, title) VALUES (new.id, new.title);
END;

ALTER TABLE escalations ADD COLUMN sent_by TEXT NOT NULL DEFAULT '';
ALTER TABLE escalations ADD COLUMN again_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE escalations ADD COLUMN note TEXT NOT NULL DEFAULT '';
DROP INDEX escalations_case;
CREATE INDEX escalations_case ON escalations(case_id, level, at);

CREATE TABLE deliveries_new (
  id              INTEGER PRIMARY KEY,
  escalation_id   INTEGER NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
  channel         TEXT NOT NULL,
  key             TEXT NOT NULL UNIQUE,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'dropped')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  next_attempt_at INTEGER,
  delivered_at    INTEGER,
  imported        INTEGER NOT NULL DEFAULT 0,  -- history from another log: never sent from here
  claim_token     TEXT,                        -- who is delivering it now,
  claimed_until   INTEGER,                     -- and until when (the database's clock)
  remote_key      TEXT NOT NULL DEFAULT '',    -- the ticket it made
  remote_url      TEXT NOT NULL DEFAULT '',
  sync_cursor     TEXT NOT NULL DEFAULT ''     -- what `esc sync` has seen of it
);
INSERT INTO deliveries_new (id, escalation_id, channel, key, status, attempts, last_error, created_at,
                            next_attempt_at, delivered_at)
  SELECT id, escalation_id, channel, key, status, attempts, last_error, created_at, next_attempt_at, delivered_at
  FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_escalation ON deliveries(escalation_id);
-- The outbox: what is still to deliver here, or needs a person.
CREATE INDEX deliveries_open ON deliveries(next_attempt_at) WHERE status IN ('pending', 'failed') AND imported = 0;
)sql",

    // 7: a new row's full-text entry is written by Store::insert_entry and
    // Store::insert_case, the one function that adds each. A statement
    // with a trigger writes in a savepoint, and FTS5 writes its pending
    // index out at every savepoint: an import of a million entries took
    // six times as long. The triggers that remove or replace a row's
    // full-text entry stay.
    R"sql(
DROP TRIGGER entries_fts_insert;
DROP TRIGGER cases_fts_insert;
)sql",

    // 8: indexes that hold what `due` and `stats` read. `due` reads the
    // unresolved cases in id order (through cases_active it sorted them,
    // and without it read every case); `stats` reads every escalation's
    // level, times and path, and from the table an escalation's acked_at
    // lies past its snapshot, in overflow pages. The new index starts with
    // case_id, so it serves what escalations_case did.
    R"sql(
CREATE INDEX cases_unresolved ON cases(id) WHERE status <> 'resolved';
CREATE INDEX escalations_stats ON escalations(case_id, level, at, id, path, acked_at, forced);
DROP INDEX escalations_case;
)sql",

    // 9: a full-text row is replaced only when its text changes. Writing
    // a case (`esc log` moves its updated_at) names the title in the
    // UPDATE, which replaced the title's index row on every entry.
    R"sql(
DROP TRIGGER cases_fts_update;
CREATE TRIGGER cases_fts_update AFTER UPDATE OF title ON cases WHEN old.title IS NOT new.title BEGIN
  INSERT INTO case_fts(case_fts, rowid, title) VALUES ('delete', old.id, old.title);
  INSERT INTO case_fts(rowid, title) VALUES (new.id, new.title);
END;
DROP TRIGGER entries_fts_update;
CREATE TRIGGER entries_fts_update AFTER UPDATE OF text ON entries WHEN old.text IS NOT new.text BEGIN
  INSERT INTO entry_fts(entry_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO entry_fts(rowid, text) VALUES (new.id, new.text);
END;
)sql",

    // 10: when a delivery's last attempt that may have reached the channel
    // began. A tracker whose search lags (Jira) is not taken at its word
    // that no ticket exists until its search has had time to show the one
    // that attempt may have made.
    R"sql(
ALTER TABLE deliveries ADD COLUMN attempted_at INTEGER;
)sql",
};

}  // namespace

const std::vector<const char*>& sqlite_migrations() {
  static const std::vector<const char*> v(std::begin(kMigrations), std::end(kMigrations));
  return v;
}

}  // namespace esc::schema
