// gtest assertions on absl::Status and absl::StatusOr, for the conformance
// suite (this absl has no status matchers of its own).
#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hart::conformance {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// The value of `result`; if it is an error, records a test failure (at the
// caller's line) and returns a default value, so an expectation can read a
// result without crashing the test binary. Used through MUST(), which passes
// the caller's line: clang 14 with libstdc++ 12 has no std::source_location.
template <typename T>
T MustAt(absl::StatusOr<T> result, const char* file, int line) {
  if (result.ok()) return *std::move(result);
  ADD_FAILURE_AT(file, line) << result.status();
  return T{};
}

}  // namespace hart::conformance

#define HART_CONFORMANCE_CONCAT_INNER(a, b) a##b
#define HART_CONFORMANCE_CONCAT(a, b) HART_CONFORMANCE_CONCAT_INNER(a, b)

#define EXPECT_OK(expr)                                                    \
  do {                                                                     \
    const absl::Status _hart_status = ::hart::conformance::StatusOf(expr); \
    EXPECT_TRUE(_hart_status.ok()) << _hart_status;                        \
  } while (0)
#define ASSERT_OK(expr)                                                    \
  do {                                                                     \
    const absl::Status _hart_status = ::hart::conformance::StatusOf(expr); \
    ASSERT_TRUE(_hart_status.ok()) << _hart_status;                        \
  } while (0)

// Declares `lhs` from the value of a StatusOr, or fails the test.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  HART_ASSERT_OK_AND_ASSIGN_IMPL(HART_CONFORMANCE_CONCAT(_hart_status_or_, __LINE__), lhs, expr)
#define HART_ASSERT_OK_AND_ASSIGN_IMPL(status_or, lhs, expr) \
  auto status_or = (expr);                                   \
  ASSERT_TRUE(status_or.ok()) << status_or.status();         \
  lhs = std::move(*status_or)

#define MUST(expr) ::hart::conformance::MustAt((expr), __FILE__, __LINE__)

// The status code of a Status or StatusOr, for EXPECT_EQ against a code.
#define STATUS_CODE(expr) (::hart::conformance::StatusOf(expr).code())
