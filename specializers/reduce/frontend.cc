#include "specializers/reduce/frontend.h"

#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "codegen/include/sejits/kernel_abi.h"
#include "specializers/common/lower_scalar.h"
#include "specializers/elementwise/frontend.h"

namespace sejits::specializers::reduce {

const char *op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kProd: return "prod";
    case ReduceOp::kMin: return "min";
    case ReduceOp::kMax: return "max";
    case ReduceOp::kAny: return "any";
    case ReduceOp::kAll: return "all";
    case ReduceOp::kArgMin: return "argmin";
    case ReduceOp::kArgMax: return "argmax";
    case ReduceOp::kCombine: return "combine";
  }
  return "?";
}

std::string ReduceIr::describe() const {
  return absl::StrCat(op_name(op), " over ", reduced_dims, " dimensions in ", type_name(accumulator),
                      where ? ", where= mask" : "", initial ? ", initial=" : "", " of ", map->describe());
}

namespace {

absl::StatusOr<ReduceOp> parse_op(const std::string &text) {
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kProd, ReduceOp::kMin, ReduceOp::kMax, ReduceOp::kAny, ReduceOp::kAll,
                      ReduceOp::kArgMin, ReduceOp::kArgMax, ReduceOp::kCombine}) {
    if (text == op_name(op)) return op;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown reduction '", text.substr(0, 32),
                                                 "': the reduce specializer takes sum, prod, min, max, any, all, mean, argmin, argmax and combine"));
}

// NumPy's mean accumulates bool and integers in float64, floats in their own dtype.
DType mean_accumulator(DType value) { return is_float(value) ? value : DType::kFloat64; }

DType default_accumulator(ReduceOp op, DType value) {
  if (op == ReduceOp::kAny || op == ReduceOp::kAll) return DType::kBool;
  if (op == ReduceOp::kMin || op == ReduceOp::kMax || is_arg_reduction(op)) return value;
  switch (value) {
    case DType::kBool:
    case DType::kInt8:
    case DType::kInt16:
    case DType::kInt32: return DType::kInt64;
    case DType::kUInt8:
    case DType::kUInt16:
    case DType::kUInt32: return DType::kUInt64;
    default: return value;
  }
}

std::optional<DType> dtype_named(const std::string &name) {
  for (int32_t code = 0; code < 64; ++code) {
    if (is_supported_dtype(code) && dtype_name(static_cast<DType>(code)) == name) return static_cast<DType>(code);
  }
  return std::nullopt;
}

// sejits.reduce(combine=True): the map is the call's one array itself; the
// function, read with two scalar parameters of the accumulator's dtype, is
// the operator.
absl::Status build_combine(const SpecializationRequest &request, ReduceIr &ir, const std::string &dtype_param) {
  if (request.args.size() != 1 || request.args[0].kind != ArgKind::kArray || !is_supported_dtype(request.args[0].dtype_code)) {
    return absl::InvalidArgumentError("a user's operator (combine=True) reduces one array of a supported dtype");
  }
  const DType value = static_cast<DType>(request.args[0].dtype_code);
  DType accumulator = value;
  if (!dtype_param.empty()) {
    std::optional<DType> named = dtype_named(dtype_param);
    if (!named) return absl::InvalidArgumentError(absl::StrCat("reduce: unsupported dtype= '", dtype_param.substr(0, 32), "'"));
    accumulator = *named;
  }
  SpecializationRequest operands = request;
  ArgSpec scalar;
  scalar.kind = ArgKind::kScalar;
  scalar.dtype_code = static_cast<int32_t>(accumulator);
  operands.args = {scalar, scalar};
  auto combine = elementwise::build_elementwise_ir(operands);
  if (!combine.ok()) return combine.status();
  if ((*combine)->outputs.size() != 1) return absl::InvalidArgumentError("a reduction's operator returns one value, not a tuple");
  if (may_set_error_flag((*combine)->outputs[0].value)) {
    return absl::UnimplementedError("the operator needs run-time checks (an integer power or Python int arithmetic) that reductions do not carry yet");
  }
  ir.accumulator = ScalarType{accumulator, false};
  ir.combine = cast_to((*combine)->outputs[0].value, ir.accumulator);
  ir.map = std::make_unique<elementwise::ElementwiseIr>();
  ir.map->parameters = {{ArgKind::kArray, ScalarType{value, false}}};
  ir.map->outputs = {{make_param(0, ScalarType{value, false}, request.function ? request.function->pos().line() : 0),
                      ScalarType{value, false}}};
  return absl::OkStatus();
}

std::string param_or(const SpecializationRequest &request, const char *name, const std::string &otherwise) {
  auto it = request.params.find(name);
  return it == request.params.end() ? otherwise : it->second;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReduceIr>> build_reduce_ir(const SpecializationRequest &request) {
  auto ir = std::make_unique<ReduceIr>();
  // mean is a sum the client divides by the count, accumulated as np.mean does.
  const bool mean = param_or(request, kOpParam, "") == "mean";
  absl::StatusOr<ReduceOp> op = mean ? ReduceOp::kSum : parse_op(param_or(request, kOpParam, ""));
  if (!op.ok()) return op.status();
  ir->op = *op;
  ir->mean = mean;
  int reduced = 0;
  if (!absl::SimpleAtoi(param_or(request, kReducedDimsParam, "0"), &reduced) || reduced < 0 || reduced > SEJITS_MAX_RANK) {
    return absl::InvalidArgumentError("the reduce param 'reduced_dims' must be a count of dimensions (0 to 8)");
  }
  ir->reduced_dims = reduced;
  for (const ArgSpec &arg : request.args) {
    if (arg.kind == ArgKind::kArray && arg.rank < reduced) {
      return absl::InvalidArgumentError(absl::StrCat("an argument of rank ", arg.rank, " cannot have ", reduced,
                                                     " reduced dimensions (the client broadcasts every array first)"));
    }
  }
  ir->where = param_or(request, kWhereParam, "0") == "1";
  ir->initial = param_or(request, kInitialParam, "0") == "1";
  ir->scan = param_or(request, kScanParam, "0") == "1";
  const bool plain = !ir->where && !ir->initial && param_or(request, kDtypeParam, "").empty();
  if (is_arg_reduction(ir->op) && (!plain || ir->scan)) {
    return absl::InvalidArgumentError("argmin and argmax take no dtype, where or initial, and do not scan");
  }
  if (ir->where && !ir->initial && (ir->op == ReduceOp::kMin || ir->op == ReduceOp::kMax)) {
    return absl::InvalidArgumentError("min and max have no identity: a where= mask needs an initial value (as in NumPy)");
  }
  if (ir->op == ReduceOp::kCombine) {
    if (ir->where || ir->scan) return absl::InvalidArgumentError("a user's operator takes no where= and does not scan");
    if (absl::Status built = build_combine(request, *ir, param_or(request, kDtypeParam, "")); !built.ok()) return built;
    return ir;
  }
  if (ir->scan && (ir->where || ir->initial || reduced != 1 || mean ||
                   (ir->op != ReduceOp::kSum && ir->op != ReduceOp::kProd && ir->op != ReduceOp::kMin && ir->op != ReduceOp::kMax))) {
    return absl::InvalidArgumentError("a scan is a sum, prod, min or max along one dimension, without where or initial");
  }
  auto map = elementwise::build_elementwise_ir(request);
  if (!map.ok()) return map.status();
  if ((*map)->outputs.size() != 1) {
    return absl::InvalidArgumentError("a reduction's map returns one value, not a tuple");
  }
  if (may_set_error_flag((*map)->outputs[0].value)) {
    return absl::UnimplementedError(
        "the map needs run-time checks (an integer power or Python int arithmetic) that reductions do not carry yet");
  }
  const DType value = (*map)->outputs[0].type.dtype;
  DType accumulator = mean ? mean_accumulator(value) : default_accumulator(ir->op, value);
  if (std::string dtype = param_or(request, kDtypeParam, ""); !dtype.empty()) {
    std::optional<DType> named = dtype_named(dtype);
    if (!named) return absl::InvalidArgumentError(absl::StrCat("reduce: unsupported dtype= '", dtype.substr(0, 32), "'"));
    accumulator = *named;
  }
  ir->accumulator = ScalarType{accumulator, false};
  ir->map = std::move(*map);
  return ir;
}

}  // namespace sejits::specializers::reduce
