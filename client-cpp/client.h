// The C++ client of sejitsd: the same protocol the Python client speaks, for
// C++ programs, tools and tests. Library specializers (no user AST) are
// requested by name with parameters; element-wise kernels with a FunctionAst.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "sejits/v1/specializer.grpc.pb.h"

namespace sejits::client {

class Client {
 public:
  // address: "unix:/path" or "tcp://host:port".
  static absl::StatusOr<std::unique_ptr<Client>> connect(const std::string &address);

  absl::StatusOr<v1::SpecializeResponse> specialize(const v1::SpecializeRequest &request);
  absl::StatusOr<v1::Stats> stats();
  // Streams the artifact into `path` and checks its sha256 against `digest`.
  absl::Status fetch_artifact(const std::string &digest, const std::string &path);
  bool healthy();

 private:
  explicit Client(std::shared_ptr<grpc::Channel> channel);
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Specializer::Stub> stub_;
};

}  // namespace sejits::client
