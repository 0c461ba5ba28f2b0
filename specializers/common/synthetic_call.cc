#include "specializers/common/synthetic_call.h"

#include <algorithm>

namespace sejits::specializers {

absl::StatusOr<std::vector<SyntheticArg>> broadcast_synthetic_call(const std::vector<ArgSpec> &args, DType result_dtype) {
  std::vector<SyntheticArg> out;
  std::vector<int64_t> broadcast;
  for (const ArgSpec &arg : args) {
    if (!is_supported_dtype(arg.dtype_code)) return absl::InvalidArgumentError("an argument of an unsupported dtype");
    auto dtype = static_cast<DType>(arg.dtype_code);
    if (arg.kind == ArgKind::kScalar) {
      out.push_back({ArgKind::kScalar, dtype, {}});
      continue;
    }
    if (static_cast<int32_t>(arg.shape.size()) != arg.rank) return absl::InvalidArgumentError("an array without its shape");
    for (int64_t extent : arg.shape) {
      if (extent < 0 || extent > (int64_t{1} << 40)) return absl::InvalidArgumentError("an array extent out of range");
    }
    // NumPy broadcasting, aligned at the last axis.
    if (arg.shape.size() > broadcast.size()) broadcast.insert(broadcast.begin(), arg.shape.size() - broadcast.size(), 1);
    for (size_t k = 0; k < arg.shape.size(); ++k) {
      int64_t &target = broadcast[broadcast.size() - arg.shape.size() + k];
      target = std::max(target, arg.shape[k]);
    }
    out.push_back({ArgKind::kArray, dtype, arg.shape});
  }
  out.push_back({ArgKind::kArray, result_dtype, broadcast});
  return out;
}

}  // namespace sejits::specializers
