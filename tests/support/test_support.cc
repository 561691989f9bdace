#include "tests/support/test_support.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "adapters/builtin.h"
#include "broker/config/config_loader.h"
#include "google/protobuf/util/json_util.h"

namespace hart::testing {

std::string SourcePath(const std::string& relative) {
  return std::string(HART_SOURCE_DIR) + "/" + relative;
}

const hart::config::v1::BrokerConfig& ConnecticutConfig() {
  static const auto* config = [] {
    AdapterRegistry registry;
    (void)RegisterBuiltinAdapters(registry, {});
    auto loaded = LoadConfig(SourcePath("deploy/config/connecticut.yaml"), registry);
    if (!loaded.ok()) {
      std::cerr << loaded.status() << "\n";
      std::abort();
    }
    return new hart::config::v1::BrokerConfig(std::move(*loaded));
  }();
  return *config;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

hart::referral::v1::Intake LoadIntake(const std::string& name) {
  hart::referral::v1::Intake intake;
  const std::string path = SourcePath("tests/testdata/intakes/" + name + ".json");
  auto status = google::protobuf::util::JsonStringToMessage(ReadText(path), &intake);
  if (!status.ok()) {
    std::cerr << path << ": " << status.ToString() << "\n";
    std::abort();
  }
  return intake;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "hart-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  // Stores opened on the directory itself keep their keys beside it.
  std::filesystem::remove_all(path_ + ".keys", ec);
}

std::string FakeRandom::Bytes(size_t n) {
  std::string out(n, '\0');
  uint64_t value = ++counter_;
  for (size_t i = 0; i < n; ++i) {
    out[n - 1 - i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

uint64_t FakeRandom::Uniform(uint64_t bound) {
  const auto v = static_cast<uint64_t>(fraction * static_cast<double>(bound));
  return v >= bound ? bound - 1 : v;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

absl::Time TestNow() { return absl::FromUnixSeconds(1795269600); }

}  // namespace hart::testing
