// Run-time sizes in the generated code: each computed once at the entry,
// after NumPy's check (broadcasting, indices, empty reductions).
#include "specializers/fuse/lower_nest.h"

namespace sejits::specializers::fuse {

void FuseLowering::add_view_sizes(const View &view, std::vector<SizeRef> &roots) {
  roots.push_back(view.offset);
  roots.insert(roots.end(), view.dims.begin(), view.dims.end());
  roots.insert(roots.end(), view.strides.begin(), view.strides.end());
}

DType FuseLowering::array_dtype(int arg) const {
  return arg < nparams() ? ir_.parameters[arg].type.dtype : ir_.outputs[arg - nparams()].type.dtype;
}

// A size: its prologue variable, a literal, or (for sizes made while
// lowering, which never carry checks) its expression.
cg::ExprPtr FuseLowering::size(const SizeRef &node) const {
  if (auto value = constant_value(node)) return i64(*value);
  auto named = size_names_.find(node->key);
  if (named != size_names_.end()) return cg::var(named->second);
  auto operand = [&](int k) { return size(node->operands[k]); };
  switch (node->op) {
    case SizeOp::kDim:
      return cg::index(arg_field(node->param, "shape"), i64(node->axis));
    case SizeOp::kStride:
      return cg::index(arg_field(node->param, "strides"), i64(node->axis));
    case SizeOp::kAdd:
      return add(operand(0), operand(1));
    case SizeOp::kMul:
      return mul(operand(0), operand(1));
    case SizeOp::kStrideUnlessOne:
      return cg::ternary(eq(operand(0), i64(1)), i64(0), operand(1));
    default:
      return size_expression(*node);
  }
}

cg::ExprPtr FuseLowering::size_expression(const SizeNode &node) const {
  auto operand = [&](int k) { return size(node.operands[k]); };
  switch (node.op) {
    case SizeOp::kSliceStart:
    case SizeOp::kSliceLength: {
      auto [start, stop] = slice_bounds(node, operand(0));
      if (node.op == SizeOp::kSliceStart) return start;
      const bool up = node.step > 0;
      const int64_t step = up ? node.step : -node.step;
      cg::ExprPtr span = up ? cg::binary(cg::BinaryOp::kSub, stop, start) : cg::binary(cg::BinaryOp::kSub, start, stop);
      return cg::ternary(cg::binary(cg::BinaryOp::kGt, span, i64(0)), div(add(span, i64(step - 1)), i64(step)), i64(0));
    }
    case SizeOp::kIndex:
      return node.constant < 0 ? add(operand(0), i64(node.constant)) : i64(node.constant);
    case SizeOp::kBroadcast: {  // the operands' largest: NumPy's length where they are compatible
      cg::ExprPtr length = operand(0);
      for (size_t k = 1; k < node.operands.size(); ++k) length = cg::call(cg::Callee::kMax, {length, operand(k)});
      return length;
    }
    case SizeOp::kFitsInto:
      return operand(1);
    case SizeOp::kNonEmpty:
      return operand(0);
    default:
      return size(std::make_shared<const SizeNode>(node));
  }
}

// Python's slice.indices for a constant lower:upper:step on a length.
std::pair<cg::ExprPtr, cg::ExprPtr> FuseLowering::slice_bounds(const SizeNode &node, const cg::ExprPtr &length) {
  const bool up = node.step > 0;
  auto clamp = [&](std::optional<int64_t> bound, cg::ExprPtr absent) -> cg::ExprPtr {
    if (!bound) return absent;
    if (*bound < 0) return cg::call(cg::Callee::kMax, {add(length, i64(*bound)), i64(up ? 0 : -1)});
    return cg::call(cg::Callee::kMin, {i64(*bound), up ? length : add(length, i64(-1))});
  };
  return {clamp(node.lower, up ? i64(0) : add(length, i64(-1))), clamp(node.upper, up ? length : i64(-1))};
}

cg::StmtPtr FuseLowering::fall_back_unless(cg::ExprPtr fine, const std::string &why) {
  return cg::if_stmt(negate(std::move(fine)), {fail_statement(kFallbackPrefix + why)});
}

// `const int64_t z<k> = ...;` for every size, in order, each after NumPy's check.
void FuseLowering::compute_sizes(std::vector<cg::StmtPtr> &body) {
  size_names_.clear();
  for (const SizeRef &node : sizes_) {
    if (constant_value(node)) continue;
    auto operand = [&](int k) { return size(node->operands[k]); };
    switch (node->op) {
      case SizeOp::kIndex: {
        const std::string position = fresh("index");
        body.push_back(constant_decl(position, size_expression(*node)));
        body.push_back(fall_back_unless(both(cg::binary(cg::BinaryOp::kGe, cg::var(position), i64(0)),
                                             cg::binary(cg::BinaryOp::kLt, cg::var(position), operand(0))),
                                        absl::StrCat("index ", node->constant, " is out of bounds")));
        break;
      }
      case SizeOp::kBroadcast: {  // every operand 1 or the largest
        cg::ExprPtr largest = size_expression(*node);
        for (size_t k = 0; k < node->operands.size(); ++k) {
          body.push_back(fall_back_unless(either(eq(operand(k), i64(1)), eq(operand(k), largest)),
                                          "operands could not be broadcast together"));
        }
        break;
      }
      case SizeOp::kFitsInto:
        body.push_back(fall_back_unless(either(eq(operand(0), operand(1)), eq(operand(0), i64(1))),
                                        "could not broadcast the assigned value into its target"));
        break;
      case SizeOp::kNonEmpty:
        body.push_back(fall_back_unless(ne(operand(0), i64(0)), "zero-size array to a reduction operation with no identity"));
        break;
      default:
        break;
    }
    const std::string name = absl::StrCat("z", size_names_.size());
    body.push_back(constant_decl(name, size_expression(*node)));
    size_names_[node->key] = name;
  }
}
}  // namespace sejits::specializers::fuse
