// Offline tuning (--tuning_mode=offline): the daemon times a kernel's
// candidate variants itself, each in a child process (sejits-tune-runner,
// under a deadline and an address-space limit) on synthetic arrays of the
// request's shapes, so that no user call runs a bad variant. The timings and
// the choice land in the same database as the clients' reports.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "server/core/tuning.h"
#include "server/core/worker_pool.h"

namespace sejits::server {

struct SpecializeResult;

class OfflineTuner {
 public:
  // `build` compiles (or finds) the artifact of one variant's request.
  using BuildFn = std::function<absl::StatusOr<SpecializeResult>(const specializers::SpecializationRequest &)>;

  OfflineTuner(TuningCoordinator &coordinator, std::filesystem::path runner, BuildFn build);
  // Stops at the next candidate: a shutting-down daemon does not finish searches.
  ~OfflineTuner() { stopping_ = true; }

  // Starts tuning this kernel and shape class in the background, unless a
  // job for it runs already. `ask`: with the daemon's shape class (with_shape_class).
  void start(const specializers::SpecializationRequest &request, const TuningAsk &ask, const std::string &kernel_key);
  // Why the job of this kernel and shape class stopped without a choice, if it did.
  std::optional<std::string> failure(const TuningAsk &ask, const std::string &kernel_key);
  // Forgets failed jobs (after `sejits tune reset`): they may run again.
  void forget_failures();

 private:
  // Empty when the search ended with a choice; else why it stopped.
  std::string run(const specializers::SpecializationRequest &request, const TuningAsk &ask, const std::string &kernel_key);
  VariantTiming time_variant(const specializers::Specializer &specializer,
                             const specializers::SpecializationRequest &request, const std::string &label,
                             const TuningPlan &plan);

  TuningCoordinator &coordinator_;
  std::filesystem::path runner_;
  BuildFn build_;
  std::mutex mutex_;
  std::set<std::string> running_;               // kernel key + shape class
  std::map<std::string, std::string> failures_;  // the same -> why it stopped
  std::atomic<bool> stopping_{false};
  WorkerPool jobs_{1};  // one child at a time, so timings do not disturb each other; last: its jobs use the above
};

// The runner's argument list for the synthetic arguments a specializer
// describes; RESOURCE_EXHAUSTED beyond the bytes the runner may allocate.
absl::StatusOr<std::vector<std::string>> runner_arguments(const std::vector<specializers::SyntheticArg> &args);

}  // namespace sejits::server
