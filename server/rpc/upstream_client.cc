#include "server/rpc/upstream_client.h"

#include "absl/strings/str_cat.h"
#include "server/rpc/convert.h"
#include "server/rpc/interface_proto.h"
#include "specializers/common/dtype.h"

namespace sejits::server::rpc {
namespace {

// The upstream's answer, with its address: the node's client should know
// which daemon refused, and UNAVAILABLE must stay UNAVAILABLE.
absl::Status from_upstream(const std::string &address, const absl::Status &status) {
  return absl::Status(status.code(), absl::StrCat("upstream ", address, ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<UpstreamClient>> UpstreamClient::connect(const std::string &address,
                                                                         const client::ConnectOptions &options) {
  auto client = client::Client::connect(address, options);
  if (!client.ok()) return client.status();
  return std::unique_ptr<UpstreamClient>(new UpstreamClient(address, std::move(*client)));
}

absl::StatusOr<UpstreamBuild> UpstreamClient::build(const specializers::SpecializationRequest &request, bool want_source,
                                                    const std::filesystem::path &work_dir) {
  v1::SpecializeRequest forwarded = to_proto(request);
  forwarded.mutable_options()->set_want_source(want_source);
  auto response = client_->specialize(forwarded);
  if (!response.ok()) return from_upstream(address_, response.status());
  absl::StatusOr<specializers::KernelInterface> interface = from_proto(response->interface());
  if (!interface.ok() || interface->entries.empty()) {
    return absl::DataLossError(absl::StrCat("upstream ", address_, " answered no usable interface",
                                            interface.ok() ? "" : absl::StrCat(": ", interface.status().message())));
  }
  UpstreamBuild build;
  build.file = work_dir / "upstream.so";
  build.digest = response->artifact_digest();
  if (absl::Status fetched = client_->fetch_artifact(build.digest, build.file.string()); !fetched.ok()) {
    return from_upstream(address_, fetched);
  }
  build.interface = std::move(*interface);
  build.specializer_version = response->specializer_version();
  build.build_identity = response->build_identity();
  build.compile_seconds = response->compile_seconds();
  build.notes.assign(response->notes().begin(), response->notes().end());
  build.source = response->source();
  return build;
}

absl::Status UpstreamClient::report_timings(const v1::ReportTimingsRequest &request) {
  auto plan = client_->report_timings(request);
  return plan.ok() ? absl::OkStatus() : from_upstream(address_, plan.status());
}

}  // namespace sejits::server::rpc
