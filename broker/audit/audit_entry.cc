#include "broker/audit/audit_entry.h"

#include "broker/audit/merkle_tree.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace hart::audit {

namespace {

void FillEntry(uint64_t index, const AuditEvent& event, hart::referral::v1::AuditEntry& entry) {
  entry.set_index(index);
  entry.set_at_micros(absl::ToUnixMicros(event.at));
  entry.set_actor(event.actor);
  entry.set_action(event.action);
  entry.set_referral_id(event.referral_id);
  entry.set_delivery_id(event.delivery_id);
  entry.set_payload_sha256(event.payload_sha256);
  entry.set_detail(event.detail);
}

// Replaces `bytes` with the entry's canonical encoding, reusing its buffer.
void WriteEntryBytes(const hart::referral::v1::AuditEntry& entry, std::string& bytes) {
  bytes.clear();
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  entry.SerializeToCodedStream(&coded);
  coded.Trim();
}

}  // namespace

hart::referral::v1::AuditEntry ToEntry(uint64_t index, const AuditEvent& event) {
  hart::referral::v1::AuditEntry entry;
  FillEntry(index, event, entry);
  return entry;
}

std::string EntryBytes(const hart::referral::v1::AuditEntry& entry) {
  std::string bytes;
  WriteEntryBytes(entry, bytes);
  return bytes;
}

std::string EntryLeafHash(const hart::referral::v1::AuditEntry& entry) {
  return LeafHash(EntryBytes(entry));
}

std::string EventLeafHash(uint64_t index, const AuditEvent& event) {
  // The writer hashes every leaf it appends: one entry and one buffer per
  // thread, their strings' capacity kept, instead of eight allocations a
  // leaf (issue 15).
  thread_local hart::referral::v1::AuditEntry entry;
  thread_local std::string bytes;
  FillEntry(index, event, entry);
  WriteEntryBytes(entry, bytes);
  return LeafHash(bytes);
}

}  // namespace hart::audit
