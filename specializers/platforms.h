// The target platforms a request may name (SpecializeRequest.target.platform),
// defined once for the daemon.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace sejits::specializers {

inline constexpr char kCpuOpenMpPlatform[] = "cpu-openmp";  // C++/OpenMP shared objects (the default)
inline constexpr char kOpenClPlatform[] = "opencl";         // OpenCL C kernels behind a C++ host entry point
// A Python module of vectorized NumPy, printed from the domain IR and answered
// at once: nothing is compiled, stored or tuned. The client runs it while the
// native kernel compiles.
inline constexpr char kNumpyPlatform[] = "numpy";

enum class Platform { kCpuOpenMp, kOpenCl, kNumpy };

// The platform a request names; INVALID_ARGUMENT naming the known ones.
absl::StatusOr<Platform> parse_platform(const std::string &name);

}  // namespace sejits::specializers
