// Which machine a compile targets. The daemon's own CPU (-march=native) only
// when the worker reported the same CPU features, or reported nothing (a
// local client); otherwise the worker's x86-64 level, tuned generically, so
// that a compile server never hands a worker instructions it lacks.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/host_platform.h"
#include "specializers/request.h"

namespace sejits::server {

struct CompileTarget {
  std::string march;                    // "native", "x86-64-v3", or "" (the compiler's default)
  std::vector<std::string> flags;       // replace -march=native in the compiler flags
  std::string note;                     // for explain(), when not native
};

// FAILED_PRECONDITION when the worker is another architecture or OS.
absl::StatusOr<CompileTarget> choose_compile_target(const specializers::WorkerPlatform &worker,
                                                    const codegen::HostPlatform &host);

// `flags` with -march=native replaced by the target's flags.
std::vector<std::string> flags_for_target(const std::vector<std::string> &flags, const CompileTarget &target);

}  // namespace sejits::server
