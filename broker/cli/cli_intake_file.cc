#include "broker/cli/cli_intake_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "broker/common/strict_json.h"

namespace hart::cli {

absl::StatusOr<hart::referral::v1::Intake> ReadIntakeFile(const std::string& path) {
  hart::referral::v1::Intake intake;
  if (auto s = ReadJsonFile(path, &intake); !s.ok()) return s;
  return intake;
}

absl::Status ReadJsonFile(const std::string& path, google::protobuf::Message* message) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path, ": is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }

  if (const absl::Status status = ParseStrictJson(contents.str(), message); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not valid protobuf JSON of ", message->GetDescriptor()->full_name(), ": ",
        std::string(status.message())));
  }
  return absl::OkStatus();
}

}  // namespace hart::cli
