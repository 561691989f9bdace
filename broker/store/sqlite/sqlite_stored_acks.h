// A delivery's acknowledgements kept in its own row (deliveries.stored_acks,
// schema 18; proto/hart/store/v1/stored_acks.proto): the bytes that record
// one, how they read back, and how sealing empties their notes.
// Acknowledgements recorded before schema 18 stay in the acks table and are
// read first.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/records.h"
#include "broker/store/sqlite/sqlite_db.h"

namespace hart::sqlite {

// The bytes that, appended to deliveries.stored_acks, record `w`'s
// acknowledgement.
std::string StoredAckEntry(const AckWrite& w);

// Appends the acknowledgements held in a deliveries.stored_acks value to
// `out`, in the order they were recorded, each with its sealed note.
absl::Status ReadStoredAcks(const std::string& column, DeliveryWithAcks& out);

// Empties the notes of every acknowledgement stored in the rows of the
// referral's deliveries (sealing it), in the caller's transaction.
absl::Status EmptyStoredAckNotes(SqliteDb& db, const std::string& referral_id);

}  // namespace hart::sqlite
