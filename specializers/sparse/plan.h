// The code variant of a sparse kernel: the threads its products and powers
// use ("variant.threads"). The matrix's own layout choices (blocks, ghost
// zones, whether PA1 pays) are the analysis's, made per operator in the
// client (sejits/sparse/_analysis.py) and passed as data.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "specializers/common/variant_params.h"
#include "specializers/request.h"
#include "specializers/specializer.h"
#include "specializers/sparse/ir.h"
#include "tuner-db/variant.h"

namespace sejits::specializers::sparse {

struct SparsePlan final : LoweringPlan {
  ThreadCount threads = ThreadCount::kAll;
  std::string describe() const override;
};

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SparseIr &ir, const SpecializationRequest &request,
                                                           Platform platform);

tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class);

}  // namespace sejits::specializers::sparse
