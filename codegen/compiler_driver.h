// Runs the system C++ compiler on generated source: a child process with a
// timeout and resource limits, diagnostics captured.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sejits::codegen {

struct CompilerConfig {
  std::string compiler = "g++";
  std::vector<std::string> flags = {"-O3", "-march=native", "-fopenmp", "-fPIC", "-shared",
                                    "-fno-math-errno", "-ffp-contract=off", "-fwrapv", "-fvisibility=hidden"};
  std::vector<std::string> link_flags = {"-lmvec", "-lm"};
  std::filesystem::path include_dir;  // holds sejits/kernel_runtime.h
  absl::Duration timeout = absl::Seconds(120);
  uint64_t memory_limit_bytes = uint64_t{4} << 30;
  // Compiles are background work (clients run a kernel's NumPy form, or the
  // default variant, meanwhile): the compiler yields the CPU to the programs
  // that use the kernels.
  int niceness = 10;
};

struct CompiledObject {
  std::filesystem::path path;  // the shared object, inside the work directory
  std::string diagnostics;     // compiler output (warnings)
  double seconds = 0;
};

// Compiles `source` into a shared object under `work_dir` (created, owned by
// the caller). A compiler failure returns INTERNAL with the diagnostics, a
// timeout DEADLINE_EXCEEDED, a full disk or the file size limit (the source's
// write, or the compiler saying so) RESOURCE_EXHAUSTED. A compiler killed by
// someone else's SIGKILL is run once more.
// `libraries`: what this kernel links beyond the config's link flags
// (e.g. -lOpenCL).
absl::StatusOr<CompiledObject> compile_shared_object(const CompilerConfig &config,
                                                     const std::string &source,
                                                     const std::filesystem::path &work_dir,
                                                     const std::vector<std::string> &libraries = {});

// What identifies the compiler for cache keys: its path, its version banner,
// the flags, and the host CPU that -march=native resolves to.
std::string compiler_identity(const CompilerConfig &config);

// Digest of the kernel ABI and runtime headers embedded in the daemon.
std::string runtime_headers_digest();

// Writes the kernel ABI and runtime headers (embedded in the daemon) under
// `include_dir`/sejits/, atomically. Returns a digest of their contents.
absl::StatusOr<std::string> install_runtime_headers(const std::filesystem::path &include_dir);

}  // namespace sejits::codegen
