#include "specializers/gmm/plan.h"

#include "absl/strings/str_cat.h"
#include "specializers/gmm/frontend.h"
#include "specializers/gmm/ir.h"
#include "specializers/platforms.h"

namespace sejits::specializers::gmm {

namespace {

constexpr int64_t kMaxWorkGroup = 1024;
constexpr int64_t kMaxGroupRows = int64_t{1} << 24;

absl::Status unknown_variant(const std::string &name) {
  return absl::InvalidArgumentError(absl::StrCat("unknown gmm variant parameter '", name.substr(0, 48), "'"));
}

// OpenCL: "variant.wg_x" (work items per group), "variant.rows" (rows per
// group) and "variant.model" (global or local).
absl::StatusOr<std::unique_ptr<LoweringPlan>> opencl_plan(const GmmIr &ir, const SpecializationRequest &request) {
  auto plan = std::make_unique<GmmPlan>();
  plan->platform = Platform::kOpenCl;
  plan->local_model = device_model_bytes(ir) <= kDefaultLocalModelBytes;
  for (const auto &[name, value] : request.params) {
    if (!is_variant_param(name)) continue;
    const std::string field = name.substr(sizeof(kVariantPrefix) - 1);
    if (field == "model") {
      if (value != "global" && value != "local") return bad_variant_value(kName, name, value, "'global' or 'local'");
      plan->local_model = value == "local";
      if (plan->local_model && device_model_bytes(ir) > kLocalModelBytes) {
        return absl::InvalidArgumentError(absl::StrCat("gmm variant.model=local: the model's ", device_model_bytes(ir),
                                                       " bytes do not fit the ", kLocalModelBytes,
                                                       " bytes of local memory every OpenCL device has"));
      }
      continue;
    }
    if (field != "wg_x" && field != "rows") return unknown_variant(name);
    absl::StatusOr<int64_t> parsed = parse_variant_int(kName, name, value, 1, field == "wg_x" ? kMaxWorkGroup : kMaxGroupRows);
    if (!parsed.ok()) return parsed.status();
    (field == "wg_x" ? plan->work_group : plan->group_rows) = *parsed;
  }
  return std::unique_ptr<LoweringPlan>(std::move(plan));
}

}  // namespace

int64_t device_model_bytes(const GmmIr &ir) {
  const int64_t M = ir.n_components, D = ir.n_features;
  const int64_t precisions = ir.covariance == Covariance::kFull   ? M * D * D
                             : ir.covariance == Covariance::kTied ? D * D
                             : ir.covariance == Covariance::kDiag ? M * D
                                                                  : M;
  const int64_t values = M * D + precisions + D + (ir.covariance == Covariance::kTied ? M * D : 0);
  return values * (ir.dtype == DType::kFloat32 ? 4 : 8);
}

std::string GmmPlan::describe() const {
  if (platform == Platform::kOpenCl) {
    return absl::StrCat("variant: work-groups of ", work_group, " work items, ", group_rows, " rows per group, the model's means ",
                        "and precision factors read from ", local_model ? "a copy in local memory" : "global memory");
  }
  return absl::StrCat("variant: threads=", thread_count_name(threads), ", tiles of ", tile_rows, " rows, M-step sums split over ",
                      mstep_over_components ? "components" : "rows", ", ",
                      separate_passes ? "separate E and M passes (N x M responsibilities kept)" : "E and M fused in one pass",
                      ", ", online_log_sum_exp ? "online log-sum-exp over blocks of components" : "two-pass log-sum-exp");
}

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const GmmIr &ir, const SpecializationRequest &request,
                                                           Platform platform) {
  if (platform == Platform::kOpenCl) return opencl_plan(ir, request);
  if (platform != Platform::kCpuOpenMp) {
    return absl::UnimplementedError(absl::StrCat("Gaussian-mixture EM is generated for cpu-openmp and opencl, not for '",
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
    } else if (field == "mstep") {
      if (value != "rows" && value != "components") return bad_variant_value(kName, name, value, "'rows' or 'components'");
      plan->mstep_over_components = value == "components";
    } else if (field == "passes") {
      if (value != "fused" && value != "separate") return bad_variant_value(kName, name, value, "'fused' or 'separate'");
      plan->separate_passes = value == "separate";
    } else if (field == "estep") {
      if (value != "two_pass" && value != "online") return bad_variant_value(kName, name, value, "'two_pass' or 'online'");
      plan->online_log_sum_exp = value == "online";
    } else {
      return unknown_variant(name);
    }
  }
  return std::unique_ptr<LoweringPlan>(std::move(plan));
}

tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &) {
  tuner::TuningSpace space;
  if (request.platform == kOpenClPlatform) {
    space.parameters.push_back({"wg_x", {"256", "64", "128"}, "256"});
    space.parameters.push_back({"rows", {"1024", "256", "4096"}, "1024"});
    absl::StatusOr<std::unique_ptr<GmmIr>> ir = build_gmm_ir(request);
    if (ir.ok() && device_model_bytes(**ir) <= kLocalModelBytes) {
      const char *preferred = device_model_bytes(**ir) <= kDefaultLocalModelBytes ? "local" : "global";
      space.parameters.push_back({"model", {"local", "global"}, preferred});
    }
    return space;
  }
  space.parameters.push_back({"threads", {"all", "half"}, "all"});
  space.parameters.push_back({"tile", {"64", "32", "128"}, "64"});
  space.parameters.push_back({"mstep", {"rows", "components"}, "rows"});
  space.parameters.push_back({"passes", {"fused", "separate"}, "fused"});
  space.parameters.push_back({"estep", {"two_pass", "online"}, "two_pass"});
  return space;
}

}  // namespace sejits::specializers::gmm
