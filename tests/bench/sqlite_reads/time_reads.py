# Times the SQL the SQLite store runs for a supervisor's GetReferral (the
# referral, its deliveries and acks, pending timers, supplements, each
# delivery's audit events) and a ListReferrals page: the statement text as of
# e837f41 on the schema-10 copy against the text of sqlite_read_sql.h (copied
# here; sqlite_query_plan_test checks the store's own) on the schema-11 copy.
# Usage: python3 time_reads.py before.db after.db (see run.sh)
import random, sqlite3, statistics, sys, time
DCOLS = ("d.delivery_id, d.referral_id, d.agency_id, d.agency_kind, d.rule_ids, d.adapter_type, d.state, d.attempts, d.created_at, d.next_attempt_at, d.ack_deadline, d.delivery_deadline, d.last_attempt_at, d.lease_until, d.delivered_at, d.acknowledged_at, d.last_error, d.transport_ref, d.kind, d.changes, d.escalation, d.redelivered_as, d.erasure, d.claim_owner")
TCOLS = "timer_id, referral_id, due_at, rule_ids, kind, delivery_id, step, base_at, reason, lease, claim_owner"
ACOLS = "idx, at, actor, action, referral_id, delivery_id, payload_sha256, detail, leaf_hash"
OLD = dict(
  pending=f"SELECT {TCOLS} FROM timers WHERE referral_id = ? AND state = ? ORDER BY due_at",
  deliveries=f"SELECT {DCOLS} FROM deliveries d WHERE d.referral_id = ? ORDER BY d.rowid",
  audit=f"SELECT {ACOLS} FROM audit_events WHERE idx > ?1 AND (?2 = '' OR referral_id = ?2) AND (?3 = '' OR delivery_id = ?3) AND (?4 = '' OR actor = ?4) AND at >= ?5 AND at < ?6 ORDER BY idx LIMIT ?7",
)
NEW = dict(
  pending=f"SELECT {TCOLS} FROM timers INDEXED BY timers_by_referral_state WHERE referral_id = ? AND state = ? ORDER BY due_at",
  deliveries=f"SELECT {DCOLS} FROM deliveries d INDEXED BY deliveries_by_referral WHERE d.referral_id = ? ORDER BY d.rowid",
  audit=f"SELECT {ACOLS} FROM audit_events INDEXED BY audit_by_delivery WHERE idx > ?1 AND delivery_id = ?3 AND at >= ?5 AND at < ?6 ORDER BY idx LIMIT ?7",
)
GET = "SELECT referral_id, careline_report_id, content_sha256, intake, receipt, priority, resolved_town, received_at, accepted_at, version, sealed_at FROM referrals WHERE referral_id = ?"
ACKS = "SELECT kind, note, actor, recorded_at FROM acks WHERE delivery_id = ? ORDER BY ack_id"
SUPP = "SELECT supplement_id FROM supplements WHERE referral_id = ? ORDER BY applied_at, rowid"
def overdue(): return "d.kind = 1 AND d.redelivered_as = '' AND d.state != 5 AND (d.ack_deadline <= ? OR (d.delivery_deadline <= ? AND d.state NOT IN (4, 8)))"
def listing(own, frm):
  return (f"SELECT r.referral_id, r.careline_report_id, r.priority, r.resolved_town, r.received_at, r.accepted_at, "
    f"(SELECT COUNT(*) {own}d.kind = 1), (SELECT COUNT(*) {own}d.state = 5), (SELECT COUNT(*) {own}{overdue()}), "
    f"(SELECT COUNT(*) {own}d.state = 6 AND d.redelivered_as = ''), (SELECT COUNT(*) {own}d.state = 8 AND d.redelivered_as = ''), "
    f"(SELECT MIN(d.ack_deadline) {own}d.kind = 1 AND d.state != 5 AND d.redelivered_as = '') "
    f"FROM referrals r{frm} WHERE 1 = 1 ORDER BY r.accepted_at DESC, r.referral_id DESC LIMIT ?")
OLD["list"] = listing("FROM deliveries d WHERE d.referral_id = r.referral_id AND ", "")
NEW["list"] = listing("FROM deliveries d INDEXED BY deliveries_by_referral WHERE d.referral_id = r.referral_id AND ", " INDEXED BY referrals_by_accepted")
def run(path, q, n=200):
  db = sqlite3.connect(path); rnd = random.Random(1)
  ids = [f"ref_{rnd.randint(1, 100000):08d}" for _ in range(n)]
  def timed(fn):
    out = []
    for rid in ids:
      t = time.perf_counter(); fn(rid); out.append((time.perf_counter() - t) * 1000)
    out.sort(); return statistics.median(out), out[max(0, int(len(out) * 0.99) - 1)]
  pend = timed(lambda rid: db.execute(q["pending"], (rid, 0)).fetchall())
  def get_referral(rid):
    db.execute(GET, (rid,)).fetchall()
    ds = db.execute(q["deliveries"], (rid,)).fetchall()
    for d in ds: db.execute(ACKS, (d[0],)).fetchall()
    db.execute(q["pending"], (rid, 0)).fetchall(); db.execute(SUPP, (rid,)).fetchall()
    for d in ds: db.execute(q["audit"], (0, "", d[0], "", -2**63, 2**63 - 1, 1000)).fetchall()
  ids_saved = ids[:]; ids[:] = ids[:20]
  get = timed(get_referral)
  ids[:] = ids_saved
  # One run, given up after 60 s (the old plan evaluates every referral's
  # counts over every acknowledged delivery before sorting).
  deadline = time.perf_counter() + 60
  db.set_progress_handler(lambda: 1 if time.perf_counter() > deadline else 0, 100000)
  t = time.perf_counter()
  try:
    db.execute(q["list"], (0, 0, 50)).fetchall(); lst = ((time.perf_counter() - t) * 1000, "")
  except sqlite3.OperationalError:
    lst = (None, "gave up after 60 s")
  db.set_progress_handler(None, 0)
  return pend, get, lst
for label, path, q in (("before (schema 10, old SQL)", sys.argv[1], OLD), ("after (schema 11, new SQL)", sys.argv[2], NEW)):
  pend, get, lst = run(path, q)
  print(f"{label}: pending timers p50 {pend[0]:.3f} ms p99 {pend[1]:.3f} ms | GetReferral's reads (20 runs) median {get[0]:.2f} ms max {get[1]:.2f} ms | ListReferrals first page of 50: {('%.1f ms' % lst[0]) if lst[0] is not None else lst[1]}")
