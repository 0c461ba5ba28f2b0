// Counters the daemon exposes through GetStats and `sejits stats`.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace sejits::server {

struct StatsSnapshot {
  int64_t requests = 0, cache_hits = 0, cache_misses = 0, compiles = 0, compile_failures = 0, joined_in_flight = 0,
          rejected = 0, unauthenticated = 0, upstream_requests = 0, upstream_failures = 0;
  double compile_median_seconds = 0;
};

class Stats {
 public:
  std::atomic<int64_t> requests{0}, cache_hits{0}, cache_misses{0}, compiles{0}, compile_failures{0},
      joined_in_flight{0}, rejected{0}, unauthenticated{0}, upstream_requests{0}, upstream_failures{0};

  void record_compile_seconds(double seconds);
  StatsSnapshot snapshot();

 private:
  std::mutex mutex_;
  std::vector<double> compile_seconds_;  // the most recent ones, bounded
};

}  // namespace sejits::server
