#include "specializers/stencil/constant_arrays.h"

#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sejits::specializers::stencil {
namespace {

// The array at the root of a chain of subscripts, or null.
const v1::Expr *array_root(const v1::Expr &value) {
  if (value.has_tuple()) return &value;
  if (value.has_call() && value.call().func().has_global_ref() &&
      value.call().func().global_ref().qualified_name() == "numpy.array" && value.call().args_size() == 1 &&
      value.call().keywords_size() == 0 && value.call().args(0).has_tuple()) {
    return &value;
  }
  if (value.has_subscript()) return array_root(value.subscript().value());
  return nullptr;
}

bool is_ndarray(const v1::Expr &root) { return root.has_call(); }

// The index expressions of each subscript level, outermost level (the one
// next to the array) first.
void collect_levels(const v1::Subscript &subscript, std::vector<const v1::Expr *> &levels) {
  if (subscript.value().has_subscript()) collect_levels(subscript.value().subscript(), levels);
  levels.push_back(&subscript.slice());
}

}  // namespace

bool is_constant_array_read(const v1::Subscript &subscript) { return array_root(subscript.value()) != nullptr; }

absl::StatusOr<NodeRef> read_constant_array(ExprFrontend &frontend, const SourceContext &context,
                                            const v1::Subscript &subscript, const Environment &environment, int line) {
  const v1::Expr *root = array_root(subscript.value());
  if (root == nullptr) return user_error(context, line, "internal: not a constant array read");
  const bool ndarray = is_ndarray(*root);
  const v1::Expr *at = ndarray ? &root->call().args(0) : root;
  std::vector<const v1::Expr *> levels;
  collect_levels(subscript, levels);
  int axis = 0;
  for (const v1::Expr *level : levels) {
    std::vector<const v1::Expr *> indices;
    if (level->has_tuple()) {
      if (!ndarray) {
        return user_error(context, line, "a list or tuple of weights is indexed one axis at a time, as W[i][j] (W[i, j] is a "
                                         "TypeError in Python); or make W a NumPy array");
      }
      for (const auto &element : level->tuple().elts()) indices.push_back(&element);
    } else {
      indices.push_back(level);
    }
    for (const v1::Expr *index : indices) {
      if (index->has_unsupported() || index->node_case() == v1::Expr::NODE_NOT_SET) {
        return user_error(context, line, "a constant array (weights) is indexed with integers, one per axis (no slices)");
      }
      auto value = frontend.translate_expr(*index, environment);
      if (!value.ok()) return value.status();
      const ScalarNode &node = **value;
      const int64_t *constant = std::get_if<int64_t>(&node.value);
      if (node.op != ScalarOp::kConstant || constant == nullptr || !is_integer(node.type.dtype)) {
        return user_error(context, line,
                          "the index into a constant array (weights) must be an integer constant once loops over range() "
                          "are unrolled, like W[di + 2] in `for di in range(-2, 3)`; an index computed from the grid's values "
                          "is not supported");
      }
      if (!at->has_tuple()) {
        return user_error(context, line, absl::StrCat("too many indices for the constant array: it has ", axis, " axes"));
      }
      const int64_t size = at->tuple().elts_size();
      const int64_t position = *constant < 0 ? *constant + size : *constant;
      if (position < 0 || position >= size) {
        return user_error(context, line, absl::StrCat("index ", *constant, " is out of bounds for axis ", axis,
                                                      " of the constant array, with size ", size));
      }
      at = &at->tuple().elts(static_cast<int>(position));
      ++axis;
    }
  }
  if (at->has_tuple()) {
    return user_error(context, line, absl::StrCat("the constant array has more than ", axis,
                                                  " axes: index every axis to read one number"));
  }
  return frontend.translate_expr(*at, environment);
}

}  // namespace sejits::specializers::stencil
