// sejitsd: flags, logging, listeners, signals. Request handling lives in
// core/, the gRPC surface in rpc/.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "codegen/atomic_file.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/core/limits.h"
#include "server/core/specializer_core.h"
#include "server/rpc/credentials.h"
#include "server/rpc/specializer_service.h"
#include "server/rpc/unix_listener.h"
#include "server/rpc/upstream_client.h"
#include "server/version.h"
#include "specializers/registry.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen_unix, "", "Unix socket path (default: $XDG_RUNTIME_DIR/sejits/sejitsd.sock or /tmp/sejits-$UID/sejitsd.sock); 'none' to disable");
ABSL_FLAG(std::string, socket_group, "", "share the Unix socket with this group (mode 0660) instead of the daemon's user alone (0600)");
ABSL_FLAG(std::string, listen_tcp, "", "ADDR:PORT to listen on over TCP; beyond loopback it needs --token_file");
ABSL_FLAG(std::string, token_file, "", "file holding the bearer token that TCP clients must send (SEJITS_TOKEN)");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain: serve TCP with TLS (with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "", "PEM roots: require TCP clients to present a certificate they signed (mutual TLS)");
ABSL_FLAG(std::string, upstream, "", "tcp://HOST:PORT of a daemon to forward misses to; its artifacts are verified and kept here");
ABSL_FLAG(std::string, upstream_token_file, "", "the bearer token this daemon sends to --upstream");
ABSL_FLAG(std::string, upstream_tls_ca, "", "PEM roots to verify --upstream's TLS certificate with (enables TLS)");
ABSL_FLAG(std::string, cache_dir, "", "artifact cache directory (default: $XDG_CACHE_HOME/sejits/daemon or ~/.cache/sejits/daemon)");
ABSL_FLAG(int64_t, max_cache_bytes, int64_t{2} << 30, "size bound of the artifact cache; least recently used artifacts are evicted");
ABSL_FLAG(int, compile_jobs, 0, "compilers run at once (default: number of cores)");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error");
ABSL_FLAG(std::string, log_file, "", "also log to this file");
ABSL_FLAG(std::string, compiler, "g++", "the C++ compiler to run, or 'none' (every miss goes to --upstream)");
ABSL_FLAG(int, compile_timeout_s, 120, "a compile running longer is killed");
ABSL_FLAG(int64_t, compile_memory_bytes, int64_t{4} << 30, "address-space limit of a compiler process");
ABSL_FLAG(int64_t, max_request_bytes, sejits::server::RequestLimits{}.max_request_bytes, "a larger serialized request is refused (RESOURCE_EXHAUSTED)");
ABSL_FLAG(int64_t, max_ast_nodes, sejits::server::RequestLimits{}.max_ast_nodes, "a kernel with more syntax-tree nodes is refused");
ABSL_FLAG(int, max_ast_depth, sejits::server::RequestLimits{}.max_ast_depth, "a kernel whose expressions and statements nest deeper is refused");
ABSL_FLAG(int, max_arguments, sejits::server::RequestLimits{}.max_arguments, "a kernel with more arguments is refused");
ABSL_FLAG(int64_t, max_string_bytes, sejits::server::RequestLimits{}.max_string_bytes, "a request with a longer name, constant or parameter text is refused");
ABSL_FLAG(int, max_variants, sejits::server::RequestLimits{}.max_variants, "most variants in one timing report, and variant parameters in one request");
ABSL_FLAG(int64_t, max_artifact_bytes, sejits::server::RequestLimits{}.max_artifact_bytes, "a compiled artifact larger than this is refused (RESOURCE_EXHAUSTED)");
ABSL_FLAG(int, max_compiles_per_client, sejits::server::RequestLimits{}.max_running_per_client, "Specialize calls of one client that run at once; more wait their turn");
ABSL_FLAG(int, max_queued_per_client, sejits::server::RequestLimits{}.max_queued_per_client, "Specialize calls of one client that may wait; more are refused (RESOURCE_EXHAUSTED)");
ABSL_FLAG(std::string, tuning_mode, "client", "who times code variants: 'client' (on the users' calls) or 'offline' (the daemon, in a child process, on synthetic inputs)");
ABSL_FLAG(std::string, tuning_db, "", "the tuning database (default: <cache_dir>/tuning.db)");
ABSL_FLAG(std::string, tune_runner, "", "the offline timing child (default: sejits-tune-runner beside sejitsd)");
ABSL_FLAG(std::string, testing_specializer_version_suffix, "",
          "TESTING ONLY: append this to every specializer's version, as an upgrade would (new request keys, new build "
          "identity, same generated code)");
ABSL_FLAG(bool, enable_test_specializers, false,
          "TESTING ONLY: also register the test-only specializers (test_column_stats, a library kernel without a user AST)");

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

// Beside the socket, the daemon's build identity and pid ("<identity>\n<pid>\n"):
// a client reads it (no RPC, no gRPC import) to tell whether the handles it
// remembers on disk are what this daemon would serve. Written once the
// identity is known, removed at a clean exit; a stale one (a daemon killed)
// is removed by the next daemon as soon as it holds the lock, so no client
// takes an old daemon's identity for the new one's.
fs::path identity_file(const fs::path &socket_path) { return socket_path.string() + ".identity"; }

void publish_identity(const fs::path &socket_path, const std::string &identity) {
  absl::Status written = sejits::codegen::write_file_atomically(identity_file(socket_path), absl::StrCat(identity, "\n", getpid(), "\n"));
  if (!written.ok()) {
    // Clients then ask this daemon before they trust a remembered handle: slower, never wrong.
    spdlog::warn("cannot write {}: {}", identity_file(socket_path).string(), std::string(written.message()));
  } else {
    chmod(identity_file(socket_path).c_str(), 0644);  // the socket's directory decides who may read it
  }
}

// The socket's directory is private to the user (0700), or to the user and
// the socket's group (0750), when the daemon creates it; a lock file beside
// the socket keeps a second daemon from taking over the address of a live one.
bool prepare_unix_socket(const fs::path &socket_path, std::optional<gid_t> group, int &lock_fd) {
  fs::path dir = socket_path.parent_path();
  std::error_code error;
  if (!fs::exists(dir, error)) {
    fs::create_directories(dir, error);
    if (error) {
      spdlog::critical("cannot create {}: {}", dir.string(), error.message());
      return false;
    }
    chmod(dir.c_str(), group ? 0750 : 0700);
    if (group && chown(dir.c_str(), static_cast<uid_t>(-1), *group) != 0) {
      spdlog::critical("cannot give {} to group {}: {}", dir.string(), *group, std::strerror(errno));
      return false;
    }
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
  fs::remove(identity_file(socket_path), error);  // stale too, whatever its daemon was
  return true;
}

// A running daemon's socket file can be removed (a cleanup of /tmp, a user):
// new clients could not reach the daemon, and no other daemon may take the
// address while this one holds its lock. So the daemon binds it again; the
// connections already open keep working.
void rebind_if_removed(std::unique_ptr<sejits::server::rpc::UnixListener> &listener, const fs::path &path,
                       std::optional<gid_t> group, grpc::Server &server, sejits::server::rpc::PeerRegistry &peers,
                       const std::string &identity) {
  struct stat existing;
  if (lstat(path.c_str(), &existing) == 0) {
    if (S_ISSOCK(existing.st_mode) && existing.st_ino == listener->inode()) return;
    if (!S_ISSOCK(existing.st_mode)) return;  // not ours to remove; prepare_unix_socket would refuse it too
    unlink(path.c_str());  // a socket someone else put there: the address is this daemon's (it holds the lock)
  }
  auto fresh = sejits::server::rpc::UnixListener::bind(path, group);
  if (!fresh.ok()) {
    spdlog::error("the socket {} was removed and cannot be bound again: {}", path.string(),
                  std::string(fresh.status().message()));
    return;
  }
  spdlog::warn("the socket {} was removed or replaced; listening on a new one", path.string());
  (*fresh)->serve(server, peers);
  listener = std::move(*fresh);
  publish_identity(path, identity);  // most likely removed with the socket
}

std::optional<gid_t> group_named(const std::string &name, bool &ok) {
  ok = true;
  if (name.empty()) return std::nullopt;
  struct group entry, *found = nullptr;
  char buffer[4096];
  if (getgrnam_r(name.c_str(), &entry, buffer, sizeof buffer, &found) != 0 || !found) {
    spdlog::critical("--socket_group={}: no such group", name);
    ok = false;
    return std::nullopt;
  }
  return found->gr_gid;
}

bool is_loopback(const std::string &host_port) {
  std::string host = host_port.substr(0, host_port.rfind(':'));
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || absl::StartsWith(host, "127.");
}

// TCP beyond loopback only with a token; TLS when a certificate is given.
bool add_tcp_listener(grpc::ServerBuilder &builder, const std::string &address, std::string &token) {
  if (std::string file = absl::GetFlag(FLAGS_token_file); !file.empty()) {
    auto read = sejits::server::rpc::read_token_file(file);
    if (!read.ok()) {
      spdlog::critical("{}", std::string(read.status().message()));
      return false;
    }
    token = *read;
  }
  if (token.empty() && !is_loopback(address)) {
    spdlog::critical("--listen_tcp={} accepts connections from other machines: give --token_file (and --tls_cert, "
                     "--tls_key) so that only your clients can use this daemon, or listen on 127.0.0.1",
                     address);
    return false;
  }
  auto credentials = sejits::server::rpc::tcp_server_credentials(absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                                                                  absl::GetFlag(FLAGS_tls_client_ca));
  if (!credentials.ok()) {
    spdlog::critical("{}", std::string(credentials.status().message()));
    return false;
  }
  const bool tls = !absl::GetFlag(FLAGS_tls_cert).empty();
  if (!tls && !is_loopback(address)) spdlog::warn("--listen_tcp={} without TLS: the token and kernels travel in clear text", address);
  builder.AddListeningPort(address, *credentials);
  spdlog::info("tcp {}: {}{}", address, tls ? "TLS" : "plain", token.empty() ? ", no token (loopback)" : ", bearer token required");
  return true;
}

std::unique_ptr<sejits::server::rpc::UpstreamClient> connect_upstream(const std::string &address) {
  if (!absl::StartsWith(address, "tcp://") && !absl::StartsWith(address, "unix:")) {
    spdlog::critical("--upstream={}: expected tcp://HOST:PORT", address);
    return nullptr;
  }
  sejits::client::ConnectOptions options;
  if (std::string file = absl::GetFlag(FLAGS_upstream_token_file); !file.empty()) {
    auto token = sejits::server::rpc::read_token_file(file);
    if (!token.ok()) {
      spdlog::critical("--upstream_token_file: {}", std::string(token.status().message()));
      return nullptr;
    }
    options.token = *token;
  }
  options.tls_ca_file = absl::GetFlag(FLAGS_upstream_tls_ca);
  auto upstream = sejits::server::rpc::UpstreamClient::connect(address, options);
  if (!upstream.ok()) {
    spdlog::critical("--upstream={}: {}", address, std::string(upstream.status().message()));
    return nullptr;
  }
  spdlog::info("upstream {}: misses are forwarded there{}", address, options.tls_ca_file.empty() ? "" : " (TLS)");
  return std::move(*upstream);
}

sejits::server::RequestLimits request_limits() {
  sejits::server::RequestLimits limits;
  limits.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  limits.max_ast_nodes = absl::GetFlag(FLAGS_max_ast_nodes);
  limits.max_ast_depth = absl::GetFlag(FLAGS_max_ast_depth);
  limits.max_arguments = absl::GetFlag(FLAGS_max_arguments);
  limits.max_string_bytes = absl::GetFlag(FLAGS_max_string_bytes);
  limits.max_variants = absl::GetFlag(FLAGS_max_variants);
  limits.max_artifact_bytes = absl::GetFlag(FLAGS_max_artifact_bytes);
  limits.max_running_per_client = std::max(1, absl::GetFlag(FLAGS_max_compiles_per_client));
  limits.max_queued_per_client = std::max(1, absl::GetFlag(FLAGS_max_queued_per_client));
  return limits;
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
  // Debian's Abseil checks every mutex acquisition for lock-order cycles:
  // a cost on each call, and gRPC's locks are not ours to debug.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  configure_logging();

  // Signals are taken by one thread with sigwait; block them everywhere else.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Over RLIMIT_FSIZE a write fails with EFBIG (answered RESOURCE_EXHAUSTED)
  // instead of killing the daemon; compilers get the default back.
  signal(SIGXFSZ, SIG_IGN);

  sejits::server::CoreConfig config;
  std::string cache_dir = absl::GetFlag(FLAGS_cache_dir);
  config.cache_dir = cache_dir.empty() ? default_cache_dir() : fs::path(cache_dir);
  config.max_cache_bytes = absl::GetFlag(FLAGS_max_cache_bytes);
  const sejits::server::RequestLimits limits = request_limits();
  config.max_artifact_bytes = limits.max_artifact_bytes;
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

  if (std::string suffix = absl::GetFlag(FLAGS_testing_specializer_version_suffix); !suffix.empty()) {
    if (absl::Status set = sejits::specializers::set_testing_version_suffix(suffix); !set.ok()) {
      spdlog::critical("--testing_specializer_version_suffix: {}", std::string(set.message()));
      return 2;
    }
    spdlog::warn("TESTING ONLY: every specializer version ends with '{}' (--testing_specializer_version_suffix)", suffix);
  }
  if (absl::GetFlag(FLAGS_enable_test_specializers)) {
    if (absl::Status enabled = sejits::specializers::enable_test_specializers(); !enabled.ok()) {
      spdlog::critical("--enable_test_specializers: {}", std::string(enabled.message()));
      return 2;
    }
    spdlog::warn("TESTING ONLY: the test-only specializers are registered (--enable_test_specializers)");
  }
  if (std::string compiler = absl::GetFlag(FLAGS_compiler); compiler == "none") config.has_compiler = false;
  std::unique_ptr<sejits::server::rpc::UpstreamClient> upstream;
  if (std::string address = absl::GetFlag(FLAGS_upstream); !address.empty()) {
    upstream = connect_upstream(address);
    if (!upstream) return 2;
    config.upstream = std::shared_ptr<sejits::server::Upstream>(upstream.get(), [](auto *) {});
  } else if (!config.has_compiler) {
    spdlog::critical("--compiler=none needs an --upstream to build kernels");
    return 2;
  }

  grpc::ServerBuilder builder;
  std::string token;
  if (std::string tcp = absl::GetFlag(FLAGS_listen_tcp); !tcp.empty()) {
    if (!add_tcp_listener(builder, tcp, token)) return 2;
    config.listen_addresses.push_back("tcp://" + tcp);
  }
  int lock_fd = -1;
  std::string unix_flag = absl::GetFlag(FLAGS_listen_unix);
  fs::path socket_path;
  std::optional<gid_t> socket_group;
  std::unique_ptr<sejits::server::rpc::UnixListener> unix_listener;
  if (unix_flag != "none") {
    socket_path = unix_flag.empty() ? default_socket_path() : fs::path(std::string(absl::StripPrefix(unix_flag, "unix:")));
    bool group_ok = true;
    socket_group = group_named(absl::GetFlag(FLAGS_socket_group), group_ok);
    if (!group_ok || !prepare_unix_socket(socket_path, socket_group, lock_fd)) return 2;
    auto listener = sejits::server::rpc::UnixListener::bind(socket_path, socket_group);
    if (!listener.ok()) {
      spdlog::critical("{}", std::string(listener.status().message()));
      return 2;
    }
    unix_listener = std::move(*listener);
    config.listen_addresses.insert(config.listen_addresses.begin(), "unix:" + socket_path.string());
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
  sejits::server::rpc::PeerRegistry peers;
  sejits::server::rpc::TokenCheck auth(token, (*core)->counters(), peers);
  sejits::server::rpc::SpecializerService service(**core, auth, peers, upstream.get(), limits);
  grpc::EnableDefaultHealthCheckService(true);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(limits.max_request_bytes, INT32_MAX)));
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 4);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    spdlog::critical("cannot listen on {}", absl::StrJoin(config.listen_addresses, ", "));
    return 2;
  }
  const std::string identity = (*core)->build_identity();
  if (unix_listener) {
    publish_identity(socket_path, identity);
    unix_listener->serve(*server, peers);
  }
  spdlog::info("sejitsd {} (pid {}, build identity {}) listening on {}", sejits::server::kSejitsVersion, getpid(),
               identity.substr(0, 12), absl::StrJoin(config.listen_addresses, ", "));

  std::mutex mutex;
  std::condition_variable stop_signal;
  bool stopping = false;
  // Every 2 s: the socket file is still ours (someone may have removed it);
  // every 30 s: the store's maintenance.
  std::thread maintenance([&] {
    std::unique_lock lock(mutex);
    for (int tick = 1; !stop_signal.wait_for(lock, std::chrono::seconds(2), [&] { return stopping; }); ++tick) {
      if (unix_listener) rebind_if_removed(unix_listener, socket_path, socket_group, *server, peers, identity);
      if (tick % 15 != 0) continue;
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
      unix_listener.reset();  // no new connections while the calls in progress finish
    }
    stop_signal.notify_all();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  });
  server->Wait();
  signal_waiter.join();
  maintenance.join();
  if (!socket_path.empty()) {
    std::error_code error;
    fs::remove(identity_file(socket_path), error);
    fs::remove(socket_path, error);
  }
  spdlog::info("sejitsd stopped");
  return 0;
}
