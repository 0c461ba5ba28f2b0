#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "specializers/elementwise/ir.h"

namespace sejits::specializers::elementwise {

// Python function + argument descriptions -> element-wise IR.
absl::StatusOr<std::unique_ptr<ElementwiseIr>> build_elementwise_ir(const SpecializationRequest &request);

}  // namespace sejits::specializers::elementwise
