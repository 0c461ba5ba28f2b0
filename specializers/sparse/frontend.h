// The sparse specializer's front end: the request's arguments (data and
// indices of a CSR matrix) and params ("operation", "k", "basis") to a
// SparseIr, or INVALID_ARGUMENT naming what is wrong.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "specializers/request.h"
#include "specializers/sparse/ir.h"

namespace sejits::specializers::sparse {

absl::StatusOr<std::unique_ptr<SparseIr>> build_sparse_ir(const SpecializationRequest &request);

}  // namespace sejits::specializers::sparse
