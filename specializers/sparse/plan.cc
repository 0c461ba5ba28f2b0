#include "specializers/sparse/plan.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "specializers/common/shape_class.h"

namespace sejits::specializers::sparse {
namespace {

constexpr char kThreads[] = "threads";
constexpr char kRowGroups[] = "row_groups";

}  // namespace

std::string SparsePlan::describe() const {
  return absl::StrCat("variant: threads=", thread_count_name(threads), powers ? (row_groups ? ", row_groups=on" : ", row_groups=off") : "");
}

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SparseIr &ir, const SpecializationRequest &request,
                                                           Platform platform) {
  if (platform != Platform::kCpuOpenMp) {
    return absl::UnimplementedError(
        absl::StrCat("sparse kernels are generated for cpu-openmp, not for '", request.platform.substr(0, 40), "'"));
  }
  auto plan = std::make_unique<SparsePlan>();
  plan->powers = ir.operation == Operation::kPowers;
  for (const auto &[name, value] : request.params) {
    if (!is_variant_param(name)) continue;
    const std::string parameter = name.substr(sizeof(kVariantPrefix) - 1);
    if (parameter == kThreads) {
      absl::StatusOr<ThreadCount> threads = parse_thread_count(kName, name, value);
      if (!threads.ok()) return threads.status();
      plan->threads = *threads;
    } else if (parameter == kRowGroups) {
      if (value != "on" && value != "off") {
        return absl::InvalidArgumentError(absl::StrCat("sparse variant row_groups must be 'on' or 'off', not '", value.substr(0, 20), "'"));
      }
      plan->row_groups = value == "on";
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown sparse variant parameter '", name.substr(0, 48), "'"));
    }
  }
  return std::unique_ptr<LoweringPlan>(std::move(plan));
}

tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &) {
  tuner::TuningSpace space;
  space.parameters.push_back({kThreads, {"all", "half"}, "all"});
  auto operation = request.params.find("operation");
  if (operation != request.params.end() && operation->second == "powers") {
    space.parameters.push_back({kRowGroups, {"on", "off"}, "on"});
  }
  return space;
}

std::string matrix_shape_class(const SpecializationRequest &request, const std::string &entry_role) {
  if (request.args.size() < 3 || request.args[2].shape.empty() || request.args[0].shape.empty()) {
    return size_bucket_shape_class(request.args, entry_role);
  }
  const int64_t rows = std::max<int64_t>(0, request.args[2].shape[0] - 1);
  const int64_t per_row = rows > 0 ? request.args[0].shape[0] / rows : 0;
  return absl::StrCat(entry_role, ":rows", std::bit_width(static_cast<uint64_t>(rows)), ":per_row",
                      std::bit_width(static_cast<uint64_t>(per_row)), ":c");
}

}  // namespace sejits::specializers::sparse
