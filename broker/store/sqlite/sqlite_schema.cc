#include "broker/store/sqlite/sqlite_schema.h"

#include <iterator>

#include "absl/strings/str_cat.h"

namespace hart::sqlite {
namespace {

constexpr int kSchemaVersion = 20;

// Times are microseconds since the Unix epoch (UTC). Enums are the protobuf
// enum numbers of hart.referral.v1.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE referrals (
  referral_id        TEXT PRIMARY KEY,
  careline_report_id TEXT NOT NULL UNIQUE,
  content_sha256     BLOB NOT NULL,   -- idempotency: same id, same content
  intake             BLOB NOT NULL,   -- serialized hart.referral.v1.Intake
  receipt            BLOB NOT NULL,   -- serialized hart.referral.v1.Receipt
  priority           INTEGER NOT NULL,
  resolved_town      TEXT NOT NULL,
  received_at        INTEGER NOT NULL,
  accepted_at        INTEGER NOT NULL
);
CREATE TABLE deliveries (
  delivery_id       TEXT PRIMARY KEY,
  referral_id       TEXT NOT NULL REFERENCES referrals (referral_id),
  agency_id         TEXT NOT NULL,
  agency_kind       INTEGER NOT NULL,
  rule_ids          TEXT NOT NULL,    -- comma-separated, in rule order
  adapter_type      TEXT NOT NULL,
  state             INTEGER NOT NULL, -- hart.referral.v1.DeliveryState
  attempts          INTEGER NOT NULL,
  created_at        INTEGER NOT NULL,
  next_attempt_at   INTEGER NOT NULL,
  ack_deadline      INTEGER NOT NULL,
  delivery_deadline INTEGER,
  last_attempt_at   INTEGER,
  lease_until       INTEGER,          -- claim expiry while IN_FLIGHT and not handed off
  delivered_at      INTEGER,
  acknowledged_at   INTEGER,
  last_error        TEXT NOT NULL DEFAULT '',
  transport_ref     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_by_referral ON deliveries (referral_id);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE TABLE feed_heads (
  agency_id     TEXT PRIMARY KEY,
  last_sequence INTEGER NOT NULL
);
CREATE TABLE feed_events (
  agency_id   TEXT NOT NULL,
  sequence    INTEGER NOT NULL,
  delivery_id TEXT NOT NULL UNIQUE REFERENCES deliveries (delivery_id),
  appended_at INTEGER NOT NULL,
  PRIMARY KEY (agency_id, sequence)
) WITHOUT ROWID;
CREATE TABLE acks (
  ack_id      INTEGER PRIMARY KEY,
  delivery_id TEXT NOT NULL REFERENCES deliveries (delivery_id),
  kind        INTEGER NOT NULL,       -- hart.referral.v1.Acknowledgement.Kind
  note        TEXT NOT NULL,
  actor       TEXT NOT NULL,
  recorded_at INTEGER NOT NULL
);
CREATE INDEX acks_by_delivery ON acks (delivery_id);
CREATE TABLE audit_events (
  idx            INTEGER PRIMARY KEY, -- 1-based, gap-free, append-only
  at             INTEGER NOT NULL,
  actor          TEXT NOT NULL,
  action         TEXT NOT NULL,
  referral_id    TEXT NOT NULL,
  delivery_id    TEXT NOT NULL,
  payload_sha256 BLOB NOT NULL,
  detail         TEXT NOT NULL
);
)sql";

// Version 2: supplements, durable timers (time-driven rules), UPDATE messages.
constexpr char kSchemaV2[] = R"sql(
ALTER TABLE referrals ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE deliveries ADD COLUMN kind INTEGER NOT NULL DEFAULT 1;   -- hart.referral.v1.MessageKind
ALTER TABLE deliveries ADD COLUMN changes TEXT NOT NULL DEFAULT ''; -- comma-separated field paths
CREATE TABLE timers (
  timer_id    TEXT PRIMARY KEY,
  referral_id TEXT NOT NULL REFERENCES referrals (referral_id),
  due_at      INTEGER NOT NULL,
  rule_ids    TEXT NOT NULL,
  state       INTEGER NOT NULL,       -- 0 pending, 1 fired, 2 replaced
  lease_until INTEGER,
  created_at  INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX timers_due ON timers (state, due_at);
CREATE INDEX timers_by_referral ON timers (referral_id);
CREATE TABLE supplements (
  supplement_id     TEXT PRIMARY KEY,
  referral_id       TEXT NOT NULL REFERENCES referrals (referral_id),
  supplement_sha256 BLOB NOT NULL,
  response          BLOB NOT NULL,    -- serialized SupplementIntakeResponse
  applied_at        INTEGER NOT NULL
);
CREATE INDEX supplements_by_referral ON supplements (referral_id);
)sql";

// Version 3: the audit log becomes an RFC 6962 Merkle tree with signed
// checkpoints. Leaf hashes of events written before it are filled in by the
// store when it opens (sqlite::LoadOrRebuildAuditTree).
constexpr char kSchemaV3[] = R"sql(
ALTER TABLE audit_events ADD COLUMN leaf_hash BLOB NOT NULL DEFAULT x'';
CREATE INDEX audit_by_referral ON audit_events (referral_id);
CREATE INDEX audit_by_delivery ON audit_events (delivery_id);
CREATE INDEX audit_by_actor ON audit_events (actor);
ALTER TABLE feed_events ADD COLUMN audit_index INTEGER NOT NULL DEFAULT 0;
CREATE TABLE audit_tree (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  size          INTEGER NOT NULL,
  compact_range BLOB NOT NULL         -- audit::CompactRange::Serialize()
);
CREATE TABLE audit_subtrees (
  height INTEGER NOT NULL,            -- the subtree has 2^height leaves
  idx    INTEGER NOT NULL,            -- it starts at leaf idx * 2^height
  hash   BLOB NOT NULL,
  PRIMARY KEY (height, idx)
) WITHOUT ROWID;
CREATE TABLE audit_checkpoints (
  tree_size   INTEGER PRIMARY KEY,
  root_hash   BLOB NOT NULL,
  at          INTEGER NOT NULL,
  key_id      TEXT NOT NULL,
  signature   BLOB NOT NULL,
  signed_note TEXT NOT NULL
);
)sql";

// Version 4: escalation ladders (durable ladder timers, escalation events,
// ESCALATION messages), redelivery, per-agency listing.
constexpr char kSchemaV4[] = R"sql(
ALTER TABLE deliveries ADD COLUMN escalation BLOB NOT NULL DEFAULT x''; -- EscalationNotice
ALTER TABLE deliveries ADD COLUMN redelivered_as TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_by_agency ON deliveries (agency_id);
ALTER TABLE timers ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;         -- 0 reroute, 1 ladder
ALTER TABLE timers ADD COLUMN delivery_id TEXT NOT NULL DEFAULT '';
ALTER TABLE timers ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE timers ADD COLUMN base_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE timers ADD COLUMN reason INTEGER NOT NULL DEFAULT 0;       -- EscalationReason
CREATE INDEX timers_by_delivery ON timers (delivery_id);
CREATE TABLE escalation_events (
  sequence            INTEGER PRIMARY KEY,  -- global, gap-free
  at                  INTEGER NOT NULL,
  referral_id         TEXT NOT NULL,
  delivery_id         TEXT NOT NULL,
  agency_id           TEXT NOT NULL,
  reason              INTEGER NOT NULL,
  step                INTEGER NOT NULL,
  targets             TEXT NOT NULL,         -- comma-separated EscalationTarget numbers
  notice_delivery_ids TEXT NOT NULL,
  notified_agency_ids TEXT NOT NULL
);
CREATE INDEX escalations_by_delivery ON escalation_events (delivery_id);
)sql";

// Version 5: partial indexes so that finding due work never scans the
// deliveries waiting for a partner's RECEIVED (those grow with every slow
// partner) nor fired timers. The state numbers are IN_FLIGHT = 2 and
// timer pending = 0; queries repeat them as literals so SQLite can use these.
constexpr char kSchemaV5[] = R"sql(
CREATE INDEX deliveries_unsent_claims ON deliveries (lease_until)
  WHERE state = 2 AND transport_ref = '';
CREATE INDEX timers_pending_due ON timers (due_at) WHERE state = 0;
)sql";

// Version 6: the earliest claimed timer's lease without scanning every
// pending timer (there is one per unacknowledged delivery).
constexpr char kSchemaV6[] = R"sql(
CREATE INDEX timers_leased ON timers (lease_until)
  WHERE state = 0 AND lease_until IS NOT NULL;
)sql";

// Version 7: encryption at rest and sealing. referrals.intake and acks.note
// hold AES-256-GCM ciphertext under the referral's data key, which is kept
// here only wrapped by a key-encryption key (key_id) from outside the data
// directory. Sealing sets wrapped to NULL: the data is then unreadable.
// Intakes stored before version 7 are encrypted when the store opens.
constexpr char kSchemaV7[] = R"sql(
CREATE TABLE referral_keys (
  referral_id  TEXT PRIMARY KEY REFERENCES referrals (referral_id),
  key_id       TEXT NOT NULL,
  wrapped      BLOB,                -- NULL once destroyed (sealed)
  destroyed_at INTEGER
);
ALTER TABLE referrals ADD COLUMN sealed_at INTEGER;
ALTER TABLE deliveries ADD COLUMN erasure BLOB NOT NULL DEFAULT x''; -- ErasureNotice
)sql";

// Version 8: claims name their owner (the broker id) and timers carry a
// fencing value (how often they were claimed), so several brokers can share
// a store and a stale claim cannot complete. A delivery's fencing value is
// its attempts count.
constexpr char kSchemaV8[] = R"sql(
ALTER TABLE deliveries ADD COLUMN claim_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE timers ADD COLUMN claim_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE timers ADD COLUMN lease INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 9: compliance reports read the referrals of a period in
// (received_at, referral_id) order, a page at a time (ReadReportPage).
constexpr char kSchemaV9[] = R"sql(
CREATE INDEX referrals_by_received ON referrals (received_at, referral_id);
)sql";

// Version 10: what the operators' snapshot (ReadOpsSnapshot, for metrics)
// reads every few seconds without reading every delivery. delivery_counts
// holds a count per (state, agency kind, message kind), kept by triggers in
// the transaction of each change (the triggers exist before the first
// count, so nothing written meanwhile is missed). The partial indexes hold
// the deliveries not yet at their partner (states 1 and 2: the oldest one's
// age) and the REFERRAL deliveries neither accepted (4) nor redelivered (the
// overdue count): both grow with open work, not with history. Dead letters
// were found through deliveries_due (state = 6) until version 12.
constexpr char kSchemaV10[] = R"sql(
CREATE TABLE delivery_counts (
  state       INTEGER NOT NULL,
  agency_kind INTEGER NOT NULL,
  kind        INTEGER NOT NULL,
  n           INTEGER NOT NULL,
  PRIMARY KEY (state, agency_kind, kind)
) WITHOUT ROWID;
CREATE TRIGGER deliveries_counted AFTER INSERT ON deliveries BEGIN
  INSERT INTO delivery_counts (state, agency_kind, kind, n)
    VALUES (NEW.state, NEW.agency_kind, NEW.kind, 1)
    ON CONFLICT (state, agency_kind, kind) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER deliveries_recounted AFTER UPDATE OF state, agency_kind, kind ON deliveries
  WHEN OLD.state != NEW.state OR OLD.agency_kind != NEW.agency_kind OR OLD.kind != NEW.kind
BEGIN
  UPDATE delivery_counts SET n = n - 1
    WHERE state = OLD.state AND agency_kind = OLD.agency_kind AND kind = OLD.kind;
  INSERT INTO delivery_counts (state, agency_kind, kind, n)
    VALUES (NEW.state, NEW.agency_kind, NEW.kind, 1)
    ON CONFLICT (state, agency_kind, kind) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER deliveries_uncounted AFTER DELETE ON deliveries BEGIN
  UPDATE delivery_counts SET n = n - 1
    WHERE state = OLD.state AND agency_kind = OLD.agency_kind AND kind = OLD.kind;
END;
INSERT INTO delivery_counts (state, agency_kind, kind, n)
  SELECT state, agency_kind, kind, COUNT(*) FROM deliveries GROUP BY state, agency_kind, kind;
CREATE INDEX deliveries_undelivered ON deliveries (created_at) WHERE state IN (1, 2);
CREATE INDEX deliveries_open_referrals
  ON deliveries (agency_kind, ack_deadline, delivery_deadline, state)
  WHERE kind = 1 AND state != 4 AND redelivered_as = '';
)sql";

// Version 11: reads that touch only their own rows however large the store
// grows (sqlite_read_sql.h). A referral's pending timers through (referral,
// state, due_at) rather than timers_due, which SQLite chose for them and
// which holds every pending timer; the supervisors' newest-first listing
// through referrals_by_accepted rather than a sort of every referral; key
// rotation through the unsealed keys by key id. legacy_intakes lists once
// the referrals from before version 7 that have no data key yet, so each
// start-up reads that list instead of every referral.
constexpr char kSchemaV11[] = R"sql(
CREATE INDEX timers_by_referral_state ON timers (referral_id, state, due_at);
DROP INDEX timers_by_referral;
CREATE INDEX referrals_by_accepted ON referrals (accepted_at, referral_id);
CREATE INDEX referral_keys_wrapped_by_key ON referral_keys (key_id) WHERE wrapped IS NOT NULL;
CREATE TABLE legacy_intakes (referral_id TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO legacy_intakes (referral_id)
  SELECT r.referral_id FROM referrals r LEFT JOIN referral_keys k
    ON k.referral_id = r.referral_id WHERE k.referral_id IS NULL;
)sql";

// Version 12 (issue 15, fewer index writes per intake and per ack): a
// ladder's step 1 held in its delivery's row until due
// (broker/store/ladder_starts.h) instead of a timer row with five indexes per
// REFERRAL delivery; deliveries_ladder_due finds the due ones. Ladder
// timers stored before stay in timers. Due timers are found through
// timers_pending_due, so timers_due (every timer, fired ones too) goes.
// deliveries_due holds the PENDING deliveries only and dead letters get
// their own partial index (as in PostgreSQL): every delivery and every state
// change of one no longer writes it.
constexpr char kSchemaV12[] = R"sql(
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 1;
CREATE INDEX deliveries_dead_letters ON deliveries (agency_kind)
  WHERE state = 6 AND redelivered_as = '';
ALTER TABLE deliveries ADD COLUMN ladder_timer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN ladder_due_at INTEGER;  -- NULL unless a ladder start is held
ALTER TABLE deliveries ADD COLUMN ladder_base_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN ladder_reason INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_ladder_due ON deliveries (ladder_due_at) WHERE ladder_due_at IS NOT NULL;
DROP INDEX timers_due;
)sql";

// Version 13 (issue 15, target 7): a held agency's backlog (AgencyHold) is
// skipped by the claims instead of moved: they ask per agency while a hold
// is in force, each agency's due deliveries one range of this index.
constexpr char kSchemaV13[] = R"sql(
CREATE INDEX deliveries_pending_by_agency ON deliveries (agency_id, next_attempt_at)
  WHERE state = 1;
)sql";

// Version 14 (issue 15): fewer index entries per intake on the writer.
// deliveries_by_agency goes: no statement reads it since the held backlogs
// are asked for on deliveries_pending_by_agency (sqlite_query_plan_test),
// and every delivery inserted wrote it. audit_by_actor leaves out the
// broker's own events ('broker' is kBrokerActor): five of an intake's
// seven or eight leaves, listed by actor in index order instead.
constexpr char kSchemaV14[] = R"sql(
DROP INDEX IF EXISTS deliveries_by_agency;
DROP INDEX audit_by_actor;
CREATE INDEX audit_by_actor ON audit_events (actor) WHERE actor != 'broker';
)sql";

// Version 15 (issue 15): delivery_counts is kept by the writer
// (sqlite_delivery_counts.h: SQLite's pre-update hook, one UPSERT per
// changed count per transaction) instead of these triggers, which ran two
// statements per state change. The counts they kept stay as they are.
constexpr char kSchemaV15[] = R"sql(
DROP TRIGGER IF EXISTS deliveries_counted;
DROP TRIGGER IF EXISTS deliveries_recounted;
DROP TRIGGER IF EXISTS deliveries_uncounted;
)sql";

// Version 16 (issue 15): fewer pages per commit. Every index page an insert
// lands on is written whole to the log, summed and later copied into the
// database; at 1,000 intakes a second most commits hold one intake, which
// wrote 52-54 pages. deliveries_open_referrals, keyed by agency kind first,
// took a page per kind an intake reaches (7.5 a commit with their splits);
// keyed by creation first, an intake's deliveries share one. Its one reader
// counts all of it by kind anyway (OpsOverdueByKind). audit_by_delivery took
// a page per delivery an acknowledgement batch names: a delivery's events
// are found instead under its referral in audit_by_referral, now
// (referral_id, delivery_id), those that name a delivery and no referral
// (denied acknowledgements) under '' (read_sql::ListAuditEvents; an event
// that names a delivery names its referral or none, records.h). The first
// start of an older store builds the two indexes again, once.
constexpr char kSchemaV16[] = R"sql(
DROP INDEX deliveries_open_referrals;
CREATE INDEX deliveries_open_referrals
  ON deliveries (created_at, agency_kind, ack_deadline, delivery_deadline, state)
  WHERE kind = 1 AND state != 4 AND redelivered_as = '';
DROP INDEX audit_by_delivery;
DROP INDEX audit_by_referral;
CREATE INDEX audit_by_referral ON audit_events (referral_id, delivery_id);
)sql";

// Version 17 (issue 15): audit_subtrees keyed by where a subtree ends.
// Keyed (height, idx), each height was a region of its own, so the nodes a
// commit completes (heights 1, 2, 3 and more for a few leaves) landed on a
// page per height; keyed (leaf_end, height) they all follow the newest
// leaves, on one page.
constexpr char kSchemaV17[] = R"sql(
CREATE TABLE audit_subtrees_by_end (
  leaf_end INTEGER NOT NULL,          -- (idx + 1) * 2^height: the leaf just after it
  height   INTEGER NOT NULL,          -- the subtree has 2^height leaves
  hash     BLOB NOT NULL,
  PRIMARY KEY (leaf_end, height)
) WITHOUT ROWID;
INSERT INTO audit_subtrees_by_end (leaf_end, height, hash)
  SELECT (idx + 1) << height, height, hash FROM audit_subtrees;
DROP TABLE audit_subtrees;
ALTER TABLE audit_subtrees_by_end RENAME TO audit_subtrees;
)sql";

// Version 18 (issue 15): an acknowledgement is appended to its delivery's
// row (sqlite_stored_acks.h) by the update of the delivery's state it makes
// anyway, instead of a row of acks and an entry of acks_by_delivery: two
// B-tree inserts and a foreign-key probe fewer per acknowledgement, ten per
// fanned-out intake. Those recorded before stay in acks, read first; adding
// the column rewrites nothing, so no start-up pays for it.
constexpr char kSchemaV18[] = R"sql(
ALTER TABLE deliveries ADD COLUMN stored_acks BLOB NOT NULL DEFAULT x'';
)sql";

// Version 19: URGENT deliveries are claimed first (records.h,
// DeliveryRecord::priority), held agency or not, from their own small index:
// it holds only the URGENT ones waiting, so NORMAL deliveries write nothing
// more. Deliveries stored before take their referral's priority.
constexpr char kSchemaV19[] = R"sql(
ALTER TABLE deliveries ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;  -- hart.referral.v1.Priority
UPDATE deliveries SET priority = 2
  WHERE referral_id IN (SELECT referral_id FROM referrals WHERE priority = 2);
CREATE INDEX deliveries_urgent_due ON deliveries (next_attempt_at) WHERE state = 1 AND priority = 2;
)sql";

// Version 20 changes no row: data keys wrapped from now on take format 2
// (crypto/key_wrap.h), which a broker before it cannot open. The version
// makes such a broker refuse this store instead of serving its new
// referrals as damaged.
constexpr char kSchemaV20[] = "SELECT 1";

// Migrations in order; migration i brings the schema to version i + 1.
constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4, kSchemaV5,
                                       kSchemaV6, kSchemaV7, kSchemaV8, kSchemaV9,
                                       kSchemaV10, kSchemaV11, kSchemaV12, kSchemaV13,
                                       kSchemaV14, kSchemaV15, kSchemaV16,
                                       kSchemaV17, kSchemaV18, kSchemaV19, kSchemaV20};
static_assert(std::size(kMigrations) == kSchemaVersion);

}  // namespace

absl::Status ApplySchema(SqliteDb& db) {
  if (auto s = db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      !s.ok()) {
    return s;
  }
  int64_t version = 0;
  {  // the statement is reset before any migration runs
    auto select = db.Prepare("SELECT MAX(version) FROM schema_version");
    if (!select.ok()) return select.status();
    auto row = (*select)->Step();
    if (!row.ok()) return row.status();
    version = (*select)->IsNull(0) ? 0 : (*select)->Int(0);
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the data directory has schema version ", version, " but this broker knows ",
        kSchemaVersion, "; run a newer broker"));
  }
  if (version == kSchemaVersion) return absl::OkStatus();
  // All pending migrations in one transaction: a crash leaves the old
  // version intact.
  if (auto s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status s;
  for (int64_t v = version; v < kSchemaVersion && s.ok(); ++v) {
    s = db.Exec(kMigrations[v]);
    if (s.ok()) {
      s = db.Exec(absl::StrCat("INSERT INTO schema_version (version) VALUES (", v + 1, ")"));
    }
  }
  if (s.ok()) return db.Exec("COMMIT");
  (void)db.Exec("ROLLBACK");
  return s;
}

}  // namespace hart::sqlite
