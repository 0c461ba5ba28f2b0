// The pipeline's variant-plan phase for element-wise kernels: the request's
// "variant.*" params parsed into the plan of the chosen platform.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "specializers/common/opencl_lowering.h"
#include "specializers/elementwise/plan.h"
#include "specializers/specializer.h"

namespace sejits::specializers::elementwise {

struct ElementwiseLoweringPlan final : LoweringPlan {
  Platform platform = Platform::kCpuOpenMp;
  ElementwisePlan cpu;  // kCpuOpenMp
  OpenClPlan opencl;    // kOpenCl
  int rank = 0;         // kOpenCl: of the output (the arrays broadcast together), which the kernel is generated for
  std::string describe() const override;
};

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SpecializationRequest &request, Platform platform);

}  // namespace sejits::specializers::elementwise
