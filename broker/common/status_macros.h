// Early-return helpers for absl::Status / absl::StatusOr.
#pragma once

#include <utility>

#include "absl/status/status.h"

#define HART_STATUS_CONCAT_INNER(a, b) a##b
#define HART_STATUS_CONCAT(a, b) HART_STATUS_CONCAT_INNER(a, b)

// Declares `lhs` from the value of a StatusOr expression, or returns its
// error from the enclosing function.
#define HART_ASSIGN_OR_RETURN(lhs, expr)                              \
  auto HART_STATUS_CONCAT(lhs, _or) = (expr);                         \
  if (!HART_STATUS_CONCAT(lhs, _or).ok()) return HART_STATUS_CONCAT(lhs, _or).status(); \
  auto lhs = std::move(*HART_STATUS_CONCAT(lhs, _or))

#define HART_RETURN_IF_ERROR(expr)                         \
  do {                                                     \
    if (absl::Status _hart_s = (expr); !_hart_s.ok()) return _hart_s; \
  } while (0)
