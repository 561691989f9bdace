-- 100,000 referrals with 6 deliveries each, a ladder timer per delivery
-- (pending for one referral in ten), a reroute timer per referral (pending
-- for one in three) and 13 audit events per referral: 718 MB. Used by run.sh.
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO referrals (referral_id, careline_report_id, content_sha256, intake, receipt, priority, resolved_town, received_at, accepted_at)
SELECT printf('ref_%08d', i), printf('CL-%08d', i), x'00', randomblob(1500), x'', 1, 'Hartford', 1767225600000000 + i * 60000000, 1767225600000000 + i * 60000000 + 1000 FROM n;
INSERT INTO referral_keys (referral_id, key_id, wrapped) SELECT referral_id, 'kek-1', randomblob(77) FROM referrals;
WITH RECURSIVE j(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM j WHERE k < 6)
INSERT INTO deliveries (delivery_id, referral_id, agency_id, agency_kind, rule_ids, adapter_type, state, attempts, created_at, next_attempt_at, ack_deadline, delivery_deadline)
SELECT r.referral_id || '_d' || k, r.referral_id, 'agency-' || ((k * 7 + r.rowid) % 40), k, 'rule-a,rule-b', 'feed',
  CASE WHEN r.rowid % 10 = 0 THEN 3 ELSE 5 END, 1, r.accepted_at, r.accepted_at, r.accepted_at + 86400000000, NULL
FROM referrals r, j;
INSERT INTO timers (timer_id, referral_id, due_at, rule_ids, state, created_at, kind, delivery_id, step)
SELECT 'tmr_' || d.delivery_id, d.referral_id, d.ack_deadline, '', CASE WHEN d.state = 3 THEN 0 ELSE 2 END, d.created_at, 1, d.delivery_id, 1 FROM deliveries d;
INSERT INTO timers (timer_id, referral_id, due_at, rule_ids, state, created_at, kind)
SELECT 'tmr_r_' || referral_id, referral_id, accepted_at + 259200000000, 'missing-72h', CASE WHEN rowid % 3 = 0 THEN 0 ELSE 1 END, accepted_at, 0 FROM referrals;
WITH RECURSIVE j(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM j WHERE k < 2)
INSERT INTO audit_events (at, actor, action, referral_id, delivery_id, payload_sha256, detail, leaf_hash)
SELECT d.created_at + k, 'broker', 'delivery.event', d.referral_id, d.delivery_id, x'00', 'detail', randomblob(32) FROM deliveries d, j ORDER BY d.rowid, k;
INSERT INTO audit_events (at, actor, action, referral_id, delivery_id, payload_sha256, detail, leaf_hash)
SELECT accepted_at, 'careline', 'intake.accepted', referral_id, '', x'00', '', randomblob(32) FROM referrals;
COMMIT;
