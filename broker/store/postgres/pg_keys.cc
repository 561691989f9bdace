// PostgresBackend: the referrals' wrapped data keys (rows only; the envelope
// layer wraps, unwraps and rewraps).
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/postgres/pg_transaction.h"

namespace hart {

using pg::PgParams;

namespace {

// A NULL wrapped key was destroyed by sealing.
WrappedDataKey ReadKeyRow(const pg::PgResult& r, int row) {
  const bool destroyed = r.IsNull(row, 2);
  return {r.Text(row, 0), r.Text(row, 1), destroyed ? std::string() : r.Bytes(row, 2),
          destroyed};
}

}  // namespace

absl::StatusOr<WrappedDataKey> PostgresBackend::ReadDataKey(const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(row, lease.conn().Query(
      "SELECT referral_id, key_id, wrapped FROM referral_keys WHERE referral_id = $1",
      PgParams().Text(referral_id)));
  if (row.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("no data key for referral ", referral_id));
  }
  return ReadKeyRow(row, 0);
}

absl::StatusOr<std::vector<WrappedDataKey>> PostgresBackend::DataKeysNotWrappedBy(
    const std::string& key_id, size_t limit) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      "SELECT referral_id, key_id, wrapped FROM referral_keys WHERE key_id != $1 "
      "AND wrapped IS NOT NULL ORDER BY referral_id LIMIT $2",
      PgParams().Text(key_id).Limit(limit)));
  std::vector<WrappedDataKey> keys;
  keys.reserve(rows.rows());
  for (int i = 0; i < rows.rows(); ++i) keys.push_back(ReadKeyRow(rows, i));
  return keys;
}

absl::StatusOr<size_t> PostgresBackend::ReplaceDataKeys(std::span<const DataKeyRewrap> rewraps) {
  size_t applied = 0;
  absl::Status status = InWriteTransaction([&](pg::PgWrite& w) -> absl::Status {
    applied = 0;
    for (const DataKeyRewrap& r : rewraps) {
      // Compare-and-set on the old wrapping: a key sealed or rewrapped
      // meanwhile (by this or another replica) is left alone.
      HART_ASSIGN_OR_RETURN(update, w.conn.Query(
          "UPDATE referral_keys SET key_id = $1, wrapped = $2 WHERE referral_id = $3 "
          "AND key_id = $4 AND wrapped = $5",
          PgParams().Text(r.to.key_id).Bytes(r.to.wrapped).Text(r.from.referral_id)
              .Text(r.from.key_id).Bytes(r.from.wrapped)));
      applied += static_cast<size_t>(update.affected());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return applied;
}

}  // namespace hart
