// SqliteBackend::ApplyWrites: the writer queue's heterogeneous batch in one
// transaction. When an item is refused on its own (a lost compare-and-set,
// an unknown id, a collision), the batch runs again with each item inside
// its own SAVEPOINT, so that item is rolled back alone, audit tree
// included, and the others still commit with one fsync.
#include "broker/common/status_macros.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {

using sqlite::SqliteDb;

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// A statement from the connection's cache: savepoints run once per item.
absl::Status Run(SqliteDb& db, const char* sql) {
  HART_ASSIGN_OR_RETURN(statement, db.Prepare(sql));
  return statement->Run();
}

}  // namespace

absl::StatusOr<WriteResult> SqliteBackend::WriteOne(SqliteDb& db, const WriteRequest& request) {
  return std::visit(
      Overloaded{
          [&](const NewReferral& r) -> absl::StatusOr<WriteResult> {
            HART_ASSIGN_OR_RETURN(created, WriteReferral(db, r));
            return WriteResult{std::move(created)};
          },
          [&](const ReferralChange& c) -> absl::StatusOr<WriteResult> {
            HART_RETURN_IF_ERROR(WriteChange(db, c));
            return WriteResult{ReferralChanged{}};
          },
          [&](const AckWrite& a) -> absl::StatusOr<WriteResult> {
            HART_ASSIGN_OR_RETURN(index, WriteAck(db, a));
            return WriteResult{AckApplied{index}};
          },
          [&](const EscalationWrite& e) -> absl::StatusOr<WriteResult> {
            HART_ASSIGN_OR_RETURN(sequence, WriteEscalation(db, e));
            return WriteResult{EscalationApplied{sequence}};
          },
          [&](const FeedAppendWrite& f) -> absl::StatusOr<WriteResult> {
            HART_ASSIGN_OR_RETURN(appended, AppendFeedEvent(db, f.append, f.at));
            return WriteResult{std::move(appended)};
          },
          [&](const AuditAppend& a) -> absl::StatusOr<WriteResult> {
            for (const AuditEvent& e : a.events) HART_RETURN_IF_ERROR(AppendLeaf(db, e).status());
            return WriteResult{AuditAppended{}};
          },
      },
      request);
}

absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> SqliteBackend::ApplyWrites(
    std::span<WriteRequest> batch) {
  std::vector<absl::StatusOr<WriteResult>> results;
  // Most batches have no item refused on its own: they run without
  // savepoints (three statements and a copy of the tree's frontier per item
  // saved). If one is refused, that transaction rolls back and the batch
  // runs again from the same state, with a savepoint per item.
  bool refused_item = false;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    results.clear();
    for (const WriteRequest& request : batch) {
      absl::StatusOr<WriteResult> result = WriteOne(db, request);
      if (!result.ok()) {
        refused_item = IsPerItemWriteError(result.status());
        return result.status();
      }
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  });
  if (!refused_item) {
    if (!status.ok()) return status;
    return results;
  }
  status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    results.clear();
    for (const WriteRequest& request : batch) {
      HART_RETURN_IF_ERROR(Run(db, "SAVEPOINT item"));
      audit::CompactRange tree_before = tree_.Savepoint();
      sqlite::TransactionFeedHeads::Heads heads_before = feed_heads_.Savepoint();
      sqlite::TransactionDeliveryCounts::Changes counts_before = delivery_counts_.Savepoint();
      absl::StatusOr<WriteResult> result = WriteOne(db, request);
      if (!result.ok()) {
        if (!IsPerItemWriteError(result.status())) return result.status();
        HART_RETURN_IF_ERROR(Run(db, "ROLLBACK TO item"));
        tree_.RollBackTo(std::move(tree_before));
        feed_heads_.RollBackTo(std::move(heads_before));
        delivery_counts_.RollBackTo(std::move(counts_before));
      }
      HART_RETURN_IF_ERROR(Run(db, "RELEASE item"));
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

}  // namespace hart
