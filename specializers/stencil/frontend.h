#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "specializers/stencil/ir.h"

namespace sejits::specializers::stencil {

// Python function with relative indexing (a[0, 1] + a[0, -1] ...) plus its
// options (params "boundary", "cval") -> stencil IR.
absl::StatusOr<std::unique_ptr<StencilIr>> build_stencil_ir(const SpecializationRequest &request);

}  // namespace sejits::specializers::stencil
