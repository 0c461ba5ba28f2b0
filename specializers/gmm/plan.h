// The code variant of a gmm kernel: choices that change speed, never
// results beyond the order of the per-thread sums. Requests select one with
// "variant.<name>" params; tuning_space() is what the tuner searches.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "specializers/common/variant_params.h"
#include "specializers/request.h"
#include "specializers/specializer.h"
#include "tuner-db/variant.h"

namespace sejits::specializers::gmm {

struct GmmPlan final : LoweringPlan {
  ThreadCount threads = ThreadCount::kAll;
  // Rows of X per tile (sejits/gmm_tile.h): the E-step's and M-step's
  // working set of one thread is about tile_rows * (3 D + M) doubles.
  int64_t tile_rows = 64;
  std::string describe() const override;
};

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SpecializationRequest &request, Platform platform);

tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class);

}  // namespace sejits::specializers::gmm
