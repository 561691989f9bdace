#include "tests/support/ncmec_stand_in.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hart::testing {
namespace {

constexpr absl::string_view kRoot = "/ispws";

std::string Escape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

ServerReply Xml(int status, std::string body) {
  ServerReply reply;
  reply.status = status;
  reply.headers["Content-Type"] = "text/xml; charset=utf-8";
  reply.body = absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", body);
  return reply;
}

ServerReply ReportResponse(int status, int code, absl::string_view description,
                           absl::string_view report_id = "") {
  return Xml(status, absl::StrCat("<reportResponse><responseCode>", code,
                                  "</responseCode><responseDescription>", Escape(description),
                                  "</responseDescription>",
                                  report_id.empty() ? ""
                                                    : absl::StrCat("<reportId>", report_id,
                                                                   "</reportId>"),
                                  "</reportResponse>"));
}

ServerReply DoneResponse(int code, absl::string_view report_id) {
  return Xml(200, absl::StrCat("<reportDoneResponse><responseCode>", code,
                               "</responseCode><reportId>", report_id,
                               "</reportId><files/></reportDoneResponse>"));
}

std::string PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() &&
               std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// name -> value of an application/x-www-form-urlencoded string.
std::map<std::string, std::string> FormFields(absl::string_view form) {
  std::map<std::string, std::string> fields;
  for (absl::string_view pair : absl::StrSplit(form, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    fields[PercentDecode(kv.first)] = PercentDecode(kv.second);
  }
  return fields;
}

absl::StatusOr<std::string> DecodeText(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    const size_t end = text.find(';', i);
    if (end == absl::string_view::npos || end - i > 10) {
      return absl::InvalidArgumentError("unescaped '&' in text");
    }
    const absl::string_view name = text.substr(i + 1, end - i - 1);
    if (name == "amp") out.push_back('&');
    else if (name == "lt") out.push_back('<');
    else if (name == "gt") out.push_back('>');
    else if (name == "quot") out.push_back('"');
    else if (name == "apos") out.push_back('\'');
    else if (!name.empty() && name[0] == '#') out += absl::StrCat("&", name, ";");  // kept as is
    else return absl::InvalidArgumentError(absl::StrCat("unknown entity &", name, ";"));
    i = end;
  }
  return out;
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == ':';
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseReportElements(const std::string& xml) {
  std::map<std::string, std::string> elements;
  std::vector<std::string> open;  // element names from the root
  std::string text;
  bool root_seen = false;
  size_t i = 0;
  auto path = [&open] { return absl::StrJoin(open, "/"); };
  while (i < xml.size()) {
    if (xml[i] != '<') {
      const size_t next = xml.find('<', i);
      const absl::string_view chunk =
          absl::string_view(xml).substr(i, next == std::string::npos ? std::string::npos : next - i);
      if (open.empty()) {
        if (!absl::StripAsciiWhitespace(chunk).empty()) {
          return absl::InvalidArgumentError("text outside the root element");
        }
      } else {
        auto decoded = DecodeText(chunk);
        if (!decoded.ok()) return decoded.status();
        text += *decoded;
      }
      if (next == std::string::npos) break;
      i = next;
      continue;
    }
    if (xml.compare(i, 4, "<!--") == 0) {
      const size_t end = xml.find("-->", i + 4);
      if (end == std::string::npos) return absl::InvalidArgumentError("unterminated comment");
      i = end + 3;
      continue;
    }
    if (xml.compare(i, 2, "<?") == 0) {
      if (root_seen) return absl::InvalidArgumentError("processing instruction after the root");
      const size_t end = xml.find("?>", i + 2);
      if (end == std::string::npos) return absl::InvalidArgumentError("unterminated <?");
      i = end + 2;
      continue;
    }
    const size_t end = xml.find('>', i);
    if (end == std::string::npos) return absl::InvalidArgumentError("unterminated tag");
    absl::string_view tag = absl::string_view(xml).substr(i + 1, end - i - 1);
    i = end + 1;
    if (absl::ConsumePrefix(&tag, "/")) {
      tag = absl::StripTrailingAsciiWhitespace(tag);
      if (open.empty() || open.back() != tag) {
        return absl::InvalidArgumentError(absl::StrCat("</", tag, "> does not close <",
                                                       open.empty() ? "" : open.back(), ">"));
      }
      const std::string trimmed(absl::StripAsciiWhitespace(text));
      if (!trimmed.empty()) elements.emplace(path(), trimmed);
      text.clear();
      open.pop_back();
      continue;
    }
    const bool self_closing = absl::ConsumeSuffix(&tag, "/");
    size_t name_end = 0;
    while (name_end < tag.size() && IsNameChar(tag[name_end])) ++name_end;
    if (name_end == 0 || (name_end < tag.size() &&
                          !std::isspace(static_cast<unsigned char>(tag[name_end])))) {
      return absl::InvalidArgumentError(absl::StrCat("malformed tag <", tag, ">"));
    }
    const std::string name(tag.substr(0, name_end));
    if (open.empty()) {
      if (root_seen) return absl::InvalidArgumentError("more than one root element");
      root_seen = true;
    }
    text.clear();
    if (!self_closing) open.push_back(name);
  }
  if (!open.empty()) return absl::InvalidArgumentError(absl::StrCat("<", open.back(), "> is never closed"));
  if (!root_seen) return absl::InvalidArgumentError("no root element");
  return elements;
}

absl::StatusOr<std::unique_ptr<NcmecStandIn>> NcmecStandIn::Start(Options options) {
  std::unique_ptr<NcmecStandIn> stand_in(new NcmecStandIn(std::move(options)));
  HttpsTestServer::Options server_options;
  server_options.cert_file = stand_in->options_.cert_file;
  server_options.key_file = stand_in->options_.key_file;
  server_options.client_ca_file = stand_in->options_.client_ca_file;
  NcmecStandIn* self = stand_in.get();
  auto server = HttpsTestServer::Start(
      server_options, [self](const ReceivedRequest& request) { return self->Handle(request); });
  if (!server.ok()) return server.status();
  stand_in->server_ = *std::move(server);
  return stand_in;
}

NcmecStandIn::~NcmecStandIn() { server_.reset(); }

std::string NcmecStandIn::base_url() const { return server_->Url(std::string(kRoot)); }

std::string NcmecStandIn::credentials() const {
  return absl::StrCat(options_.username, ":", options_.password);
}

void NcmecStandIn::FailNext(const std::string& path, int count, ServerReply reply) {
  absl::MutexLock lock(&mu_);
  failures_.push_back({path, count, std::move(reply)});
}

void NcmecStandIn::DelayNextReply(const std::string& path, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  delays_[path] = delay;
}

std::vector<NcmecStandInReport> NcmecStandIn::Reports() const {
  absl::MutexLock lock(&mu_);
  return reports_;
}

size_t NcmecStandIn::CallCount(const std::string& path) const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& call : calls_) n += call == path;
  return n;
}

std::vector<std::string> NcmecStandIn::CallPaths() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

ServerReply NcmecStandIn::Handle(const ReceivedRequest& request) {
  absl::string_view target = request.target;
  std::string query;
  if (const size_t q = target.find('?'); q != absl::string_view::npos) {
    query = std::string(target.substr(q + 1));
    target = target.substr(0, q);
  }
  if (!absl::ConsumePrefix(&target, kRoot)) return ReportResponse(404, 404, "not found");
  const std::string path(target);

  absl::MutexLock lock(&mu_);
  calls_.push_back(path);
  for (Injection& failure : failures_) {
    if (failure.remaining > 0 && (failure.path.empty() || failure.path == path)) {
      --failure.remaining;
      return failure.reply;
    }
  }
  const std::string expected = absl::StrCat("Basic ", absl::Base64Escape(credentials()));
  auto auth = request.headers.find("authorization");
  if (auth == request.headers.end() || auth->second != expected) {
    ServerReply reply = ReportResponse(401, 401, "Unauthorized");
    reply.headers["WWW-Authenticate"] = "Basic realm=\"CyberTipline\"";
    return reply;
  }
  ServerReply reply = Serve(path, query, request);
  if (auto delay = delays_.find(path); delay != delays_.end()) {
    reply.delay = delay->second;
    delays_.erase(delay);
  }
  return reply;
}

ServerReply NcmecStandIn::Serve(const std::string& path, const std::string& query,
                                const ReceivedRequest& request) {
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  if (path == "/status" && get) {
    return ReportResponse(200, 0, absl::StrCat("Remote User : ", options_.username));
  }
  if (path == "/submit" && post) return Submit(request);
  if (path == "/finish" && post) return Finish(request);
  if (path == "/reports" && get) return Lookup(query);
  if (path == "/status" || path == "/submit" || path == "/finish" || path == "/reports") {
    return ReportResponse(405, 405, "method not allowed");
  }
  return ReportResponse(404, 404, "not found");
}

ServerReply NcmecStandIn::Submit(const ReceivedRequest& request) {
  auto type = request.headers.find("content-type");
  if (type == request.headers.end() || !absl::StartsWith(type->second, "text/xml")) {
    return ReportResponse(400, kNcmecInvalidReport, "Content-Type must be text/xml");
  }
  auto elements = ParseReportElements(request.body);
  if (!elements.ok()) {
    return ReportResponse(400, kNcmecInvalidReport,
                          absl::StrCat("malformed XML: ", elements.status().message()));
  }
  for (const char* required : kRequiredReportElements) {
    if (!elements->contains(required)) {
      return ReportResponse(400, kNcmecInvalidReport,
                            absl::StrCat("missing required element ", required));
    }
  }
  NcmecStandInReport report;
  report.report_id = absl::StrCat(next_report_id_++);
  report.reporter_reference = elements->at("report/reporter/reporterReference");
  report.xml = request.body;
  report.elements = *std::move(elements);
  reports_.push_back(report);
  return ReportResponse(200, 0, "Success", report.report_id);
}

ServerReply NcmecStandIn::Finish(const ReceivedRequest& request) {
  const auto fields = FormFields(request.body);
  auto id = fields.find("id");
  if (id == fields.end()) return ReportResponse(400, kNcmecInvalidReport, "missing id");
  for (NcmecStandInReport& report : reports_) {
    if (report.report_id != id->second) continue;
    if (report.finished) return DoneResponse(kNcmecAlreadyFinished, report.report_id);
    report.finished = true;
    return DoneResponse(0, report.report_id);
  }
  return DoneResponse(kNcmecUnknownReport, id->second);
}

ServerReply NcmecStandIn::Lookup(const std::string& query) {
  const auto fields = FormFields(query);
  auto reference = fields.find("reporterReference");
  if (reference == fields.end() || reference->second.empty()) {
    return ReportResponse(400, kNcmecInvalidReport, "missing reporterReference");
  }
  std::string body = "<reportsResponse><responseCode>0</responseCode>";
  for (const NcmecStandInReport& report : reports_) {
    if (report.reporter_reference != reference->second) continue;
    absl::StrAppend(&body, "<report><reportId>", report.report_id, "</reportId><status>",
                    report.finished ? "finished" : "open", "</status></report>");
  }
  absl::StrAppend(&body, "</reportsResponse>");
  return Xml(200, body);
}

}  // namespace hart::testing
