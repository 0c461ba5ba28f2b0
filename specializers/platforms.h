// The target platforms a request may name (SpecializeRequest.target.platform).
// Their names are defined once for the daemon and the Python client, in
// codegen/include/sejits/target_platforms.h.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "codegen/include/sejits/target_platforms.h"

namespace sejits::specializers {

inline constexpr char kCpuOpenMpPlatform[] = SEJITS_PLATFORM_CPU_OPENMP;  // the default
inline constexpr char kOpenClPlatform[] = SEJITS_PLATFORM_OPENCL;
inline constexpr char kNumpyPlatform[] = SEJITS_PLATFORM_NUMPY;  // vectorized NumPy, answered at once
inline constexpr char kDefaultPlatform[] = SEJITS_DEFAULT_PLATFORM;

enum class Platform { kCpuOpenMp, kOpenCl, kNumpy };

// The platform a request names; INVALID_ARGUMENT naming the known ones.
absl::StatusOr<Platform> parse_platform(const std::string &name);

}  // namespace sejits::specializers
