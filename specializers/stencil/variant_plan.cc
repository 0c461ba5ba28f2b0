#include "specializers/stencil/variant_plan.h"

#include "absl/strings/str_cat.h"
#include "specializers/stencil/lower_opencl.h"

namespace sejits::specializers::stencil {

std::string StencilLoweringPlan::describe() const {
  if (platform == Platform::kOpenCl) return absl::StrCat("opencl: ", describe_opencl_plan(opencl, two_dimensional));
  return absl::StrCat("cpu-openmp: threads ", thread_count_name(cpu.threads), ", streaming_stores ", cpu.streaming_stores,
                      ", temporal_blocking ", cpu.temporal_blocking, ", temporal_depth ", cpu.temporal_depth,
                      ", tile_rows ", cpu.tile_rows, ", tile_cols ", cpu.tile_cols);
}

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const StencilIr &ir, const SpecializationRequest &request,
                                                           Platform platform) {
  auto plan = std::make_unique<StencilLoweringPlan>();
  plan->platform = platform;
  if (platform == Platform::kOpenCl) {
    // The work-group shape's defaults depend on the grid's rank.
    absl::StatusOr<OpenClPlan> opencl = parse_opencl_plan("stencil", request.params, default_stencil_opencl_plan(ir.rank));
    if (!opencl.ok()) return opencl.status();
    plan->opencl = *opencl;
    plan->two_dimensional = ir.rank >= 2;
    return plan;
  }
  absl::StatusOr<StencilPlan> cpu = parse_plan(request.params);
  if (!cpu.ok()) return cpu.status();
  plan->cpu = *cpu;
  return plan;
}

}  // namespace sejits::specializers::stencil
