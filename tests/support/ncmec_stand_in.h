// A stand-in for NCMEC's CyberTipline Reporting API, for adapter tests: an
// HttpsTestServer on 127.0.0.1 serving, under /ispws,
//   GET  /status                         -> <reportResponse> code 0
//   POST /submit   (report XML)          -> <reportResponse> with a new reportId
//   POST /finish   (form id=N)           -> <reportDoneResponse>
//   GET  /reports?reporterReference=X    -> <reportsResponse> (the broker's
//                                           model of a lookup, see adapters/ncmec/README.md)
// Every call needs HTTP Basic credentials (401 otherwise). Submitted XML
// must be well formed (matching tags, escaped text) with a single <report>
// root holding the required elements (kRequiredReportElements), else 400
// with responseCode 1100. Reports are held by id with their reporter
// reference and status. responseCodes: 0 success, 1100 invalid report,
// 1300 unknown report id, 1310 report already finished.
//
// Failure injection: FailNext (answer N calls with a canned reply and do
// nothing), DelayNextReply (do the work, answer late: "a timeout that hid a
// success").
//
// Thread safety: all methods may be called from any thread while the
// server thread serves requests.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/support/https_test_server.h"

namespace hart::testing {

inline constexpr int kNcmecInvalidReport = 1100;
inline constexpr int kNcmecUnknownReport = 1300;
inline constexpr int kNcmecAlreadyFinished = 1310;

// Element paths every submitted report must have (non-empty).
inline constexpr const char* kRequiredReportElements[] = {
    "report/incidentSummary/incidentType",
    "report/incidentSummary/incidentDateTime",
    "report/reporter/reportingPerson/email",
    "report/reporter/reporterReference",
};

struct NcmecStandInReport {
  std::string report_id;
  std::string reporter_reference;
  bool finished = false;
  std::string xml;
  // Decoded, trimmed text of each element with text, by slash path from the
  // root, e.g. "report/victim/victimPerson/address/city"; repeated paths
  // keep the first.
  std::map<std::string, std::string> elements;
};

// The element texts of a well-formed document, or INVALID_ARGUMENT saying
// what is malformed. Exposed for tests of the checker itself.
absl::StatusOr<std::map<std::string, std::string>> ParseReportElements(const std::string& xml);

class NcmecStandIn {
 public:
  struct Options {
    std::string cert_file;
    std::string key_file;
    // Non-empty: require a client certificate signed by this CA.
    std::string client_ca_file;
    std::string username = "careline-hart";
    std::string password = "stand-in-secret";
  };

  static absl::StatusOr<std::unique_ptr<NcmecStandIn>> Start(Options options);
  ~NcmecStandIn();

  // "https://127.0.0.1:<port>/ispws": the adapter's base_url.
  std::string base_url() const;
  // "username:password", as the credentials file holds it.
  std::string credentials() const;

  // The next `count` calls to `path` ("/status", "/submit", "/finish",
  // "/reports"; empty: any) get `reply` and change nothing.
  void FailNext(const std::string& path, int count, ServerReply reply);
  // The next call to `path` is served as usual but its reply waits `delay`.
  void DelayNextReply(const std::string& path, absl::Duration delay);

  std::vector<NcmecStandInReport> Reports() const;
  // Calls that reached `path` (failed or not).
  size_t CallCount(const std::string& path) const;
  // Paths called, in order, e.g. {"/status", "/submit", "/finish"}.
  std::vector<std::string> CallPaths() const;
  const HttpsTestServer& server() const { return *server_; }

 private:
  struct Injection {
    std::string path;
    int remaining = 0;
    ServerReply reply;
  };

  explicit NcmecStandIn(Options options) : options_(std::move(options)) {}
  ServerReply Handle(const ReceivedRequest& request);
  ServerReply Serve(const std::string& path, const std::string& query,
                    const ReceivedRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ServerReply Submit(const ReceivedRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ServerReply Finish(const ReceivedRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ServerReply Lookup(const std::string& query) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  std::vector<Injection> failures_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Duration> delays_ ABSL_GUARDED_BY(mu_);
  std::vector<NcmecStandInReport> reports_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  long next_report_id_ ABSL_GUARDED_BY(mu_) = 100001;
  // Last: stopped first, so the handler never sees a half-destroyed object.
  std::unique_ptr<HttpsTestServer> server_;
};

}  // namespace hart::testing
