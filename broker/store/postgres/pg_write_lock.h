// The first round trip of a write transaction: BEGIN, the cluster's
// audit_tree lock (which orders every replica's writers, see pg_backend.h),
// and what the transaction must read under it: the tree's state, the feed
// heads its placements move, and what is stored under the careline report
// ids its intakes carry. The reads run after the lock in the same pipeline,
// each seeing every earlier writer's commit; the transaction's writes then
// go with its COMMIT. Read lazily instead (a head per agency, the reports
// on their own), an intake batch held the lock that every replica's writer
// waits for over up to ten round trips instead of two.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "broker/audit/audit_tree_writer.h"
#include "broker/store/postgres/pg_conn.h"
#include "broker/write_batch.h"

namespace hart::pg {

// READ COMMITTED whatever the database's default: each statement after the
// lock sees every earlier writer's commit (a stricter level would fail
// contended locks with serialization errors instead).
inline constexpr char kBegin[] = "BEGIN ISOLATION LEVEL READ COMMITTED";

// A referral already stored under a careline report id: enough to tell a
// duplicate submission from a conflicting one and answer with its receipt.
struct StoredReport {
  std::string content_sha256;
  std::string receipt;  // serialized v1::Receipt
  bool sealed = false;
};

struct WriteReads {
  std::set<std::string> feed_agencies;
  std::set<std::string> report_ids;
};

// What `batch` will read: the agencies of its feed placements (an intake's
// and a placement's own) and its intakes' report ids.
WriteReads WriteReadsFor(std::span<const WriteRequest> batch);
WriteReads WriteReadsFor(std::span<const NewReferral> batch);

struct LockedWrite {
  audit::CompactRange tree;
  // Every agency asked for: its last sequence, 0 if it has none yet.
  std::map<std::string, int64_t> feed_heads;
  // Set when report ids were asked for: id -> what is stored; absent = new.
  std::optional<std::map<std::string, StoredReport>> reports;
};

// Begins the transaction on `conn`, takes the lock and reads `reads`, in one
// round trip. The caller rolls back if it fails.
absl::StatusOr<LockedWrite> BeginLockedWrite(PgConn& conn, const WriteReads& reads);

}  // namespace hart::pg
