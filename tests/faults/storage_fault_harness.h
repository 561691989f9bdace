// What the storage-fault tests (fsync failures, short writes, a full disk)
// share over the real hart-broker: the fault VFS's control file, intakes
// and acknowledgements that record what the broker acknowledged and what it
// refused, its readiness on both surfaces, and the final check of
// everything acknowledged.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "tests/e2e/broker_process.h"

namespace hart::testing {

// The fault VFS's control file (broker/store/sqlite/sqlite_fault_vfs.h),
// named to the brokers this process starts through the environment.
class FaultControl {
 public:
  explicit FaultControl(const std::string& path);  // sets the variable
  ~FaultControl();                                 // clears both
  // Replaces the rules atomically; "" means none.
  void Set(const std::string& rules);
  void Clear();

 private:
  std::string path_;
};

// Intakes submitted one at a time (unique careline report ids), sorted by
// how the broker answered.
class IntakeLedger {
 public:
  explicit IntakeLedger(std::string prefix) : prefix_(std::move(prefix)) {}
  // Submits one; returns the status.
  grpc::Status Submit(const BrokerProcess& broker);
  const std::vector<v1::Receipt>& acknowledged() const { return acknowledged_; }
  const std::set<std::string>& refused() const { return refused_; }  // careline ids

 private:
  std::string prefix_;
  int next_ = 0;
  std::vector<v1::Receipt> acknowledged_;
  std::set<std::string> refused_;
};

// /readyz's status (200 or 503) and body; nullopt if it did not answer.
struct Readiness {
  int status = 0;
  std::string body;
};
std::optional<Readiness> ReadyzOf(const BrokerProcess& broker);
// Whether the gRPC health service says SERVING for "" (nullopt: no answer).
std::optional<bool> HealthServing(const BrokerProcess& broker);
// Waits (bounded, 30 s) until /readyz and the health service both say `ready`.
bool WaitForReadiness(const BrokerProcess& broker, bool ready);

// Seconds since `start` (steady clock), for the figures the tests print.
double SecondsSince(std::chrono::steady_clock::time_point start);

// The first feed delivery of `receipt` (agency, delivery id); empty if none.
std::pair<std::string, std::string> FeedDeliveryOf(const v1::Receipt& receipt);
// Acknowledge(kind) of `delivery_id` as `agency_id`.
grpc::Status Acknowledge(const BrokerProcess& broker, const std::string& agency_id,
                         const std::string& delivery_id, v1::Acknowledgement::Kind kind);

// After the fault: every acknowledged intake is stored with every delivery
// its receipt listed, and each feed delivery is on its agency's feed; no
// refused careline id was stored; `hartctl audit verify` passes.
void ExpectEverythingAcknowledgedKept(const BrokerProcess& broker, const IntakeLedger& ledger,
                                      const std::string& data_dir);

}  // namespace hart::testing
