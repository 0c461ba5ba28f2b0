// Reductions in the generated code: accumulators with NumPy's identities
// and combining rules, contiguous (simd) and strided loops, parallel partials.
#include <cmath>
#include <limits>

#include "specializers/fuse/lower_nest.h"

namespace sejits::specializers::fuse {

// The C type a reduction accumulates in: float32 sums in double (more
// accurate than NumPy's pairwise float32 sum, not bitwise the same).
ScalarType FuseLowering::accumulator_type(const Reduction &reduction) {
  if (reduction.op == ReduceOp::kSum && reduction.accumulator.dtype == DType::kFloat32) return {DType::kFloat64, false};
  return reduction.accumulator;
}

ConstantValue FuseLowering::identity(const Reduction &reduction, ScalarType type) {
  const DType dtype = type.dtype;
  const bool lowest = reduction.op == ReduceOp::kMax;
  switch (reduction.op) {
    case ReduceOp::kSum:
      return int64_t{0};
    case ReduceOp::kProd:
      return int64_t{1};
    case ReduceOp::kAny:
      return false;
    case ReduceOp::kAll:
      return true;
    default:
      break;
  }
  if (is_float(dtype)) return lowest ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  if (dtype == DType::kBool) return !lowest;
  const int bits = 8 * itemsize(dtype);
  if (kind_of(dtype) == Kind::kUnsigned) {
    return lowest ? ConstantValue{uint64_t{0}} : ConstantValue{bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1};
  }
  const int64_t max = bits == 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (bits - 1)) - 1;
  return lowest ? -max - 1 : max;
}

bool FuseLowering::tracks_nan(const Reduction &reduction) {
  return (reduction.op == ReduceOp::kMin || reduction.op == ReduceOp::kMax) && is_float(reduction.accumulator.dtype);
}

cg::ExprPtr FuseLowering::accumulated(const Reduction &reduction, const Accumulator &names) {
  if (!tracks_nan(reduction)) return cg::var(names.acc);
  const ScalarType type = accumulator_type(reduction);
  ScalarLoweringContext context;
  cg::ExprPtr nan =
      lower_scalar(make_constant(std::numeric_limits<double>::quiet_NaN(), type, reduction.line), context).value;
  return cg::ternary(cg::var(names.nan), nan, cg::var(names.acc));
}

// acc = combine(acc, x), as NumPy's ufunc for the op computes it.
std::vector<cg::StmtPtr> FuseLowering::combine(const Reduction &reduction, const Accumulator &names, cg::ExprPtr x,
                                               ScalarType x_type) {
  const std::string &acc = names.acc;
  const ScalarType type = accumulator_type(reduction);
  if (tracks_nan(reduction)) {
    const std::string value = fresh("candidate");
    const cg::ExprPtr candidate = cg::var(value);
    const cg::ExprPtr better = cg::binary(reduction.op == ReduceOp::kMax ? cg::BinaryOp::kGt : cg::BinaryOp::kLt, candidate,
                                          cg::var(acc));
    return {cg::decl(cg::scalar_type(ctype_of(type.dtype), true), value, cg::cast(cg::scalar_type(ctype_of(type.dtype)), x)),
            cg::assign(cg::var(names.nan), cg::binary(cg::BinaryOp::kBitOr, cg::var(names.nan), ne(candidate, candidate))),
            cg::assign(cg::var(acc), cg::ternary(better, candidate, cg::var(acc)))};
  }
  NodeRef left = make_param(0, type, reduction.line);
  NodeRef right = cast_to(make_param(1, x_type, reduction.line), type);
  NodeRef combined;
  switch (reduction.op) {
    case ReduceOp::kSum:
      combined = make_node(ScalarOp::kAdd, type, {left, right}, reduction.line);
      break;
    case ReduceOp::kProd:
      combined = make_node(ScalarOp::kMul, type, {left, right}, reduction.line);
      break;
    case ReduceOp::kMin:
      combined = make_node(ScalarOp::kMinimum, type, {left, right}, reduction.line);  // integers and bools
      break;
    case ReduceOp::kMax:
      combined = make_node(ScalarOp::kMaximum, type, {left, right}, reduction.line);
      break;
    case ReduceOp::kAny:
    case ReduceOp::kAll: {
      NodeRef truth = make_node(ScalarOp::kTruth, type, {make_param(1, x_type, reduction.line)}, reduction.line);
      combined = make_node(reduction.op == ReduceOp::kAny ? ScalarOp::kLogicalOr : ScalarOp::kLogicalAnd, type, {left, truth},
                           reduction.line);
      break;
    }
    default:
      break;
  }
  ScalarLoweringContext context;
  context.error_flag = "error_flag";
  context.temporary_prefix = fresh("c") + "_";
  context.param = [&](int index, const std::vector<int64_t> &) { return index == 0 ? cg::var(acc) : x; };
  LoweredScalar lowered = lower_scalar(combined, context);
  std::vector<cg::StmtPtr> statements = lowered.statements;
  statements.push_back(cg::assign(cg::var(acc), lowered.value));
  return statements;
}

// argmin/argmax: the first best element, or the first NaN.
std::vector<cg::StmtPtr> FuseLowering::combine_arg(const Reduction &reduction, const std::string &best, const std::string &index,
                                     const std::string &first, cg::ExprPtr x, cg::ExprPtr flat) {
  const bool floating = is_float(reduction.accumulator.dtype);
  const cg::CType type = ctype_of(reduction.accumulator.dtype);
  const std::string value = fresh("candidate");
  cg::ExprPtr better =
      cg::binary(reduction.op == ReduceOp::kArgMax ? cg::BinaryOp::kGt : cg::BinaryOp::kLt, cg::var(value), cg::var(best));
  if (floating) better = both(eq(cg::var(best), cg::var(best)), either(better, ne(cg::var(value), cg::var(value))));
  return {
      cg::decl(cg::scalar_type(type, true), value, cg::cast(cg::scalar_type(type), x)),
      cg::if_stmt(either(cg::var(first), better), {cg::assign(cg::var(best), cg::var(value)), cg::assign(cg::var(index), flat),
                                                   cg::assign(cg::var(first), cg::literal(cg::CType::kBool, false))})};
}

std::variant<std::monostate, cg::OmpParallelFor, cg::OmpSimd, cg::OmpFor> FuseLowering::simd_reduction(const Reduction &reduction,
                                                                                                const Accumulator &names) {
  cg::OmpSimd simd;
  switch (reduction.op) {
    case ReduceOp::kSum:
      simd.reductions = {{cg::OmpReductionOp::kAdd, names.acc}};
      break;
    case ReduceOp::kProd:
      simd.reductions = {{cg::OmpReductionOp::kMultiply, names.acc}};
      break;
    case ReduceOp::kMax:
    case ReduceOp::kMin:
      simd.reductions = {{reduction.op == ReduceOp::kMax ? cg::OmpReductionOp::kMax : cg::OmpReductionOp::kMin, names.acc}};
      if (tracks_nan(reduction)) simd.reductions.push_back({cg::OmpReductionOp::kBitOr, names.nan});
      break;
    default:
      return std::monostate{};
  }
  return simd;
}

cg::ExprPtr FuseLowering::identity_value(const Reduction &reduction) {
  const ScalarType type = accumulator_type(reduction);
  ScalarLoweringContext context;
  return lower_scalar(make_constant(identity(reduction, type), type, reduction.line), context).value;
}

std::vector<cg::StmtPtr> FuseLowering::declare_accumulator(const Reduction &reduction, const Accumulator &names) {
  if (is_arg(reduction.op)) {
    return {cg::decl(cg::scalar_type(ctype_of(reduction.accumulator.dtype)), names.best,
                     cg::cast(cg::scalar_type(ctype_of(reduction.accumulator.dtype)), i64(0))),
            cg::decl(cg::scalar_type(cg::CType::kInt64), names.index, i64(0)),
            cg::decl(cg::scalar_type(cg::CType::kBool), names.first, cg::literal(cg::CType::kBool, true))};
  }
  const ScalarType type = accumulator_type(reduction);
  std::vector<cg::StmtPtr> out = {cg::decl(cg::scalar_type(ctype_of(type.dtype)), names.acc, identity_value(reduction))};
  // an int, not a bool: GCC vectorizes an int OR-reduction well, a bool one poorly (softmax's row max took 1.5x as long)
  if (tracks_nan(reduction)) out.push_back(cg::decl(cg::scalar_type(cg::CType::kInt32), names.nan, i64(0)));
  return out;
}

// Computes reduction leaf `leaf` for the loop variables of `binding` (its
// result's axes) into a new variable, registered in the innermost scope.
// `parallel`: no loop surrounds it, so its first reduced axis is split
// among the threads (partial results combined in order).
std::vector<cg::StmtPtr> FuseLowering::compute_reduction(int leaf, const Binding &binding, bool parallel) {
  const Reduction &reduction = ir_.reductions[ir_.leaves[leaf].reduction];
  std::vector<cg::StmtPtr> out;
  // The body's axes: kept ones take the result's variables, reduced ones new loops.
  Binding body_binding;
  std::vector<std::string> loop_vars;
  std::vector<SizeRef> loop_dims;
  size_t result_axis = 0;
  for (size_t d = 0; d < reduction.body_dims.size(); ++d) {
    if (reduction.reduced[d]) {
      loop_vars.push_back(fresh("r"));
      loop_dims.push_back(reduction.body_dims[d]);
      body_binding.push_back(loop_vars.back());
      if (reduction.keepdims) ++result_axis;
    } else {
      body_binding.push_back(binding[result_axis++]);
    }
  }
  // Reductions inside the body that no reduced loop feeds are computed first, once.
  std::vector<int> inner;
  std::set<std::string> own(loop_vars.begin(), loop_vars.end());
  for (int nested : reductions_in(reduction.body)) {
    const Binding nested_binding =
        result_binding(ir_.reductions[ir_.leaves[nested].reduction], reduction.body_dims, body_binding);
    const bool fed =
        std::any_of(nested_binding.begin(), nested_binding.end(), [&](const std::string &v) { return own.count(v) > 0; });
    if (fed) {
      inner.push_back(nested);
    } else if (computed(reduction_key(nested, nested_binding)) == nullptr) {
      append(out, compute_reduction(nested, nested_binding, false));
    }
  }
  // The flat index of argmin/argmax: C order over the reduced axes.
  cg::ExprPtr flat = i64(0);
  for (size_t k = 0; k < loop_vars.size(); ++k) flat = add(mul(flat, size(loop_dims[k])), cg::var(loop_vars[k]));

  // The innermost reduced loop runs a contiguous variant (simd) where every
  // view the body reads moves by one element along it.
  const std::string innermost = loop_vars.empty() ? "" : loop_vars.back();
  cg::ExprPtr unit_strides = cg::literal(cg::CType::kBool, true);
  for (const NodeRef &node : topological_order(reduction.body)) {
    if (innermost.empty() || node->op != ScalarOp::kParam || ir_.leaves[node->param_index].kind != Leaf::Kind::kView) continue;
    const View view = broadcast_view(ir_.leaves[node->param_index].view, reduction.body_dims);
    for (size_t d = 0; d < body_binding.size(); ++d) {
      if (body_binding[d] != innermost || constant_value(view.strides[d]) == 0) continue;
      unit_strides = both(unit_strides, eq(size(view.strides[d]), i64(itemsize(array_dtype(view.param)))));
    }
  }
  const std::string contiguous = fresh("contiguous");
  if (!innermost.empty()) out.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), contiguous, unit_strides));

  // Before the innermost reduced loop: each view's row at the other
  // variables (typed pointers, indexed by the innermost variable; an address
  // recomputed per element would be a gather).
  std::vector<cg::StmtPtr> rows;
  std::map<int, std::pair<std::string, std::string>> row_of;  // leaf -> (row pointer, element step); step "" if not moving
  for (const NodeRef &node : topological_order(reduction.body)) {
    if (node->op != ScalarOp::kParam || ir_.leaves[node->param_index].kind != Leaf::Kind::kView ||
        row_of.count(node->param_index))
      continue;
    const View view = broadcast_view(ir_.leaves[node->param_index].view, reduction.body_dims);
    const cg::CType type = ctype_of(array_dtype(view.param));
    cg::ExprPtr bytes = size(view.offset);
    std::string step;
    for (size_t d = 0; d < body_binding.size(); ++d) {
      if (body_binding[d].empty() || constant_value(view.strides[d]) == 0) continue;
      if (body_binding[d] == innermost) {
        step = fresh("step");
        rows.push_back(constant_decl(step, div(size(view.strides[d]), i64(itemsize(array_dtype(view.param))))));
        continue;
      }
      bytes = add(bytes, mul(cg::var(body_binding[d]), size(view.strides[d])));
    }
    const std::string row = fresh("row");
    cg::ExprPtr base = cg::cast(cg::pointer_type(cg::CType::kChar, true), arg_field(view.param, "data"));
    rows.push_back(cg::decl(cg::pointer_type(type, true), row, cg::cast(cg::pointer_type(type, true), add(base, bytes))));
    row_of[node->param_index] = {row, step};
  }

  auto loops = [&](const Accumulator &names, cg::ExprPtr first_begin, cg::ExprPtr first_end) {
    auto element = [&](bool unit) {
      scopes_.push_back({});
      std::vector<cg::StmtPtr> statements;
      for (int nested : inner) {
        append(statements,
               compute_reduction(
                   nested, result_binding(ir_.reductions[ir_.leaves[nested].reduction], reduction.body_dims, body_binding),
                   false));
      }
      auto view_element = [&](int index) -> cg::ExprPtr {
        const auto &[row, step] = row_of.at(index);
        if (step.empty()) return cg::index(cg::var(row), i64(0));
        if (unit) return cg::index(cg::var(row), cg::var(innermost));
        return cg::index(cg::var(row), mul(cg::var(innermost), cg::var(step)));
      };
      // Values the store after it reuses (the cost rule): kept in row scratch as they are computed.
      std::vector<NodeRef> roots = {reduction.body};
      const bool fills = leaf == scratch_leaf_;
      if (fills) {
        for (const auto &[node, scratch] : scratch_rows_) roots.push_back(node);
      }
      LoweredScalars lowered = lower_values(roots, view_element, reduction.body_dims, body_binding);
      append(statements, lowered.statements);
      if (fills) {
        for (size_t k = 0; k < scratch_rows_.size(); ++k) {
          statements.push_back(cg::assign(cg::index(cg::var(scratch_rows_[k].second), cg::var(innermost)), lowered.values[k + 1]));
        }
      }
      const cg::ExprPtr value = lowered.values.front();
      if (is_arg(reduction.op)) {
        append(statements, combine_arg(reduction, names.best, names.index, names.first, value, flat));
      } else {
        append(statements, combine(reduction, names, value, reduction.body->type));
      }
      scopes_.pop_back();
      return statements;
    };
    const int last = static_cast<int>(loop_vars.size()) - 1;
    auto bounds = [&](int k) -> std::pair<cg::ExprPtr, cg::ExprPtr> {
      return {k == 0 && first_begin ? first_begin : i64(0), k == 0 && first_end ? first_end : size(loop_dims[k])};
    };
    if (last < 0) {
      std::vector<cg::StmtPtr> single = rows;
      append(single, element(false));
      return single;
    }
    auto [begin, end] = bounds(last);
    std::vector<cg::StmtPtr> nest = rows;
    // Short rows (a k-means point's 8 coordinates) skip the simd setup.
    cg::ExprPtr long_row =
        cg::binary(cg::BinaryOp::kGe, cg::binary(cg::BinaryOp::kSub, end, begin), i64(kSimdReductionMinimum));
    nest.push_back(cg::if_stmt(both(cg::var(contiguous), long_row),
                               {cg::for_loop(innermost, begin, end, element(true), simd_reduction(reduction, names))},
                               {cg::if_stmt(cg::var(contiguous), {cg::for_loop(innermost, begin, end, element(true))},
                                            {cg::for_loop(innermost, begin, end, element(false))})}));
    for (int k = last - 1; k >= 0; --k) {
      auto [outer_begin, outer_end] = bounds(k);
      nest = {cg::for_loop(loop_vars[k], outer_begin, outer_end, nest)};
    }
    return nest;
  };

  const Accumulator names = new_accumulator();
  const std::string result = fresh("reduced");
  const cg::CType result_type = ctype_of(reduction.result.dtype);
  append(out, declare_accumulator(reduction, names));
  if (parallel && !loop_vars.empty()) {
    append(out, parallel_reduction(reduction, names, loop_dims, loops));
  } else {
    append(out, loops(names, nullptr, nullptr));
  }
  cg::ExprPtr value = is_arg(reduction.op) ? cg::var(names.index) : accumulated(reduction, names);
  out.push_back(cg::decl(cg::scalar_type(result_type, true), result, cg::cast(cg::scalar_type(result_type), value)));
  scopes_.back()[reduction_key(leaf, binding)] = result;
  return out;
}

// The first reduced axis split into up to kMaxPartials parts, one per
// thread, each reduced on its own; the parts are then combined in order.
template <typename Loops>
std::vector<cg::StmtPtr> FuseLowering::parallel_reduction(const Reduction &reduction, const Accumulator &names,
                                            const std::vector<SizeRef> &loop_dims, Loops &loops) {
  std::vector<cg::StmtPtr> out;
  const std::string parts = fresh("parts"), part = fresh("part"), go = fresh("parallel");
  cg::ExprPtr count = size(loop_dims[0]);
  cg::ExprPtr total = count;
  for (size_t k = 1; k < loop_dims.size(); ++k) total = mul(total, size(loop_dims[k]));
  out.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), go,
                         both(cg::binary(cg::BinaryOp::kGe, total, i64(kFuseParallelThreshold)), negate(cg::var("serial")))));
  out.push_back(constant_decl(
      parts, cg::ternary(cg::var(go), cg::call(cg::Callee::kMin, {cg::var(kThreadCountVar), i64(kMaxPartials)}), i64(1))));
  const bool arg = is_arg(reduction.op);
  const ScalarType type = arg ? reduction.accumulator : accumulator_type(reduction);
  const std::string values = fresh("partial"), indices = fresh("partial_at"), firsts = fresh("partial_first");
  out.push_back(cg::decl(cg::scalar_type(ctype_of(type.dtype)), values, nullptr, kMaxPartials));
  if (arg) {
    out.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64), indices, nullptr, kMaxPartials));
    out.push_back(cg::decl(cg::scalar_type(cg::CType::kBool), firsts, nullptr, kMaxPartials));
  }
  const Accumulator local = new_accumulator();
  std::vector<cg::StmtPtr> task = declare_accumulator(reduction, local);
  cg::ExprPtr begin = div(mul(count, cg::var(part)), cg::var(parts));
  cg::ExprPtr end = div(mul(count, add(cg::var(part), i64(1))), cg::var(parts));
  append(task, loops(local, begin, end));
  if (arg) {
    task.push_back(cg::assign(cg::index(cg::var(values), cg::var(part)), cg::var(local.best)));
    task.push_back(cg::assign(cg::index(cg::var(indices), cg::var(part)), cg::var(local.index)));
    task.push_back(cg::assign(cg::index(cg::var(firsts), cg::var(part)), cg::var(local.first)));
  } else {
    task.push_back(cg::assign(cg::index(cg::var(values), cg::var(part)), accumulated(reduction, local)));
  }
  out.push_back(cg::for_loop(part, i64(0), cg::var(parts), task, cg::OmpParallelFor{false, go, kThreadCountVar, 1}));
  std::vector<cg::StmtPtr> merge;
  if (arg) {
    merge = {cg::if_stmt(negate(cg::index(cg::var(firsts), cg::var(part))),
                         combine_arg(reduction, names.best, names.index, names.first, cg::index(cg::var(values), cg::var(part)),
                                     cg::index(cg::var(indices), cg::var(part))))};
  } else {
    merge = combine(reduction, names, cg::index(cg::var(values), cg::var(part)), type);
  }
  out.push_back(cg::for_loop(part, i64(0), cg::var(parts), merge));
  return out;
}
}  // namespace sejits::specializers::fuse
