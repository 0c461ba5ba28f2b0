// Front end of the gmm specializer: the request's params and its one
// argument (X) -> GmmIr, or INVALID_ARGUMENT naming what is wrong.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "specializers/gmm/ir.h"
#include "specializers/request.h"

namespace sejits::specializers::gmm {

// The params: covariance_type (full, tied, diag or spherical), n_components
// and n_features (positive integers, within the limits below); X: a 2-D
// float32 or float64 array.
absl::StatusOr<std::unique_ptr<GmmIr>> build_gmm_ir(const SpecializationRequest &request);

// Limits of the generated code: beyond them the client runs its NumPy EM.
inline constexpr int64_t kMaxComponents = 4096;
inline constexpr int64_t kMaxFeatures = 512;

}  // namespace sejits::specializers::gmm
