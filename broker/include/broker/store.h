// The broker's durable state, as the core sees it: referrals, their
// deliveries (the outbox), the agencies' feeds, acknowledgements, timers and
// escalations, the audit log, supervisor queries, key rotation, the
// leader lease and the operators' snapshot (metrics). Each role
// has its own interface so a reader (and a component) holds only what it
// needs; Store is all of them, as the composition root wires it.
//
// Contract shared by every method of every role:
//  - Each write is one transaction: it commits (durably, fsync included)
//    before it returns OK, or it changes nothing and returns an error.
//  - Audit events passed in are written in the same transaction as the
//    change they record.
//  - PII (intakes, acknowledgement notes) crosses this interface in the
//    clear; below it (broker/store/envelope) it is encrypted before any
//    backend sees it.
//  - Thread safety: all methods may be called concurrently from any thread.
//    They may block on disk or network I/O: call them from the store
//    executor, never from a gRPC or adapter event-loop thread.
//  - Errors: broker/store_errors.h says what each code means and which
//    call returns which.
#pragma once

#include "broker/ack_store.h"
#include "broker/audit_store.h"
#include "broker/feed_store.h"
#include "broker/key_store.h"
#include "broker/leader_store.h"
#include "broker/ops_snapshot_store.h"
#include "broker/outbox_store.h"
#include "broker/referral_store.h"
#include "broker/supervisor_queries.h"
#include "broker/timer_store.h"
#include "broker/write_store.h"

namespace hart {

class Store : public ReferralStore,
              public OutboxStore,
              public FeedStore,
              public AckStore,
              public TimerStore,
              public AuditStore,
              public SupervisorQueries,
              public KeyStore,
              public LeaderStore,
              public WriteStore,
              public OpsSnapshotStore {
 public:
  ~Store() override = default;
};

}  // namespace hart
