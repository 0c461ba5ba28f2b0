// stream-triad: the memory bandwidth every CPU benchmark limit is computed
// from (tests/bench/machine.py), measured as STREAM does: a[i] = b[i] + s*c[i]
// with OpenMP on arrays much larger than the last-level cache, each page first
// touched by the threads that later stream it, best of several runs, 24 bytes
// per element (b and c read, a written). Native code, so the limit never
// depends on which Python packages are installed. Prints one JSON line.
//
// The bound is the best of four ways to run the triad, timed alternately so
// that all see the same disturbances of a shared machine: plain stores (whose
// write-allocate read of a is real traffic that STREAM does not count) and
// streaming stores (24 bytes per element are all the traffic there is), each
// on every thread and on one. A kernel can do what any of them does: sejits
// writes large outputs with streaming stores, and its tuner may choose one
// thread, which on a small VM whose other core is busy moves more than a
// team that waits for its slowest member.
//
//   stream-triad [--elements=N] [--runs=R]
//
// --elements is a minimum: each array is grown to 4x the last-level cache (the
// STREAM rule), as far as a quarter of the available memory allows.

#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif

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
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::int64_t kLine = 64 / sizeof(double);  // elements per cache line

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

// Untouched, so its pages are placed by the first thread that writes them;
// in transparent huge pages where the kernel offers them, as NumPy allocates
// the arrays that kernels run on (with 4 KiB pages, whose TLB misses are dear
// in a VM, this 2-core VM measured half the bandwidth).
Array allocate(std::int64_t n) {
  std::size_t bytes = (n * sizeof(double) + kHugePage - 1) / kHugePage * kHugePage;
  Array array(static_cast<double*>(std::aligned_alloc(kHugePage, bytes)));
  if (array) madvise(array.get(), bytes, MADV_HUGEPAGE);  // advice: without huge pages, plain pages
  return array;
}

struct Range {
  std::int64_t begin, end;
};

// The calling OpenMP thread's share of [0, n): contiguous, the same in every
// loop (so each thread streams the pages it placed), cut at cache lines (so
// streaming stores start aligned: the arrays are aligned to huge pages).
Range thread_range(std::int64_t n) {
  std::int64_t lines = (n + kLine - 1) / kLine, threads = omp_get_num_threads(), thread = omp_get_thread_num();
  return {std::min(n, lines * thread / threads * kLine), std::min(n, lines * (thread + 1) / threads * kLine)};
}

void first_touch(double* __restrict a, double* __restrict b, double* __restrict c, std::int64_t n) {
#pragma omp parallel
  {
    auto [begin, end] = thread_range(n);
    for (std::int64_t i = begin; i < end; ++i) {
      a[i] = kA;
      b[i] = kB;
      c[i] = kC;
    }
  }
}

void triad_plain_stores(double* __restrict a, const double* __restrict b, const double* __restrict c, double s,
                        int threads, std::int64_t n) {
#pragma omp parallel num_threads(threads)
  {
    auto [begin, end] = thread_range(n);
#pragma omp simd
    for (std::int64_t i = begin; i < end; ++i) a[i] = b[i] + s * c[i];
  }
}

void triad_streaming_stores(double* __restrict a, const double* __restrict b, const double* __restrict c, double s,
                            int threads, std::int64_t n) {
#pragma omp parallel num_threads(threads)
  {
    auto [begin, end] = thread_range(n);
    std::int64_t i = begin;
#if defined(__x86_64__) && defined(__SSE2__)
    const __m128d scalar = _mm_set1_pd(s);
    for (; i + kLine <= end; i += kLine) {  // one whole cache line of a per iteration
      for (std::int64_t k = 0; k < kLine; k += 2) {
        __m128d sum = _mm_add_pd(_mm_load_pd(b + i + k), _mm_mul_pd(scalar, _mm_load_pd(c + i + k)));
        _mm_stream_pd(a + i + k, sum);
      }
    }
    _mm_sfence();
#endif
    for (; i < end; ++i) a[i] = b[i] + s * c[i];
  }
}

using Triad = void (*)(double* __restrict, const double* __restrict, const double* __restrict, double, int,
                       std::int64_t);

struct Variant {
  const char* name;
  Triad triad;
  int threads;
  double best_s = 1e300;
};

bool all_right(const double* a, std::int64_t n) {
  std::int64_t wrong = 0;
#pragma omp parallel for reduction(+ : wrong)
  for (std::int64_t i = 0; i < n; ++i) wrong += a[i] != kB + kScalar * kC;
  if (wrong != 0) std::fprintf(stderr, "stream-triad: %lld elements hold a wrong result\n", static_cast<long long>(wrong));
  return wrong == 0;
}

template <typename Run>
double seconds_of(Run run) {
  auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
  const int all_threads = omp_get_max_threads();
  Variant variants[] = {{"plain_stores", triad_plain_stores, all_threads},
                        {"streaming_stores", triad_streaming_stores, all_threads},
                        {"plain_stores_one_thread", triad_plain_stores, 1},
                        {"streaming_stores_one_thread", triad_streaming_stores, 1}};
  first_touch(a.get(), b.get(), c.get(), n);
  // Warm-up (threads started, TLB and caches in their steady state), each
  // variant checked on an a that holds none of its results yet.
  for (const Variant& variant : variants) {
    variant.triad(a.get(), b.get(), c.get(), kScalar, variant.threads, n);
    if (!all_right(a.get(), n)) return 1;
    first_touch(a.get(), b.get(), c.get(), n);
  }
  for (int run = 0; run < options.runs; ++run) {
    for (Variant& variant : variants) {
      double seconds = seconds_of([&] { variant.triad(a.get(), b.get(), c.get(), kScalar, variant.threads, n); });
      variant.best_s = std::min(variant.best_s, seconds);
    }
  }
  if (!all_right(a.get(), n)) return 1;
  const double bytes = static_cast<double>(kBytesPerElement) * n;
  const Variant& best = *std::min_element(std::begin(variants), std::end(variants),
                                          [](const Variant& x, const Variant& y) { return x.best_s < y.best_s; });
  std::printf("{\"stream_triad_gbs\": %.3f, \"best_variant\": \"%s\", ", bytes / best.best_s / 1e9, best.name);
  for (const Variant& variant : variants) std::printf("\"%s_gbs\": %.3f, ", variant.name, bytes / variant.best_s / 1e9);
  std::printf("\"elements\": %lld, \"bytes_per_element\": %d, \"runs\": %d, \"threads\": %d, "
              "\"last_level_cache_bytes\": %lld}\n",
              static_cast<long long>(n), kBytesPerElement, options.runs, all_threads,
              static_cast<long long>(last_level_cache_bytes()));
  return 0;
}
