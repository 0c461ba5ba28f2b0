// The machine this process runs on, described the way clients describe the
// machine their kernels will run on (see WorkerPlatform in the protocol), by
// the rules of codegen/include/sejits/worker_platform.h, which the Python
// client uses too.
#pragma once

#include <string>
#include <string_view>

namespace sejits::codegen {

struct HostPlatform {
  std::string machine;     // uname -m
  std::string os;          // "linux"
  std::string libc;        // "glibc 2.36"
  std::string cpu_model;   // /proc/cpuinfo "model name"
  std::string cpu_digest;  // sha256 of /proc/cpuinfo's "flags" (or "Features") line
  std::string isa_level;   // "x86-64-v3"; empty on other machines
};

const HostPlatform &host_platform();

// The highest x86-64 micro-architecture level (x86-64, -v2, -v3, -v4) whose
// features all appear in a /proc/cpuinfo "flags" line.
std::string x86_64_isa_level(std::string_view flags_line);

// Whether `name` is one of those levels.
bool is_x86_64_isa_level(const std::string &name);
// "x86-64": the level every x86-64 CPU has.
std::string x86_64_baseline_isa_level();

}  // namespace sejits::codegen
