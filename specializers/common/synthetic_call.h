// Synthetic arguments for timing a kernel whose output has the broadcast
// shape of its array arguments (element-wise kernels, stencil sweeps): the
// inputs as the request describes them, then the output.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "specializers/request.h"
#include "specializers/specializer.h"

namespace sejits::specializers {

absl::StatusOr<std::vector<SyntheticArg>> broadcast_synthetic_call(const std::vector<ArgSpec> &args, DType result_dtype);

}  // namespace sejits::specializers
