#include "specializers/platforms.h"

#include "absl/strings/str_cat.h"

namespace sejits::specializers {

absl::StatusOr<Platform> parse_platform(const std::string &name) {
  if (name == kCpuOpenMpPlatform) return Platform::kCpuOpenMp;
  if (name == kOpenClPlatform) return Platform::kOpenCl;
  if (name == kNumpyPlatform) return Platform::kNumpy;
  return absl::InvalidArgumentError(absl::StrCat("unknown target platform '", name.substr(0, 64), "' (known: ",
                                                 kCpuOpenMpPlatform, ", ", kOpenClPlatform, ", ", kNumpyPlatform, ")"));
}

}  // namespace sejits::specializers
