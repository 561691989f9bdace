#include "adapters/ncmec/report_attempt.h"

#include <cctype>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/ncmec/answer_mapping.h"
#include "adapters/ncmec/ncmec_responses.h"
#include "broker/common/logging.h"

namespace hart::adapters::ncmec {
namespace {

const std::shared_ptr<spdlog::logger>& Log() {
  static const auto log = Logger("ncmec");
  return log;
}

// Query-string encoding (RFC 3986 unreserved characters pass).
std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

class ReportAttempt : public std::enable_shared_from_this<ReportAttempt> {
 public:
  ReportAttempt(std::shared_ptr<NcmecEndpoint> endpoint, AttemptInput input,
                Adapter::DoneCallback done)
      : endpoint_(std::move(endpoint)),
        input_(std::move(input)),
        report_id_(input_.known_report_id),
        done_(std::move(done)) {}

  void Start() {
    if (endpoint_->status_verified.load()) {
      Proceed();
    } else {
      CheckStatus();
    }
  }

 private:
  using OnAnswer = std::function<void(const CallInfo&, const http::HttpResponse&)>;

  void Proceed() {
    if (!report_id_.empty()) {
      Finish();
    } else if (input_.attempt > 1) {
      // An earlier attempt may have filed the report and lost the answer.
      Lookup(/*after_refused_finish=*/false);
    } else {
      Submit();
    }
  }

  void CheckStatus() {
    Call("GET", "/status", "", "", [self = shared_from_this()](const CallInfo& info,
                                                               const http::HttpResponse& r) {
      auto parsed = ParseApiResponse(r.body, "reportResponse");
      if (!parsed.ok()) return self->Fail(UnreadableAnswer(info, parsed.status()));
      if (parsed->response_code != kResponseSuccess) {
        // NCMEC is up but not ready for us: not a verdict on this report.
        return self->Fail({absl::UnavailableError(absl::StrCat(
                               "NCMEC GET /status answered responseCode ",
                               parsed->response_code, " for delivery ", info.delivery_id)),
                           std::nullopt});
      }
      self->endpoint_->status_verified.store(true);
      self->Proceed();
    });
  }

  // Which report NCMEC holds for this delivery: finished → done, open →
  // finish it, none → submit (or, after a refused finish, give up).
  void Lookup(bool after_refused_finish) {
    const std::string path =
        absl::StrCat("/reports?reporterReference=", PercentEncode(input_.delivery_id));
    Call("GET", path, "", "",
         [self = shared_from_this(), after_refused_finish](const CallInfo& info,
                                                           const http::HttpResponse& r) {
           auto reports = ParseReportsLookup(r.body);
           if (!reports.ok()) return self->Fail(UnreadableAnswer(info, reports.status()));
           const KnownReport* open = nullptr;
           for (const KnownReport& report : *reports) {
             if (report.finished) return self->Succeed(report.report_id);
             if (open == nullptr) open = &report;
           }
           if (after_refused_finish) {
             return self->Fail({absl::InvalidArgumentError(absl::StrCat(
                                    "NCMEC refused to finish report ", self->report_id_,
                                    " of delivery ", info.delivery_id,
                                    " and holds no finished report for it")),
                                std::nullopt});
           }
           if (open != nullptr) {
             self->report_id_ = open->report_id;
             return self->Finish();
           }
           self->Submit();
         });
  }

  void Submit() {
    Call("POST", "/submit", "text/xml; charset=utf-8", input_.report_xml,
         [self = shared_from_this()](const CallInfo& info, const http::HttpResponse& r) {
           auto parsed = ParseApiResponse(r.body, "reportResponse");
           if (!parsed.ok()) return self->Fail(UnreadableAnswer(info, parsed.status()));
           if (parsed->response_code != kResponseSuccess) {
             return self->Fail(ResponseCodeFailure(info, parsed->response_code));
           }
           if (parsed->report_id.empty()) {
             return self->Fail(UnreadableAnswer(
                 info, absl::InvalidArgumentError("<reportResponse> has no <reportId>")));
           }
           self->report_id_ = parsed->report_id;
           self->Finish();
         });
  }

  void Finish() {
    Call("POST", "/finish", "application/x-www-form-urlencoded",
         absl::StrCat("id=", report_id_),
         [self = shared_from_this()](const CallInfo& info, const http::HttpResponse& r) {
           auto parsed = ParseApiResponse(r.body, "reportDoneResponse");
           if (!parsed.ok()) return self->Fail(UnreadableAnswer(info, parsed.status()));
           if (parsed->response_code == kResponseSuccess) return self->Succeed(self->report_id_);
           if (parsed->response_code == kResponseServerError) {
             return self->Fail(ResponseCodeFailure(info, parsed->response_code));
           }
           // Refused: perhaps an earlier finish went through and its answer
           // was lost. Only the lookup can tell.
           self->Lookup(/*after_refused_finish=*/true);
         });
  }

  // Sends one request; a 2xx answer goes to `on_answer`, anything else ends
  // the attempt.
  void Call(const std::string& method, const std::string& path, const std::string& content_type,
            std::string body, OnAnswer on_answer) {
    http::HttpRequest request;
    request.method = method;
    request.url = endpoint_->base_url + path;
    request.headers["Authorization"] = endpoint_->authorization;
    request.headers["Accept"] = "text/xml";
    if (!content_type.empty()) request.headers["Content-Type"] = content_type;
    request.body = std::move(body);
    request.timeout = endpoint_->timeout;
    CallInfo info{absl::StrCat(method, " /", path.substr(1, path.find('?') - 1)),
                  input_.delivery_id, endpoint_->credentials_file};
    endpoint_->client->Send(
        std::move(request), [self = shared_from_this(), info = std::move(info),
                             on_answer = std::move(on_answer)](
                                absl::StatusOr<http::HttpResponse> response) {
          if (!response.ok()) return self->Fail(ExchangeFailure(info, response.status()));
          if (response->status < 200 || response->status > 299) {
            return self->Fail(HttpStatusFailure(info, *response, self->Now()));
          }
          on_answer(info, *response);
        });
  }

  absl::Time Now() const {
    return endpoint_->clock != nullptr ? endpoint_->clock->Now() : absl::Now();
  }

  void Succeed(const std::string& report_id) {
    Log()->info("event=ncmec_report_finished delivery_id={} report_id={} attempt={}",
                input_.delivery_id, report_id, input_.attempt);
    done_(DeliveryResult::Delivered(ReportRef(report_id)));
  }

  void Fail(CallFailure failure) {
    endpoint_->status_verified.store(false);
    DeliveryResult result = DeliveryResult::Failed(std::move(failure.status), failure.retry_after);
    // The dispatcher stores it: the next attempt resumes at /finish.
    if (!report_id_.empty()) result.transport_ref = ReportRef(report_id_);
    done_(std::move(result));
  }

  const std::shared_ptr<NcmecEndpoint> endpoint_;
  const AttemptInput input_;
  std::string report_id_;
  const Adapter::DoneCallback done_;
};

}  // namespace

void RunReportAttempt(std::shared_ptr<NcmecEndpoint> endpoint, AttemptInput input,
                      Adapter::DoneCallback done) {
  std::make_shared<ReportAttempt>(std::move(endpoint), std::move(input), std::move(done))->Start();
}

}  // namespace hart::adapters::ncmec
