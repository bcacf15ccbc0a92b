// Status propagation macros used throughout dnoscope.
//
//   DNS_RETURN_IF_ERROR(expr);          // returns expr's status when not OK
//   DNS_ASSIGN_OR_RETURN(auto x, expr); // unwraps a StatusOr or returns its status
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define DNS_STATUS_CONCAT_INNER_(a, b) a##b
#define DNS_STATUS_CONCAT_(a, b) DNS_STATUS_CONCAT_INNER_(a, b)

#define DNS_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absl::Status dns_status_ = (expr);       \
    if (!dns_status_.ok()) return dns_status_; \
  } while (0)

#define DNS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()

#define DNS_ASSIGN_OR_RETURN(lhs, expr) \
  DNS_ASSIGN_OR_RETURN_IMPL_(DNS_STATUS_CONCAT_(dns_statusor_, __LINE__), lhs, expr)
