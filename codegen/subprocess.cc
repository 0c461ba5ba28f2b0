#include "codegen/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sejits::codegen {
namespace {
constexpr size_t kMaxOutputBytes = 64 * 1024;
// How often the wait loop looks whether the child has exited while its output stays open.
constexpr int64_t kExitPollMs = 50;

// Whether the child has exited, without reaping it: its pid (and so its
// process group id) cannot be reused until waitpid, so kill(-pid) stays safe.
bool child_exited(pid_t pid) {
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno != EINTR) return true;  // ECHILD: nothing left to wait for
  }
  return info.si_pid == pid;
}

// Adds `niceness` to the calling process's autogroup (Linux; a no-op where
// autogroups are off or absent). Async-signal-safe: called in a forked child.
void lower_autogroup_priority(int niceness) {
  int fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  char digits[4];
  int value = std::clamp(niceness, 0, 19), length = 0;
  if (value >= 10) digits[length++] = static_cast<char>('0' + value / 10);
  digits[length++] = static_cast<char>('0' + value % 10);
  ssize_t written = write(fd, digits, static_cast<size_t>(length));
  (void)written;  // best effort: the plain niceness is set either way
  close(fd);
}
}  // namespace

absl::StatusOr<ProcessResult> run_process(const std::vector<std::string> &argv,
                                          const ProcessLimits &limits) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  std::vector<char *> c_argv;
  for (const auto &arg : argv) c_argv.push_back(const_cast<char *>(arg.c_str()));
  c_argv.push_back(nullptr);

  const pid_t parent = getpid();
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
    // A session of its own makes the child a process group leader (killed as
    // a group below) and, under Linux's default scheduler, puts it in an
    // autogroup of its own: its niceness then counts against the user's
    // processes too, not only against the daemon's other threads.
    if (setsid() < 0) setpgid(0, 0);
    // The daemon's signal setup is not the compiler's: SIGTERM and SIGINT are
    // blocked in the daemon's threads, SIGPIPE and SIGXFSZ ignored (a compiler
    // over RLIMIT_FSIZE then dies of SIGXFSZ, which the caller reports).
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    // A daemon killed with SIGKILL takes its compiler along instead of leaving
    // it running (a hung one forever). The signal follows the forking thread,
    // which stays in run_process until the child is reaped.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the daemon died before prctl
    if (limits.memory_bytes > 0) {
      struct rlimit memory = {limits.memory_bytes, limits.memory_bytes};
      setrlimit(RLIMIT_AS, &memory);
    }
    if (limits.niceness > 0) {
      setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + limits.niceness);
      lower_autogroup_priority(limits.niceness);
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

  ProcessResult result;
  absl::Time deadline = absl::Now() + limits.timeout;
  bool timed_out = false;
  // Read the output until the child has exited and the output is drained.
  // The output may close before the child exits (a child that closes its
  // stdout and hangs) or stay open after it (a grandchild that outlives a
  // killed compiler): neither waits past the deadline or the child's exit.
  int output_fd = pipe_fds[0];
  bool exited = false;
  char buffer[4096];
  while (true) {
    int64_t remaining_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (remaining_ms <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd poll_fd = {output_fd, POLLIN, 0};
    int wait_ms = static_cast<int>(std::min<int64_t>(remaining_ms, exited ? 0 : kExitPollMs));
    int ready = poll(&poll_fd, 1, wait_ms);
    if (ready < 0 && errno != EINTR) break;  // cannot happen in practice; the child is killed below
    if (ready > 0) {
      ssize_t n = read(output_fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        if (result.output.size() < kMaxOutputBytes) result.output.append(buffer, static_cast<size_t>(n));
        continue;
      }
      output_fd = -1;  // EOF (or an error): poll ignores a negative fd
    }
    if (exited) break;  // and nothing more to read right now
    exited = child_exited(pid);
    if (output_fd < 0 && exited) break;
  }
  close(pipe_fds[0]);
  // On a timeout the whole group goes; after the child's exit whatever it left
  // behind in its group (e.g. cc1plus under a killed g++) goes too. The child
  // is not reaped yet, so its pid still names this group.
  if (kill(-pid, SIGKILL) != 0) kill(pid, SIGKILL);  // a child that never got to setsid
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(argv[0], " did not finish within ", absl::FormatDuration(limits.timeout), " and was killed"));
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_code = -WTERMSIG(status);
  return result;
}

}  // namespace sejits::codegen
