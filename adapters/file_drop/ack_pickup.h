// Picks up the acknowledgement files a partner drops (see ack_file.h):
// each `<deliveryId>.json.ack` is recorded through the AckSink as coming
// from the adapter's agency, then renamed `.ack.done`; a permanent refusal
// (bad content, another agency's delivery, unknown delivery, a transition
// the broker refuses) renames it `.ack.rejected` next to a `.ack.error`
// holding the reason; a transient failure leaves it for the next scan.
//
// Thread safety: Scan may run concurrently on several threads; a file is
// never processed by two scans at once. Scan does blocking file I/O: call
// it on the AdapterIo's blocking pool (never its event loop). The owner
// must keep the pickup alive until every scan's `done` has run.
#pragma once

#include <functional>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "adapters/common/adapter_io.h"
#include "broker/delivery_content.h"

namespace hart::adapters::file_drop {

struct AckScanSummary {
  int recorded = 0;     // the broker recorded it: renamed .ack.done
  int rejected = 0;     // refused for good: renamed .ack.rejected, reason in .ack.error
  int retry_later = 0;  // could not be settled now: left for the next scan
  int ignored = 0;      // named *.json.ack without a valid delivery id: left alone
};

class AckPickup {
 public:
  // `acks` and `io` must outlive the pickup.
  AckPickup(std::string directory, std::string agency_id, AckSink& acks, AdapterIo& io);

  // Scans the directory once. `done` runs exactly once, when every ack
  // found is settled, on a blocking-pool thread or the calling thread.
  void Scan(std::function<void(AckScanSummary)> done);

 private:
  struct ScanState;
  struct Found;

  void Process(const std::shared_ptr<ScanState>& scan, Found found);
  void Settle(ScanState& scan, const Found& found, const absl::Status& status);
  void Reject(ScanState& scan, const Found& found, const std::string& reason);
  void Release(const std::string& file_name);
  void WarnInvalidNameOnce(const std::string& file_name);
  static void Finish(const std::shared_ptr<ScanState>& scan);

  const std::string directory_;
  const std::string agency_id_;
  const std::string actor_;
  AckSink& acks_;
  AdapterIo& io_;

  std::mutex mu_;
  std::set<std::string> in_progress_;  // ack file names some scan is settling
  std::set<std::string> warned_;       // invalid names already logged
};

}  // namespace hart::adapters::file_drop
