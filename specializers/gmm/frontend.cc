#include "specializers/gmm/frontend.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "specializers/common/variant_params.h"

namespace sejits::specializers::gmm {
namespace {

constexpr char kCovarianceParam[] = "covariance_type";
constexpr char kComponentsParam[] = "n_components";
constexpr char kFeaturesParam[] = "n_features";

absl::Status refuse(const std::string &why) { return absl::InvalidArgumentError(absl::StrCat(kName, ": ", why)); }

absl::StatusOr<Covariance> parse_covariance(const std::string &text) {
  for (Covariance covariance : {Covariance::kFull, Covariance::kTied, Covariance::kDiag, Covariance::kSpherical}) {
    if (text == covariance_name(covariance)) return covariance;
  }
  return refuse(absl::StrCat("param 'covariance_type' must be 'full', 'tied', 'diag' or 'spherical', not '", text.substr(0, 40), "'"));
}

absl::StatusOr<int64_t> parse_count(const std::map<std::string, std::string> &params, const char *name, int64_t limit) {
  auto found = params.find(name);
  if (found == params.end()) return refuse(absl::StrCat("param '", name, "' is missing"));
  int64_t value = 0;
  if (!absl::SimpleAtoi(found->second, &value) || value < 1 || value > limit) {
    return refuse(absl::StrCat("param '", name, "' must be an integer from 1 to ", limit, ", not '", found->second.substr(0, 40), "'"));
  }
  return value;
}

}  // namespace

const char *covariance_name(Covariance covariance) {
  switch (covariance) {
    case Covariance::kFull: return "full";
    case Covariance::kTied: return "tied";
    case Covariance::kDiag: return "diag";
    case Covariance::kSpherical: return "spherical";
  }
  return "full";
}

absl::StatusOr<std::unique_ptr<GmmIr>> build_gmm_ir(const SpecializationRequest &request) {
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
    if (name != kCovarianceParam && name != kComponentsParam && name != kFeaturesParam && !is_variant_param(name)) {
      return refuse(absl::StrCat("unknown param '", name.substr(0, 64), "' (known: covariance_type, n_components, n_features)"));
    }
  }
  auto covariance = request.params.find(kCovarianceParam);
  if (covariance == request.params.end()) return refuse("param 'covariance_type' is missing");
  absl::StatusOr<Covariance> parsed = parse_covariance(covariance->second);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<int64_t> components = parse_count(request.params, kComponentsParam, kMaxComponents);
  if (!components.ok()) return components.status();
  absl::StatusOr<int64_t> features = parse_count(request.params, kFeaturesParam, kMaxFeatures);
  if (!features.ok()) return features.status();
  if (x.shape.size() == 2 && x.shape[1] != *features) {
    return refuse(absl::StrCat("X has ", x.shape[1], " features, but param 'n_features' is ", *features));
  }
  auto ir = std::make_unique<GmmIr>();
  ir->dtype = static_cast<DType>(x.dtype_code);
  ir->covariance = *parsed;
  ir->n_components = *components;
  ir->n_features = *features;
  return ir;
}

}  // namespace sejits::specializers::gmm
