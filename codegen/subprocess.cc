#include "codegen/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sejits::codegen {
namespace {
constexpr size_t kMaxOutputBytes = 64 * 1024;
}

absl::StatusOr<ProcessResult> run_process(const std::vector<std::string> &argv,
                                          const ProcessLimits &limits) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  std::vector<char *> c_argv;
  for (const auto &arg : argv) c_argv.push_back(const_cast<char *>(arg.c_str()));
  c_argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return absl::ResourceExhaustedError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    setpgid(0, 0);
    if (limits.memory_bytes > 0) {
      struct rlimit memory = {limits.memory_bytes, limits.memory_bytes};
      setrlimit(RLIMIT_AS, &memory);
    }
    rlim_t cpu_seconds = static_cast<rlim_t>(absl::ToInt64Seconds(limits.timeout)) + 5;
    struct rlimit cpu = {cpu_seconds, cpu_seconds};
    setrlimit(RLIMIT_CPU, &cpu);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    execvp(c_argv[0], c_argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  setpgid(pid, pid);

  ProcessResult result;
  absl::Time deadline = absl::Now() + limits.timeout;
  bool timed_out = false;
  char buffer[4096];
  while (true) {
    int64_t remaining_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (remaining_ms <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd poll_fd = {pipe_fds[0], POLLIN, 0};
    int ready = poll(&poll_fd, 1, static_cast<int>(std::min<int64_t>(remaining_ms, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child closed its output
    if (result.output.size() < kMaxOutputBytes) result.output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(argv[0], " did not finish within ", absl::FormatDuration(limits.timeout)));
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_code = -WTERMSIG(status);
  return result;
}

}  // namespace sejits::codegen
