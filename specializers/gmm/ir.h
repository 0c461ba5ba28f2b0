// The domain IR of the Gaussian-mixture specializer ("gmm"): a library
// kernel with no user AST. The request names the covariance type, the
// number of components M and of features D; X's dtype comes from its one
// argument. N, the number of rows, stays a runtime argument. The EM
// arithmetic itself is sejits/gmm_runtime.h's; the generated code
// instantiates it for these constants.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "specializers/common/dtype.h"
#include "specializers/specializer.h"

namespace sejits::specializers::gmm {

inline constexpr char kName[] = "gmm";

// The four covariance types, numbered as sejits_gmm::Covariance.
enum class Covariance { kFull = 0, kTied = 1, kDiag = 2, kSpherical = 3 };
const char *covariance_name(Covariance covariance);

// Entry points by role, and the artifact's symbols.
inline constexpr char kEmIterationRole[] = "em_iteration";
inline constexpr char kEStepRole[] = "e_step";
inline constexpr char kMStepRole[] = "m_step";
inline constexpr char kScoreSamplesRole[] = "score_samples";
inline constexpr char kPredictRole[] = "predict";

struct GmmIr : DomainIr {
  DType dtype = DType::kFloat64;  // of X and of every parameter array
  Covariance covariance = Covariance::kFull;
  int64_t n_components = 1;  // M
  int64_t n_features = 1;    // D

  std::string describe() const override {
    return absl::StrCat(kName, "(", covariance_name(covariance), " covariance, M=", n_components, ", D=", n_features, ", ",
                        dtype_name(dtype), ")");
  }
};

}  // namespace sejits::specializers::gmm
