#include "server/core/compile_target.h"

#include "absl/strings/str_cat.h"

namespace sejits::server {

absl::StatusOr<CompileTarget> choose_compile_target(const specializers::WorkerPlatform &worker,
                                                    const codegen::HostPlatform &host) {
  if (worker.machine.empty()) return CompileTarget{"native", {"-march=native"}, ""};
  if (worker.machine != host.machine) {
    return absl::FailedPreconditionError(absl::StrCat("this daemon compiles for ", host.machine, " but the worker is ",
                                                      worker.machine.substr(0, 40),
                                                      "; use a compile server of the worker's architecture"));
  }
  if (!worker.os.empty() && worker.os != host.os) {
    return absl::FailedPreconditionError(absl::StrCat("this daemon builds ", host.os, " shared objects but the worker runs ",
                                                      worker.os.substr(0, 40)));
  }
  if (worker.cpu_digest == host.cpu_digest) return CompileTarget{"native", {"-march=native"}, ""};
  if (host.machine != "x86_64") {
    return CompileTarget{"", {}, "compiled for the architecture's baseline (the worker's CPU differs from the daemon's)"};
  }
  std::string level = codegen::is_x86_64_isa_level(worker.isa_level) ? worker.isa_level : codegen::x86_64_baseline_isa_level();
  return CompileTarget{level, {"-march=" + level, "-mtune=generic"},
                       absl::StrCat("compiled for ", level, ", the worker's CPU level (it differs from the daemon's CPU)")};
}

std::vector<std::string> flags_for_target(const std::vector<std::string> &flags, const CompileTarget &target) {
  std::vector<std::string> out;
  for (const std::string &flag : flags) {
    if (flag == "-march=native") {
      out.insert(out.end(), target.flags.begin(), target.flags.end());
    } else {
      out.push_back(flag);
    }
  }
  return out;
}

}  // namespace sejits::server
