// sejitsd: flags, logging, listeners, signals. Request handling lives in
// core/, the gRPC surface in rpc/.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/core/specializer_core.h"
#include "server/rpc/specializer_service.h"
#include "server/version.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen_unix, "", "Unix socket path (default: $XDG_RUNTIME_DIR/sejits/sejitsd.sock or /tmp/sejits-$UID/sejitsd.sock); 'none' to disable");
ABSL_FLAG(std::string, listen_tcp, "", "HOST:PORT to listen on over TCP (loopback only until authentication exists)");
ABSL_FLAG(std::string, cache_dir, "", "artifact cache directory (default: $XDG_CACHE_HOME/sejits/daemon or ~/.cache/sejits/daemon)");
ABSL_FLAG(int64_t, max_cache_bytes, int64_t{2} << 30, "size bound of the artifact cache; least recently used artifacts are evicted");
ABSL_FLAG(int, compile_jobs, 0, "compilers run at once (default: number of cores)");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error");
ABSL_FLAG(std::string, log_file, "", "also log to this file");
ABSL_FLAG(std::string, compiler, "g++", "the C++ compiler to run");
ABSL_FLAG(int, compile_timeout_s, 120, "a compile running longer is killed");
ABSL_FLAG(int64_t, compile_memory_bytes, int64_t{4} << 30, "address-space limit of a compiler process");
ABSL_FLAG(std::string, tuning_mode, "client", "who times code variants: 'client' (on the users' calls) or 'offline' (the daemon, in a child process, on synthetic inputs)");
ABSL_FLAG(std::string, tuning_db, "", "the tuning database (default: <cache_dir>/tuning.db)");
ABSL_FLAG(std::string, tune_runner, "", "the offline timing child (default: sejits-tune-runner beside sejitsd)");

namespace {

namespace fs = std::filesystem;

std::string env_or(const char *name, const std::string &fallback) {
  const char *value = std::getenv(name);
  return value && *value ? value : fallback;
}

fs::path default_socket_path() {
  std::string runtime = env_or("XDG_RUNTIME_DIR", "");
  if (!runtime.empty()) return fs::path(runtime) / "sejits" / "sejitsd.sock";
  return fs::path(absl::StrCat("/tmp/sejits-", getuid())) / "sejitsd.sock";
}

// sejits-tune-runner is installed beside sejitsd; in a build tree it sits
// in tune_runner/ below it.
fs::path default_tune_runner() {
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error).parent_path();
  for (fs::path candidate : {self / "sejits-tune-runner", self / "tune_runner" / "sejits-tune-runner"}) {
    if (fs::exists(candidate, error)) return candidate;
  }
  return self / "sejits-tune-runner";
}

fs::path default_cache_dir() {
  std::string cache = env_or("XDG_CACHE_HOME", "");
  if (cache.empty()) cache = env_or("HOME", "/tmp") + "/.cache";
  return fs::path(cache) / "sejits" / "daemon";
}

// The socket's directory is private to the user (0700) when the daemon
// creates it; a lock file beside the socket keeps a second daemon from taking
// over the address of a live one.
bool prepare_unix_socket(const fs::path &socket_path, int &lock_fd) {
  fs::path dir = socket_path.parent_path();
  std::error_code error;
  if (!fs::exists(dir, error)) {
    fs::create_directories(dir, error);
    if (error) {
      spdlog::critical("cannot create {}: {}", dir.string(), error.message());
      return false;
    }
    chmod(dir.c_str(), 0700);
  }
  fs::path lock_path = socket_path.string() + ".lock";
  lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    spdlog::critical("another sejitsd is already serving {}", socket_path.string());
    return false;
  }
  struct stat existing;
  if (lstat(socket_path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      spdlog::critical("{} exists and is not a socket; not replacing it", socket_path.string());
      return false;
    }
    fs::remove(socket_path, error);  // stale: its daemon no longer holds the lock
  }
  return true;
}

bool is_loopback(const std::string &host_port) {
  std::string host = host_port.substr(0, host_port.rfind(':'));
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || absl::StartsWith(host, "127.");
}

void configure_logging() {
  std::vector<spdlog::sink_ptr> sinks = {std::make_shared<spdlog::sinks::stderr_color_sink_mt>()};
  if (std::string file = absl::GetFlag(FLAGS_log_file); !file.empty()) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
  }
  auto logger = std::make_shared<spdlog::logger>("sejitsd", sinks.begin(), sinks.end());
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(absl::GetFlag(FLAGS_log_level)));
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage("sejitsd: the sejits specialization daemon");
  absl::ParseCommandLine(argc, argv);
  configure_logging();

  // Signals are taken by one thread with sigwait; block them everywhere else.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  sejits::server::CoreConfig config;
  std::string cache_dir = absl::GetFlag(FLAGS_cache_dir);
  config.cache_dir = cache_dir.empty() ? default_cache_dir() : fs::path(cache_dir);
  config.max_cache_bytes = absl::GetFlag(FLAGS_max_cache_bytes);
  int jobs = absl::GetFlag(FLAGS_compile_jobs);
  config.compile_jobs = jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  config.compiler.compiler = absl::GetFlag(FLAGS_compiler);
  config.compiler.timeout = absl::Seconds(absl::GetFlag(FLAGS_compile_timeout_s));
  config.compiler.memory_limit_bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_compile_memory_bytes));
  std::string tuning_mode = absl::GetFlag(FLAGS_tuning_mode);
  if (tuning_mode != "client" && tuning_mode != "offline") {
    spdlog::critical("--tuning_mode={}: expected 'client' or 'offline'", tuning_mode);
    return 2;
  }
  config.timing_site = tuning_mode == "offline" ? sejits::server::TimingSite::kOffline : sejits::server::TimingSite::kClient;
  config.tuning_db = absl::GetFlag(FLAGS_tuning_db);
  std::string runner = absl::GetFlag(FLAGS_tune_runner);
  config.tune_runner = runner.empty() ? default_tune_runner() : fs::path(runner);

  grpc::ServerBuilder builder;
  int lock_fd = -1;
  std::string unix_flag = absl::GetFlag(FLAGS_listen_unix);
  fs::path socket_path;
  if (unix_flag != "none") {
    socket_path = unix_flag.empty() ? default_socket_path() : fs::path(std::string(absl::StripPrefix(unix_flag, "unix:")));
    if (!prepare_unix_socket(socket_path, lock_fd)) return 2;
    builder.AddListeningPort("unix:" + socket_path.string(), grpc::InsecureServerCredentials());
    config.listen_addresses.push_back("unix:" + socket_path.string());
  }
  if (std::string tcp = absl::GetFlag(FLAGS_listen_tcp); !tcp.empty()) {
    if (!is_loopback(tcp)) {
      spdlog::critical("--listen_tcp={} is not a loopback address; TCP without authentication is limited to 127.0.0.1/::1", tcp);
      return 2;
    }
    builder.AddListeningPort(tcp, grpc::InsecureServerCredentials());
    config.listen_addresses.push_back("tcp://" + tcp);
  }
  if (config.listen_addresses.empty()) {
    spdlog::critical("nothing to listen on: give --listen_unix or --listen_tcp");
    return 2;
  }

  auto core = sejits::server::SpecializerCore::create(config);
  if (!core.ok()) {
    spdlog::critical("cannot start: {}", core.status().ToString());
    return 1;
  }
  sejits::server::rpc::SpecializerService service(**core);
  grpc::EnableDefaultHealthCheckService(true);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 4);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    spdlog::critical("cannot listen on {}", config.listen_addresses.front());
    return 2;
  }
  if (!socket_path.empty()) chmod(socket_path.c_str(), 0600);
  spdlog::info("sejitsd {} (pid {}) listening on {}", sejits::server::kSejitsVersion, getpid(),
               absl::StrJoin(config.listen_addresses, ", "));

  std::mutex mutex;
  std::condition_variable stop_signal;
  bool stopping = false;
  std::thread maintenance([&] {
    std::unique_lock lock(mutex);
    while (!stop_signal.wait_for(lock, std::chrono::seconds(30), [&] { return stopping; })) {
      lock.unlock();
      (*core)->maintain();
      lock.lock();
    }
  });
  std::thread signal_waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    stop_signal.notify_all();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  });
  server->Wait();
  signal_waiter.join();
  maintenance.join();
  if (!socket_path.empty()) {
    std::error_code error;
    fs::remove(socket_path, error);
  }
  spdlog::info("sejitsd stopped");
  return 0;
}
