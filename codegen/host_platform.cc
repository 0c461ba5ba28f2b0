#include "codegen/host_platform.h"

#include <gnu/libc-version.h>
#include <sys/utsname.h>

#include <fstream>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "codegen/sha256.h"

namespace sejits::codegen {
namespace {

// The psABI levels (x86-64-psABI, "Micro-architecture levels"), in the names
// /proc/cpuinfo uses.
const std::vector<std::pair<std::string, std::vector<std::string>>> &isa_levels() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> levels = {
      {"x86-64-v2", {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"}},
      {"x86-64-v3", {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}},
      {"x86-64-v4", {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}},
  };
  return levels;
}

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
    // x86 names the CPU's features "flags", arm64 "Features" (as the client's _worker_platform.py).
    if (flags.empty() && (line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0)) flags = line;
  }
  host.cpu_digest = sha256_hex(flags);
  if (host.machine == "x86_64") host.isa_level = x86_64_isa_level(flags);
  return host;
}

}  // namespace

std::string x86_64_isa_level(std::string_view flags_line) {
  size_t colon = flags_line.find(':');
  absl::string_view features(flags_line.data(), flags_line.size());
  if (colon != std::string_view::npos) features.remove_prefix(colon + 1);
  std::set<std::string, std::less<>> present;
  for (absl::string_view flag : absl::StrSplit(features, ' ', absl::SkipWhitespace())) present.emplace(flag);
  std::string level = "x86-64";
  for (const auto &[name, required] : isa_levels()) {
    for (const std::string &feature : required) {
      if (!present.count(feature)) return level;
    }
    level = name;
  }
  return level;
}

const HostPlatform &host_platform() {
  static const HostPlatform host = detect();
  return host;
}

}  // namespace sejits::codegen
