// peak-flops: the double-precision arithmetic peak that the compute-bound
// benchmark limits are computed from (the GMM cases, tests/bench/gmm.py).
// Native code, as the STREAM triad is (stream_triad.cc), so the limit never
// depends on which Python packages or BLAS are installed. Prints one JSON line.
//
// Each thread runs kChains independent dependency chains acc = acc * m + a on
// vectors of the widest doubles the compiler targets (-march=native: 8 lanes
// with AVX-512, 4 with AVX, 2 otherwise). A fused multiply-add counts as 2
// flops. The chains are independent so that the FMA units' latency is hidden
// (latency x units <= kChains) and stay in registers (no loads or stores in the
// loop). m < 1 and a = 1 - m keep every value near 1: no overflow, no
// subnormals, whose slow paths would measure something else.
//
// Two ways to run it, timed alternately so that both see the same disturbances
// of a shared machine: on every OpenMP thread and on one. The peak is the
// better of the two, as stream-triad's bound is the best of its variants: on a
// small VM whose other core is busy, one thread can do more than a team that
// waits for its slowest member, and a kernel can run on one thread too.
//
//   peak-flops [--runs=R]
//
// Each run lasts at least kMinRunSeconds (the loop count is grown until it
// does); the figure is the best of R runs.

#include <omp.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace {

#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
constexpr int kChains = 16;  // 32 vector registers
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;
constexpr int kChains = 12;  // 16 vector registers: 12 chains, m, a
#else
constexpr int kVectorBytes = 16;
constexpr int kChains = 12;
#endif
constexpr int kLanes = kVectorBytes / sizeof(double);
constexpr double kFlopsPerIteration = 2.0 * kChains * kLanes;  // one FMA per lane per chain
constexpr double kMinRunSeconds = 0.05;

using Vector = double __attribute__((vector_size(kVectorBytes)));

// Read at run time, so the compiler cannot fold the chains.
volatile double multiplier = 0.999999;

struct Options {
  int runs = 10;
};

bool parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    constexpr std::string_view kRuns = "--runs=";
    int runs = 0;
    if (arg.starts_with(kRuns)) {
      std::string_view digits = arg.substr(kRuns.size());
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), runs);
      if (error == std::errc() && end == digits.data() + digits.size() && runs > 0) {
        options.runs = std::min(runs, 1000);
        continue;
      }
    }
    std::fprintf(stderr, "usage: %s [--runs=R]  (unknown or invalid: %s)\n", argv[0], argv[i]);
    return false;
  }
  return true;
}

// `iterations` steps of kChains independent FMA chains on this thread; returns
// the mean of the final values (near 1 when the arithmetic is right).
double fma_chains(std::int64_t iterations) {
  const double m_scalar = multiplier;
  const Vector m = Vector{} + m_scalar, a = Vector{} + (1.0 - m_scalar);
  Vector acc[kChains];
  for (int c = 0; c < kChains; ++c) {
    for (int lane = 0; lane < kLanes; ++lane) acc[c][lane] = 1.0 + 1e-3 * (c * kLanes + lane);
  }
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * m + a;
  }
  double sum = 0.0;
  for (int c = 0; c < kChains; ++c) {
    for (int lane = 0; lane < kLanes; ++lane) sum += acc[c][lane];
  }
  return sum / (kChains * kLanes);
}

struct Run {
  double seconds;
  double mean_value;  // over every thread's chains
};

Run run_chains(std::int64_t iterations, int threads) {
  double total = 0.0;
  auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : total)
  total += fma_chains(iterations);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {seconds, total / threads};
}

struct Variant {
  const char* name;
  int threads;
  std::int64_t iterations = 1 << 16;
  double best_gflops = 0.0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, options)) return 2;
  const int all_threads = omp_get_max_threads();
  Variant variants[] = {{"all_threads", all_threads}, {"one_thread", 1}};
  // Warm-up and calibration: threads started, clocks up, each variant's loop
  // count grown until one run lasts kMinRunSeconds.
  for (Variant& variant : variants) {
    while (run_chains(variant.iterations, variant.threads).seconds < kMinRunSeconds) variant.iterations *= 2;
  }
  for (int run = 0; run < options.runs; ++run) {
    for (Variant& variant : variants) {
      Run measured = run_chains(variant.iterations, variant.threads);
      if (!(std::fabs(measured.mean_value - 1.0) < 0.1)) {
        std::fprintf(stderr, "peak-flops: the chains ended at %g, not near 1\n", measured.mean_value);
        return 1;
      }
      double flops = kFlopsPerIteration * static_cast<double>(variant.iterations) * variant.threads;
      variant.best_gflops = std::max(variant.best_gflops, flops / measured.seconds / 1e9);
    }
  }
  const Variant& best = *std::max_element(std::begin(variants), std::end(variants), [](const Variant& x,
                                                                                        const Variant& y) {
    return x.best_gflops < y.best_gflops;
  });
  std::printf("{\"peak_gflops\": %.3f, \"best_variant\": \"%s\", ", best.best_gflops, best.name);
  for (const Variant& variant : variants) std::printf("\"%s_gflops\": %.3f, ", variant.name, variant.best_gflops);
  std::printf("\"vector_bits\": %d, \"chains\": %d, \"runs\": %d, \"threads\": %d}\n", kVectorBytes * 8, kChains,
              options.runs, all_threads);
  return 0;
}
