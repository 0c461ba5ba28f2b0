#include "specializers/elementwise/variant_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sejits::specializers::elementwise {

std::string ElementwiseLoweringPlan::describe() const {
  if (platform == Platform::kOpenCl) return absl::StrCat("opencl rank ", rank, ": ", describe_opencl_plan(opencl, false));
  return absl::StrCat("cpu-openmp: threads ", thread_count_name(cpu.threads), ", parallel_threshold ", cpu.parallel_threshold,
                      ", chunk ", cpu.chunk, ", unroll ", cpu.unroll, ", streaming_stores ", cpu.streaming_stores,
                      ", spin_us ", cpu.spin_us);
}

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SpecializationRequest &request, Platform platform) {
  auto plan = std::make_unique<ElementwiseLoweringPlan>();
  plan->platform = platform;
  if (platform == Platform::kOpenCl) {
    absl::StatusOr<OpenClPlan> opencl = parse_opencl_plan("elementwise", request.params, OpenClPlan{});
    if (!opencl.ok()) return opencl.status();
    plan->opencl = *opencl;
    for (const ArgSpec &arg : request.args) {
      if (arg.kind == ArgKind::kArray) plan->rank = std::max(plan->rank, arg.rank);
    }
    return plan;
  }
  absl::StatusOr<ElementwisePlan> cpu = parse_plan(request.params);
  if (!cpu.ok()) return cpu.status();
  plan->cpu = *cpu;
  return plan;
}

}  // namespace sejits::specializers::elementwise
