// The code variant of a stencil: choices that change speed, never results.
// Requests select one with "variant.<name>" params (part of the cache key);
// without them lowering uses the defaults below. The tuner searches the
// space that tuning_space() offers.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "specializers/common/variant_params.h"
#include "specializers/request.h"
#include "tuner-db/variant.h"

namespace sejits::specializers::stencil {

struct StencilPlan {
  bool streaming_stores = true;   // a single sweep writes an output larger than the cache with non-temporal stores
  bool temporal_blocking = true;  // emit the `iterate` entry point (wavefront over the outer axis)
  int64_t temporal_depth = 0;     // sweeps per wavefront; 0: as many as the cache holds
  int64_t tile_rows = 0;          // rank >= 3, single sweeps: axis 1 in tiles of this many rows; 0: untiled
  int64_t tile_cols = 0;          // rank >= 2, single sweeps: the last axis in tiles of this many columns; 0: untiled
  ThreadCount threads = ThreadCount::kAll;
};

// The plan the request's "variant.*" params select; an unknown name or a bad
// value is INVALID_ARGUMENT.
absl::StatusOr<StencilPlan> parse_plan(const std::map<std::string, std::string> &params);

// The variants worth timing for the entry the shape class names ("call" or
// "iterate") and the grid's rank.
tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class);

}  // namespace sejits::specializers::stencil
