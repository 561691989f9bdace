// Shared helpers for tests: paths inside the repository, example intakes,
// temporary directories, deterministic randomness, bounded waiting.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "broker/random.h"
#include "hart/config/v1/broker_config.pb.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart {
namespace v1 = ::hart::referral::v1;
}  // namespace hart

namespace hart::testing {

// The repository's root (compiled in), e.g. for deploy/config/connecticut.yaml.
std::string SourcePath(const std::string& relative);

// The Connecticut config of the repository, parsed with defaults applied;
// aborts the test binary if it does not load.
const hart::config::v1::BrokerConfig& ConnecticutConfig();

// tests/testdata/intakes/<name>.json parsed strictly.
hart::referral::v1::Intake LoadIntake(const std::string& name);
std::string ReadText(const std::string& path);

// A fresh directory under $TMPDIR, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Counter-based bytes and a fixed-fraction Uniform, for reproducible ids
// and jitter.
class FakeRandom final : public RandomSource {
 public:
  // `first` seeds the counter: two fakes with far-apart seeds never collide
  // (e.g. a broker "restarted" in a test).
  explicit FakeRandom(uint64_t first = 0) : counter_(first) {}
  std::string Bytes(size_t n) override;
  // Returns `fraction` of the bound (default 0: the smallest value).
  uint64_t Uniform(uint64_t bound) override;
  double fraction = 0.0;

 private:
  uint64_t counter_ = 0;
};

// Polls `condition` until it holds or `timeout` passes; true if it held.
// For waiting on other threads and processes, never for making time pass.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// 2026-11-21T14:00:00Z: a fixed "now" a day after the example intakes.
absl::Time TestNow();

}  // namespace hart::testing
