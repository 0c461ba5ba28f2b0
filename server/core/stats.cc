#include "server/core/stats.h"

#include <algorithm>

namespace sejits::server {
namespace {
constexpr size_t kKeptCompileTimes = 1024;
}

void Stats::record_compile_seconds(double seconds) {
  std::lock_guard lock(mutex_);
  if (compile_seconds_.size() == kKeptCompileTimes) compile_seconds_.erase(compile_seconds_.begin());
  compile_seconds_.push_back(seconds);
}

StatsSnapshot Stats::snapshot() {
  StatsSnapshot out;
  out.requests = requests;
  out.cache_hits = cache_hits;
  out.cache_misses = cache_misses;
  out.compiles = compiles;
  out.compile_failures = compile_failures;
  out.joined_in_flight = joined_in_flight;
  out.rejected = rejected;
  out.unauthenticated = unauthenticated;
  out.upstream_requests = upstream_requests;
  out.upstream_failures = upstream_failures;
  std::lock_guard lock(mutex_);
  if (!compile_seconds_.empty()) {
    std::vector<double> sorted = compile_seconds_;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    out.compile_median_seconds = sorted[sorted.size() / 2];
  }
  return out;
}

}  // namespace sejits::server
