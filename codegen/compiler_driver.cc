#include "codegen/compiler_driver.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "codegen/atomic_file.h"
#include "codegen/host_platform.h"
#include "codegen/runtime_headers.h"
#include "codegen/sha256.h"
#include "codegen/subprocess.h"

namespace sejits::codegen {

absl::StatusOr<CompiledObject> compile_shared_object(const CompilerConfig &config,
                                                     const std::string &source,
                                                     const std::filesystem::path &work_dir,
                                                     const std::vector<std::string> &libraries) {
  std::filesystem::path source_path = work_dir / "kernel.cc";
  std::filesystem::path object_path = work_dir / "kernel.so";
  {
    std::ofstream out(source_path, std::ios::binary);
    out << source;
    if (!out) return absl::ResourceExhaustedError(absl::StrCat("cannot write ", source_path.string()));
  }
  std::vector<std::string> argv = {config.compiler};
  argv.insert(argv.end(), config.flags.begin(), config.flags.end());
  argv.push_back("-I" + config.include_dir.string());
  argv.push_back(source_path.string());
  argv.push_back("-o");
  argv.push_back(object_path.string());
  argv.insert(argv.end(), config.link_flags.begin(), config.link_flags.end());
  argv.insert(argv.end(), libraries.begin(), libraries.end());

  absl::Time start = absl::Now();
  auto result = run_process(argv, ProcessLimits{config.timeout, config.memory_limit_bytes});
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(absl::StrCat("compiler exited with ", result->exit_code, ": ",
                                            result->output.substr(0, 4000)));
  }
  return CompiledObject{object_path, result->output, seconds};
}

std::string compiler_identity(const CompilerConfig &config) {
  const HostPlatform &host = host_platform();
  std::string banner = "unknown";
  auto version = run_process({config.compiler, "--version"}, ProcessLimits{absl::Seconds(10), 0});
  if (version.ok() && version->exit_code == 0) {
    banner = version->output.substr(0, version->output.find('\n'));
  }
  return absl::StrCat(config.compiler, "|", banner, "|", absl::StrJoin(config.flags, " "), "|",
                      absl::StrJoin(config.link_flags, " "), "|", host.cpu_model, "|",
                      host.cpu_digest);
}

absl::StatusOr<std::string> install_runtime_headers(const std::filesystem::path &include_dir) {
  std::filesystem::path header_dir = include_dir / "sejits";
  std::error_code error;
  std::filesystem::create_directories(header_dir, error);
  if (error) return absl::InternalError(absl::StrCat("mkdir ", header_dir.string(), ": ", error.message()));
  TaggedHasher hasher;
  for (const auto &header : runtime_headers()) {
    hasher.add(header.name, header.text);
    auto existing = read_file(header_dir / header.name);
    if (existing.ok() && *existing == header.text) continue;
    if (absl::Status written = write_file_atomically(header_dir / header.name, header.text);
        !written.ok()) {
      return written;
    }
  }
  return hasher.hex_digest();
}

}  // namespace sejits::codegen
