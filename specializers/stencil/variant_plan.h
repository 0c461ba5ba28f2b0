// The pipeline's variant-plan phase for stencils: the request's "variant.*"
// params parsed into the plan of the chosen platform.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "specializers/common/opencl_lowering.h"
#include "specializers/specializer.h"
#include "specializers/stencil/ir.h"
#include "specializers/stencil/plan.h"

namespace sejits::specializers::stencil {

struct StencilLoweringPlan final : LoweringPlan {
  Platform platform = Platform::kCpuOpenMp;
  StencilPlan cpu;    // kCpuOpenMp
  OpenClPlan opencl;  // kOpenCl
  bool two_dimensional = false;  // kOpenCl: the grid's rank is 2 or more (for describe)
  std::string describe() const override;
};

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const StencilIr &ir, const SpecializationRequest &request,
                                                           Platform platform);

}  // namespace sejits::specializers::stencil
