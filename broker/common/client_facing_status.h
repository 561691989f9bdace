// What a client (gRPC or the HTTPS ack endpoint) may see of an internal
// status. ToGrpcStatus (broker/api/status_mapping.h) builds on it.
//
// A client sees the code and message our own code wrote when both are
// meant for it: INVALID_ARGUMENT (with its BadRequest field violations as
// google.rpc.Status details, the grpc-status-details-bin trailer),
// NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, PERMISSION_DENIED,
// UNAUTHENTICATED, RESOURCE_EXHAUSTED (rate and stream limits), ABORTED,
// DEADLINE_EXCEEDED, CANCELLED, OUT_OF_RANGE and UNIMPLEMENTED pass through.
//
// Everything else is redacted: the client gets a fixed message with a
// reference ("internal error; reference 3f9a0c7e21b4"), and the log gets the
// reference, both codes and the original message. Redacted are
//   - every INTERNAL and UNKNOWN status (the client gets INTERNAL), every
//     UNAVAILABLE one (the client gets UNAVAILABLE: retry later) and every
//     DATA_LOSS one (the client gets DATA_LOSS: this record is damaged at
//     rest, e.g. a flipped byte that fails its AES-GCM tag),
//     whoever built it: these are the codes of failures, and their messages
//     are not written for a client (backends other than SQLite, crypto and
//     callers that copy a store message into their own text build them
//     without any marker);
//   - every status a backend marked as carrying its own text
//     (store_errors.h, BackendError), whatever its code: the code is kept
//     (a full disk stays RESOURCE_EXHAUSTED, a key collision ALREADY_EXISTS)
//     but the message is replaced.
// WrittenForClient exempts a status from redaction by code.
// Redacting by code is the safe default: a failure message nobody vetted
// for clients cannot leak SQL, file paths or partner text. A redacted
// status keeps no details.
//
// The reference is random (not derived from the message), so a support
// request quoting it finds the one log line with the cause.
//
// Thread safety: safe to call from any thread.
#pragma once

#include "absl/status/status.h"

namespace hart {

// What a client may see of `status`: `status` itself, or its redacted form
// (fixed message with a reference; the original is logged).
absl::Status ClientFacingStatus(const absl::Status& status);

// Marks `status` as written for the client: ClientFacingStatus passes it
// through whatever its code. Only for fixed texts of our own that tell the
// client what to do (the drain's UNAVAILABLE "the broker is shutting down;
// retry on another replica"), never for a message that quotes anything else.
absl::Status WrittenForClient(absl::Status status);

// Whether `status` was marked by WrittenForClient: a caller that would wrap
// it in a message of its own passes it on as it is instead.
bool IsWrittenForClient(const absl::Status& status);

}  // namespace hart
