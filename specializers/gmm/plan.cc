#include "specializers/gmm/plan.h"

#include "absl/strings/str_cat.h"
#include "specializers/gmm/ir.h"

namespace sejits::specializers::gmm {

std::string GmmPlan::describe() const {
  return absl::StrCat("variant: threads=", thread_count_name(threads), ", tiles of ", tile_rows, " rows");
}

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SpecializationRequest &request, Platform platform) {
  if (platform != Platform::kCpuOpenMp) {
    return absl::UnimplementedError(absl::StrCat("Gaussian-mixture EM is generated for cpu-openmp only so far, not for '",
                                                 request.platform.substr(0, 40), "'"));
  }
  auto plan = std::make_unique<GmmPlan>();
  for (const auto &[name, value] : request.params) {
    if (!is_variant_param(name)) continue;
    const std::string field = name.substr(sizeof(kVariantPrefix) - 1);
    if (field == "threads") {
      absl::StatusOr<ThreadCount> threads = parse_thread_count(kName, name, value);
      if (!threads.ok()) return threads.status();
      plan->threads = *threads;
    } else if (field == "tile") {
      absl::StatusOr<int64_t> tile = parse_variant_int(kName, name, value, 16, 512);
      if (!tile.ok()) return tile.status();
      if (*tile % 16 != 0) return bad_variant_value(kName, name, value, "a multiple of 16");
      plan->tile_rows = *tile;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown gmm variant parameter '", name.substr(0, 48), "'"));
    }
  }
  return std::unique_ptr<LoweringPlan>(std::move(plan));
}

tuner::TuningSpace tuning_space(const SpecializationRequest &, const std::string &) {
  tuner::TuningSpace space;
  space.parameters.push_back({"threads", {"all", "half"}, "all"});
  space.parameters.push_back({"tile", {"64", "32", "128"}, "64"});
  return space;
}

}  // namespace sejits::specializers::gmm
