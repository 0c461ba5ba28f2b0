#pragma once

#include "absl/status/statusor.h"
#include "specializers/request.h"

namespace sejits::specializers {

// Runs every phase of a request, in order, and returns the generated source.
absl::StatusOr<GeneratedKernel> run_pipeline(const SpecializationRequest &request);

}  // namespace sejits::specializers
