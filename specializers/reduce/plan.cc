#include "specializers/reduce/plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sejits::specializers::reduce {
namespace {

constexpr char kName[] = "reduce";
constexpr int64_t kMaxTile = 1024;  // SEJITS_REDUCE_MAX_TILE

}  // namespace

std::string ReducePlan::describe() const {
  if (platform == Platform::kOpenCl) return absl::StrCat("variant: work-groups of ", opencl.wg_x, " work items");
  return absl::StrCat("variant: threads=", thread_count_name(threads), ", row-mode tile ", tile, " columns");
}

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SpecializationRequest &request, Platform platform) {
  auto plan = std::make_unique<ReducePlan>();
  plan->platform = platform;
  if (platform == Platform::kOpenCl) {
    absl::StatusOr<OpenClPlan> opencl = parse_opencl_plan(kName, request.params, OpenClPlan{});
    if (!opencl.ok()) return opencl.status();
    plan->opencl = *opencl;
    for (const ArgSpec &arg : request.args) {
      if (arg.kind == ArgKind::kArray) plan->rank = std::max(plan->rank, arg.rank);
    }
    return std::unique_ptr<LoweringPlan>(std::move(plan));
  }
  if (platform != Platform::kCpuOpenMp) return absl::UnimplementedError("reductions run on the CPU (C++/OpenMP) and on OpenCL devices");
  for (const auto &[name, value] : request.params) {
    if (!is_variant_param(name)) continue;
    const std::string field = name.substr(sizeof(kVariantPrefix) - 1);
    if (field == "threads") {
      absl::StatusOr<ThreadCount> threads = parse_thread_count(kName, name, value);
      if (!threads.ok()) return threads.status();
      plan->threads = *threads;
    } else if (field == "tile") {
      absl::StatusOr<int64_t> tile = parse_variant_int(kName, name, value, 8, kMaxTile);
      if (!tile.ok()) return tile.status();
      plan->tile = *tile;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown reduce variant parameter '", name.substr(0, 48), "'"));
    }
  }
  return std::unique_ptr<LoweringPlan>(std::move(plan));
}

tuner::TuningSpace tuning_space(const SpecializationRequest &, const std::string &) {
  tuner::TuningSpace space;
  space.parameters.push_back({"threads", {"all", "half", "1"}, "all"});
  space.parameters.push_back({"tile", {"1024", "256", "512"}, "1024"});
  return space;
}

}  // namespace sejits::specializers::reduce
