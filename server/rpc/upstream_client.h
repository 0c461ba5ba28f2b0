// The upstream daemon of a node daemon (--upstream), over gRPC with the
// node's own token and TLS roots.
#pragma once

#include <memory>
#include <string>

#include "client-cpp/client.h"
#include "server/core/upstream.h"

namespace sejits::server::rpc {

class UpstreamClient final : public Upstream {
 public:
  // address: tcp://host:port (or unix:/path, for tests and local chains).
  static absl::StatusOr<std::unique_ptr<UpstreamClient>> connect(const std::string &address,
                                                                 const client::ConnectOptions &options);

  const std::string &address() const override { return address_; }
  absl::StatusOr<UpstreamBuild> build(const specializers::SpecializationRequest &request, bool want_source,
                                      const std::filesystem::path &work_dir) override;
  // Passes a client's timings on, so that the upstream's tuning database
  // learns from every node.
  absl::Status report_timings(const v1::ReportTimingsRequest &request);

 private:
  UpstreamClient(std::string address, std::unique_ptr<client::Client> client)
      : address_(std::move(address)), client_(std::move(client)) {}
  std::string address_;
  std::unique_ptr<client::Client> client_;
};

}  // namespace sejits::server::rpc
