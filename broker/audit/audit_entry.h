// The canonical bytes of an audit event: the protobuf binary encoding of
// hart.referral.v1.AuditEntry. Only scalar fields, written in field-number
// order with defaults omitted, so the encoding is unique for a given event.
#pragma once

#include <cstdint>
#include <string>

#include "broker/records.h"
#include "hart/referral/v1/audit.pb.h"

namespace hart::audit {

hart::referral::v1::AuditEntry ToEntry(uint64_t index, const AuditEvent& event);
std::string EntryBytes(const hart::referral::v1::AuditEntry& entry);
// SHA-256(0x00 || EntryBytes(entry)).
std::string EntryLeafHash(const hart::referral::v1::AuditEntry& entry);
// EntryLeafHash(ToEntry(index, event)), without building either anew.
std::string EventLeafHash(uint64_t index, const AuditEvent& event);

}  // namespace hart::audit
