#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace sejits::server::rpc {

// The one place an absl::Status becomes a grpc::Status.
grpc::Status to_grpc_status(const absl::Status &status);

}  // namespace sejits::server::rpc
