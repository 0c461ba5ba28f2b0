#include "specializers/sparse/plan.h"

#include "absl/strings/str_cat.h"

namespace sejits::specializers::sparse {

std::string SparsePlan::describe() const { return absl::StrCat("variant: threads=", thread_count_name(threads)); }

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SparseIr &, const SpecializationRequest &request,
                                                           Platform platform) {
  if (platform != Platform::kCpuOpenMp) {
    return absl::UnimplementedError(
        absl::StrCat("sparse kernels are generated for cpu-openmp, not for '", request.platform.substr(0, 40), "'"));
  }
  auto plan = std::make_unique<SparsePlan>();
  for (const auto &[name, value] : request.params) {
    if (!is_variant_param(name)) continue;
    if (name.substr(sizeof(kVariantPrefix) - 1) != "threads") {
      return absl::InvalidArgumentError(absl::StrCat("unknown sparse variant parameter '", name.substr(0, 48), "'"));
    }
    absl::StatusOr<ThreadCount> threads = parse_thread_count(kName, name, value);
    if (!threads.ok()) return threads.status();
    plan->threads = *threads;
  }
  return std::unique_ptr<LoweringPlan>(std::move(plan));
}

tuner::TuningSpace tuning_space(const SpecializationRequest &, const std::string &) {
  tuner::TuningSpace space;
  space.parameters.push_back({"threads", {"all", "half"}, "all"});
  return space;
}

}  // namespace sejits::specializers::sparse
