#include "specializers/common/type_rules.h"

#include "absl/strings/str_cat.h"

namespace sejits::specializers {
namespace {

ScalarType common_type(const std::vector<ScalarType> &operands) {
  ScalarType common = operands.front();
  for (size_t i = 1; i < operands.size(); ++i) common = result_type(common, operands[i]);
  return common;
}

bool all_weak(const std::vector<ScalarType> &operands) {
  for (const auto &t : operands) {
    if (!t.weak) return false;
  }
  return true;
}

ScalarType finish(ScalarType type, bool weak_inputs, WeakResult weak_result) {
  type.weak = weak_inputs && weak_result == WeakResult::kKeepWeak;
  return type;
}

// The float loop (float32 or float64) NumPy picks for an integer or bool
// input of a float-only ufunc; float16 loops are not supported here.
absl::StatusOr<DType> float_loop_for(ScalarType type, const std::string &what) {
  if (is_float(type.dtype)) return type.dtype;
  if (type.weak) return DType::kFloat64;
  int size = itemsize(type.dtype);
  if (size == 1) {
    return absl::UnimplementedError(absl::StrCat(what, " of ", dtype_name(type.dtype),
                                                 " gives float16 in NumPy, which sejits does not support"));
  }
  return size == 2 ? DType::kFloat32 : DType::kFloat64;
}

}  // namespace

std::string bitwise_ufunc_name(ScalarOp op) {
  switch (op) {
    case ScalarOp::kBitAnd: return "bitwise_and, the `&` operator,";
    case ScalarOp::kBitOr: return "bitwise_or, the `|` operator,";
    case ScalarOp::kBitXor: return "bitwise_xor, the `^` operator,";
    case ScalarOp::kInvert: return "invert, the `~` operator,";
    case ScalarOp::kLeftShift: return "left_shift, the `<<` operator,";
    case ScalarOp::kRightShift: return "right_shift, the `>>` operator,";
    default: return "?";
  }
}

absl::StatusOr<ResolvedTypes> resolve_operator(ScalarOp op, const std::vector<ScalarType> &operands,
                                               WeakResult weak_result) {
  const bool weak_inputs = all_weak(operands);
  ScalarType common = common_type(operands);
  // Python arithmetic on bools gives ints (True + True == 2).
  bool python_bool = weak_inputs && common.dtype == DType::kBool;
  switch (op) {
    case ScalarOp::kAdd:
    case ScalarOp::kMul:
    case ScalarOp::kAbs:
    case ScalarOp::kMaximum:
    case ScalarOp::kMinimum:
      if (python_bool && op != ScalarOp::kMaximum && op != ScalarOp::kMinimum) common.dtype = DType::kInt64;
      return ResolvedTypes{common, finish(common, weak_inputs, weak_result)};
    case ScalarOp::kSub:
    case ScalarOp::kNeg:
      if (python_bool) common.dtype = DType::kInt64;
      if (common.dtype == DType::kBool) {
        return absl::InvalidArgumentError(
            op == ScalarOp::kSub ? "numpy boolean subtract, the `-` operator, is not supported"
                                 : "numpy boolean negative, the `-` operator, is not supported");
      }
      return ResolvedTypes{common, finish(common, weak_inputs, weak_result)};
    case ScalarOp::kTrueDiv: {
      ScalarType loop = common;
      if (!is_float(loop.dtype)) loop.dtype = DType::kFloat64;
      return ResolvedTypes{loop, finish(loop, weak_inputs, weak_result)};
    }
    case ScalarOp::kFloorDiv:
    case ScalarOp::kMod:
    case ScalarOp::kPow:
      if (common.dtype == DType::kBool) common.dtype = weak_inputs ? DType::kInt64 : DType::kInt8;
      return ResolvedTypes{common, finish(common, weak_inputs, weak_result)};
    case ScalarOp::kEq:
    case ScalarOp::kNe:
    case ScalarOp::kLt:
    case ScalarOp::kLe:
    case ScalarOp::kGt:
    case ScalarOp::kGe:
      return ResolvedTypes{common, finish(ScalarType{DType::kBool, false}, weak_inputs, weak_result)};
    case ScalarOp::kSelect:
      return ResolvedTypes{common, finish(common, weak_inputs, weak_result)};
    case ScalarOp::kBitAnd:
    case ScalarOp::kBitOr:
    case ScalarOp::kBitXor:
    case ScalarOp::kInvert:
    case ScalarOp::kLeftShift:
    case ScalarOp::kRightShift: {
      const bool shift = op == ScalarOp::kLeftShift || op == ScalarOp::kRightShift;
      if (is_float(common.dtype)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "numpy ", bitwise_ufunc_name(op), " is not supported for ", type_name(common),
            operands.size() > 1 && operands[0].dtype != operands[1].dtype
                ? absl::StrCat(" (the common type of ", type_name(operands[0]), " and ", type_name(operands[1]), ")")
                : "",
            " (NumPy raises TypeError: only integers and bools)"));
      }
      // Python: ~True == -2 and True << 1 == 2 (ints); NumPy's shift loops
      // start at int8, its invert of a bool is logical not.
      if (common.dtype == DType::kBool && (python_bool ? op == ScalarOp::kInvert || shift : shift)) {
        common.dtype = python_bool ? DType::kInt64 : DType::kInt8;
      }
      return ResolvedTypes{common, finish(common, weak_inputs, weak_result)};
    }
    default:
      return absl::InternalError("resolve_operator: not an operator");
  }
}

absl::StatusOr<ResolvedTypes> resolve_math(MathFn fn, const std::vector<ScalarType> &operands,
                                           WeakResult weak_result) {
  const bool weak_inputs = all_weak(operands);
  ScalarType common = common_type(operands);
  switch (fn) {
    case MathFn::kFloor:
    case MathFn::kCeil:
    case MathFn::kTrunc:
      // NumPy 2 keeps integer and bool dtypes for these.
      if (!is_float(common.dtype)) return ResolvedTypes{common, finish(common, weak_inputs, weak_result)};
      break;
    default:
      break;
  }
  auto loop = float_loop_for(common, "np." + math_fn_name(fn));
  if (!loop.ok()) return loop.status();
  ScalarType loop_type{*loop, common.weak};
  return ResolvedTypes{loop_type, finish(loop_type, weak_inputs, weak_result)};
}

}  // namespace sejits::specializers
