// Precompiles sejits/kernel_runtime.h, the first include of every generated
// C++ kernel (and of every OpenCL kernel's host code), once per compiler and
// set of flags. g++ then loads the parsed header instead of parsing <math.h>,
// OpenMP and the runtime again: about 0.3 s of an element-wise kernel's
// 0.8 s. The shared object is the same byte for byte.
//
// GCC looks for a directory `kernel_runtime.h.gch/` beside the header and
// uses the first file in it that was built with compatible flags, ignoring
// the others; a missing or failed precompiled header only costs the parse.
// GCC does not check that the header is the one it was built from: the
// include directory is named by the headers' digest (SpecializerCore), so a
// precompiled header always sits beside the text it was made of.
#pragma once

#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "codegen/compiler_driver.h"

namespace sejits::codegen {

class PrecompiledRuntimeHeader {
 public:
  PrecompiledRuntimeHeader() = default;
  ~PrecompiledRuntimeHeader();  // waits for builds in progress
  PrecompiledRuntimeHeader(const PrecompiledRuntimeHeader &) = delete;
  PrecompiledRuntimeHeader &operator=(const PrecompiledRuntimeHeader &) = delete;

  // Starts building the precompiled header for `config` (its compiler,
  // flags and include_dir) in the background, once per process and flags,
  // unless one is there already or the file system has less than 256 MiB
  // free. Never blocks a compile: the kernels compiled meanwhile parse the
  // header as before.
  void prepare(const CompilerConfig &config);

  // Where the precompiled header for `config` is (or will be).
  static std::filesystem::path path_for(const CompilerConfig &config);

 private:
  std::mutex mutex_;
  std::set<std::string> started_;  // path_for of each build started
  std::vector<std::thread> builds_;
};

// Builds the precompiled header for `config` now, atomically (a temporary
// file renamed into place): a failure leaves nothing behind.
absl::Status build_precompiled_runtime_header(const CompilerConfig &config);

}  // namespace sejits::codegen
