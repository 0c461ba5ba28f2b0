// sejits-load: a load generator for sejitsd. Forks N client processes, each
// with its own gRPC channel, that send one serialized SpecializeRequest in a
// closed loop (for a duration or a number of calls) after a common start
// signal, and prints one JSON object: calls, calls/s, latency percentiles,
// errors and the daemon's cache outcomes.
//
//   sejits-load --address=unix:/run/sejitsd.sock --request=req.pb --clients=16 --seconds=10
//   sejits-load --address=... --request=req.pb --once --clients=64      # 64 identical requests at one moment
//   sejits-load --address=... --request=req.pb --uncached_every=50       # every 50th request is a new key
//
// Uncached requests change the first numeric constant of the kernel's AST to a
// value no other request uses, so each one is a new key (and a compile).
// Latencies go into per-client histograms (0.5% wide buckets) in memory shared
// with the parent, which merges them.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "client-cpp/client.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"

ABSL_FLAG(std::string, address, "", "the daemon: unix:/path or tcp://host:port");
ABSL_FLAG(std::string, request, "", "a file holding one serialized sejits.v1.SpecializeRequest");
ABSL_FLAG(std::string, token_file, "", "a file holding the daemon's bearer token, if it needs one");
ABSL_FLAG(int, clients, 16, "client processes, each with its own channel");
ABSL_FLAG(double, seconds, 10, "how long each client sends requests (after --warmup_s), unless --calls is given");
ABSL_FLAG(int64_t, calls, 0, "requests per client (instead of --seconds)");
ABSL_FLAG(bool, once, false, "each client sends exactly one request, all at the same moment (--calls=1)");
ABSL_FLAG(double, warmup_s, 0, "seconds of calls before the measured ones (not counted)");
ABSL_FLAG(int64_t, uncached_every, 0, "every Nth request of a client is a new key (0: never)");
ABSL_FLAG(int64_t, salt, -1, "distinguishes the uncached keys of this run from earlier runs' (default: from the clock)");
ABSL_FLAG(double, deadline_s, 300, "deadline of each call");
ABSL_FLAG(std::string, json, "", "also write the JSON result to this file");

namespace {

namespace v1 = sejits::v1;

// Latency histogram: bucket i holds latencies in [kGrowth^i, kGrowth^(i+1)) ns.
constexpr double kGrowth = 1.005;
constexpr int kBuckets = 5500;  // up to ~8e11 ns
constexpr size_t kErrorChars = 512;

int bucket_of(int64_t ns) {
  if (ns < 1) return 0;
  int bucket = static_cast<int>(std::log(static_cast<double>(ns)) / std::log(kGrowth));
  return std::min(bucket, kBuckets - 1);
}

double bucket_ms(int bucket) { return std::pow(kGrowth, bucket + 0.5) / 1e6; }

struct Histogram {
  std::array<int64_t, kBuckets> counts;
  void add(int64_t ns) { ++counts[bucket_of(ns)]; }
  void merge(const Histogram &other) {
    for (int i = 0; i < kBuckets; ++i) counts[i] += other.counts[i];
  }
  int64_t total() const {
    int64_t sum = 0;
    for (int64_t count : counts) sum += count;
    return sum;
  }
  // The latency below which a fraction `q` of the calls lie, in ms.
  double quantile_ms(double q) const {
    int64_t n = total();
    if (n == 0) return 0;
    int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * static_cast<double>(n))));
    int64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts[i];
      if (seen >= rank) return bucket_ms(i);
    }
    return bucket_ms(kBuckets - 1);
  }
  double max_ms() const {
    for (int i = kBuckets - 1; i >= 0; --i) {
      if (counts[i]) return bucket_ms(i);
    }
    return 0;
  }
};

// One client's results, in memory shared with the parent.
struct ClientResult {
  int64_t calls, errors, hits, compiled, joined, other_outcome, uncached;
  int64_t measure_start_ns, measure_end_ns;  // CLOCK_MONOTONIC, system-wide
  bool finished;
  char first_error[kErrorChars];
  Histogram hit_latency;    // HIT
  Histogram miss_latency;   // COMPILED, JOINED
  Histogram error_latency;  // failed calls
};

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The first Constant below `message` holding an int or a float: the value
// that uncached requests vary.
google::protobuf::Message *first_numeric_constant(google::protobuf::Message *message) {
  const google::protobuf::Descriptor *descriptor = message->GetDescriptor();
  const google::protobuf::Reflection *reflection = message->GetReflection();
  if (descriptor == v1::Constant::descriptor()) {
    auto *constant = static_cast<v1::Constant *>(message);
    if (constant->value_case() == v1::Constant::kIntValue || constant->value_case() == v1::Constant::kFloatValue) {
      return message;
    }
    return nullptr;
  }
  std::vector<const google::protobuf::FieldDescriptor *> fields;
  reflection->ListFields(*message, &fields);
  for (const auto *field : fields) {
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE || field->is_map()) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
        if (auto *found = first_numeric_constant(reflection->MutableRepeatedMessage(message, field, i))) return found;
      }
    } else if (auto *found = first_numeric_constant(reflection->MutableMessage(message, field))) {
      return found;
    }
  }
  return nullptr;
}

struct Plan {
  std::string address;
  sejits::client::ConnectOptions options;
  v1::SpecializeRequest request;
  double seconds = 0;
  int64_t calls = 0;  // per client; 0: run for `seconds`
  double warmup_s = 0;
  int64_t uncached_every = 0;
  int64_t salt = 0;
};

void note_error(ClientResult &result, const std::string &message) {
  ++result.errors;
  if (result.first_error[0] == '\0') std::snprintf(result.first_error, kErrorChars, "%s", message.c_str());
}

// A client process: connect, say ready, wait for the start, send requests.
void run_client(const Plan &plan, int index, int ready_fd, int go_fd, ClientResult &result) {
  auto client = sejits::client::Client::connect(plan.address, plan.options);
  if (client.ok()) {
    for (int attempt = 0; attempt < 10 && !(*client)->healthy(); ++attempt) {
    }
  }
  char byte = 'r';
  if (write(ready_fd, &byte, 1) != 1) _exit(3);
  close(ready_fd);
  while (read(go_fd, &byte, 1) < 0 && errno == EINTR) {
  }
  close(go_fd);
  if (!client.ok()) {
    note_error(result, std::string(client.status().message()));
    result.finished = true;
    return;
  }
  v1::SpecializeRequest request = plan.request;
  google::protobuf::Message *constant = plan.uncached_every > 0 ? first_numeric_constant(&request) : nullptr;
  const v1::Constant original = constant ? *static_cast<v1::Constant *>(constant) : v1::Constant();

  const int64_t start = now_ns();
  const int64_t measure_start = start + static_cast<int64_t>(plan.warmup_s * 1e9);
  const int64_t end = measure_start + static_cast<int64_t>(plan.seconds * 1e9);
  result.measure_start_ns = measure_start;
  for (int64_t n = 1;; ++n) {
    int64_t before = now_ns();
    const bool measured = before >= measure_start;
    if (plan.calls > 0 ? result.calls >= plan.calls : before >= end) break;
    const bool uncached = constant && n % plan.uncached_every == 0;
    if (uncached) {
      // Unique across clients and runs: salt, client, call number.
      int64_t unique = plan.salt + static_cast<int64_t>(index) * 10000000 + n;
      auto *value = static_cast<v1::Constant *>(constant);
      if (original.value_case() == v1::Constant::kIntValue) value->set_int_value(unique);
      else value->set_float_value(static_cast<double>(unique) + 0.5);
    }
    absl::StatusOr<v1::SpecializeResponse> response = (*client)->specialize(request);
    if (uncached) *static_cast<v1::Constant *>(constant) = original;
    int64_t elapsed = now_ns() - before;
    if (!measured) continue;
    ++result.calls;
    if (uncached) ++result.uncached;
    if (!response.ok()) {
      result.error_latency.add(elapsed);
      note_error(result, absl::StrCat(absl::StatusCodeToString(response.status().code()), ": ", response.status().message()));
      if (plan.calls == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a daemon that is down: do not spin
      continue;
    }
    switch (response->outcome()) {
      case v1::HIT:
        ++result.hits;
        result.hit_latency.add(elapsed);
        break;
      case v1::COMPILED:
        ++result.compiled;
        result.miss_latency.add(elapsed);
        break;
      case v1::JOINED:
        ++result.joined;
        result.miss_latency.add(elapsed);
        break;
      default:
        ++result.other_outcome;
        result.miss_latency.add(elapsed);
    }
  }
  result.measure_end_ns = now_ns();
  result.finished = true;
}

std::string json_string(const std::string &text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') absl::StrAppend(&out, "\\", std::string(1, static_cast<char>(c)));
    else if (c < 0x20) absl::StrAppend(&out, absl::StrFormat("\\u%04x", c));
    else out.push_back(static_cast<char>(c));
  }
  return out + "\"";
}

std::string fixed(double value) { return absl::StrFormat("%.4f", value); }

int fail(const std::string &message) {
  std::cerr << "sejits-load: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage(
      "sejits-load --address=unix:/path --request=FILE [--clients=N] [--seconds=D | --calls=N | --once] "
      "[--warmup_s=S] [--uncached_every=K] [--json=FILE]");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks gRPC's mutexes for lock-order cycles on every
  // acquisition: a few percent of a client's time, which would count against the daemon.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Plan plan;
  plan.address = absl::GetFlag(FLAGS_address);
  if (plan.address.empty()) return fail("give --address=unix:/path or tcp://host:port");
  std::string request_file = absl::GetFlag(FLAGS_request);
  if (request_file.empty()) return fail("give --request=FILE (a serialized sejits.v1.SpecializeRequest)");
  {
    std::ifstream in(request_file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!in || !plan.request.ParseFromString(bytes.str())) return fail(absl::StrCat(request_file, " is not a serialized SpecializeRequest"));
  }
  if (std::string file = absl::GetFlag(FLAGS_token_file); !file.empty()) {
    std::ifstream in(file);
    std::getline(in, plan.options.token);
    if (!in) return fail(absl::StrCat("cannot read the token file ", file));
  }
  plan.options.deadline = absl::Seconds(absl::GetFlag(FLAGS_deadline_s));
  const int clients = absl::GetFlag(FLAGS_clients);
  if (clients < 1 || clients > 4096) return fail("--clients must be 1..4096");
  plan.calls = absl::GetFlag(FLAGS_once) ? 1 : absl::GetFlag(FLAGS_calls);
  plan.seconds = absl::GetFlag(FLAGS_seconds);
  if (plan.calls == 0 && plan.seconds <= 0) return fail("give --seconds > 0 or --calls > 0");
  plan.warmup_s = plan.calls > 0 ? 0 : absl::GetFlag(FLAGS_warmup_s);
  plan.uncached_every = absl::GetFlag(FLAGS_uncached_every);
  plan.salt = absl::GetFlag(FLAGS_salt);
  if (plan.salt < 0) plan.salt = (static_cast<int64_t>(time(nullptr)) % 1000000) * 1000000000;
  if (plan.uncached_every > 0) {
    v1::SpecializeRequest probe = plan.request;
    if (!first_numeric_constant(&probe)) return fail("--uncached_every: the request's kernel has no int or float constant to vary");
  }

  // Shared with the children; the parent has not touched gRPC before forking.
  const size_t bytes = sizeof(ClientResult) * static_cast<size_t>(clients);
  void *shared = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return fail("cannot map the result area");
  std::memset(shared, 0, bytes);
  auto *results = static_cast<ClientResult *>(shared);

  int ready[2], go[2];
  if (pipe(ready) != 0 || pipe(go) != 0) return fail("pipe failed");
  std::vector<pid_t> children;
  for (int i = 0; i < clients; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      for (pid_t child : children) kill(child, SIGKILL);
      return fail("fork failed");
    }
    if (pid == 0) {
      close(ready[0]);
      close(go[1]);
      run_client(plan, i, ready[1], go[0], results[i]);
      _exit(0);
    }
    children.push_back(pid);
  }
  close(ready[1]);
  close(go[0]);
  // Every client connected (or gave up connecting): start them all at once.
  int connected = 0;
  while (connected < clients) {
    pollfd wait_for{ready[0], POLLIN, 0};
    int polled = poll(&wait_for, 1, 120000);
    if (polled < 0 && errno == EINTR) continue;
    char buffer[256];
    ssize_t got = polled > 0 ? read(ready[0], buffer, sizeof buffer) : 0;
    if (got <= 0) {
      for (pid_t child : children) kill(child, SIGKILL);
      return fail(absl::StrCat("only ", connected, " of ", clients, " clients became ready"));
    }
    connected += static_cast<int>(got);
  }
  close(go[1]);  // the start signal: every client's read returns
  int crashed = 0;
  for (pid_t child : children) {
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++crashed;
  }

  Histogram all{}, hits{}, misses{};
  int64_t calls = 0, errors = 0, hit_count = 0, compiled = 0, joined = 0, other = 0, uncached = 0;
  int64_t first_start = INT64_MAX, last_end = 0;
  std::string first_error;
  for (int i = 0; i < clients; ++i) {
    const ClientResult &r = results[i];
    if (!r.finished) continue;
    calls += r.calls;
    errors += r.errors;
    hit_count += r.hits;
    compiled += r.compiled;
    joined += r.joined;
    other += r.other_outcome;
    uncached += r.uncached;
    hits.merge(r.hit_latency);
    misses.merge(r.miss_latency);
    all.merge(r.hit_latency);
    all.merge(r.miss_latency);
    all.merge(r.error_latency);
    if (r.measure_start_ns) first_start = std::min(first_start, r.measure_start_ns);
    last_end = std::max(last_end, r.measure_end_ns);
    if (first_error.empty() && r.first_error[0]) first_error = std::string(r.first_error, strnlen(r.first_error, kErrorChars));
  }
  const double elapsed = last_end > first_start ? static_cast<double>(last_end - first_start) / 1e9 : 0;
  std::string json = absl::StrCat(
      "{\"mode\": ", json_string(plan.calls > 0 ? (absl::GetFlag(FLAGS_once) ? "once" : "calls") : "seconds"),
      ", \"clients\": ", clients, ", \"crashed_clients\": ", crashed, ", \"seconds\": ", fixed(elapsed),
      ", \"calls\": ", calls, ", \"calls_per_s\": ", fixed(elapsed > 0 ? static_cast<double>(calls) / elapsed : 0),
      ", \"p50_ms\": ", fixed(all.quantile_ms(0.50)), ", \"p90_ms\": ", fixed(all.quantile_ms(0.90)),
      ", \"p99_ms\": ", fixed(all.quantile_ms(0.99)), ", \"max_ms\": ", fixed(all.max_ms()),
      ", \"hit_p50_ms\": ", fixed(hits.quantile_ms(0.50)), ", \"hit_p99_ms\": ", fixed(hits.quantile_ms(0.99)),
      ", \"hit_max_ms\": ", fixed(hits.max_ms()), ", \"miss_p50_ms\": ", fixed(misses.quantile_ms(0.50)),
      ", \"miss_p99_ms\": ", fixed(misses.quantile_ms(0.99)), ", \"errors\": ", errors,
      ", \"first_error\": ", json_string(first_error), ", \"uncached_requests\": ", uncached,
      ", \"outcomes\": {\"hit\": ", hit_count, ", \"compiled\": ", compiled, ", \"joined\": ", joined,
      ", \"other\": ", other, "}}");
  std::cout << json << std::endl;
  if (std::string file = absl::GetFlag(FLAGS_json); !file.empty()) {
    std::ofstream out(file);
    out << json << "\n";
    if (!out) return fail(absl::StrCat("cannot write ", file));
  }
  return crashed == 0 ? 0 : 1;
}
