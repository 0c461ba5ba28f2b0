// The precompiled kernel_runtime.h: g++ uses it for a generated kernel (its
// -H trace names the .gch with "!"), the shared object is the one a plain
// compile gives, and a failed build leaves nothing g++ could pick up.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "codegen/compiler_driver.h"
#include "codegen/precompiled_header.h"
#include "codegen/subprocess.h"
#include "temp_dir.h"

namespace sejits::codegen {
namespace {

constexpr const char *kKernel = R"(#include "sejits/kernel_runtime.h"
SEJITS_EXPORT int32_t sejits_abi_version(void) { return SEJITS_ABI_VERSION; }
SEJITS_EXPORT double twice_sqrt(double x) { return 2.0 * sqrt(x); }
)";

std::string file_bytes(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

CompilerConfig config_in(const std::filesystem::path &root) {
  CompilerConfig config;
  config.include_dir = root / "include";
  REQUIRE(install_runtime_headers(config.include_dir).ok());
  return config;
}

TEST_CASE("g++ uses the precompiled runtime header, and the kernel is the same", "[precompiled_header]") {
  testing::TempDir root;
  CompilerConfig config = config_in(root.path());
  std::filesystem::create_directories(root.path() / "plain");
  auto plain = compile_shared_object(config, kKernel, root.path() / "plain");
  REQUIRE(plain.ok());

  REQUIRE(build_precompiled_runtime_header(config).ok());
  const std::filesystem::path gch = PrecompiledRuntimeHeader::path_for(config);
  REQUIRE(std::filesystem::exists(gch));
  std::filesystem::create_directories(root.path() / "with");
  auto with = compile_shared_object(config, kKernel, root.path() / "with");
  REQUIRE(with.ok());
  CHECK(file_bytes(with->path) == file_bytes(plain->path));

  // -H lists the headers read; "! path" is a precompiled header used.
  std::vector<std::string> argv = {config.compiler};
  argv.insert(argv.end(), config.flags.begin(), config.flags.end());
  argv.insert(argv.end(), {"-H", "-fsyntax-only", "-I" + config.include_dir.string(),
                            (root.path() / "with" / "kernel.cc").string()});
  auto trace = run_process(argv, ProcessLimits{});
  REQUIRE(trace.ok());
  CHECK(trace->output.find("! " + gch.string()) != std::string::npos);
}

TEST_CASE("a precompiled header is keyed by compiler and flags, and a failed build leaves nothing", "[precompiled_header]") {
  testing::TempDir root;
  CompilerConfig config = config_in(root.path());
  CompilerConfig other_flags = config;
  other_flags.flags.push_back("-DSOMETHING_ELSE");
  CHECK(PrecompiledRuntimeHeader::path_for(config) != PrecompiledRuntimeHeader::path_for(other_flags));
  CompilerConfig with_shared_dropped = config;
  std::erase(with_shared_dropped.flags, std::string("-shared"));
  CHECK(PrecompiledRuntimeHeader::path_for(config) == PrecompiledRuntimeHeader::path_for(with_shared_dropped));

  CompilerConfig broken = config;
  broken.flags.push_back("-fno-such-flag-for-sejits");
  CHECK_FALSE(build_precompiled_runtime_header(broken).ok());
  const std::filesystem::path gch_dir = PrecompiledRuntimeHeader::path_for(broken).parent_path();
  CHECK(std::filesystem::is_empty(gch_dir));
  for (const auto &entry : std::filesystem::directory_iterator(config.include_dir / "sejits")) {
    CHECK(entry.path().extension() != ".partial");
  }
}

TEST_CASE("prepare builds in the background, once", "[precompiled_header]") {
  testing::TempDir root;
  CompilerConfig config = config_in(root.path());
  {
    PrecompiledRuntimeHeader precompiled;
    precompiled.prepare(config);
    precompiled.prepare(config);
  }  // the destructor waits for the build
  CHECK(std::filesystem::exists(PrecompiledRuntimeHeader::path_for(config)));
}

}  // namespace
}  // namespace sejits::codegen
