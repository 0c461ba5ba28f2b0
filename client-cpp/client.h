// The C++ client of sejitsd: the same protocol the Python client speaks, for
// C++ programs, tools and tests. Library specializers (no user AST) are
// requested by name with parameters; element-wise kernels with a FunctionAst.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sejits/v1/specializer.grpc.pb.h"

namespace sejits::client {

struct ConnectOptions {
  std::string token;        // sent as "authorization: Bearer <token>"
  std::string tls_ca_file;  // PEM roots: connect with TLS, verifying the daemon against them
  absl::Duration deadline = absl::Minutes(5);  // of every call
};

class Client {
 public:
  // address: "unix:/path" or "tcp://host:port".
  static absl::StatusOr<std::unique_ptr<Client>> connect(const std::string &address, const ConnectOptions &options = {});

  absl::StatusOr<v1::SpecializeResponse> specialize(const v1::SpecializeRequest &request);
  absl::StatusOr<v1::TuningPlan> report_timings(const v1::ReportTimingsRequest &request);
  absl::StatusOr<v1::Stats> stats();
  // Streams the artifact into `path` and checks its sha256 against `digest`.
  absl::Status fetch_artifact(const std::string &digest, const std::string &path);
  bool healthy();

 private:
  Client(std::shared_ptr<grpc::Channel> channel, ConnectOptions options);
  // A context carrying the token and the deadline.
  std::unique_ptr<grpc::ClientContext> context() const;

  std::shared_ptr<grpc::Channel> channel_;
  ConnectOptions options_;
  std::unique_ptr<v1::Specializer::Stub> stub_;
};

}  // namespace sejits::client
