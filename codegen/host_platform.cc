#include "codegen/host_platform.h"

#include <gnu/libc-version.h>
#include <sys/utsname.h>

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "codegen/include/sejits/worker_platform.h"
#include "codegen/sha256.h"

namespace sejits::codegen {
namespace {

HostPlatform detect() {
  HostPlatform host;
  struct utsname names;
  if (uname(&names) == 0) {
    host.machine = names.machine;
    host.os = absl::AsciiStrToLower(names.sysname);
  }
  host.libc = absl::StrCat("glibc ", gnu_get_libc_version());
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(cpuinfo, line) && (host.cpu_model.empty() || flags.empty())) {
    if (host.cpu_model.empty() && line.rfind("model name", 0) == 0) host.cpu_model = line;
    if (flags.empty() && sejits_is_cpu_features_line(line.c_str())) flags = line;
  }
  host.cpu_digest = sha256_hex(flags);
  if (host.machine == "x86_64") host.isa_level = x86_64_isa_level(flags);
  return host;
}

}  // namespace

std::string x86_64_isa_level(std::string_view flags_line) {
  return sejits_x86_64_isa_level(std::string(flags_line).c_str());
}

bool is_x86_64_isa_level(const std::string &name) {
  return name.find('\0') == std::string::npos && sejits_is_x86_64_level(name.c_str());
}

std::string x86_64_baseline_isa_level() { return SEJITS_X86_64_BASELINE; }

const HostPlatform &host_platform() {
  static const HostPlatform host = detect();
  return host;
}

}  // namespace sejits::codegen
