#include "tuner-db/platform.h"

#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "codegen/sha256.h"

namespace sejits::tuner {
namespace {

constexpr size_t kCompilerIdentityChars = 80;

// The value of the first "<field> : value" line of /proc/cpuinfo, or "".
std::string cpuinfo_field(const std::string &cpuinfo, absl::string_view field) {
  size_t line_start = 0;
  while (line_start < cpuinfo.size()) {
    size_t line_end = cpuinfo.find('\n', line_start);
    if (line_end == std::string::npos) line_end = cpuinfo.size();
    absl::string_view line(cpuinfo.data() + line_start, line_end - line_start);
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos && absl::StripAsciiWhitespace(line.substr(0, colon)) == field) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
    line_start = line_end + 1;
  }
  return "";
}

std::string read_cpuinfo() {
  std::ifstream in("/proc/cpuinfo");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

PlatformFingerprint local_platform(const std::string &compiler_identity, const std::string &device) {
  const std::string cpuinfo = read_cpuinfo();
  std::string model = cpuinfo_field(cpuinfo, "model name");
  if (model.empty()) model = "unknown";
  // x86 lists "flags"; ARM lists "Features".
  std::string flags = cpuinfo_field(cpuinfo, "flags");
  if (flags.empty()) flags = cpuinfo_field(cpuinfo, "Features");
  const std::string compiler(absl::StripAsciiWhitespace(compiler_identity.substr(0, compiler_identity.find('\n'))));

  PlatformFingerprint platform;
  platform.description = absl::StrCat("cpu=", model, "; cores=", std::thread::hardware_concurrency(),
                                      "; features=", codegen::sha256_hex(flags).substr(0, 12),
                                      "; compiler=", compiler.substr(0, kCompilerIdentityChars), "; device=", device);
  platform.fingerprint = codegen::sha256_hex(platform.description).substr(0, 16);
  return platform;
}

PlatformFingerprint on_device(const PlatformFingerprint &host, const std::string &device) {
  PlatformFingerprint platform;
  platform.description = absl::StrCat(host.description.substr(0, host.description.rfind("; device=")), "; device=", device);
  platform.fingerprint = codegen::sha256_hex(platform.description).substr(0, 16);
  return platform;
}

}  // namespace sejits::tuner
