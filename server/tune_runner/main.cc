// sejits-tune-runner: times one kernel variant on synthetic inputs. The daemon
// runs it as a sandboxed child during offline tuning, so that a variant that
// crashes or hangs takes only this process down.
//
// Its stdout is exactly one line of JSON: {"samples":[seconds,...]} with exit
// code 0, or {"error":"..."} with exit code 1 for a bad command line (flags,
// argument specs, a missing artifact) or 2 when loading or running the kernel
// fails. Whatever the kernel itself prints goes to stderr.
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sejits/kernel_abi.h"
#include "server/tune_runner/arg_spec.h"
#include "server/tune_runner/json_line.h"
#include "server/tune_runner/synthetic_inputs.h"

namespace {

using sejits::tune_runner::ArgSpec;
using sejits::tune_runner::error_json_line;
using sejits::tune_runner::parse_arg_spec;
using sejits::tune_runner::samples_json_line;
using sejits::tune_runner::SyntheticInputs;

constexpr const char *kUsage =
    "usage: sejits-tune-runner --artifact PATH.so --entry SYMBOL --warmup N --samples N [--max_seconds S] ARG...\n"
    "  ARG = array:<dtype>:<d0>x<d1>x...  (C-contiguous, 64-byte aligned, pseudo-random contents;\n"
    "                                      \"array:float64:\" is rank 0)\n"
    "      | scalar:<dtype>:<value>\n"
    "  dtype = bool|int8|int16|int32|int64|uint8|uint16|uint32|uint64|float32|float64\n"
    "  Prints one line of JSON: {\"samples\":[seconds,...]} (exit 0) or {\"error\":\"...\"}\n"
    "  (exit 1: bad command line, 2: the kernel could not be loaded or failed).\n";

constexpr int64_t kMaxSamples = 10'000'000;

enum class ExitCode : int { kSamples = 0, kUsage = 1, kKernel = 2 };

struct Options {
  std::string artifact, entry;
  int64_t warmup = -1, samples = -1;
  double max_seconds = 10;
  std::vector<ArgSpec> args;
};

// Where the JSON line goes: the original stdout. Descriptor 1 is pointed at
// stderr so that a kernel's (or its libraries') printing cannot corrupt it.
int json_fd = STDOUT_FILENO;

void reserve_stdout_for_json() {
  int saved = dup(STDOUT_FILENO);
  if (saved < 0) return;
  if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    close(saved);
    return;
  }
  json_fd = saved;
}

void write_json_line(const std::string &line) {
  std::fflush(stdout);
  const char *data = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t written = write(json_fd, data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    data += written;
    left -= static_cast<size_t>(written);
  }
}

int finish_with_error(ExitCode code, const std::string &message) {
  write_json_line(error_json_line(message));
  return static_cast<int>(code);
}

template <typename T>
std::optional<T> parse_whole(std::string_view text) {
  T value{};
  const char *end = text.data() + text.size();
  auto [stop, failure] = std::from_chars(text.data(), end, value);
  if (text.empty() || failure != std::errc() || stop != end) return std::nullopt;
  return value;
}

std::optional<int64_t> parse_count(std::string_view flag, std::string_view text, int64_t min, int64_t max,
                                   std::string *error) {
  std::optional<int64_t> value = parse_whole<int64_t>(text);
  if (!value || *value < min || *value > max) {
    *error = std::string(flag) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
             "], not \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  return value;
}

// Flags take "--name value" or "--name=value"; everything else is an ARG.
std::optional<Options> parse_command_line(int argc, char **argv, std::string *error) {
  Options options;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (flags_done || !word.starts_with("--")) {
      std::optional<ArgSpec> spec = parse_arg_spec(word, error);
      if (!spec) return std::nullopt;
      options.args.push_back(*spec);
      continue;
    }
    if (word == "--") {
      flags_done = true;
      continue;
    }
    std::string_view name = word, value;
    bool has_value = false;
    if (size_t equals = word.find('='); equals != std::string_view::npos) {
      name = word.substr(0, equals);
      value = word.substr(equals + 1);
      has_value = true;
    }
    if (name != "--artifact" && name != "--entry" && name != "--warmup" && name != "--samples" &&
        name != "--max_seconds") {
      *error = "unknown flag " + std::string(name);
      return std::nullopt;
    }
    if (!has_value) {
      if (i + 1 == argc) {
        *error = std::string(name) + " needs a value";
        return std::nullopt;
      }
      value = argv[++i];
    }
    if (name == "--artifact") {
      options.artifact = value;
    } else if (name == "--entry") {
      options.entry = value;
    } else if (name == "--warmup") {
      std::optional<int64_t> warmup = parse_count(name, value, 0, kMaxSamples, error);
      if (!warmup) return std::nullopt;
      options.warmup = *warmup;
    } else if (name == "--samples") {
      std::optional<int64_t> samples = parse_count(name, value, 1, kMaxSamples, error);
      if (!samples) return std::nullopt;
      options.samples = *samples;
    } else {
      std::optional<double> seconds = parse_whole<double>(value);
      if (!seconds || !std::isfinite(*seconds) || *seconds <= 0) {
        *error = "--max_seconds must be a positive number of seconds, not \"" + std::string(value) + "\"";
        return std::nullopt;
      }
      options.max_seconds = *seconds;
    }
  }
  for (auto [missing, flag] :
       {std::pair{options.artifact.empty(), "--artifact"}, std::pair{options.entry.empty(), "--entry"},
        std::pair{options.warmup < 0, "--warmup"}, std::pair{options.samples < 0, "--samples"}}) {
    if (missing) {
      *error = std::string("missing ") + flag;
      return std::nullopt;
    }
  }
  struct stat info;
  if (stat(options.artifact.c_str(), &info) != 0) {
    *error = "artifact not found: " + options.artifact + " (" + std::strerror(errno) + ")";
    return std::nullopt;
  }
  if (!S_ISREG(info.st_mode)) {
    *error = "artifact is not a regular file: " + options.artifact;
    return std::nullopt;
  }
  return options;
}

// The entry point, or nullopt with `error` set. The artifact stays loaded
// until the process exits.
std::optional<sejits_entry_fn> load_entry(const Options &options, std::string *error) {
  // Without a slash dlopen would search the library path instead of opening the file named.
  std::string path = options.artifact.find('/') == std::string::npos ? "./" + options.artifact : options.artifact;
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    *error = "cannot load artifact " + options.artifact + ": " + dlerror();
    return std::nullopt;
  }
  auto abi_version = reinterpret_cast<sejits_abi_version_fn>(dlsym(handle, SEJITS_ABI_VERSION_SYMBOL));
  if (!abi_version) {
    *error = "artifact " + options.artifact + " does not export " SEJITS_ABI_VERSION_SYMBOL;
    return std::nullopt;
  }
  if (int32_t version = abi_version(); version != SEJITS_ABI_VERSION) {
    *error = "artifact " + options.artifact + " was built for kernel ABI version " + std::to_string(version) +
             ", this runner speaks version " + std::to_string(SEJITS_ABI_VERSION);
    return std::nullopt;
  }
  auto entry = reinterpret_cast<sejits_entry_fn>(dlsym(handle, options.entry.c_str()));
  if (!entry) {
    *error = "artifact " + options.artifact + " has no entry point " + options.entry;
    return std::nullopt;
  }
  return entry;
}

// Runs the warmup calls (for at least 50 ms), then times up to `options.samples` calls, stopping
// once the timed calls have taken more than `options.max_seconds`. Nullopt with
// `error` set if a call fails.
std::optional<std::vector<double>> time_calls(sejits_entry_fn entry, const Options &options,
                                              const std::vector<sejits_arg> &args, std::string *error) {
  char message[4096] = {0};
  const auto nargs = static_cast<int32_t>(args.size());
  const auto describe_failure = [&](int32_t status, std::string_view phase, int64_t call) {
    message[sizeof message - 1] = '\0';  // in case the kernel overran its promise
    *error = "entry " + options.entry + " failed in " + std::string(phase) + " call " + std::to_string(call) +
             " (returned " + std::to_string(status) + "): " + (message[0] ? message : "no message");
  };
  // At least `warmup` calls and, when there is a warm-up at all, at least
  // kMinWarmup of them: a fresh process's first milliseconds (OpenMP's
  // threads starting, pages faulted in) can be several times slower than
  // what follows, for more than a couple of fast calls.
  constexpr auto kMinWarmup = std::chrono::milliseconds(50);
  const auto warmup_began = std::chrono::steady_clock::now();
  for (int64_t call = 0;
       call < options.warmup || (options.warmup > 0 && std::chrono::steady_clock::now() - warmup_began < kMinWarmup);
       ++call) {
    if (int32_t status = entry(args.data(), nargs, message, sizeof message); status != 0) {
      describe_failure(status, "warmup", call);
      return std::nullopt;
    }
  }
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(options.samples));
  double total_seconds = 0;
  for (int64_t call = 0; call < options.samples && total_seconds <= options.max_seconds; ++call) {
    const auto start = std::chrono::steady_clock::now();
    const int32_t status = entry(args.data(), nargs, message, sizeof message);
    const auto stop = std::chrono::steady_clock::now();
    if (status != 0) {
      describe_failure(status, "timed", call);
      return std::nullopt;
    }
    samples.push_back(std::chrono::duration<double>(stop - start).count());
    total_seconds += samples.back();
  }
  return samples;
}

}  // namespace

int main(int argc, char **argv) {
  reserve_stdout_for_json();
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::fputs(kUsage, stderr);
    return finish_with_error(ExitCode::kUsage, "usage requested (--help)");
  }
  std::string error;
  std::optional<Options> options = parse_command_line(argc, argv, &error);
  if (!options) {
    std::fputs(kUsage, stderr);
    return finish_with_error(ExitCode::kUsage, error);
  }
  std::optional<sejits_entry_fn> entry = load_entry(*options, &error);
  if (!entry) return finish_with_error(ExitCode::kKernel, error);
  std::optional<SyntheticInputs> inputs = SyntheticInputs::create(options->args, &error);
  if (!inputs) return finish_with_error(ExitCode::kKernel, error);
  std::optional<std::vector<double>> samples = time_calls(*entry, *options, inputs->descriptors(), &error);
  if (!samples) return finish_with_error(ExitCode::kKernel, error);
  write_json_line(samples_json_line(*samples));
  return static_cast<int>(ExitCode::kSamples);
}
