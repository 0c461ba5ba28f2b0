#include "specializers/testing/column_stats_frontend.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sejits::specializers::testing {
namespace {

constexpr char kScaleParam[] = "scale";

absl::Status refuse(const std::string &why) {
  return absl::InvalidArgumentError(absl::StrCat(kColumnStatsName, ": ", why));
}

absl::StatusOr<double> parse_scale(const std::map<std::string, std::string> &params) {
  auto found = params.find(kScaleParam);
  if (found == params.end()) return 1.0;
  double scale = 0;
  if (!absl::SimpleAtod(found->second, &scale) || !std::isfinite(scale)) {
    return refuse(absl::StrCat("param 'scale' must be a finite number, not '", found->second.substr(0, 40), "'"));
  }
  return scale;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ColumnStatsIr>> build_column_stats_ir(const SpecializationRequest &request) {
  // A function would be ignored by the code yet be part of the key: refused,
  // so that a client that means a decorated kernel learns it at once.
  if (request.function) return refuse("a library kernel takes params, not a function's AST (the request carries one)");
  if (request.args.size() != 1) {
    return refuse(absl::StrCat("takes one argument, X (a 2-D float32 or float64 array); the request has ", request.args.size()));
  }
  const ArgSpec &x = request.args[0];
  if (x.kind != ArgKind::kArray) return refuse("argument X must be an array, not a scalar");
  if (x.rank != 2) return refuse(absl::StrCat("argument X must be 2-D, not of rank ", x.rank));
  if (x.dtype_code != static_cast<int>(DType::kFloat32) && x.dtype_code != static_cast<int>(DType::kFloat64)) {
    const std::string dtype = is_supported_dtype(x.dtype_code) ? dtype_name(static_cast<DType>(x.dtype_code))
                                                                : absl::StrCat("code ", x.dtype_code);
    return refuse(absl::StrCat("argument X must be float32 or float64, not ", dtype));
  }
  for (const auto &[name, value] : request.params) {
    if (name != kScaleParam) return refuse(absl::StrCat("unknown param '", name.substr(0, 64), "' (known: scale)"));
  }
  absl::StatusOr<double> scale = parse_scale(request.params);
  if (!scale.ok()) return scale.status();
  auto ir = std::make_unique<ColumnStatsIr>();
  ir->dtype = static_cast<DType>(x.dtype_code);
  ir->scale = *scale;
  return ir;
}

}  // namespace sejits::specializers::testing
