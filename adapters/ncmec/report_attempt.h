// One delivery's way through NCMEC's API, as a chain of asynchronous calls:
//   [GET /status]            unless this adapter verified it since its last failure
//   GET /reports?reporterReference=<deliveryId>
//                            only when an earlier attempt's outcome is unknown
//   POST /submit             unless a report for the delivery exists
//   POST /finish (id=N)      unless that report is finished already
// Any failure after NCMEC gave a report id carries "ncmec:<id>" as
// transport_ref, so the next attempt resumes at /finish.
//
// Thread safety: NcmecEndpoint is shared by an adapter and its running
// attempts (status_verified is atomic); each attempt runs on AdapterIo
// threads one call at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "adapters/http/https_client.h"
#include "broker/adapter.h"
#include "broker/clock.h"

namespace hart::adapters::ncmec {

struct NcmecEndpoint {
  std::unique_ptr<http::HttpsClient> client;
  // The API root without a trailing '/', e.g. "https://report.cybertip.org/ispws".
  std::string base_url;
  // "Basic <base64(username:password)>".
  std::string authorization;
  // For messages only.
  std::string credentials_file;
  // Bound of each call.
  absl::Duration timeout = absl::Seconds(30);
  // For Retry-After dates; null: the wall clock.
  const Clock* clock = nullptr;
  // GET /status succeeded and nothing failed since.
  std::atomic<bool> status_verified{false};
};

struct AttemptInput {
  std::string delivery_id;
  // The delivery's attempt number (1 for the first).
  uint32_t attempt = 1;
  // A report id an earlier attempt learnt (from transport_ref), or empty.
  std::string known_report_id;
  std::string report_xml;
};

// Runs one attempt; `done` gets Delivered("ncmec:<id>") or a failure.
void RunReportAttempt(std::shared_ptr<NcmecEndpoint> endpoint, AttemptInput input,
                      Adapter::DoneCallback done);

}  // namespace hart::adapters::ncmec
