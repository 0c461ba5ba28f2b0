// NumPy's reductions as the fusion IR holds them: which axes, the
// accumulator and result types (NumPy's rules: small integers sum in
// int64 or uint64, argmin and argmax give int64, any and all bool).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "specializers/fuse/ir.h"

namespace sejits::specializers::fuse {

// The `axis` argument: none (all axes) or the listed ones, as written (may be negative).
struct AxisSpec {
  std::optional<std::vector<int64_t>> axes;
};

// The reduction of `body` (of dimensions `body_dims`) along `axis`.
// FAILED_PRECONDITION with NumPy's complaint for an axis out of range, a
// repeated axis, or several axes for argmin/argmax.
absl::StatusOr<Reduction> make_reduction(ReduceOp op, const NodeRef &body, const std::vector<SizeRef> &body_dims,
                                         const AxisSpec &axis, bool keepdims, int line);

// How many elements each result element combines.
SizeRef reduced_count(const Reduction &reduction);

// "numpy.sum" or the method name "sum" -> the op; nullopt for others.
// mean, std and var map to kSum (the front end divides).
std::optional<ReduceOp> reduction_named(const std::string &name);

}  // namespace sejits::specializers::fuse
