// The store's error contract: what each status code means when a Store
// method (broker/include/broker/store.h) returns it, what the caller does
// about it, and which call returns which. Every backend keeps to it; the
// SQLite backend maps its result codes onto it in
// broker/store/sqlite/sqlite_db.cc, the PostgreSQL backend its SQLSTATEs in
// broker/store/postgres/pg_conn.cc.
//
// The codes
//   NOT_FOUND           an id the caller named is unknown. Nothing changed.
//   ALREADY_EXISTS      only "this key already exists": a primary-key or
//                       unique-key collision. Nothing of the transaction
//                       changed; the caller may treat it as idempotent (re-read
//                       what is stored and answer from it). Never any other
//                       constraint failure.
//   ABORTED             a compare-and-set lost: a lease expired, a claim went
//                       stale, the entity's state or version moved. Nothing
//                       changed; re-read and retry, or drop the request.
//   FAILED_PRECONDITION the entity exists but its state does not allow the
//                       change (sealed, timer no longer pending, already
//                       sealed). Nothing changed; retrying will not help.
//   UNAVAILABLE         transient backend failure: busy, locked, I/O error,
//                       cannot open, connection lost, read-only file system.
//                       Nothing changed; retry later.
//   RESOURCE_EXHAUSTED  the disk or the database is full. Nothing changed;
//                       retry once an operator has made room.
//   DATA_LOSS           stored data does not parse or decrypt, or the database
//                       file is corrupt. An operator must look; do not retry.
//   INTERNAL            a bug or an unexpected backend error (a NOT NULL,
//                       CHECK or FOREIGN KEY violation means the broker wrote
//                       something malformed). Do not retry blindly.
//
// Messages. A status a backend builds from its own error text (SQLite's
// sqlite3_errmsg, an I/O error string) carries the BackendError payload
// below. Its message is for the operator's log only: it may name tables,
// columns, constraints or file paths, never a bound value (SQLite does not
// interpolate bound values into its messages, and the backend adds none).
// Statuses the store builds itself ("no referral ref_...") carry no payload.
//
// At the gRPC edge (broker/api/status_mapping.h) a client never sees a
// backend message: every INTERNAL, UNKNOWN, DATA_LOSS and UNAVAILABLE status
// is redacted whatever its origin (other backends, crypto and callers that
// copy a store message into their own text produce those codes without the
// payload), and any status carrying the payload is redacted whatever its
// code. The client gets a fixed message and a reference that is also logged.
//
// Which call returns which (besides OK). Every method may also return
// UNAVAILABLE, DATA_LOSS (corrupt file) and INTERNAL; every method that
// writes may also return RESOURCE_EXHAUSTED.
//
//   CreateReferrals       a known careline_report_id is a per-item outcome
//                         (kDuplicate / kConflict), not an error.
//                         DATA_LOSS: a stored receipt does not parse.
//                         ALREADY_EXISTS: a generated referral, delivery or
//                         timer id collides (nothing of the batch stored).
//   ApplyWrites           per item, the codes of the item's own call below
//                         (NOT_FOUND, ALREADY_EXISTS, ABORTED,
//                         FAILED_PRECONDITION, INVALID_ARGUMENT: that item
//                         wrote nothing, the rest commits; an id collision
//                         fails only its item here, unlike CreateReferrals).
//                         Any other error fails the call: nothing of the
//                         batch is stored.
//   AppendAudit           storage errors only.
//   ClaimDueDeliveries    storage errors only.
//   ReleaseClaims         storage errors only.
//   NextDueTime           storage errors only.
//   RecordOutcomes        storage errors only; an outcome whose delivery is no
//                         longer IN_FLIGHT at its fencing value (acknowledged
//                         meanwhile, or claimed again) is skipped, not an error.
//   AppendToFeeds         NOT_FOUND: an unknown delivery (nothing of the batch
//                         is stored). A delivery already on a feed keeps its
//                         sequence.
//   ReadFeed,             DATA_LOSS: an intake does not decrypt or parse.
//   ReadUnreceivedFeed    NOT_FOUND: a referral has no data key (see "Known
//                         deviations"). UNAVAILABLE: its key-encryption
//                         key's file is not in the key directory (the data
//                         opens once it is back).
//   FeedHead              storage errors only (0 for an unknown agency).
//   ApplyAck, ApplyAcks   ABORTED: the delivery is not in expected_state.
//                         NOT_FOUND: an unknown delivery_id. In ApplyAcks
//                         both are per item; any other error fails the batch.
//                         DATA_LOSS / NOT_FOUND / UNAVAILABLE as for ReadFeed
//                         (the note is encrypted under the referral's key).
//   ApplyReferralChange   ABORTED: the referral's version moved on, or the
//                         fired timer was claimed again (stale lease).
//                         NOT_FOUND: unknown referral (no data key).
//                         FAILED_PRECONDITION: the referral is sealed, or the
//                         fired timer is no longer pending.
//                         ALREADY_EXISTS: supplement_id is already stored
//                         (the caller answers from the stored supplement),
//                         or a new delivery or timer id collides.
//   FindSupplement        storage errors only (nullopt when unknown).
//   ListSupplements       storage errors only.
//   FindReferralId        NOT_FOUND: no referral has that careline_report_id.
//   ClaimDueTimers        storage errors only.
//   PendingTimers         storage errors only.
//   ApplyEscalationStep   FAILED_PRECONDITION: the ladder step's timer is no
//                         longer pending. ABORTED: its lease is stale (claimed
//                         again by another broker). ALREADY_EXISTS: a notice delivery
//                         id or the next timer id collides.
//   ReadEscalations,      storage errors only.
//   EscalationsOf
//   ApplyRedelivery       ABORTED: the delivery's state moved, it was already
//                         redelivered, or it is unknown. ALREADY_EXISTS: the
//                         new delivery or ladder timer id collides.
//   SealReferral          NOT_FOUND: unknown referral. FAILED_PRECONDITION:
//                         already sealed.
//   RewrapDataKeys        UNAVAILABLE / DATA_LOSS: a wrapped key's key-encryption
//                         key is missing or does not open it.
//   ListReferrals         storage errors only.
//   GetReferral           NOT_FOUND: unknown referral (or, see below, a
//                         missing data key). UNAVAILABLE: a missing
//                         key-encryption key, as for ReadFeed.
//                         DATA_LOSS: the receipt or intake does not parse or
//                         decrypt.
//   GetDeliveries         an unknown referral gives an empty list.
//                         DATA_LOSS: an acknowledgement note does not decrypt.
//   GetDelivery           NOT_FOUND: unknown delivery.
//   ReadReportPage        INVALID_ARGUMENT: limit 0. NOT_FOUND / UNAVAILABLE /
//                         DATA_LOSS as GetReferral for an intake that cannot
//                         be opened.
//   ListAuditEvents       storage errors only.
//   AuditHead             never fails (the head is kept in memory).
//   AuditLeafHash         NOT_FOUND: no event at that index.
//   AuditSubtreeHash      storage errors only (nullopt while incomplete or
//                         lower than kMinStoredSubtreeHeight).
//   AppendCheckpoint      ALREADY_EXISTS: a checkpoint of that tree size is
//                         already stored.
//   ListCheckpoints       storage errors only.
//
//   OpenStore (store_factory.h, not part of Store): INVALID_ARGUMENT for an
//   unknown backend; for SQLite FAILED_PRECONDITION when the data
//   directory cannot be created or its LOCK is held by another process;
//   DATA_LOSS when the stored audit tree state does not parse.
//
// Known deviations, for the store's owner to settle:
//   - A referral without a data key row surfaces as NOT_FOUND
//     (EnvelopeStore::DataKey). The referral exists, so by this contract it
//     should be DATA_LOSS.
//
// Thread safety: the helpers below are pure functions.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace hart {

// Payload type URL marking a status whose message is a backend's own text
// (for the log only). Its value names the backend ("sqlite").
inline constexpr char kBackendErrorTypeUrl[] = "type.hart.internal/backend-error";

// A status with `code` and `message` (a backend's text) marked as backend text.
inline absl::Status BackendError(absl::StatusCode code, absl::string_view message,
                                 absl::string_view backend) {
  absl::Status status(code, message);
  status.SetPayload(kBackendErrorTypeUrl, absl::Cord(backend));
  return status;
}

// The backend that produced `status`, if its message is backend text.
inline std::optional<std::string> BackendOf(const absl::Status& status) {
  absl::optional<absl::Cord> backend = status.GetPayload(kBackendErrorTypeUrl);
  if (!backend) return std::nullopt;
  return std::string(*backend);
}

}  // namespace hart
