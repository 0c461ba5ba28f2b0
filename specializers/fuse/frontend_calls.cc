// The front end's calls that are not element-wise: reductions, new arrays, casts, sizes.
#include "absl/strings/str_cat.h"
#include "specializers/fuse/frontend_walker.h"

namespace sejits::specializers::fuse {

std::optional<FuseFrontend::CallOperands> FuseFrontend::call_operands(const v1::Call &call) {
  CallOperands operands;
  const v1::Expr &func = call.func();
  if (func.has_attribute() && !func.attribute().value().has_global_ref()) {
    operands.name = func.attribute().attr();
    operands.method = true;
    operands.array = &func.attribute().value();
  } else {
    auto callee = callee_name(func);
    static const std::set<std::string> kBuiltins = {"builtins.len", "builtins.float", "builtins.int", "builtins.bool"};
    if (!callee || !(callee->starts_with("numpy.") || kBuiltins.count(*callee))) return std::nullopt;
    operands.name = callee->substr(callee->find('.') + 1);
    if (call.args_size() > 0) operands.array = &call.args(0);
  }
  for (int k = operands.method ? 0 : 1; k < call.args_size(); ++k) operands.positional.push_back(&call.args(k));
  for (const v1::Keyword &keyword : call.keywords()) operands.keywords[keyword.arg()] = &keyword.value();
  return operands;
}

// The value of a call that the scalar front end cannot translate, or
// nullopt for an element-wise function (np.exp, np.where, ...).
std::optional<absl::StatusOr<NodeRef>> FuseFrontend::evaluate_array_call(const v1::Call &call, int line) {
  auto operands = call_operands(call);
  if (!operands) return std::nullopt;
  const std::string &name = operands->name;
  static const std::set<std::string> kNewArrays = {"empty_like", "zeros_like", "ones_like", "full_like", "copy"};
  static const std::set<std::string> kShaped = {"empty", "zeros", "ones", "full"};
  if (kShaped.count(name) && !operands->method) return shaped_array(*operands, line);
  static const std::map<std::string, DType> kPythonNumbers = {
      {"float", DType::kFloat64}, {"int", DType::kInt64}, {"bool", DType::kBool}};
  if (!reduction_named(name) && !kNewArrays.count(name) && !kPythonNumbers.count(name) && name != "astype" && name != "len") {
    if (operands->method) return error(line, absl::StrCat("the method '.", name, "()' is not supported by sejits.fuse yet"));
    return std::nullopt;
  }
  if (operands->array == nullptr) return error(line, absl::StrCat("'", name, "' needs an array argument"));
  auto value = evaluate(*operands->array);
  if (!value.ok()) return value.status();
  if (name == "len") {
    const std::vector<SizeRef> dims = dims_of(*value);
    if (dims.empty()) return error(line, "len() of an unsized (0-dimensional) value");
    return size_leaf(dims[0], line);
  }
  if (kPythonNumbers.count(name) && !operands->method) {  // float(x) of a number: a Python number
    if (!dims_of(*value).empty()) return error(line, absl::StrCat(name, "() of an array is not supported by sejits.fuse"));
    if (!operands->positional.empty() || !operands->keywords.empty())
      return error(line, absl::StrCat(name, "() takes one number here"));
    const ScalarType type{kPythonNumbers.at(name), true};
    if (name == "bool") return make_node(ScalarOp::kTruth, type, {*value}, line);
    return make_node(ScalarOp::kCast, type, {*value}, line);
  }
  if (name == "astype") {
    if (operands->positional.size() != 1) return error(line, "astype(dtype) takes the dtype only, in sejits.fuse");
    auto dtype = dtype_argument(*operands->positional[0]);
    if (!dtype.ok()) return dtype.status();
    return copied(cast_to(*value, ScalarType{*dtype, false}), line);  // a new array, of the same dtype too
  }
  if (kNewArrays.count(name)) return new_array(*operands, *value, line);
  return reduce(*operands, *value, line);
}

absl::StatusOr<DType> FuseFrontend::dtype_argument(const v1::Expr &expr) const {
  static const std::map<std::string, DType> kDtypes = {
      {"numpy.bool_", DType::kBool},      {"numpy.int8", DType::kInt8},       {"numpy.int16", DType::kInt16},
      {"numpy.int32", DType::kInt32},     {"numpy.int64", DType::kInt64},     {"numpy.uint8", DType::kUInt8},
      {"numpy.uint16", DType::kUInt16},   {"numpy.uint32", DType::kUInt32},   {"numpy.uint64", DType::kUInt64},
      {"numpy.float32", DType::kFloat32}, {"numpy.float64", DType::kFloat64}, {"builtins.float", DType::kFloat64},
      {"builtins.int", DType::kInt64},    {"builtins.bool", DType::kBool},    {"numpy.intp", DType::kInt64},
      {"numpy.double", DType::kFloat64},  {"numpy.single", DType::kFloat32},
  };
  auto name = callee_name(expr);
  if (name) {
    auto it = kDtypes.find(*name);
    if (it != kDtypes.end()) return it->second;
  }
  if (expr.has_constant() && expr.constant().value_case() == v1::Constant::kStrValue) {
    auto it = kDtypes.find("numpy." + expr.constant().str_value());
    if (it != kDtypes.end()) return it->second;
  }
  return error(expr.pos().line(), "a dtype sejits.fuse knows (np.float64, np.int32, ... or their names) is expected here");
}

// np.empty_like/zeros_like/ones_like/full_like(a[, fill], dtype=...), np.copy(a), a.copy(): a buffer.
absl::StatusOr<NodeRef> FuseFrontend::new_array(const CallOperands &operands, const NodeRef &like, int line) {
  const std::string &name = operands.name;
  for (const auto &[keyword, value] : operands.keywords) {
    if (keyword != "dtype" && !(keyword == "fill_value" && name == "full_like")) {
      return error(line, absl::StrCat("the keyword '", keyword, "' of ", name, " is not supported by sejits.fuse yet"));
    }
  }
  if (name == "copy") {
    if (!operands.positional.empty() || !operands.keywords.empty()) return error(line, "copy() takes no options in sejits.fuse");
    return materialize(like, line, "a copy");
  }
  const v1::Expr *fill = nullptr;
  size_t next = 0;
  if (name == "full_like") {
    fill = next < operands.positional.size()       ? operands.positional[next++]
           : operands.keywords.count("fill_value") ? operands.keywords.at("fill_value")
                                                   : nullptr;
    if (fill == nullptr) return error(line, "full_like needs a fill value");
  }
  DType dtype = strengthen(like->type).dtype;
  const v1::Expr *dtype_expr = next < operands.positional.size()  ? operands.positional[next++]
                               : operands.keywords.count("dtype") ? operands.keywords.at("dtype")
                                                                  : nullptr;
  if (next < operands.positional.size()) return error(line, absl::StrCat("too many arguments to ", name, " for sejits.fuse"));
  if (dtype_expr != nullptr && !(dtype_expr->has_constant() && dtype_expr->constant().value_case() == v1::Constant::kNoneValue)) {
    auto parsed = dtype_argument(*dtype_expr);
    if (!parsed.ok()) return parsed.status();
    dtype = *parsed;
  }
  const ScalarType type{dtype, false};
  NodeRef buffer = new_buffer(type, dims_of(like), line);
  if (name == "empty_like") return buffer;
  NodeRef value;
  if (fill != nullptr) {
    auto filled = evaluate(*fill);
    if (!filled.ok()) return filled.status();
    if (!dims_of(*filled).empty()) return error(line, "full_like's fill value must be a number in sejits.fuse");
    value = *filled;
  } else {
    value = make_constant(int64_t{name == "ones_like" ? 1 : 0}, ScalarType{DType::kInt64, true}, line);
  }
  auto converted = ExprFrontend(context_).convert(value, type, line);  // np.full_like(int32 array, 2**40): OverflowError
  if (!converted.ok()) return converted.status();
  const View &view = ir_->leaves[buffer->param_index].view;
  add_write(Write{view, view.dims, *converted, line, name});
  ++version_[view.param];
  return new_leaf(ir_->leaves[buffer->param_index], type, line);
}

// np.zeros/ones/empty/full(shape[, fill], dtype=...): shape a.shape, a
// number, or a tuple of numbers and sizes (a.shape[k], len(a), n - 2).
absl::StatusOr<NodeRef> FuseFrontend::shaped_array(const CallOperands &operands, int line) {
  const std::string &name = operands.name;
  if (operands.array == nullptr) return error(line, absl::StrCat("np.", name, " needs a shape"));
  auto dims = shape_argument(*operands.array, line);
  if (!dims.ok()) return dims.status();
  const v1::Expr *fill = nullptr;
  size_t next = 0;
  if (name == "full") {
    fill = next < operands.positional.size()       ? operands.positional[next++]
           : operands.keywords.count("fill_value") ? operands.keywords.at("fill_value")
                                                   : nullptr;
    if (fill == nullptr) return error(line, "np.full needs a fill value");
  }
  const v1::Expr *dtype_expr = next < operands.positional.size()  ? operands.positional[next++]
                               : operands.keywords.count("dtype") ? operands.keywords.at("dtype")
                                                                  : nullptr;
  for (const auto &[keyword, value] : operands.keywords) {
    if (keyword != "dtype" && !(keyword == "fill_value" && name == "full")) {
      return error(line, absl::StrCat("the keyword '", keyword, "' of np.", name, " is not supported by sejits.fuse yet"));
    }
  }
  if (next < operands.positional.size()) return error(line, absl::StrCat("too many arguments to np.", name, " for sejits.fuse"));
  NodeRef value;
  if (fill != nullptr) {
    auto filled = evaluate(*fill);
    if (!filled.ok()) return filled.status();
    if (!dims_of(*filled).empty()) return error(line, "np.full's fill value must be a number in sejits.fuse");
    value = *filled;
  } else if (name != "empty") {
    value = make_constant(int64_t{name == "ones" ? 1 : 0}, ScalarType{DType::kInt64, true}, line);
  }
  // NumPy's default: float64, or np.full's fill value's own type.
  DType dtype = value && fill != nullptr ? strengthen(value->type).dtype : DType::kFloat64;
  if (dtype_expr != nullptr && !(dtype_expr->has_constant() && dtype_expr->constant().value_case() == v1::Constant::kNoneValue)) {
    auto parsed = dtype_argument(*dtype_expr);
    if (!parsed.ok()) return parsed.status();
    dtype = *parsed;
  }
  const ScalarType type{dtype, false};
  NodeRef buffer = new_buffer(type, *dims, line);
  if (!value) return buffer;
  const View &view = ir_->leaves[buffer->param_index].view;
  add_write(Write{view, view.dims, cast_to(value, type), line, absl::StrCat("np.", name)});
  ++version_[view.param];
  return new_leaf(ir_->leaves[buffer->param_index], type, line);
}

absl::StatusOr<std::vector<SizeRef>> FuseFrontend::shape_argument(const v1::Expr &expr, int line) {
  if (expr.has_attribute() && expr.attribute().attr() == "shape") {
    auto array = evaluate(expr.attribute().value());
    if (!array.ok()) return array.status();
    return dims_of(*array);
  }
  std::vector<const v1::Expr *> parts;
  if (expr.has_tuple()) {
    for (const v1::Expr &element : expr.tuple().elts()) parts.push_back(&element);
  } else {
    parts.push_back(&expr);
  }
  std::vector<SizeRef> dims;
  for (const v1::Expr *part : parts) {
    auto constant = integer_value(*part, "a dimension");
    if (constant.ok()) {
      if (*constant < 0) return error(line, "negative dimensions are not allowed");
      dims.push_back(size_constant(*constant));
      continue;
    }
    auto value = evaluate(*part);
    if (!value.ok()) return value.status();
    const ScalarNode &node = **value;
    if (node.op != ScalarOp::kParam || ir_->leaves[node.param_index].kind != Leaf::Kind::kSize) {
      return error(line, "a shape must be made of constants and sizes (a.shape, a.shape[k], len(a)) for sejits.fuse");
    }
    dims.push_back(ir_->leaves[node.param_index].size);
  }
  return dims;
}

absl::StatusOr<AxisSpec> FuseFrontend::axis_argument(const v1::Expr &expr) const {
  AxisSpec spec;
  if (expr.has_constant() && expr.constant().value_case() == v1::Constant::kNoneValue) return spec;
  spec.axes.emplace();
  if (expr.has_tuple()) {
    for (const v1::Expr &element : expr.tuple().elts()) {
      auto axis = integer_constant(element, "an axis");
      if (!axis.ok()) return axis.status();
      spec.axes->push_back(*axis);
    }
    return spec;
  }
  auto axis = integer_constant(expr, "an axis");
  if (!axis.ok()) return axis.status();
  spec.axes->push_back(*axis);
  return spec;
}

absl::StatusOr<bool> FuseFrontend::bool_constant(const v1::Expr &expr, const char *what) const {
  if (expr.has_constant() && expr.constant().value_case() == v1::Constant::kBoolValue) return expr.constant().bool_value();
  return error(expr.pos().line(), absl::StrCat(what, " must be True or False for sejits.fuse"));
}

// np.sum(a, axis, keepdims=...) and its cousins, methods included; mean,
// std and var divide sums as NumPy does (std and var by the two-pass formula).
absl::StatusOr<NodeRef> FuseFrontend::reduce(const CallOperands &operands, const NodeRef &body, int line) {
  const std::string &name = operands.name;
  const bool moments = name == "std" || name == "var";
  AxisSpec axis;
  bool keepdims = false;
  int64_t ddof = 0;
  if (operands.positional.size() > 1) {
    return error(line, absl::StrCat(name, ": only the axis may be passed by position in sejits.fuse"));
  }
  if (!operands.positional.empty()) {
    auto parsed = axis_argument(*operands.positional[0]);
    if (!parsed.ok()) return parsed.status();
    axis = *parsed;
  }
  for (const auto &[keyword, value] : operands.keywords) {
    if (keyword == "axis") {
      auto parsed = axis_argument(*value);
      if (!parsed.ok()) return parsed.status();
      axis = *parsed;
    } else if (keyword == "keepdims") {
      auto parsed = bool_constant(*value, "keepdims");
      if (!parsed.ok()) return parsed.status();
      keepdims = *parsed;
    } else if (keyword == "ddof" && moments) {
      auto parsed = integer_constant(*value, "ddof");
      if (!parsed.ok()) return parsed.status();
      ddof = *parsed;
    } else {
      return error(line, absl::StrCat("the keyword '", keyword, "' of ", name, " is not supported by sejits.fuse yet"));
    }
  }
  const ReduceOp op = *reduction_named(name);
  if (name != "mean" && !moments) return reduction_leaf(op, body, axis, keepdims, line);
  // The mean's type: float64 for bool and integers, else the body's.
  const DType body_dtype = strengthen(body->type).dtype;
  const ScalarType real{is_float(body_dtype) ? body_dtype : DType::kFloat64, false};
  NodeRef values = cast_to(body, real);
  auto mean = average(values, axis, keepdims || moments, 0, line);
  if (!mean.ok() || !moments) return mean;
  NodeRef deviation = make_node(ScalarOp::kSub, real, {values, *mean}, line);
  NodeRef squared = make_node(ScalarOp::kMul, real, {deviation, deviation}, line);
  auto variance = average(squared, axis, keepdims, ddof, line);
  if (!variance.ok() || name == "var") return variance;
  return make_math(MathFn::kSqrt, real, {*variance}, line);
}

// sum(values, axis) / (count - ddof), in the values' (floating) type.
absl::StatusOr<NodeRef> FuseFrontend::average(const NodeRef &values, const AxisSpec &axis, bool keepdims, int64_t ddof,
                                              int line) {
  auto sum = reduction_leaf(ReduceOp::kSum, values, axis, keepdims, line);
  if (!sum.ok()) return sum;
  const Reduction &reduction = ir_->reductions[ir_->leaves[(*sum)->param_index].reduction];
  NodeRef count = cast_to(size_leaf(size_add(reduced_count(reduction), size_constant(-ddof)), line), values->type);
  return make_node(ScalarOp::kTrueDiv, values->type, {*sum, count}, line);
}

absl::StatusOr<NodeRef> FuseFrontend::reduction_leaf(ReduceOp op, const NodeRef &body, const AxisSpec &axis, bool keepdims,
                                                     int line) {
  auto reduction = make_reduction(op, body, dims_of(body), axis, keepdims, line);
  if (!reduction.ok()) return error(line, std::string(reduction.status().message()));
  if (op == ReduceOp::kMin || op == ReduceOp::kMax || op == ReduceOp::kArgMin || op == ReduceOp::kArgMax) {
    empty_checks_.push_back(non_empty(reduced_count(*reduction)));
  }
  Leaf leaf;
  leaf.kind = Leaf::Kind::kReduction;
  leaf.reduction = static_cast<int>(ir_->reductions.size());
  const ScalarType type = reduction->result;
  ir_->reductions.push_back(std::move(*reduction));
  return new_leaf(std::move(leaf), type, line);
}
}  // namespace sejits::specializers::fuse
