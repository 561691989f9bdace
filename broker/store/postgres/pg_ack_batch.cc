#include "broker/store/postgres/pg_ack_batch.h"

#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/common/time_util.h"
#include "broker/store/ack_effects.h"
#include "broker/store/postgres/pg_rows.h"

namespace hart::pg {

void PgAckBatch::Add(const AckWrite& write) {
  ids_.insert(write.delivery_id);
  delivery_ids_.Add(write.delivery_id);
  expected_.Add(static_cast<int64_t>(write.expected_state));
  new_states_.Add(static_cast<int64_t>(write.new_state));
  delivered_.Add(int64_t{AckMarksDelivered(write.new_state) ? 1 : 0});
  business_.Add(int64_t{AckIsBusinessAnswer(write.new_state) ? 1 : 0});
  ats_.Add(absl::ToUnixMicros(FromProtoTime(write.ack.recorded_at())));
  stops_.Add(int64_t{write.stop_ladder ? 1 : 0});
  kinds_.Add(static_cast<int64_t>(write.ack.kind()));
  notes_.AddHex(write.sealed_note);
  actors_.Add(write.ack.actor());
  bytes_ += 96 + write.delivery_id.size() + 2 * write.sealed_note.size() + write.ack.actor().size();
}

namespace {

// The ack rows and ladder stops read the compare-and-set's RETURNING, so
// only acks that took write them. A claim another replica holds on a row
// right now makes the compare-and-set wait for that commit and re-check the
// state against it. Stopping the ladder also clears a ladder start still
// held in the row. The caller's SELECT ... FROM cas ends it.
constexpr char kAcks[] =
    "WITH i (id, expected, new_state, delivered, business, at, stop, kind, note, actor) AS ("
    " SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[],"
    " $6::int8[], $7::int8[], $8::int8[], $9::text[], $10::text[])), "
    "cas AS (UPDATE deliveries d SET state = i.new_state, lease_until = NULL, "
    " delivered_at = CASE WHEN i.delivered <> 0 THEN COALESCE(d.delivered_at, i.at) "
    "  ELSE d.delivered_at END, "
    " acknowledged_at = CASE WHEN i.business <> 0 THEN i.at ELSE d.acknowledged_at END, "
    " ladder_due_at = CASE WHEN i.stop <> 0 THEN NULL ELSE d.ladder_due_at END "
    " FROM i WHERE d.delivery_id = i.id AND d.state = i.expected "
    " RETURNING i.id, i.at, i.stop, i.kind, i.note, i.actor), "
    "ack AS (INSERT INTO acks (delivery_id, kind, note, actor, recorded_at) "
    " SELECT id, kind, decode(note, 'hex'), actor, at FROM cas), "
    "stop AS (UPDATE timers t SET state = $11, finished_at = cas.at, lease_until = NULL "
    " FROM cas WHERE cas.stop <> 0 AND t.kind = $12 AND t.delivery_id = cas.id "
    " AND t.state = $13) ";

}  // namespace

PgParams PgAckBatch::Params() const {
  return PgParams()
      .Array(delivery_ids_.Literal()).Array(expected_.Literal()).Array(new_states_.Literal())
      .Array(delivered_.Literal()).Array(business_.Literal()).Array(ats_.Literal())
      .Array(stops_.Literal()).Array(kinds_.Literal()).Array(notes_.Literal())
      .Array(actors_.Literal())
      .Int(kTimerReplaced).Int(kTimerLadder).Int(kTimerPending);
}

absl::Status PgAckBatch::Defer(PgConn& conn) {
  if (ids_.empty()) return absl::OkStatus();
  static const std::string kExpectAll = absl::StrCat(
      kAcks, "SELECT hart_expect_one(CASE WHEN count(*) = $14 THEN 1 ELSE 0 END) FROM cas");
  absl::Status deferred = conn.Defer(
      kExpectAll, Params().Int(static_cast<int64_t>(ids_.size())), kPlanEachRun);
  *this = PgAckBatch();
  return deferred;
}

absl::StatusOr<int64_t> PgAckBatch::RunCounted(PgConn& conn) {
  if (ids_.empty()) return 0;
  static const std::string kCount = absl::StrCat(kAcks, "SELECT count(*) FROM cas");
  const PgParams params = Params();
  *this = PgAckBatch();
  HART_ASSIGN_OR_RETURN(taken, conn.Query(kCount, params, kPlanEachRun));
  return taken.Int(0, 0);
}

}  // namespace hart::pg
