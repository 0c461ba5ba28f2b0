// Checks a serialized request against the request limits before protobuf
// parses it. The walk over the wire format is iterative (an explicit stack),
// so a syntax tree nested 100,000 levels deep costs a loop, not the stack;
// protobuf's own recursive parser only runs on requests that passed.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "server/core/limits.h"

namespace sejits::server::rpc {

struct RequestShape {
  int64_t ast_nodes = 0;      // Expr and Stmt messages
  int ast_depth = 0;          // deepest nesting of Expr and Stmt messages
  int message_depth = 0;      // deepest nesting of any message: protobuf's recursion limit for the parse
  int64_t longest_string = 0;
};

// The shape of `bytes` read as a message of `type`, or INVALID_ARGUMENT
// naming the first limit it exceeds (with the kernel's file and line when
// the wire format has them before the offending node) or what is malformed.
absl::StatusOr<RequestShape> measure_request(absl::string_view bytes, const google::protobuf::Descriptor &type,
                                             const RequestLimits &limits);

}  // namespace sejits::server::rpc
