#include "server/core/build_identity.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "codegen/include/sejits/kernel_abi.h"
#include "codegen/sha256.h"
#include "server/version.h"
#include "specializers/registry.h"

namespace sejits::server {

BuildInputs this_daemon_build_inputs(const std::string &compiler_identity, const std::string &runtime_digest) {
  BuildInputs inputs;
  inputs.daemon_version = kSejitsVersion;
  for (const std::string &name : specializers::specializer_names()) {
    inputs.specializers.emplace_back(name, specializers::find_specializer(name)->version());
  }
  inputs.compiler_identity = compiler_identity;
  inputs.runtime_digest = runtime_digest;
  inputs.abi_version = SEJITS_ABI_VERSION;
  return inputs;
}

std::string build_identity(const BuildInputs &inputs) {
  codegen::TaggedHasher hasher;
  hasher.add("daemon_version", inputs.daemon_version);
  std::vector<std::pair<std::string, std::string>> specializers = inputs.specializers;
  std::sort(specializers.begin(), specializers.end());
  for (const auto &[name, version] : specializers) {
    hasher.add("specializer", name);
    hasher.add("specializer_version", version);
  }
  hasher.add("compiler", inputs.compiler_identity);
  hasher.add("abi", absl::StrCat(inputs.abi_version, ":", inputs.runtime_digest));
  return hasher.hex_digest();
}

std::string build_identity_stamp(const std::string &identity) {
  // A hex digest: nothing in it needs escaping.
  return absl::StrCat("\nSEJITS_EXPORT const char sejits_build_identity[] = \"", identity, "\";\n");
}

}  // namespace sejits::server
