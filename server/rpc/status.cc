#include "server/rpc/status.h"

namespace sejits::server::rpc {

grpc::Status to_grpc_status(const absl::Status &status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbers.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace sejits::server::rpc
