// The associated data each sealed value is bound to: a ciphertext opens only
// under the row it was sealed for. Shared by the envelope store's files.
#pragma once

#include <string>

namespace hart::envelope {

inline std::string IntakeContext(const std::string& referral_id) { return "intake:" + referral_id; }
inline std::string NoteContext(const std::string& delivery_id) { return "note:" + delivery_id; }
inline std::string KeyContext(const std::string& referral_id) { return "dek:" + referral_id; }

}  // namespace hart::envelope
