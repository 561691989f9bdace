#include "broker/store/postgres/pg_schema.h"

#include <iterator>

#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"

namespace hart::pg {
namespace {

// Version 1 is the SQLite schema's version 8 at once (PostgreSQL has no
// older stores to migrate). Times are microseconds since the Unix epoch
// (UTC); enums are the protobuf enum numbers of hart.referral.v1; sealed
// intakes, notes and wrapped keys are ciphertext (the envelope layer's).
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE referrals (
  referral_id        TEXT PRIMARY KEY,
  careline_report_id TEXT NOT NULL UNIQUE,
  content_sha256     BYTEA NOT NULL,
  intake             BYTEA NOT NULL,
  receipt            BYTEA NOT NULL,
  priority           BIGINT NOT NULL,
  resolved_town      TEXT NOT NULL,
  received_at        BIGINT NOT NULL,
  accepted_at        BIGINT NOT NULL,
  version            BIGINT NOT NULL DEFAULT 1,
  sealed_at          BIGINT
);
CREATE TABLE deliveries (
  delivery_id       TEXT PRIMARY KEY,
  referral_id       TEXT NOT NULL REFERENCES referrals (referral_id),
  agency_id         TEXT NOT NULL,
  agency_kind       BIGINT NOT NULL,
  rule_ids          TEXT NOT NULL,
  adapter_type      TEXT NOT NULL,
  state             BIGINT NOT NULL,
  attempts          BIGINT NOT NULL,
  created_at        BIGINT NOT NULL,
  next_attempt_at   BIGINT NOT NULL,
  ack_deadline      BIGINT NOT NULL,
  delivery_deadline BIGINT,
  last_attempt_at   BIGINT,
  lease_until       BIGINT,
  delivered_at      BIGINT,
  acknowledged_at   BIGINT,
  last_error        TEXT NOT NULL DEFAULT '',
  transport_ref     TEXT NOT NULL DEFAULT '',
  kind              BIGINT NOT NULL DEFAULT 1,
  changes           TEXT NOT NULL DEFAULT '',
  escalation        BYTEA NOT NULL DEFAULT '',
  redelivered_as    TEXT NOT NULL DEFAULT '',
  erasure           BYTEA NOT NULL DEFAULT '',
  claim_owner       TEXT NOT NULL DEFAULT '',
  -- Creation order (SQLite's rowid): writers hold the audit lock, so this
  -- is commit order across replicas.
  created_seq       BIGSERIAL
);
CREATE INDEX deliveries_by_referral ON deliveries (referral_id);
CREATE INDEX deliveries_by_agency ON deliveries (agency_id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 1;
CREATE INDEX deliveries_unsent_claims ON deliveries (lease_until)
  WHERE state = 2 AND transport_ref = '';
CREATE TABLE feed_heads (
  agency_id     TEXT PRIMARY KEY,
  last_sequence BIGINT NOT NULL
);
CREATE TABLE feed_events (
  agency_id   TEXT NOT NULL,
  sequence    BIGINT NOT NULL,
  delivery_id TEXT NOT NULL UNIQUE REFERENCES deliveries (delivery_id),
  appended_at BIGINT NOT NULL,
  audit_index BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (agency_id, sequence)
);
CREATE TABLE acks (
  ack_id      BIGSERIAL PRIMARY KEY,
  delivery_id TEXT NOT NULL REFERENCES deliveries (delivery_id),
  kind        BIGINT NOT NULL,
  note        BYTEA NOT NULL,
  actor       TEXT NOT NULL,
  recorded_at BIGINT NOT NULL
);
CREATE INDEX acks_by_delivery ON acks (delivery_id);
CREATE TABLE supplements (
  supplement_id     TEXT PRIMARY KEY,
  referral_id       TEXT NOT NULL REFERENCES referrals (referral_id),
  supplement_sha256 BYTEA NOT NULL,
  response          BYTEA NOT NULL,
  applied_at        BIGINT NOT NULL,
  applied_seq       BIGSERIAL          -- insertion order (SQLite's rowid)
);
CREATE INDEX supplements_by_referral ON supplements (referral_id);
CREATE TABLE timers (
  timer_id    TEXT PRIMARY KEY,
  referral_id TEXT NOT NULL REFERENCES referrals (referral_id),
  due_at      BIGINT NOT NULL,
  rule_ids    TEXT NOT NULL,
  state       BIGINT NOT NULL,        -- 0 pending, 1 fired, 2 replaced
  lease_until BIGINT,
  created_at  BIGINT NOT NULL,
  finished_at BIGINT,
  kind        BIGINT NOT NULL DEFAULT 0,
  delivery_id TEXT NOT NULL DEFAULT '',
  step        BIGINT NOT NULL DEFAULT 0,
  base_at     BIGINT NOT NULL DEFAULT 0,
  reason      BIGINT NOT NULL DEFAULT 0,
  claim_owner TEXT NOT NULL DEFAULT '',
  lease       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX timers_by_referral ON timers (referral_id);
CREATE INDEX timers_by_delivery ON timers (delivery_id);
CREATE INDEX timers_pending_due ON timers (due_at) WHERE state = 0;
CREATE INDEX timers_leased ON timers (lease_until) WHERE state = 0 AND lease_until IS NOT NULL;
CREATE TABLE escalation_events (
  sequence            BIGINT PRIMARY KEY,  -- global, gap-free (assigned under the audit lock)
  at                  BIGINT NOT NULL,
  referral_id         TEXT NOT NULL,
  delivery_id         TEXT NOT NULL,
  agency_id           TEXT NOT NULL,
  reason              BIGINT NOT NULL,
  step                BIGINT NOT NULL,
  targets             TEXT NOT NULL,
  notice_delivery_ids TEXT NOT NULL,
  notified_agency_ids TEXT NOT NULL
);
CREATE INDEX escalations_by_delivery ON escalation_events (delivery_id);
CREATE TABLE audit_events (
  idx            BIGINT PRIMARY KEY,   -- 1-based, gap-free, append-only
  at             BIGINT NOT NULL,
  actor          TEXT NOT NULL,
  action         TEXT NOT NULL,
  referral_id    TEXT NOT NULL,
  delivery_id    TEXT NOT NULL,
  payload_sha256 BYTEA NOT NULL,
  detail         TEXT NOT NULL,
  leaf_hash      BYTEA NOT NULL
);
CREATE INDEX audit_by_referral ON audit_events (referral_id);
CREATE INDEX audit_by_delivery ON audit_events (delivery_id);
CREATE INDEX audit_by_actor ON audit_events (actor);
-- The one row every write transaction locks first: it orders the cluster's
-- writers, so audit leaves, feed sequences and escalation sequences are
-- assigned in commit order with no gap and no fork.
CREATE TABLE audit_tree (
  id            BIGINT PRIMARY KEY CHECK (id = 1),
  size          BIGINT NOT NULL,
  compact_range BYTEA NOT NULL
);
INSERT INTO audit_tree (id, size, compact_range) VALUES (1, 0, '');
CREATE TABLE audit_subtrees (
  height BIGINT NOT NULL,
  idx    BIGINT NOT NULL,
  hash   BYTEA NOT NULL,
  PRIMARY KEY (height, idx)
);
CREATE TABLE audit_checkpoints (
  tree_size   BIGINT PRIMARY KEY,
  root_hash   BYTEA NOT NULL,
  at          BIGINT NOT NULL,
  key_id      TEXT NOT NULL,
  signature   BYTEA NOT NULL,
  signed_note TEXT NOT NULL
);
CREATE TABLE referral_keys (
  referral_id  TEXT PRIMARY KEY REFERENCES referrals (referral_id),
  key_id       TEXT NOT NULL,
  wrapped      BYTEA,
  destroyed_at BIGINT
);
CREATE INDEX referral_keys_by_key ON referral_keys (key_id);
-- The leader lease (LeaderStore): once-per-cluster work runs on its owner.
CREATE TABLE cluster_leader (
  id          BIGINT PRIMARY KEY CHECK (id = 1),
  owner       TEXT NOT NULL,
  lease_until BIGINT NOT NULL
);
INSERT INTO cluster_leader (id, owner, lease_until) VALUES (1, '', 0);
)sql";

// Version 2: a compare-and-set that must match one row can be sent in a
// pipeline without waiting for its row count: it fails the transaction
// instead (SQLSTATE HT409, the contract's ABORTED), and the writer reruns
// the batch item by item (PostgresBackend::ApplyWrites).
constexpr char kSchemaV2[] = R"sql(
CREATE FUNCTION hart_expect_one(matched BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $fn$
BEGIN
  IF matched <> 1 THEN
    RAISE EXCEPTION 'a compare-and-set matched % rows', matched USING ERRCODE = 'HT409';
  END IF;
  RETURN matched;
END
$fn$;
)sql";

// Version 3: compliance reports read the referrals of a period in
// (received_at, referral_id) order, a page at a time (ReadReportPage); ids
// compare bytewise, as in SQLite.
constexpr char kSchemaV3[] = R"sql(
CREATE INDEX referrals_by_received ON referrals (received_at, referral_id COLLATE "C");
)sql";

// Version 4: what the operators' snapshot (ReadOpsSnapshot, for metrics)
// reads every few seconds without reading every delivery.
//  - Counts by (state, agency kind, message kind): statement triggers append
//    what each statement changed to delivery_count_changes (one row per
//    group, +n/-n) in the writer's transaction; ReadOpsSnapshot folds them
//    into delivery_counts, one replica at a time. Appending takes no row
//    lock, whereas updating shared counter rows would make claims (which do
//    not take the audit_tree lock) and write transactions wait on, and
//    deadlock over, the same few rows. The triggers exist before the first
//    count, and creating them locks deliveries against writers until this
//    commits.
//  - Partial indexes over open work only: deliveries not yet at their
//    partner (states 1, 2), REFERRAL deliveries neither accepted (4) nor
//    redelivered (overdue), dead letters awaiting a supervisor (6).
constexpr char kSchemaV4[] = R"sql(
CREATE TABLE delivery_counts (
  state       BIGINT NOT NULL,
  agency_kind BIGINT NOT NULL,
  kind        BIGINT NOT NULL,
  n           BIGINT NOT NULL,
  PRIMARY KEY (state, agency_kind, kind)
);
CREATE TABLE delivery_count_changes (
  state       BIGINT NOT NULL,
  agency_kind BIGINT NOT NULL,
  kind        BIGINT NOT NULL,
  delta       BIGINT NOT NULL
);
CREATE FUNCTION hart_count_delivery_changes() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO delivery_count_changes (state, agency_kind, kind, delta)
      SELECT state, agency_kind, kind, COUNT(*) FROM added GROUP BY state, agency_kind, kind;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO delivery_count_changes (state, agency_kind, kind, delta)
      SELECT state, agency_kind, kind, -COUNT(*) FROM removed GROUP BY state, agency_kind, kind;
  ELSE
    INSERT INTO delivery_count_changes (state, agency_kind, kind, delta)
      SELECT state, agency_kind, kind, SUM(delta) FROM (
        SELECT state, agency_kind, kind, 1 AS delta FROM added
        UNION ALL SELECT state, agency_kind, kind, -1 FROM removed) c
      GROUP BY state, agency_kind, kind HAVING SUM(delta) <> 0;
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER deliveries_counted_insert AFTER INSERT ON deliveries
  REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION hart_count_delivery_changes();
CREATE TRIGGER deliveries_counted_update AFTER UPDATE ON deliveries
  REFERENCING OLD TABLE AS removed NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION hart_count_delivery_changes();
CREATE TRIGGER deliveries_counted_delete AFTER DELETE ON deliveries
  REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION hart_count_delivery_changes();
INSERT INTO delivery_counts (state, agency_kind, kind, n)
  SELECT state, agency_kind, kind, COUNT(*) FROM deliveries GROUP BY state, agency_kind, kind;
CREATE INDEX deliveries_undelivered ON deliveries (created_at) WHERE state IN (1, 2);
CREATE INDEX deliveries_open_referrals
  ON deliveries (agency_kind, ack_deadline, delivery_deadline, state)
  WHERE kind = 1 AND state <> 4 AND redelivered_as = '';
CREATE INDEX deliveries_dead_letters ON deliveries (agency_kind)
  WHERE state = 6 AND redelivered_as = '';
)sql";

// Version 5: a ladder's step 1 held in its delivery's row until due
// (broker/store/ladder_starts.h) instead of a timer row (and its four
// index entries, then its update on ACCEPTED) per REFERRAL delivery;
// deliveries_ladder_due finds the due ones for ClaimDueTimers, which moves
// them into timers. Ladder timers stored before stay in timers and work as
// they did. Enums are BIGINT, as everywhere in this schema. Constant
// defaults rewrite no table; the new index starts empty.
constexpr char kSchemaV5[] = R"sql(
ALTER TABLE deliveries ADD COLUMN ladder_timer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN ladder_due_at BIGINT;  -- NULL unless a ladder start is held
ALTER TABLE deliveries ADD COLUMN ladder_base_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN ladder_reason BIGINT NOT NULL DEFAULT 0;
CREATE INDEX deliveries_ladder_due ON deliveries (ladder_due_at) WHERE ladder_due_at IS NOT NULL;
)sql";

// Version 6 (issue 15, target 7): a held agency's backlog (AgencyHold) is
// skipped by the claims instead of moved, agency by agency on this index
// while a hold is in force (as SQLite's version 13).
constexpr char kSchemaV6[] = R"sql(
CREATE INDEX deliveries_pending_by_agency ON deliveries (agency_id, next_attempt_at)
  WHERE state = 1;
)sql";

// Version 7 (issue 15): deliveries_by_agency goes, as in SQLite's version
// 14: no statement needs it, and every delivery inserted wrote it.
constexpr char kSchemaV7[] = R"sql(
DROP INDEX IF EXISTS deliveries_by_agency;
)sql";

// Version 8: URGENT deliveries are claimed first, held agency or not, from
// their own partial index, as in SQLite's version 19. The constant default
// rewrites no table; deliveries stored before take their referral's
// priority.
constexpr char kSchemaV8[] = R"sql(
ALTER TABLE deliveries ADD COLUMN priority BIGINT NOT NULL DEFAULT 1;  -- hart.referral.v1.Priority
UPDATE deliveries SET priority = 2
  WHERE referral_id IN (SELECT referral_id FROM referrals WHERE priority = 2);
CREATE INDEX deliveries_urgent_due ON deliveries (next_attempt_at)
  WHERE state = 1 AND priority = 2;
)sql";

// Version 9 changes no row (SQLite's version 20): data keys wrapped from
// now on take format 2 (crypto/key_wrap.h), which a broker before it
// cannot open; the version makes such a broker refuse to start here.
constexpr char kSchemaV9[] = "SELECT 1";

constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4, kSchemaV5,
                                       kSchemaV6, kSchemaV7, kSchemaV8, kSchemaV9};
constexpr int64_t kSchemaVersion = std::size(kMigrations);
// pg_advisory_xact_lock key: "HART" in ASCII.
constexpr int64_t kMigrationLock = 0x48415254;

}  // namespace

absl::Status ApplySchema(PgConn& conn) {
  HART_RETURN_IF_ERROR(conn.Exec("BEGIN"));
  absl::Status status = [&]() -> absl::Status {
    HART_RETURN_IF_ERROR(conn.Exec(absl::StrCat("SELECT pg_advisory_xact_lock(", kMigrationLock, ")")));
    HART_RETURN_IF_ERROR(conn.Exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)"));
    HART_ASSIGN_OR_RETURN(current, conn.Query("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
    const int64_t version = current.Int(0, 0);
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database has schema version ", version, " but this broker knows ",
          kSchemaVersion, "; run a newer broker"));
    }
    for (int64_t v = version; v < kSchemaVersion; ++v) {
      HART_RETURN_IF_ERROR(conn.Exec(kMigrations[v]));
      HART_RETURN_IF_ERROR(
          conn.Exec(absl::StrCat("INSERT INTO schema_version (version) VALUES (", v + 1, ")")));
    }
    return absl::OkStatus();
  }();
  if (status.ok()) return conn.Exec("COMMIT");
  (void)conn.Exec("ROLLBACK");
  return status;
}

}  // namespace hart::pg
