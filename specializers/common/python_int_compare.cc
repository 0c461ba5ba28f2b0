#include "specializers/common/python_int_compare.h"

namespace sejits::specializers {
namespace {

bool is_python_int(const NodeRef &node) {
  return node->type.weak && (node->type.dtype == DType::kInt64 || node->type.dtype == DType::kUInt64);
}

}  // namespace

NodeRef compare_with_python_int(ScalarOp op, const NodeRef &left, const NodeRef &right, int line) {
  if (!is_comparison(op)) return nullptr;
  const bool python_int_left = is_python_int(left) && !right->type.weak;
  const bool python_int_right = is_python_int(right) && !left->type.weak;
  if (python_int_left == python_int_right) return nullptr;
  const NodeRef &python_int = python_int_left ? left : right;
  const NodeRef &array = python_int_left ? right : left;
  const bool array_uint64 = array->type.dtype == DType::kUInt64;
  const bool python_int_beyond_int64 = python_int->type.dtype == DType::kUInt64;
  if (!is_integer(array->type.dtype)) return nullptr;  // bool meets a Python int as int64, as NumPy does
  if (!array_uint64 && !python_int_beyond_int64) return nullptr;  // both hold in int64

  const ScalarType boolean{DType::kBool, false}, uint64{DType::kUInt64, false}, int64{DType::kInt64, false};
  auto compare = [&](const NodeRef &python_value, const NodeRef &array_value) {
    return python_int_left ? make_node(op, boolean, {python_value, array_value}, line)
                           : make_node(op, boolean, {array_value, python_value}, line);
  };
  // The result when the Python int lies below (or above) every value the array's dtype holds.
  auto beyond = [&](bool python_int_below) {
    const bool left_below = python_int_left == python_int_below;
    const bool holds = op == ScalarOp::kNe || (left_below ? (op == ScalarOp::kLt || op == ScalarOp::kLe)
                                                          : (op == ScalarOp::kGt || op == ScalarOp::kGe));
    return make_constant(holds, boolean, line);
  };
  if (array_uint64 && python_int_beyond_int64) return compare(cast_to(python_int, uint64), array);
  if (python_int_beyond_int64) return beyond(/*python_int_below=*/false);
  // A Python int in int64 against uint64 values: below all of them when negative.
  // (Cast to a strong int64 first: same dtype, so not range-checked as a narrowing.)
  NodeRef as_int64 = cast_to(python_int, int64);
  NodeRef negative = make_node(ScalarOp::kLt, boolean, {as_int64, make_constant(int64_t{0}, int64, line)}, line);
  return make_node(ScalarOp::kSelect, boolean, {negative, beyond(true), compare(cast_to(as_int64, uint64), array)}, line);
}

}  // namespace sejits::specializers
