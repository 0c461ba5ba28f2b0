#include "specializers/stencil/plan.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sejits::specializers::stencil {
namespace {

constexpr char kName[] = "stencil";
constexpr int64_t kMaxTemporalDepth = 1024;
constexpr int64_t kMaxTileRows = 1 << 20;

int grid_rank(const SpecializationRequest &request) {
  for (const ArgSpec &arg : request.args) {
    if (arg.kind == ArgKind::kArray) return arg.rank;
  }
  return 0;
}

}  // namespace

absl::StatusOr<StencilPlan> parse_plan(const std::map<std::string, std::string> &params) {
  StencilPlan plan;
  for (const auto &[name, value] : params) {
    if (!is_variant_param(name)) continue;
    const std::string field = name.substr(sizeof(kVariantPrefix) - 1);
    absl::Status status;
    if (field == "streaming_stores" || field == "temporal_blocking") {
      absl::StatusOr<bool> flag = parse_variant_flag(kName, name, value);
      if (flag.ok()) (field == "streaming_stores" ? plan.streaming_stores : plan.temporal_blocking) = *flag;
      status = flag.status();
    } else if (field == "temporal_depth" || field == "tile_rows" || field == "tile_cols") {
      const bool depth = field == "temporal_depth";
      absl::StatusOr<int64_t> parsed = parse_variant_int(kName, name, value, 0, depth ? kMaxTemporalDepth : kMaxTileRows);
      if (parsed.ok()) (depth ? plan.temporal_depth : field == "tile_rows" ? plan.tile_rows : plan.tile_cols) = *parsed;
      status = parsed.status();
    } else if (field == "threads") {
      absl::StatusOr<ThreadCount> threads = parse_thread_count(kName, name, value);
      if (threads.ok()) plan.threads = *threads;
      status = threads.status();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown stencil variant parameter '", name.substr(0, 48), "'"));
    }
    if (!status.ok()) return status;
  }
  return plan;
}

tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class) {
  tuner::TuningSpace space;
  const int rank = grid_rank(request);
  if (shape_class.rfind("iterate:", 0) == 0) {
    // Wrap reads reach the far end of the outer axis: no wavefront to tune.
    auto boundary = request.params.find("boundary");
    if (boundary == request.params.end() || boundary->second != "wrap") {
      space.parameters.push_back({"temporal_depth", {"0", "2", "4", "8", "16"}, "0"});
    }
    space.parameters.push_back({"threads", {"all", "half", "1"}, "all"});
    return space;
  }
  space.parameters.push_back({"threads", {"all", "half", "1"}, "all"});
  space.parameters.push_back({"streaming_stores", {"1", "0"}, "1"});
  if (rank >= 3) space.parameters.push_back({"tile_rows", {"0", "4", "16", "64"}, "0"});
  if (rank >= 2) space.parameters.push_back({"tile_cols", {"0", "256", "2048"}, "0"});
  return space;
}

}  // namespace sejits::specializers::stencil
