// The domain IR of `test_column_stats`, a TEST-ONLY library specializer: a
// kernel named by the request, with typed params and no user AST. It exists
// so that the path of library kernels (request without a function, an
// artifact with two entry points and outputs of different shapes) is tested
// end to end before real library domains arrive. Registered only when the
// daemon runs with --enable_test_specializers (registry.h).
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "specializers/common/dtype.h"
#include "specializers/specializer.h"

namespace sejits::specializers::testing {

inline constexpr char kColumnStatsName[] = "test_column_stats";
// call(X, col_sums, row_max): col_sums[j] = scale * sum_i X[i,j], row_max[i] = max_j X[i,j].
inline constexpr char kColumnStatsCallSymbol[] = "sejits_test_column_stats_call";
// center(X, col_sums, Y): Y[i,j] = X[i,j] - col_sums[j] / X.shape[0].
inline constexpr char kCenterRole[] = "center";
inline constexpr char kColumnStatsCenterSymbol[] = "sejits_test_column_stats_center";

struct ColumnStatsIr : DomainIr {
  DType dtype = DType::kFloat64;  // of X, and of every output
  double scale = 1;               // the "scale" param, applied to col_sums

  std::string describe() const override {
    return absl::StrCat(kColumnStatsName, "(X: 2-D ", dtype_name(dtype), ", scale=", scale, ")");
  }
};

}  // namespace sejits::specializers::testing
