#include "server/core/offline_tuning.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/subprocess.h"
#include "server/core/specializer_core.h"
#include "specializers/registry.h"
#include "spdlog/spdlog.h"

namespace sejits::server {
namespace {

constexpr int kMaxRounds = 64;           // a search pass needs far fewer
constexpr int kWarmupCalls = 2;
constexpr double kMaxSecondsPerVariant = 5;
constexpr int64_t kMaxSyntheticBytes = int64_t{4} << 30;

// Seconds from the runner's one line of JSON: {"samples":[...]} or {"error":"..."}.
absl::StatusOr<std::vector<double>> parse_runner_output(const codegen::ProcessResult &result) {
  const std::string &text = result.output;
  size_t samples = text.find("\"samples\":[");
  if (result.exit_code != 0 || samples == std::string::npos) {
    size_t error = text.find("\"error\":\"");
    std::string message = error == std::string::npos ? text.substr(0, 300)
                                                     : text.substr(error + 9, text.find('"', error + 9) - error - 9);
    return absl::InternalError(absl::StrCat("the timing child exited with ", result.exit_code, ": ", message));
  }
  size_t begin = samples + 11, end = text.find(']', begin);
  std::vector<double> seconds;
  for (absl::string_view field : absl::StrSplit(text.substr(begin, end - begin), ',', absl::SkipEmpty())) {
    double value = 0;
    if (!absl::SimpleAtod(field, &value)) return absl::InternalError("the timing child printed an unreadable sample");
    seconds.push_back(value);
  }
  if (seconds.empty()) return absl::InternalError("the timing child printed no samples");
  return seconds;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> runner_arguments(const std::vector<specializers::SyntheticArg> &args) {
  std::vector<std::string> out;
  int64_t total_bytes = 0;
  for (const specializers::SyntheticArg &arg : args) {
    const std::string dtype = specializers::dtype_name(arg.dtype);
    if (arg.kind == specializers::ArgKind::kScalar) {
      out.push_back(absl::StrCat("scalar:", dtype, ":1"));
      continue;
    }
    int64_t elements = 1;
    for (int64_t extent : arg.shape) elements *= extent;
    total_bytes += elements * specializers::itemsize(arg.dtype);
    out.push_back(absl::StrCat("array:", dtype, ":", absl::StrJoin(arg.shape, "x")));
  }
  if (total_bytes > kMaxSyntheticBytes) return absl::ResourceExhaustedError("the synthetic inputs would exceed 4 GiB");
  return out;
}

OfflineTuner::OfflineTuner(TuningCoordinator &coordinator, std::filesystem::path runner, BuildFn build)
    : coordinator_(coordinator), runner_(std::move(runner)), build_(std::move(build)) {}

void OfflineTuner::start(const specializers::SpecializationRequest &request, const TuningAsk &ask,
                         const std::string &kernel_key) {
  const std::string job = kernel_key + "|" + ask.shape_class;
  {
    std::lock_guard lock(mutex_);
    if (failures_.count(job) || !running_.insert(job).second) return;
  }
  jobs_.submit([this, request, ask, kernel_key, job] {
    std::string failure = run(request, ask, kernel_key);
    std::lock_guard lock(mutex_);
    running_.erase(job);
    if (!failure.empty()) failures_[job] = failure;
  });
}

std::optional<std::string> OfflineTuner::failure(const TuningAsk &ask, const std::string &kernel_key) {
  std::lock_guard lock(mutex_);
  auto found = failures_.find(kernel_key + "|" + ask.shape_class);
  if (found == failures_.end()) return std::nullopt;
  return found->second;
}

void OfflineTuner::forget_failures() {
  std::lock_guard lock(mutex_);
  failures_.clear();
}

std::string OfflineTuner::run(const specializers::SpecializationRequest &request, const TuningAsk &ask,
                              const std::string &kernel_key) {
  const specializers::Specializer *specializer = specializers::find_specializer(request.specializer);
  if (!specializer) return "unknown specializer";
  std::vector<VariantTiming> timings;
  for (int round = 0; round < kMaxRounds && !stopping_; ++round) {
    absl::StatusOr<TuningPlan> plan = coordinator_.report(*specializer, request, ask, kernel_key, timings, false);
    if (!plan.ok()) {
      spdlog::warn("offline tuning of {} [{}] stopped: {}", ask.kernel_name, ask.shape_class, std::string(plan.status().message()));
      return std::string(plan.status().message());
    }
    if (plan->state != PlanState::kOfflinePending) return "";
    timings.clear();
    for (const std::string &label : plan->candidates) {
      if (stopping_) return "the daemon stopped";
      timings.push_back(time_variant(*specializer, request, label, *plan));
    }
  }
  return stopping_ ? "the daemon stopped" : "the search did not finish in its rounds";
}

VariantTiming OfflineTuner::time_variant(const specializers::Specializer &specializer,
                                         const specializers::SpecializationRequest &request, const std::string &label,
                                         const TuningPlan &plan) {
  VariantTiming timing{label, {}, ""};
  specializers::SpecializationRequest candidate = request;
  if (auto params = plan.candidate_params.find(label); params != plan.candidate_params.end()) {
    for (const auto &[name, value] : params->second) candidate.params[name] = value;
  }
  absl::StatusOr<SpecializeResult> built = build_(candidate);
  absl::StatusOr<std::vector<specializers::SyntheticArg>> synthetic =
      built.ok() ? specializer.synthetic_call(request, built->interface.result_dtype()) : built.status();
  absl::StatusOr<std::vector<std::string>> arguments = synthetic.ok() ? runner_arguments(*synthetic) : synthetic.status();
  if (!arguments.ok()) {
    timing.error = std::string(arguments.status().message());
    return timing;
  }
  std::vector<std::string> argv = {runner_.string(), "--artifact", built->artifact.path.string(), "--entry", built->interface.entries.front().symbol,
                                   "--warmup", absl::StrCat(kWarmupCalls), "--samples", absl::StrCat(plan.samples_per_variant),
                                   "--max_seconds", absl::StrCat(kMaxSecondsPerVariant)};
  argv.insert(argv.end(), arguments->begin(), arguments->end());
  codegen::ProcessLimits limits;
  limits.timeout = absl::Seconds(60);
  limits.memory_bytes = uint64_t{kMaxSyntheticBytes} * 2;
  absl::StatusOr<codegen::ProcessResult> ran = codegen::run_process(argv, limits);
  absl::StatusOr<std::vector<double>> samples = ran.ok() ? parse_runner_output(*ran) : ran.status();
  if (samples.ok()) {
    timing.samples = *samples;
  } else {
    timing.error = std::string(samples.status().message());
  }
  spdlog::debug("offline tuning: {} -> {}", label, samples.ok() ? absl::StrJoin(*samples, " ") : timing.error);
  return timing;
}

}  // namespace sejits::server
