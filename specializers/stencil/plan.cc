#include "specializers/stencil/plan.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sejits::specializers::stencil {
namespace {

constexpr int64_t kMaxTemporalDepth = 1024;
constexpr int64_t kMaxTileRows = 1 << 20;

absl::Status bad_value(const std::string &name, const std::string &value, const std::string &expected) {
  return absl::InvalidArgumentError(absl::StrCat("stencil variant ", name, "=", value.substr(0, 32), ": expected ", expected));
}

absl::StatusOr<bool> parse_flag(const std::string &name, const std::string &value) {
  if (value == "1" || value == "true") return true;
  if (value == "0" || value == "false") return false;
  return bad_value(name, value, "0 or 1");
}

}  // namespace

absl::StatusOr<StencilPlan> parse_plan(const std::map<std::string, std::string> &params) {
  StencilPlan plan;
  for (const auto &[name, value] : params) {
    if (!is_variant_param(name)) continue;
    if (name == "variant.streaming_stores" || name == "variant.temporal_blocking") {
      absl::StatusOr<bool> flag = parse_flag(name, value);
      if (!flag.ok()) return flag.status();
      (name == "variant.streaming_stores" ? plan.streaming_stores : plan.temporal_blocking) = *flag;
    } else if (name == "variant.temporal_depth") {
      if (!absl::SimpleAtoi(value, &plan.temporal_depth) || plan.temporal_depth < 0 || plan.temporal_depth > kMaxTemporalDepth) {
        return bad_value(name, value, absl::StrCat("an integer from 0 (automatic) to ", kMaxTemporalDepth));
      }
    } else if (name == "variant.tile_rows") {
      if (!absl::SimpleAtoi(value, &plan.tile_rows) || plan.tile_rows < 0 || plan.tile_rows > kMaxTileRows) {
        return bad_value(name, value, absl::StrCat("an integer from 0 (untiled) to ", kMaxTileRows));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown stencil variant parameter '", name.substr(0, 48), "'"));
    }
  }
  return plan;
}

}  // namespace sejits::specializers::stencil
