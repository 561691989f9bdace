// PostgresBackend::ApplyWrites: the writer queue's heterogeneous batch in
// one transaction. When an item is refused on its own (a lost
// compare-and-set, an unknown id, a collision), the batch runs again with
// each item inside its own SAVEPOINT, so that item is rolled back alone,
// audit tree included, and the others still commit together.
#include "broker/common/status_macros.h"
#include "broker/store/postgres/pg_transaction.h"

namespace hart {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

absl::StatusOr<WriteResult> PostgresBackend::WriteOne(pg::PgWrite& w,
                                                      const WriteRequest& request) {
  return std::visit(
      Overloaded{
          [&](const NewReferral& r) -> absl::StatusOr<WriteResult> {
            HART_ASSIGN_OR_RETURN(created, WriteReferral(w, r));
            return WriteResult{std::move(created)};
          },
          [&](const ReferralChange& c) -> absl::StatusOr<WriteResult> {
            HART_RETURN_IF_ERROR(WriteChange(w, c));
            return WriteResult{ReferralChanged{}};
          },
          [&](const AckWrite& a) -> absl::StatusOr<WriteResult> {
            HART_ASSIGN_OR_RETURN(index, WriteAck(w, a));
            return WriteResult{AckApplied{index}};
          },
          [&](const EscalationWrite& e) -> absl::StatusOr<WriteResult> {
            HART_ASSIGN_OR_RETURN(sequence, WriteEscalation(w, e));
            return WriteResult{EscalationApplied{sequence}};
          },
          [&](const FeedAppendWrite& f) -> absl::StatusOr<WriteResult> {
            HART_ASSIGN_OR_RETURN(appended, AppendFeedEvent(w, f.append, f.at));
            return WriteResult{std::move(appended)};
          },
          [&](const AuditAppend& a) -> absl::StatusOr<WriteResult> {
            for (const AuditEvent& e : a.events) HART_RETURN_IF_ERROR(AppendLeaf(w, e).status());
            return WriteResult{AuditAppended{}};
          },
      },
      request);
}

absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> PostgresBackend::ApplyWrites(
    std::span<WriteRequest> batch) {
  std::vector<absl::StatusOr<WriteResult>> results;
  // Most batches have no item refused on its own: they run without
  // savepoints (two round trips and a copy of the tree's frontier per item
  // saved), their writes deferred and sent together (PgConn::Defer). An
  // error of a deferred write may surface in a later item's statement;
  // it then only has to be recognised as an item's refusal, since the
  // rerun decides every item again on its own. If one is refused, that transaction rolls back (PostgreSQL
  // refuses every statement after an error until a rollback anyway) and the
  // batch runs again with a savepoint per item. The rerun is a new
  // transaction: it locks the audit_tree row and reads the tree afresh, so
  // it starts from whatever other replicas committed in between, and every
  // item's outcome is decided again on that state.
  bool refused_item = false;
  const pg::WriteReads reads = pg::WriteReadsFor(batch);
  absl::Status status = InWriteTransaction(reads, [&](pg::PgWrite& w) -> absl::Status {
    results.clear();
    w.optimistic = true;
    for (const WriteRequest& request : batch) {
      // Acks waiting to be sent go before anything else touches the rows.
      if (!std::holds_alternative<AckWrite>(request)) HART_RETURN_IF_ERROR(w.acks.Defer(w.conn));
      absl::StatusOr<WriteResult> result = WriteOne(w, request);
      if (!result.ok()) {
        refused_item = IsPerItemWriteError(result.status());
        return result.status();
      }
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  });
  // A deferred write's refusal may also surface at the COMMIT, after the
  // last item: the rerun tells whose it was (or fails the batch if nobody's).
  if (!status.ok() && IsPerItemWriteError(status)) refused_item = true;
  if (!refused_item) {
    if (!status.ok()) return status;
    return results;
  }
  status = InWriteTransaction(reads, [&](pg::PgWrite& w) -> absl::Status {
    results.clear();
    for (const WriteRequest& request : batch) {
      // Not prepared: these carry no parameters to cache. The SAVEPOINT
      // runs now (with the previous item's RELEASE), so that whatever this
      // item fails on, the savepoint exists to roll back to.
      HART_RETURN_IF_ERROR(w.conn.Exec("SAVEPOINT item"));
      audit::CompactRange tree_before = w.tree.Savepoint();
      pg::PgChanges changes_before = w.changes;
      std::map<std::string, int64_t> heads_before = w.feed_heads;
      auto reports_before = w.reports;
      absl::StatusOr<WriteResult> result = WriteOne(w, request);
      // The item's deferred writes, its leaves among them, run now: their
      // error is this item's.
      if (result.ok()) {
        absl::Status flushed = w.leaves.Defer(w.conn);
        if (flushed.ok()) flushed = w.conn.Flush();
        if (!flushed.ok()) result = flushed;
      }
      if (!result.ok()) {
        if (!IsPerItemWriteError(result.status())) return result.status();
        w.leaves.Clear();
        w.conn.DiscardDeferred();
        HART_RETURN_IF_ERROR(w.conn.Exec("ROLLBACK TO SAVEPOINT item"));
        w.tree.RollBackTo(std::move(tree_before));
        w.changes = std::move(changes_before);
        w.feed_heads = std::move(heads_before);
        w.reports = std::move(reports_before);
      }
      HART_RETURN_IF_ERROR(w.conn.Defer("RELEASE SAVEPOINT item", {}, /*prepare=*/false));
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

}  // namespace hart
