#include "broker/server/adapter_paths.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hart {

absl::Status ResolveAdapterPaths(google::protobuf::Struct& settings, const std::string& key_dir,
                                 const std::string& data_dir) {
  for (auto& [key, value] : *settings.mutable_fields()) {
    if (value.kind_case() != google::protobuf::Value::kStringValue) continue;
    const std::string& path = value.string_value();
    if (path.empty() || path.front() == '/') continue;
    if (absl::EndsWith(key, "_file")) {
      value.set_string_value(absl::StrCat(key_dir, "/", path));
    } else if (key == "directory") {
      const std::string resolved = absl::StrCat(data_dir, "/", path);
      std::error_code ec;
      std::filesystem::create_directories(resolved, ec);
      if (ec) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot create directory ", resolved, ": ", ec.message()));
      }
      std::filesystem::permissions(resolved, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
      value.set_string_value(resolved);
    }
  }
  return absl::OkStatus();
}

}  // namespace hart
