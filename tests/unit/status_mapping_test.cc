// The gRPC edge maps every internal status once (broker/api/status_mapping.h):
// client-meant codes pass through with their messages; failures and
// backend text are redacted to a fixed message with a logged reference.
#include "broker/api/status_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "broker/api/authorizer.h"
#include "broker/common/client_facing_status.h"
#include "broker/common/field_violations.h"
#include "broker/common/logging.h"
#include "broker/store/sqlite/sqlite_db.h"
#include "broker/store_errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "spdlog/sinks/ostream_sink.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Every canonical code but OK: what the client gets, and whether the
// message is replaced by a fixed one with a reference.
struct Row {
  absl::StatusCode in;
  grpc::StatusCode out;
  bool redacted;
};

constexpr Row kTable[] = {
    {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED, false},
    {absl::StatusCode::kUnknown, grpc::StatusCode::INTERNAL, true},
    {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT, false},
    {absl::StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED, false},
    {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND, false},
    {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS, false},
    {absl::StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED, false},
    {absl::StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED, false},
    {absl::StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION, false},
    {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED, false},
    {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE, false},
    {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED, false},
    {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL, true},
    {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE, true},
    {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS, true},
    {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED, false},
};

// The fixed message a client gets for a redacted status of `code`.
std::string FixedMessageFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INTERNAL: return "internal error";
    case grpc::StatusCode::UNAVAILABLE: return "the broker is temporarily unavailable; retry later";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "the broker's storage is full; retry later";
    case grpc::StatusCode::ALREADY_EXISTS: return "this record already exists";
    case grpc::StatusCode::DATA_LOSS:
      return "stored data this request needs is damaged and cannot be read; give the "
             "reference to the broker's operator";
    default: return "the request could not be completed";
  }
}

// The reference in a redacted message, or "" if the message is not
// exactly "<fixed message>; reference <12 hex digits>".
std::string ReferenceIn(const grpc::Status& status) {
  static const std::regex kShape("^(.*); reference ([0-9a-f]{12})$");
  std::smatch match;
  const std::string& message = status.error_message();
  if (!std::regex_match(message, match, kShape)) return "";
  if (match[1].str() != FixedMessageFor(status.error_code())) return "";
  return match[2].str();
}

class StatusMappingTest : public ::testing::Test {
 protected:
  StatusMappingTest()
      : logger_(Logger("api")), sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)) {
    logger_->sinks().push_back(sink_);
  }
  ~StatusMappingTest() override { logger_->sinks().pop_back(); }

  std::string LogText() {
    logger_->flush();
    return log_.str();
  }

  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST_F(StatusMappingTest, TableCoversEveryCanonicalCode) {
  std::set<absl::StatusCode> covered;
  for (const Row& row : kTable) covered.insert(row.in);
  for (int code = 1; code <= 16; ++code) {
    EXPECT_TRUE(covered.count(static_cast<absl::StatusCode>(code))) << code;
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST_F(StatusMappingTest, EveryCodeMapsAsTheTableSays) {
  for (const Row& row : kTable) {
    const std::string original = "table.column says \"why\" for " +
                                 absl::StatusCodeToString(row.in);
    const grpc::Status mapped = ToGrpcStatus(absl::Status(row.in, original));
    EXPECT_EQ(mapped.error_code(), row.out) << absl::StatusCodeToString(row.in);
    EXPECT_TRUE(mapped.error_details().empty()) << absl::StatusCodeToString(row.in);
    if (!row.redacted) {
      EXPECT_EQ(mapped.error_message(), original);
      continue;
    }
    const std::string reference = ReferenceIn(mapped);
    ASSERT_FALSE(reference.empty()) << absl::StatusCodeToString(row.in) << ": "
                                    << mapped.error_message();
    EXPECT_THAT(mapped.error_message(), Not(HasSubstr("table.column")));
    // The log line ties the reference to the original code and message,
    // with quotes made safe for the JSON-lines log.
    const std::string log = LogText();
    EXPECT_THAT(log, HasSubstr("reference=" + reference + " code=" +
                               absl::StatusCodeToString(row.in)));
    EXPECT_THAT(log, HasSubstr("message='table.column says 'why' for "));
  }
}

TEST_F(StatusMappingTest, BackendTextIsRedactedWhateverItsCode) {
  for (const Row& row : kTable) {
    const absl::Status backend = BackendError(row.in, "sqlite step: UNIQUE constraint failed: "
                                                      "supplements.supplement_id", "sqlite");
    const grpc::Status mapped = ToGrpcStatus(backend);
    EXPECT_EQ(mapped.error_code(), row.out) << absl::StatusCodeToString(row.in);
    const std::string reference = ReferenceIn(mapped);
    ASSERT_FALSE(reference.empty()) << absl::StatusCodeToString(row.in) << ": "
                                    << mapped.error_message();
    EXPECT_THAT(mapped.error_message(), Not(HasSubstr("sqlite")));
    EXPECT_THAT(LogText(), HasSubstr("reference=" + reference));
  }
}

TEST_F(StatusMappingTest, FullDiskStaysResourceExhaustedButRateLimitsKeepTheirWords) {
  const grpc::Status full = ToGrpcStatus(BackendError(
      absl::StatusCode::kResourceExhausted, "sqlite step: database or disk is full", "sqlite"));
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(full.error_message(), HasSubstr("storage is full; retry later; reference "));

  const grpc::Status limited = ToGrpcStatus(
      absl::ResourceExhaustedError("rate limit: at most 20 calls per second; retry later"));
  EXPECT_EQ(limited.error_message(), "rate limit: at most 20 calls per second; retry later");
}

// Verifies the drain's refusal reaches the client in its own words
// (UNAVAILABLE is otherwise always redacted), and that the mark cannot
// carry a backend's text out.
TEST_F(StatusMappingTest, AStatusWrittenForTheClientKeepsItsWordsButBackendTextNever) {
  const grpc::Status draining = ToGrpcStatus(ShuttingDown());
  EXPECT_EQ(draining.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(draining.error_message(), "the broker is shutting down; retry on another replica");

  const grpc::Status backend = ToGrpcStatus(WrittenForClient(
      BackendError(absl::StatusCode::kUnavailable, "sqlite step: database is locked", "sqlite")));
  EXPECT_EQ(backend.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(backend.error_message(), Not(HasSubstr("sqlite")));
  EXPECT_FALSE(ReferenceIn(backend).empty());
}

TEST_F(StatusMappingTest, EachRedactionGetsItsOwnReference) {
  std::set<std::string> references;
  for (int i = 0; i < 20; ++i) {
    references.insert(ReferenceIn(ToGrpcStatus(absl::InternalError("the same message"))));
  }
  EXPECT_EQ(references.size(), 20u);
  EXPECT_FALSE(references.count(""));
}

TEST_F(StatusMappingTest, NonCanonicalCodeIsRedactedAsInternal) {
  const grpc::Status mapped = ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(99), "x"));
  EXPECT_EQ(mapped.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_FALSE(ReferenceIn(mapped).empty()) << mapped.error_message();
}

TEST_F(StatusMappingTest, CarriesFieldViolationsAsBadRequestDetails) {
  const absl::Status invalid = InvalidArgumentWithViolations(
      "2 problems", {{"child.town", "is unknown"}, {"receivedAt", "is in the future"}});
  const grpc::Status mapped = ToGrpcStatus(invalid);
  EXPECT_EQ(mapped.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(mapped.error_message(), invalid.message());
  EXPECT_THAT(mapped.error_message(), HasSubstr("2 problems"));
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(mapped.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(details.message(), invalid.message());
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 2);
  EXPECT_EQ(bad_request.field_violations(0).field(), "child.town");
  EXPECT_EQ(bad_request.field_violations(1).description(), "is in the future");
}

TEST_F(StatusMappingTest, RedactedStatusKeepsNoDetails) {
  const absl::Status violations =
      InvalidArgumentWithViolations("1 problem", {{"child.town", "is unknown"}});
  absl::Status internal = absl::InternalError("copied");
  violations.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    internal.SetPayload(url, payload);
  });
  ASSERT_TRUE(BadRequestOf(internal).has_value());
  const grpc::Status mapped = ToGrpcStatus(internal);
  EXPECT_EQ(mapped.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_TRUE(mapped.error_details().empty());
}

// Verifies the path end to end: a real SQLite key collision reaches a client
// as ALREADY_EXISTS without SQLite's words.
TEST_F(StatusMappingTest, RealSqliteErrorReachesTheClientWithoutItsText) {
  hart::testing::TempDir dir;
  auto db = sqlite::SqliteDb::Open(dir.path() + "/edge.db", /*read_only=*/false);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (id TEXT PRIMARY KEY)").ok());
  ASSERT_TRUE((*db)->Exec("INSERT INTO t VALUES ('a')").ok());
  const absl::Status collision = (*db)->Exec("INSERT INTO t VALUES ('a')");
  ASSERT_EQ(collision.code(), absl::StatusCode::kAlreadyExists) << collision;

  const grpc::Status mapped = ToGrpcStatus(collision);
  EXPECT_EQ(mapped.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  const std::string reference = ReferenceIn(mapped);
  ASSERT_FALSE(reference.empty()) << mapped.error_message();
  EXPECT_THAT(mapped.error_message(), Not(HasSubstr("UNIQUE")));
  EXPECT_THAT(mapped.error_message(), Not(HasSubstr("t.id")));
  const std::string log = LogText();
  EXPECT_THAT(log, HasSubstr("reference=" + reference + " code=ALREADY_EXISTS "
                             "client_code=ALREADY_EXISTS backend=sqlite"));
  EXPECT_THAT(log, HasSubstr("UNIQUE constraint failed: t.id"));
}

}  // namespace
}  // namespace hart
