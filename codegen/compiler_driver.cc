#include "codegen/compiler_driver.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "codegen/atomic_file.h"
#include "codegen/host_platform.h"
#include "codegen/runtime_headers.h"
#include "codegen/sha256.h"
#include "codegen/subprocess.h"
#include "spdlog/spdlog.h"

namespace sejits::codegen {
namespace {

// What the compiler (or the tools it runs) print when the artifact does not
// fit: the disk or quota is full, or the file size limit (RLIMIT_FSIZE) is hit.
constexpr const char *kOutOfSpaceMessages[] = {"No space left on device", "Disk quota exceeded", "File too large",
                                               "File size limit exceeded"};

// The first line of the compiler's output that says it ran out of space, if any.
std::optional<std::string> out_of_space_line(const ProcessResult &result) {
  if (result.exit_code == -SIGXFSZ) return std::string("killed by SIGXFSZ (file size limit exceeded)");
  for (absl::string_view line : absl::StrSplit(result.output, '\n')) {
    for (const char *message : kOutOfSpaceMessages) {
      if (absl::StrContains(line, message)) return std::string(line.substr(0, 400));
    }
  }
  return std::nullopt;
}

// What the compiler (or the loader starting one of its programs) prints when
// its address space limit (RLIMIT_AS, --compile_memory_bytes) is reached.
constexpr const char *kOutOfMemoryMessages[] = {"virtual memory exhausted", "out of memory", "Cannot allocate memory",
                                                "failed to map segment", "std::bad_alloc"};

std::optional<std::string> out_of_memory_line(const ProcessResult &result) {
  for (absl::string_view line : absl::StrSplit(result.output, '\n')) {
    for (const char *message : kOutOfMemoryMessages) {
      if (absl::StrContains(line, message)) return std::string(line.substr(0, 400));
    }
  }
  return std::nullopt;
}

// A compiler killed by someone else's SIGKILL (an operator, the OOM killer,
// a test): g++ itself, or one of its programs as g++ reports it.
bool killed_from_outside(const ProcessResult &result) {
  return result.exit_code == -SIGKILL || absl::StrContains(result.output, "Killed signal terminated program");
}

absl::Status write_source(const std::filesystem::path &path, const std::string &source) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  size_t written = 0;
  while (fd >= 0 && written < source.size()) {
    ssize_t n = write(fd, source.data() + written, source.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    written += static_cast<size_t>(n);
  }
  if (fd >= 0 && written == source.size()) {
    close(fd);
    return absl::OkStatus();
  }
  const int error = errno;
  if (fd >= 0) close(fd);
  std::string message = absl::StrCat("cannot write the kernel source ", path.string(), ": ", strerror(error));
  if (error == ENOSPC || error == EDQUOT || error == EFBIG) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

}  // namespace

absl::StatusOr<CompiledObject> compile_shared_object(const CompilerConfig &config,
                                                     const std::string &source,
                                                     const std::filesystem::path &work_dir,
                                                     const std::vector<std::string> &libraries) {
  std::filesystem::path source_path = work_dir / "kernel.cc";
  std::filesystem::path object_path = work_dir / "kernel.so";
  if (absl::Status written = write_source(source_path, source); !written.ok()) return written;
  std::vector<std::string> argv = {config.compiler};
  argv.insert(argv.end(), config.flags.begin(), config.flags.end());
  argv.push_back("-I" + config.include_dir.string());
  argv.push_back(source_path.string());
  argv.push_back("-o");
  argv.push_back(object_path.string());
  argv.insert(argv.end(), config.link_flags.begin(), config.link_flags.end());
  argv.insert(argv.end(), libraries.begin(), libraries.end());

  absl::Time start = absl::Now();
  auto result = run_process(argv, ProcessLimits{config.timeout, config.memory_limit_bytes, config.niceness});
  if (result.ok() && result->exit_code != 0 && killed_from_outside(*result)) {
    // Not the code's fault, and maybe a one-off: compile once more (a second
    // kill is the answer). The partial output is overwritten.
    spdlog::warn("compiler: {} was killed by SIGKILL from outside; compiling {} once more", config.compiler,
                 source_path.string());
    result = run_process(argv, ProcessLimits{config.timeout, config.memory_limit_bytes, config.niceness});
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    if (std::optional<std::string> line = out_of_space_line(*result)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "out of disk space (or over the file size limit) while compiling into ", work_dir.string(), ": ",
          *line));
    }
    if (std::optional<std::string> line = out_of_memory_line(*result); line && config.memory_limit_bytes > 0) {
      return absl::ResourceExhaustedError(absl::StrCat("the compiler ran out of memory under its limit of ",
                                                       config.memory_limit_bytes, " bytes (--compile_memory_bytes): ",
                                                       *line));
    }
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

std::string runtime_headers_digest() {
  TaggedHasher hasher;
  for (const auto &header : runtime_headers()) hasher.add(header.name, header.text);
  return hasher.hex_digest();
}

absl::StatusOr<std::string> install_runtime_headers(const std::filesystem::path &include_dir) {
  std::filesystem::path header_dir = include_dir / "sejits";
  std::error_code error;
  std::filesystem::create_directories(header_dir, error);
  if (error) return absl::InternalError(absl::StrCat("mkdir ", header_dir.string(), ": ", error.message()));
  for (const auto &header : runtime_headers()) {
    auto existing = read_file(header_dir / header.name);
    if (existing.ok() && *existing == header.text) continue;
    if (absl::Status written = write_file_atomically(header_dir / header.name, header.text);
        !written.ok()) {
      return written;
    }
  }
  return runtime_headers_digest();
}

}  // namespace sejits::codegen
