#include "codegen/precompiled_header.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "codegen/sha256.h"
#include "codegen/subprocess.h"
#include "spdlog/spdlog.h"

namespace sejits::codegen {
namespace {

constexpr const char *kHeader = "sejits/kernel_runtime.h";
// A precompiled header takes about 20 MB: it is built only where the cache's
// file system has this much to spare, never taking the room kernels need.
constexpr uintmax_t kMinFreeBytes = uintmax_t{256} << 20;

// The flags that matter for a header: the kernel's, less the link step's.
std::vector<std::string> header_flags(const CompilerConfig &config) {
  std::vector<std::string> flags;
  for (const std::string &flag : config.flags) {
    if (flag != "-shared") flags.push_back(flag);
  }
  return flags;
}

}  // namespace

std::filesystem::path PrecompiledRuntimeHeader::path_for(const CompilerConfig &config) {
  TaggedHasher hasher;
  hasher.add("compiler", config.compiler);
  hasher.add("flags", absl::StrJoin(header_flags(config), " "));
  return config.include_dir / (std::string(kHeader) + ".gch") / (hasher.hex_digest().substr(0, 16) + ".gch");
}

absl::Status build_precompiled_runtime_header(const CompilerConfig &config) {
  const std::filesystem::path target = PrecompiledRuntimeHeader::path_for(config);
  std::error_code error;
  std::filesystem::create_directories(target.parent_path(), error);
  if (error) return absl::InternalError(absl::StrCat("mkdir ", target.parent_path().string(), ": ", error.message()));
  // Built beside the .gch directory, not in it: g++ would try a file half written.
  const std::filesystem::path partial = config.include_dir / "sejits" /
                                        absl::StrCat(".", target.stem().string(), ".", getpid(), ".partial");
  std::vector<std::string> argv = {config.compiler};
  for (const std::string &flag : header_flags(config)) argv.push_back(flag);
  for (const std::string &part : {std::string("-I") + config.include_dir.string(), std::string("-x"),
                                  std::string("c++-header"), (config.include_dir / kHeader).string(),
                                  std::string("-o"), partial.string()}) {
    argv.push_back(part);
  }
  auto result = run_process(argv, ProcessLimits{config.timeout, config.memory_limit_bytes, config.niceness});
  absl::Status status = result.status();
  if (status.ok() && result->exit_code != 0) {
    status = absl::InternalError(absl::StrCat(config.compiler, " exited with ", result->exit_code, ": ",
                                              result->output.substr(0, 1000)));
  }
  if (status.ok()) std::filesystem::rename(partial, target, error);
  if (status.ok() && error) status = absl::InternalError(absl::StrCat("rename into ", target.string(), ": ", error.message()));
  if (!status.ok()) std::filesystem::remove(partial, error);
  return status;
}

void PrecompiledRuntimeHeader::prepare(const CompilerConfig &config) {
  const std::filesystem::path path = path_for(config);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started_.insert(path.string()).second) return;
  std::error_code ignored;
  if (std::filesystem::exists(path, ignored)) return;
  const std::filesystem::space_info space = std::filesystem::space(config.include_dir, ignored);
  if (ignored || space.available < kMinFreeBytes) {
    spdlog::info("compiler: {} is not precompiled: less than {} MiB free under {}", kHeader, kMinFreeBytes >> 20,
                 config.include_dir.string());
    return;
  }
  builds_.emplace_back([config, path] {
    absl::Time start = absl::Now();
    absl::Status built = build_precompiled_runtime_header(config);
    if (built.ok()) {
      spdlog::info("compiler: precompiled {} as {} in {:.3f}s", kHeader, path.string(),
                   absl::ToDoubleSeconds(absl::Now() - start));
    } else {
      spdlog::warn("compiler: could not precompile {} (kernels parse it each time): {}", kHeader,
                   std::string(built.message()));
    }
  });
}

PrecompiledRuntimeHeader::~PrecompiledRuntimeHeader() {
  for (std::thread &build : builds_) build.join();
}

}  // namespace sejits::codegen
