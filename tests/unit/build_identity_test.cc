// The build identity: a digest over what decides the artifacts a daemon
// builds. It changes with each of those inputs (a specializer's version as
// after an upgrade, the compiler, the runtime headers, the daemon's version)
// and with nothing else (the order the specializers are listed in).
#include <dlfcn.h>

#include <string>

#include <catch2/catch.hpp>

#include "server/core/build_identity.h"
#include "server/core/specializer_core.h"
#include "server/version.h"
#include "specializers/registry.h"
#include "tests/unit/ast_builders.h"
#include "tests/unit/core_fixture.h"
#include "tests/unit/temp_dir.h"

namespace sejits::server {
namespace {

BuildInputs today() {
  BuildInputs inputs;
  inputs.daemon_version = "0.1.0";
  inputs.specializers = {{"elementwise", "elementwise-5"}, {"stencil", "stencil-6"}};
  inputs.compiler_identity = "g++|g++ (Debian 12.2.0-14) 12.2.0|-O3 -march=native|-lm|AMD EPYC|abc";
  inputs.runtime_digest = "runtime-digest";
  inputs.abi_version = 1;
  return inputs;
}

TEST_CASE("the build identity is stable for the same inputs, in any order", "[build_identity]") {
  const std::string identity = build_identity(today());
  CHECK(identity.size() == 64);
  CHECK(identity.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(build_identity(today()) == identity);
  BuildInputs reordered = today();
  std::swap(reordered.specializers[0], reordered.specializers[1]);
  CHECK(build_identity(reordered) == identity);
}

TEST_CASE("the build identity changes with every input", "[build_identity]") {
  const std::string identity = build_identity(today());
  BuildInputs changed = today();
  changed.specializers[1].second = "stencil-7";  // an upgraded specializer
  CHECK(build_identity(changed) != identity);
  changed = today();
  changed.specializers.emplace_back("reduce", "reduce-1");  // a new one
  CHECK(build_identity(changed) != identity);
  changed = today();
  changed.compiler_identity += " -ffast-math";
  CHECK(build_identity(changed) != identity);
  changed = today();
  changed.runtime_digest = "other-runtime";
  CHECK(build_identity(changed) != identity);
  changed = today();
  changed.abi_version = 2;
  CHECK(build_identity(changed) != identity);
  changed = today();
  changed.daemon_version = "0.2.0";
  CHECK(build_identity(changed) != identity);
  // Tags keep fields apart: a name's end cannot pass for its version's start.
  changed = today();
  changed.specializers[0] = {"elementwis", "eelementwise-5"};
  CHECK(build_identity(changed) != identity);
}

TEST_CASE("this daemon's inputs list every registered specializer with its version", "[build_identity]") {
  const BuildInputs inputs = this_daemon_build_inputs("g++|test", "runtime");
  CHECK(inputs.daemon_version == kSejitsVersion);
  REQUIRE(inputs.specializers.size() == specializers::specializer_names().size());
  for (const auto &[name, version] : inputs.specializers) {
    CHECK(version == specializers::find_specializer(name)->version());
  }
  CHECK(!inputs.specializers.empty());
  // The registry is built now: a test-only suffix can no longer change it.
  CHECK(!specializers::set_testing_version_suffix("-late").ok());
}

TEST_CASE("the artifact stamp exports the identity as a C string", "[build_identity]") {
  const std::string identity = build_identity(today());
  CHECK(build_identity_stamp(identity) ==
        "\nSEJITS_EXPORT const char sejits_build_identity[] = \"" + identity + "\";\n");
}

TEST_CASE("a daemon's answers and its artifacts carry its build identity", "[build_identity][specializer_core]") {
  testing::TempDir cache;
  auto core = testing::create_core(cache.path());
  const std::string identity = core->build_identity();
  REQUIRE(identity.size() == 64);
  CHECK(core->stats().build_identity == identity);
  const auto request = testing::elementwise_request(
      testing::lambda({"a"}, testing::add(testing::name("a"), testing::name("a"))),
      {testing::array_of(specializers::DType::kFloat64)});

  auto compiled = core->specialize(request, {});
  REQUIRE(compiled.ok());
  CHECK(compiled->outcome == CacheOutcome::kCompiled);
  CHECK(compiled->build_identity == identity);
  auto hit = core->specialize(request, {});
  REQUIRE(hit.ok());
  CHECK(hit->outcome == CacheOutcome::kHit);
  CHECK(hit->build_identity == identity);
  auto cheap_hit = core->serve_if_cached(request, {});
  REQUIRE(cheap_hit.has_value());
  CHECK(cheap_hit->build_identity == identity);

  // RTLD_NODELETE: the artifact (and the libgomp it brings) stays mapped
  // after dlclose, as in a client; unmapped, what libgomp allocated when it
  // loaded would be unreachable and LeakSanitizer would report it.
  void *library = dlopen(compiled->artifact.path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  REQUIRE(library != nullptr);
  const auto *stamp = static_cast<const char *>(dlsym(library, "sejits_build_identity"));
  REQUIRE(stamp != nullptr);
  CHECK(std::string(stamp) == identity);
  dlclose(library);
}

}  // namespace
}  // namespace sejits::server
