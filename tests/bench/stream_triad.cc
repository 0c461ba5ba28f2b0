// stream-triad: the memory bandwidth every CPU benchmark limit is computed
// from (tests/bench/machine.py), measured as STREAM does: a[i] = b[i] + s*c[i]
// with OpenMP on arrays much larger than the last-level cache, each page first
// touched by the thread that later streams it, best of several runs, 24 bytes
// per element (b and c read, a written; the write-allocate read of a is not
// counted). Native code, so the limit never depends on which Python packages
// are installed. Prints one JSON line.
//
//   stream-triad [--elements=N] [--runs=R]
//
// --elements is a minimum: each array is grown to 4x the last-level cache (the
// STREAM rule), as far as a quarter of the available memory allows.

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

namespace {

constexpr double kScalar = 3.0;
constexpr double kA = 1.0, kB = 2.0, kC = 0.5;
constexpr int kBytesPerElement = 24;
constexpr std::size_t kPage = 4096;

struct Options {
  std::int64_t elements = std::int64_t{1} << 23;
  int runs = 10;
};

// "--name=value" as a positive integer; false if `arg` is not that flag.
bool parse_flag(std::string_view arg, std::string_view name, std::int64_t& value) {
  if (!arg.starts_with(name) || arg.size() <= name.size() || arg[name.size()] != '=') return false;
  std::string_view digits = arg.substr(name.size() + 1);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return error == std::errc() && end == digits.data() + digits.size() && value > 0;
}

bool parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::int64_t runs = 0;
    if (parse_flag(argv[i], "--elements", options.elements)) continue;
    if (parse_flag(argv[i], "--runs", runs)) {
      options.runs = static_cast<int>(std::min<std::int64_t>(runs, 1000));
      continue;
    }
    std::fprintf(stderr, "usage: %s [--elements=N] [--runs=R]  (unknown or invalid: %s)\n", argv[0], argv[i]);
    return false;
  }
  return true;
}

// "32768K" -> bytes.
std::int64_t parse_cache_size(const std::string& text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc()) return 0;
  if (end != text.data() + text.size() && (*end == 'K' || *end == 'k')) value <<= 10;
  if (end != text.data() + text.size() && (*end == 'M' || *end == 'm')) value <<= 20;
  return value;
}

// The kernel's view of the largest data cache this CPU uses (sysfs), else
// glibc's (cpuid, which some VMs fill with the whole host's L3).
std::int64_t last_level_cache_bytes() {
  std::int64_t largest = 0;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/devices/system/cpu/cpu0/cache", ignored)) {
    std::ifstream type_file(entry.path() / "type"), size_file(entry.path() / "size");
    std::string type, size;
    if (!(type_file >> type) || !(size_file >> size) || type == "Instruction") continue;
    largest = std::max(largest, parse_cache_size(size));
  }
  if (largest > 0) return largest;
  return std::max<std::int64_t>(sysconf(_SC_LEVEL3_CACHE_SIZE), sysconf(_SC_LEVEL2_CACHE_SIZE));
}

std::int64_t array_elements(std::int64_t requested) {
  std::int64_t stream_rule = 4 * last_level_cache_bytes() / sizeof(double);
  std::int64_t available = static_cast<std::int64_t>(sysconf(_SC_AVPHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  std::int64_t memory_cap = available > 0 ? available / 4 / (3 * sizeof(double)) : stream_rule;
  return std::max(requested, std::min(stream_rule, memory_cap));
}

struct FreeDeleter {
  void operator()(double* p) const { std::free(p); }
};
using Array = std::unique_ptr<double[], FreeDeleter>;

// Page-aligned and untouched: its pages are placed by the first thread that writes them.
Array allocate(std::int64_t n) {
  std::size_t bytes = (n * sizeof(double) + kPage - 1) / kPage * kPage;
  return Array(static_cast<double*>(std::aligned_alloc(kPage, bytes)));
}

// The same static schedule as the triad, so each thread streams the pages it placed.
void first_touch(double* __restrict a, double* __restrict b, double* __restrict c, std::int64_t n) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    a[i] = kA;
    b[i] = kB;
    c[i] = kC;
  }
}

void triad(double* __restrict a, const double* __restrict b, const double* __restrict c, double s, std::int64_t n) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

std::int64_t wrong_elements(const double* a, std::int64_t n) {
  std::int64_t wrong = 0;
#pragma omp parallel for schedule(static) reduction(+ : wrong)
  for (std::int64_t i = 0; i < n; ++i) wrong += a[i] != kB + kScalar * kC;
  return wrong;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, options)) return 2;
  const std::int64_t n = array_elements(options.elements);
  Array a = allocate(n), b = allocate(n), c = allocate(n);
  if (!a || !b || !c) {
    std::fprintf(stderr, "stream-triad: cannot allocate 3 arrays of %lld doubles\n", static_cast<long long>(n));
    return 1;
  }
  first_touch(a.get(), b.get(), c.get(), n);
  triad(a.get(), b.get(), c.get(), kScalar, n);  // warm-up: threads started, TLB and caches in their steady state

  double best_s = 1e300, worst_s = 0;
  for (int run = 0; run < options.runs; ++run) {
    auto start = std::chrono::steady_clock::now();
    triad(a.get(), b.get(), c.get(), kScalar, n);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best_s = std::min(best_s, seconds);
    worst_s = std::max(worst_s, seconds);
  }
  if (std::int64_t wrong = wrong_elements(a.get(), n); wrong != 0) {
    std::fprintf(stderr, "stream-triad: %lld elements hold a wrong result\n", static_cast<long long>(wrong));
    return 1;
  }
  const double bytes = static_cast<double>(kBytesPerElement) * n;
  std::printf(
      "{\"stream_triad_gbs\": %.3f, \"elements\": %lld, \"bytes_per_element\": %d, \"runs\": %d, "
      "\"threads\": %d, \"best_s\": %.6g, \"worst_s\": %.6g, \"last_level_cache_bytes\": %lld}\n",
      bytes / best_s / 1e9, static_cast<long long>(n), kBytesPerElement, options.runs, omp_get_max_threads(), best_s,
      worst_s, static_cast<long long>(last_level_cache_bytes()));
  return 0;
}
