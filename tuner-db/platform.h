// The platform fingerprint: what a timing depends on besides the kernel and
// the shapes. Records are only used on the platform they were measured on.
#pragma once

#include <string>

namespace sejits::tuner {

struct PlatformFingerprint {
  std::string fingerprint;  // 16 hex digits of a digest of `description`
  std::string description;  // "cpu=AMD EPYC 7B13; cores=2; features=<digest>; compiler=g++ 12.2; device=none"
};

// This machine's CPU model, logical cores and feature flags (from
// /proc/cpuinfo), with the compiler identity and the device kernels run on.
PlatformFingerprint local_platform(const std::string &compiler_identity, const std::string &device = "none");

// `host` (a local_platform) with the kernels running on `device` instead:
// an OpenCL device's name and driver, as the client describes it.
PlatformFingerprint on_device(const PlatformFingerprint &host, const std::string &device);

}  // namespace sejits::tuner
