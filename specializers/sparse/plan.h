// The code variant of a sparse kernel: the threads its products and powers
// use ("variant.threads") and, for the powers, whether PA1's levels sum
// groups of eight rows with one vector lane per row ("variant.row_groups",
// sejits/sparse_row_groups.h). Variants are tuned per matrix class (rows and
// stored entries per row, from the request's data and indptr). The matrix's
// own layout choices (blocks, ghost zones, whether PA1 pays) are the
// analysis's, made per operator in the client (sejits/sparse/_analysis.py)
// and passed as data.
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
  bool powers = false;
  bool row_groups = true;  // powers only
  std::string describe() const override;
};

// "<entry>:rows<bits>:per_row<bits>:c": the bit widths of the matrix's rows
// and of its stored entries per row, where the request carries indptr (else
// the size bucket of its largest array).
std::string matrix_shape_class(const SpecializationRequest &request, const std::string &entry_role);

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SparseIr &ir, const SpecializationRequest &request,
                                                           Platform platform);

tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class);

}  // namespace sejits::specializers::sparse
