// The daemon's build identity: one digest over everything that decides which
// artifact it builds for a request, so that a client can tell whether a
// handle it remembers is one this daemon would serve today.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace sejits::server {

struct BuildInputs {
  std::string daemon_version;
  std::vector<std::pair<std::string, std::string>> specializers;  // name, version()
  std::string compiler_identity;  // compiler, version banner, flags, host CPU (as in request keys)
  std::string runtime_digest;     // kernel ABI + runtime headers (as in request keys)
  int abi_version = 0;
};

// The inputs of this process: its version, every registered specializer,
// and the given compiler identity and runtime digest.
BuildInputs this_daemon_build_inputs(const std::string &compiler_identity, const std::string &runtime_digest);

// A hex sha256 over tagged fields; the specializers' order does not matter.
std::string build_identity(const BuildInputs &inputs);

// C++ source that embeds `identity` in an artifact as the exported string
// `sejits_build_identity`: the artifact says which daemon build made it, and
// two builds with different identities never share an artifact digest.
std::string build_identity_stamp(const std::string &identity);

}  // namespace sejits::server
