#include "specializers/fuse/reductions.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"

namespace sejits::specializers::fuse {

const char *reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return "sum";
    case ReduceOp::kProd:
      return "prod";
    case ReduceOp::kMin:
      return "min";
    case ReduceOp::kMax:
      return "max";
    case ReduceOp::kArgMin:
      return "argmin";
    case ReduceOp::kArgMax:
      return "argmax";
    case ReduceOp::kAny:
      return "any";
    case ReduceOp::kAll:
      return "all";
  }
  return "?";
}

std::optional<ReduceOp> reduction_named(const std::string &name) {
  static const std::map<std::string, ReduceOp> kOps = {
      {"sum", ReduceOp::kSum}, {"prod", ReduceOp::kProd}, {"min", ReduceOp::kMin},       {"amin", ReduceOp::kMin},
      {"max", ReduceOp::kMax}, {"amax", ReduceOp::kMax},  {"argmin", ReduceOp::kArgMin}, {"argmax", ReduceOp::kArgMax},
      {"any", ReduceOp::kAny}, {"all", ReduceOp::kAll},   {"mean", ReduceOp::kSum},      {"std", ReduceOp::kSum},
      {"var", ReduceOp::kSum},
  };
  const std::string bare = name.starts_with("numpy.") ? name.substr(6) : name;
  auto it = kOps.find(bare);
  if (it == kOps.end()) return std::nullopt;
  return it->second;
}

namespace {

// NumPy's accumulator for add and multiply without a dtype: bool and small
// integers widen to int64 (uint64 for unsigned ones).
DType sum_dtype(DType dtype) {
  if (dtype == DType::kBool || (is_signed_integer(dtype) && itemsize(dtype) < 8)) return DType::kInt64;
  if (kind_of(dtype) == Kind::kUnsigned && itemsize(dtype) < 8) return DType::kUInt64;
  return dtype;
}

}  // namespace

absl::StatusOr<Reduction> make_reduction(ReduceOp op, const NodeRef &body, const std::vector<SizeRef> &body_dims,
                                         const AxisSpec &axis, bool keepdims, int line) {
  const int64_t rank = static_cast<int64_t>(body_dims.size());
  Reduction reduction;
  reduction.op = op;
  reduction.body = body;
  reduction.body_dims = body_dims;
  reduction.keepdims = keepdims;
  reduction.line = line;
  reduction.reduced.assign(body_dims.size(), !axis.axes.has_value());
  if (axis.axes) {
    if ((op == ReduceOp::kArgMin || op == ReduceOp::kArgMax) && axis.axes->size() != 1) {
      return absl::FailedPreconditionError(absl::StrCat(reduce_op_name(op), " takes one axis, not a tuple"));
    }
    for (int64_t given : *axis.axes) {
      const int64_t normalized = given < 0 ? given + rank : given;
      if (normalized < 0 || normalized >= rank) {
        return absl::FailedPreconditionError(absl::StrCat("axis ", given, " is out of bounds for an array of dimension ", rank));
      }
      if (reduction.reduced[normalized]) return absl::FailedPreconditionError("duplicate value in 'axis'");
      reduction.reduced[normalized] = true;
    }
  }
  const DType dtype = strengthen(body->type).dtype;
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kProd:
      reduction.accumulator = reduction.result = {sum_dtype(dtype), false};
      break;
    case ReduceOp::kMin:
    case ReduceOp::kMax:
      reduction.accumulator = reduction.result = {dtype, false};
      break;
    case ReduceOp::kArgMin:
    case ReduceOp::kArgMax:
      reduction.accumulator = {dtype, false};
      reduction.result = {DType::kInt64, false};
      break;
    case ReduceOp::kAny:
    case ReduceOp::kAll:
      reduction.accumulator = reduction.result = {DType::kBool, false};
      break;
  }
  for (size_t d = 0; d < body_dims.size(); ++d) {
    if (!reduction.reduced[d]) {
      reduction.dims.push_back(body_dims[d]);
    } else if (keepdims) {
      reduction.dims.push_back(size_constant(1));
    }
  }
  return reduction;
}

SizeRef reduced_count(const Reduction &reduction) {
  SizeRef count = size_constant(1);
  for (size_t d = 0; d < reduction.body_dims.size(); ++d) {
    if (reduction.reduced[d]) count = size_mul(count, reduction.body_dims[d]);
  }
  return count;
}

}  // namespace sejits::specializers::fuse
