// A library kernel end to end from the C++ client: a private sejitsd started
// with --enable_test_specializers serves test_column_stats (a request with
// params and no AST); the client loads both entry points by role, allocates
// the outputs from the interface's shape rules, calls them on its own memory
// (float64 and float32, contiguous and strided X, empty extents) and compares
// with a reference computed here. A daemon without the flag does not know it.
//
// Usage: sejits_library_kernel_test <path to sejitsd> [Catch2 options]
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "client-cpp/client.h"
#include "client-cpp/kernel_loader.h"
#include "client-cpp/output_shapes.h"
#include "tests/unit/temp_dir.h"

namespace {

namespace v1 = sejits::v1;
using sejits::client::Shape;

std::string daemon_binary;  // argv[1]

// A sejitsd of this test's own, stopped (SIGTERM) when the test ends.
class PrivateDaemon {
 public:
  explicit PrivateDaemon(std::vector<std::string> extra) {
    address_ = "unix:" + (dir_.path() / "sejitsd.sock").string();
    std::vector<std::string> argv = {daemon_binary, "--listen_unix=" + (dir_.path() / "sejitsd.sock").string(),
                                     "--cache_dir=" + (dir_.path() / "cache").string(),
                                     "--log_file=" + (dir_.path() / "sejitsd.log").string(), "--compile_jobs=1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const std::string stderr_path = (dir_.path() / "stderr").string();  // the log repeated: kept out of the test's output
    process_.pid = fork();
    REQUIRE(process_.pid >= 0);
    if (process_.pid == 0) {
      std::vector<char *> args;
      for (std::string &arg : argv) args.push_back(arg.data());
      args.push_back(nullptr);
      if (FILE *sink = freopen(stderr_path.c_str(), "w", stderr); sink != nullptr) dup2(fileno(sink), STDOUT_FILENO);
      execv(args[0], args.data());
      _exit(127);
    }
    auto client = sejits::client::Client::connect(address_);
    REQUIRE(client.ok());
    client_ = std::move(*client);
    for (int attempt = 0; attempt < 400 && !client_->healthy(); ++attempt) {
      int status = 0;
      REQUIRE(waitpid(process_.pid, &status, WNOHANG) == 0);  // the daemon must not exit
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(client_->healthy());
  }
  sejits::client::Client &client() { return *client_; }
  // True while the daemon process is alive.
  bool running() const { return waitpid(process_.pid, nullptr, WNOHANG) == 0; }

 private:
  // Stops the daemon (SIGTERM) and waits for it, also when the constructor failed.
  struct Child {
    pid_t pid = -1;
    ~Child() {
      if (pid <= 0) return;
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  };

  sejits::testing::TempDir dir_;
  Child process_;  // after dir_: stopped before its directory goes
  std::string address_;
  std::unique_ptr<sejits::client::Client> client_;
};

// An array of T somewhere in `storage`, described by element strides.
template <typename T>
struct View {
  T *origin;  // element [0, ..., 0]
  Shape shape;
  std::vector<int64_t> strides;  // in elements

  T &at(int64_t i) const { return origin[i * strides[0]]; }
  T &at(int64_t i, int64_t j) const { return origin[i * strides[0] + j * strides[1]]; }
  sejits_arg arg(int32_t dtype) const {
    sejits_arg out{};
    out.data = origin;
    out.kind = SEJITS_ARG_ARRAY;
    out.dtype = dtype;
    out.rank = static_cast<int32_t>(shape.size());
    for (size_t d = 0; d < shape.size(); ++d) {
      out.shape[d] = shape[d];
      out.strides[d] = strides[d] * static_cast<int64_t>(sizeof(T));
    }
    return out;
  }
};

template <typename T>
View<T> contiguous(std::vector<T> &storage, const Shape &shape) {
  int64_t count = 1;
  for (int64_t extent : shape) count *= extent;
  storage.assign(std::max<int64_t>(count, 1), T(-999));
  std::vector<int64_t> strides(shape.size(), 1);
  for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d) strides[d] = strides[d + 1] * shape[d + 1];
  return {storage.data(), shape, strides};
}

enum class Layout { kContiguous, kEveryOtherColumn, kTransposed, kRowsReversed };

// X of `rows` x `cols` laid out as `layout` says, filled with values whose
// sums are exact in float32.
template <typename T>
View<T> make_x(std::vector<T> &storage, int64_t rows, int64_t cols, Layout layout) {
  const int64_t size = rows * (2 * cols + 1) + 2;  // room for every layout below
  storage.assign(size, T(12345));  // never read: a wrong stride shows up in the sums
  View<T> x{storage.data(), {rows, cols}, {cols, 1}};
  switch (layout) {
    case Layout::kContiguous: break;
    case Layout::kEveryOtherColumn: x.strides = {2 * cols + 1, 2}; break;
    case Layout::kTransposed: x.strides = {1, rows}; break;
    case Layout::kRowsReversed:
      x.strides = {-cols, 1};
      x.origin = storage.data() + (rows > 0 ? (rows - 1) * cols : 0);
      break;
  }
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) x.at(i, j) = T(((i * 7 + j * 3) % 11) - 5) + T(0.25) * T(j);
  }
  return x;
}

template <typename T>
void check_close(T actual, double expected, double tolerance) {
  if (std::isnan(expected)) {
    CHECK(std::isnan(actual));
  } else if (std::isinf(expected)) {
    CHECK(actual == expected);
  } else {
    CHECK(std::abs(static_cast<double>(actual) - expected) <= tolerance * (1 + std::abs(expected)));
  }
}

template <typename T>
void run_column_stats(PrivateDaemon &daemon, v1::DType dtype, int64_t rows, int64_t cols, Layout layout, bool with_nan) {
  INFO("dtype " << v1::DType_Name(dtype) << ", X " << rows << "x" << cols << ", layout " << static_cast<int>(layout));
  const double scale = 0.5;
  const double tolerance = sizeof(T) == 4 ? 1e-6 : 1e-13;
  std::vector<T> x_storage;
  View<T> x = make_x(x_storage, rows, cols, layout);
  if (with_nan) x.at(rows / 2, cols / 2) = std::numeric_limits<T>::quiet_NaN();
  const sejits_arg x_arg = x.arg(dtype);

  v1::SpecializeRequest request;
  request.set_specializer("test_column_stats");
  v1::ArgDescriptor *descriptor = request.add_args();
  descriptor->set_kind(v1::ARRAY);
  descriptor->set_dtype(dtype);
  descriptor->set_rank(2);
  for (int d = 0; d < 2; ++d) {
    descriptor->add_shape(x_arg.shape[d]);
    descriptor->add_strides(x_arg.strides[d]);
  }
  descriptor->set_c_contiguous(layout == Layout::kContiguous);
  (*request.mutable_params())["scale"] = "0.5";
  auto response = daemon.client().specialize(request);
  REQUIRE(response.ok());
  REQUIRE(response->interface().entries_size() == 2);
  CHECK(response->interface().entries(0).role() == "call");
  CHECK(response->interface().entries(1).role() == "center");

  auto call = sejits::client::LoadedKernel::load(*response, "call");
  REQUIRE(call.ok());
  auto center = sejits::client::LoadedKernel::load(*response, "center");
  REQUIRE(center.ok());
  auto missing = sejits::client::LoadedKernel::load(*response, "iterate");
  REQUIRE_FALSE(missing.ok());
  CHECK(std::string(missing.status().message()).find("call, center") != std::string::npos);

  // call(X, col_sums, row_max): the outputs' shapes from the interface alone.
  auto shapes = sejits::client::call_shapes(response->interface().entries(0), {x.shape});
  REQUIRE(shapes.ok());
  CHECK((*shapes)[1] == Shape{cols});
  CHECK((*shapes)[2] == Shape{rows});
  std::vector<T> sums_storage, max_storage;
  View<T> col_sums = contiguous(sums_storage, (*shapes)[1]);
  View<T> row_max = contiguous(max_storage, (*shapes)[2]);
  absl::Status called = call->call({x_arg, col_sums.arg(dtype), row_max.arg(dtype)});
  REQUIRE(called.ok());
  for (int64_t j = 0; j < cols; ++j) {
    double sum = 0;
    for (int64_t i = 0; i < rows; ++i) sum += static_cast<double>(x.at(i, j));
    check_close(col_sums.at(j), scale * sum, tolerance);
  }
  for (int64_t i = 0; i < rows; ++i) {
    double largest = -INFINITY;
    for (int64_t j = 0; j < cols; ++j) {
      const double value = static_cast<double>(x.at(i, j));
      largest = std::isnan(largest) || std::isnan(value) ? NAN : std::max(largest, value);
    }
    check_close(row_max.at(i), largest, 0);
  }

  // center(X, col_sums, Y), Y written through strides too when X is strided.
  auto center_shapes = sejits::client::call_shapes(response->interface().entries(1), {x.shape, col_sums.shape});
  REQUIRE(center_shapes.ok());
  CHECK((*center_shapes)[2] == x.shape);
  std::vector<T> y_storage;
  View<T> y = layout == Layout::kContiguous ? contiguous(y_storage, (*center_shapes)[2]) : make_x(y_storage, rows, cols, layout);
  REQUIRE(center->call({x_arg, col_sums.arg(dtype), y.arg(dtype)}).ok());
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const T mean = col_sums.at(j) / static_cast<T>(rows);
      check_close(y.at(i, j), static_cast<double>(static_cast<T>(x.at(i, j) - mean)), tolerance);
    }
  }

  // The kernel checks what it is given: the wrong count, or an output of the wrong size.
  absl::Status too_few = call->call({x_arg, col_sums.arg(dtype)});
  REQUIRE_FALSE(too_few.ok());
  CHECK(std::string(too_few.message()).find("expected 3 arguments") != std::string::npos);
  std::vector<T> wrong_storage;
  View<T> wrong = contiguous(wrong_storage, {cols + 1});
  absl::Status wrong_size = call->call({x_arg, wrong.arg(dtype), row_max.arg(dtype)});
  REQUIRE_FALSE(wrong_size.ok());
  CHECK(std::string(wrong_size.message()).find("col_sums must have X.shape[1] elements") != std::string::npos);
}

}  // namespace

TEST_CASE("a library kernel runs end to end from the C++ client", "[library_kernel]") {
  PrivateDaemon daemon({"--enable_test_specializers"});
  struct Case {
    int64_t rows, cols;
    Layout layout;
    bool nan;
  };
  const std::vector<Case> cases = {{1, 1, Layout::kContiguous, false},      {7, 5, Layout::kContiguous, false},
                                   {7, 5, Layout::kEveryOtherColumn, false}, {6, 4, Layout::kTransposed, false},
                                   {5, 3, Layout::kRowsReversed, false},     {0, 3, Layout::kContiguous, false},
                                   {4, 0, Layout::kContiguous, false},       {9, 6, Layout::kContiguous, true},
                                   {300, 200, Layout::kEveryOtherColumn, false}};  // above the parallel threshold
  for (const Case &c : cases) {
    run_column_stats<double>(daemon, v1::FLOAT64, c.rows, c.cols, c.layout, c.nan);
    run_column_stats<float>(daemon, v1::FLOAT32, c.rows, c.cols, c.layout, c.nan);
  }
  // One artifact per dtype and scale: every shape and layout after the first is a hit.
  auto stats = daemon.client().stats();
  REQUIRE(stats.ok());
  CHECK(stats->compiles() == 2);
  CHECK(stats->cache_hits() == static_cast<int64_t>(2 * cases.size() - 2));
}

TEST_CASE("bad library requests are clear errors and the daemon lives on", "[library_kernel]") {
  PrivateDaemon daemon({"--enable_test_specializers"});
  auto request = [](v1::DType dtype, int rank) {
    v1::SpecializeRequest out;
    out.set_specializer("test_column_stats");
    v1::ArgDescriptor *x = out.add_args();
    x->set_kind(v1::ARRAY);
    x->set_dtype(dtype);
    x->set_rank(rank);
    for (int d = 0; d < rank; ++d) x->add_shape(3);
    return out;
  };
  auto refused = [&](const v1::SpecializeRequest &bad, absl::StatusCode code, const std::string &needle) {
    auto response = daemon.client().specialize(bad);
    REQUIRE_FALSE(response.ok());
    INFO(response.status().message());
    CHECK(response.status().code() == code);
    CHECK(std::string(response.status().message()).find(needle) != std::string::npos);
  };
  refused(request(v1::INT32, 2), absl::StatusCode::kInvalidArgument, "float32 or float64, not int32");
  refused(request(v1::FLOAT64, 3), absl::StatusCode::kInvalidArgument, "2-D, not of rank 3");
  v1::SpecializeRequest bad_scale = request(v1::FLOAT64, 2);
  (*bad_scale.mutable_params())["scale"] = "two";
  refused(bad_scale, absl::StatusCode::kInvalidArgument, "'scale' must be a finite number");
  v1::SpecializeRequest opencl = request(v1::FLOAT64, 2);
  opencl.mutable_target()->set_platform("opencl");
  refused(opencl, absl::StatusCode::kUnimplemented, "cpu-openmp only");
  v1::SpecializeRequest numpy = request(v1::FLOAT64, 2);
  numpy.mutable_target()->set_platform("numpy");
  refused(numpy, absl::StatusCode::kFailedPrecondition, "no vectorized NumPy form");
  // A decorated-function specializer asked without a function.
  v1::SpecializeRequest no_function = request(v1::FLOAT64, 2);
  no_function.set_specializer("elementwise");
  refused(no_function, absl::StatusCode::kInvalidArgument, "needs the function's AST");
  CHECK(daemon.running());
  CHECK(daemon.client().healthy());
}

TEST_CASE("a daemon without --enable_test_specializers does not know the test specializer", "[library_kernel]") {
  PrivateDaemon daemon({});
  v1::SpecializeRequest request;
  request.set_specializer("test_column_stats");
  v1::ArgDescriptor *x = request.add_args();
  x->set_kind(v1::ARRAY);
  x->set_dtype(v1::FLOAT64);
  x->set_rank(2);
  x->add_shape(2);
  x->add_shape(2);
  auto response = daemon.client().specialize(request);
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(response.status().message()).find("unknown specializer 'test_column_stats'") != std::string::npos);
}

int main(int argc, char *argv[]) {
  if (argc < 2 || access(argv[1], X_OK) != 0) {
    fprintf(stderr, "usage: %s <path to sejitsd> [Catch2 options]\n", argv[0]);
    return 2;
  }
  daemon_binary = argv[1];
  argv[1] = argv[0];
  return Catch::Session().run(argc - 1, argv + 1);
}
