// Runs a child process with a deadline and rlimits, collecting its output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sejits::codegen {

struct ProcessLimits {
  absl::Duration timeout = absl::Seconds(60);
  uint64_t memory_bytes = 0;  // RLIMIT_AS; 0: unlimited
  int niceness = 0;           // added to the child's scheduling priority (nice) and its autogroup's
};

struct ProcessResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string output;  // stdout and stderr, interleaved, capped
};

// Runs argv in a process group of its own, with the default signal setup,
// killed (SIGKILL) if the calling process dies. Returns once the child has
// exited; what it left running in its group is killed then. DEADLINE_EXCEEDED
// when the child (and its process group) had to be killed at the timeout.
absl::StatusOr<ProcessResult> run_process(const std::vector<std::string> &argv,
                                          const ProcessLimits &limits);

}  // namespace sejits::codegen
