// hartctl's CallPaced: a call refused for the certificate's rate limit is
// made again after a pause, any other answer is returned as it is.
#include <gtest/gtest.h>

#include "broker/cli/cli_connection.h"

namespace hart::cli {
namespace {

TEST(CallPacedTest, ARateLimitedCallIsMadeAgainUntilItIsAnswered) {
  int calls = 0;
  const grpc::Status status = CallPaced([&](grpc::ClientContext& context) {
    EXPECT_NE(context.deadline(), std::chrono::system_clock::time_point::max())
        << "every attempt carries the --timeout deadline";
    return ++calls < 3 ? grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                      "rate limit: at most 5 calls a second per certificate; "
                                      "slow down and retry")
                       : grpc::Status::OK;
  });
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(calls, 3);
}

TEST(CallPacedTest, OtherRefusalsAreReturnedAtOnce) {
  for (const grpc::Status& answer :
       {grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "message larger than max"),
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "the broker is shutting down"),
        grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "rate limit")}) {
    int calls = 0;
    const grpc::Status status = CallPaced([&](grpc::ClientContext&) {
      ++calls;
      return answer;
    });
    EXPECT_EQ(status.error_code(), answer.error_code());
    EXPECT_EQ(status.error_message(), answer.error_message());
    EXPECT_EQ(calls, 1) << answer.error_message();
  }
}

}  // namespace
}  // namespace hart::cli
