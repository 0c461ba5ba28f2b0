// The code variant of an element-wise kernel: choices that change speed,
// never results. Requests select one with "variant.<name>" params (part of
// the cache key); without them lowering uses the defaults below. The tuner
// searches the space that tuning_space() offers.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "specializers/common/variant_params.h"
#include "specializers/elementwise/lower.h"
#include "specializers/request.h"
#include "tuner-db/variant.h"

namespace sejits::specializers::elementwise {

struct ElementwisePlan {
  ThreadCount threads = ThreadCount::kAll;
  int64_t parallel_threshold = kParallelThreshold;  // elements below which the loop runs on one thread
  int64_t chunk = 0;                                // elements per scheduling chunk; 0: an even share per thread
  int64_t unroll = 1;                               // dense loop: elements per iteration
  bool streaming_stores = true;                     // outputs of kStreamingOutputBytes or more
  int64_t spin_us = 0;                              // test only: busy-wait before the work
};

// The request's test-only param that makes the default variant slow by this
// many microseconds (the tuner's tests must tune it away).
inline constexpr char kTestSlowDefaultParam[] = "test.slow_default_us";

// The plan the request's "variant.*" params select; an unknown name or a bad
// value is INVALID_ARGUMENT.
absl::StatusOr<ElementwisePlan> parse_plan(const std::map<std::string, std::string> &params);

// The variants worth timing for calls of this shape class (their sizes).
tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class);

}  // namespace sejits::specializers::elementwise
