// A daemon this one forwards its misses to (--upstream): it builds the
// kernel, and this daemon stores the verified artifact and serves it from
// then on. The network side is in rpc/upstream_client.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "specializers/interface.h"
#include "specializers/request.h"

namespace sejits::server {

struct UpstreamBuild {
  std::filesystem::path file;  // the artifact, already checked against `digest`
  std::string digest;
  specializers::KernelInterface interface;
  std::string specializer_version;
  std::string build_identity;  // the upstream's, which the artifact carries
  double compile_seconds = 0;
  std::vector<std::string> notes;
  std::string source;
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  virtual const std::string &address() const = 0;
  // Asks the upstream for exactly this request (tuning off: variant params
  // select the variant) and fetches its artifact into `work_dir`.
  virtual absl::StatusOr<UpstreamBuild> build(const specializers::SpecializationRequest &request, bool want_source,
                                              const std::filesystem::path &work_dir) = 0;
};

}  // namespace sejits::server
