// PostgresBackend: the audit log's rows (leaves, subtrees, tree state,
// checkpoints) and their reads. The tree math is audit::AuditTreeWriter's.
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "broker/common/time_util.h"
#include "broker/store/postgres/pg_transaction.h"

namespace hart {
namespace pg {

absl::StatusOr<audit::CompactRange> TreeStateFrom(const PgResult& row) {
  if (row.rows() != 1) return absl::DataLossError("the audit_tree row is missing");
  const int64_t size = row.Int(0, 0);
  if (size == 0) return audit::CompactRange();
  auto range = audit::CompactRange::Parse(row.Bytes(0, 1));
  if (!range || range->size() != static_cast<uint64_t>(size)) {
    return absl::DataLossError("the stored audit tree state does not parse");
  }
  return std::move(*range);
}

void PgLeafBatch::Add(uint64_t index, const AuditEvent& e, const std::string& leaf_hash) {
  // idx is 1-based (as in SQLite); the log's indexes are 0-based.
  indexes_.Add(static_cast<int64_t>(index + 1));
  ats_.Add(absl::ToUnixMicros(e.at));
  actors_.Add(e.actor);
  actions_.Add(e.action);
  referrals_.Add(e.referral_id);
  deliveries_.Add(e.delivery_id);
  payloads_.AddHex(e.payload_sha256);
  details_.Add(e.detail);
  hashes_.AddHex(leaf_hash);
  ++count_;
}

absl::Status PgLeafBatch::Defer(PgConn& conn) {
  if (count_ == 0) return absl::OkStatus();
  absl::Status deferred = conn.Defer(
      "INSERT INTO audit_events (idx, at, actor, action, referral_id, delivery_id, "
      "payload_sha256, detail, leaf_hash) "
      "SELECT l.idx, l.at, l.actor, l.action, l.referral_id, l.delivery_id, "
      "decode(l.payload, 'hex'), l.detail, decode(l.hash, 'hex') "
      "FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], "
      "$7::text[], $8::text[], $9::text[]) "
      "AS l(idx, at, actor, action, referral_id, delivery_id, payload, detail, hash)",
      PgParams().Array(indexes_.Literal()).Array(ats_.Literal()).Array(actors_.Literal())
          .Array(actions_.Literal()).Array(referrals_.Literal()).Array(deliveries_.Literal())
          .Array(payloads_.Literal()).Array(details_.Literal()).Array(hashes_.Literal()));
  Clear();
  return deferred;
}

absl::Status PgAuditRows::InsertLeaf(uint64_t index, const AuditEvent& e,
                                     const std::string& leaf_hash) {
  leaves_.Add(index, e, leaf_hash);
  // A statement per 64 leaves (about 16 KiB) stays inside one pipeline
  // slice (PgConn), which a statement of a whole batch's leaves would not.
  if (leaves_.size() >= 64) return leaves_.Defer(conn_);
  return absl::OkStatus();
}

absl::Status PgAuditRows::PutSubtree(uint32_t height, uint64_t index, const std::string& hash) {
  return conn_.Defer(
      "INSERT INTO audit_subtrees (height, idx, hash) VALUES ($1, $2, $3) "
      "ON CONFLICT (height, idx) DO UPDATE SET hash = EXCLUDED.hash",
      PgParams().Int(height).Int(static_cast<int64_t>(index)).Bytes(hash));
}

absl::Status PgAuditRows::SaveTreeState(uint64_t size, const std::string& compact_range) {
  return conn_.Defer("UPDATE audit_tree SET size = $1, compact_range = $2 WHERE id = 1",
                     PgParams().Int(static_cast<int64_t>(size)).Bytes(compact_range));
}

absl::StatusOr<audit::CompactRange> ReadTreeState(PgConn& conn) {
  HART_ASSIGN_OR_RETURN(row, conn.Query("SELECT size, compact_range FROM audit_tree WHERE id = 1"));
  return TreeStateFrom(row);
}

}  // namespace pg

absl::StatusOr<uint64_t> PostgresBackend::AppendLeaf(pg::PgWrite& w, const AuditEvent& event) {
  pg::PgAuditRows rows(w.conn, w.leaves);
  return w.tree.Append(rows, event);
}

absl::Status PostgresBackend::AppendAudit(std::span<const AuditEvent> events) {
  return InWriteTransaction([&](pg::PgWrite& w) -> absl::Status {
    for (const auto& e : events) HART_RETURN_IF_ERROR(AppendLeaf(w, e).status());
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<AuditEvent>> PostgresBackend::ListAuditEvents(const AuditQuery& q) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  // Empty filters match everything; times are bounded by the extremes.
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      "SELECT idx, at, actor, action, referral_id, delivery_id, payload_sha256, detail, "
      "leaf_hash FROM audit_events WHERE idx > $1 "
      "AND ($2 = '' OR referral_id = $2) AND ($3 = '' OR delivery_id = $3) "
      "AND ($4 = '' OR actor = $4) AND at >= $5 AND at < $6 ORDER BY idx LIMIT $7",
      pg::PgParams().Int(static_cast<int64_t>(q.start_index)).Text(q.referral_id)
          .Text(q.delivery_id).Text(q.actor)
          .Int(q.from ? absl::ToUnixMicros(*q.from) : std::numeric_limits<int64_t>::min())
          .Int(q.to ? absl::ToUnixMicros(*q.to) : std::numeric_limits<int64_t>::max())
          .Limit(q.limit)));
  std::vector<AuditEvent> events;
  events.reserve(rows.rows());
  for (int r = 0; r < rows.rows(); ++r) {
    events.push_back(AuditEvent{rows.Time(r, 1), rows.Text(r, 2), rows.Text(r, 3),
                                rows.Text(r, 4), rows.Text(r, 5), rows.Bytes(r, 6),
                                rows.Text(r, 7), static_cast<uint64_t>(rows.Int(r, 0) - 1),
                                rows.Bytes(r, 8)});
  }
  return events;
}

absl::StatusOr<AuditTreeHead> PostgresBackend::AuditHead() {
  // Read from the database: other replicas grow the tree too.
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(range, pg::ReadTreeState(lease.conn()));
  return audit::AuditTreeWriter(std::move(range)).CommittedHead();
}

absl::StatusOr<std::string> PostgresBackend::AuditLeafHash(uint64_t index) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(row, lease.conn().Query(
      "SELECT leaf_hash FROM audit_events WHERE idx = $1",
      pg::PgParams().Int(static_cast<int64_t>(index + 1))));
  if (row.rows() == 0) return absl::NotFoundError(absl::StrCat("no audit event at index ", index));
  return row.Bytes(0, 0);
}

absl::StatusOr<std::optional<std::string>> PostgresBackend::AuditSubtreeHash(uint32_t height,
                                                                             uint64_t index) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(row, lease.conn().Query(
      "SELECT hash FROM audit_subtrees WHERE height = $1 AND idx = $2",
      pg::PgParams().Int(height).Int(static_cast<int64_t>(index))));
  if (row.rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(row.Bytes(0, 0));
}

absl::Status PostgresBackend::AppendCheckpoint(const v1::Checkpoint& c) {
  return InWriteTransaction([&](pg::PgWrite& w) -> absl::Status {
    return w.conn.Defer(
        "INSERT INTO audit_checkpoints (tree_size, root_hash, at, key_id, signature, "
        "signed_note) VALUES ($1, $2, $3, $4, $5, $6)",
        pg::PgParams().Int(static_cast<int64_t>(c.tree_size())).Bytes(c.root_hash())
            .Micros(FromProtoTime(c.timestamp())).Text(c.key_id()).Bytes(c.signature())
            .Text(c.signed_note()));
  });
}

absl::StatusOr<std::vector<v1::Checkpoint>> PostgresBackend::ListCheckpoints() {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      "SELECT tree_size, root_hash, at, key_id, signature, signed_note "
      "FROM audit_checkpoints ORDER BY tree_size"));
  std::vector<v1::Checkpoint> out;
  for (int r = 0; r < rows.rows(); ++r) {
    v1::Checkpoint c;
    c.set_tree_size(static_cast<uint64_t>(rows.Int(r, 0)));
    c.set_root_hash(rows.Bytes(r, 1));
    *c.mutable_timestamp() = ToProtoTime(rows.Time(r, 2));
    c.set_key_id(rows.Text(r, 3));
    c.set_signature(rows.Bytes(r, 4));
    c.set_signed_note(rows.Text(r, 5));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace hart
