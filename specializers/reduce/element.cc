#include "specializers/reduce/element.h"

namespace sejits::specializers::reduce {
namespace {

// What a masked-out element counts as: the operator's identity, or for min
// and max (which have none) the initial value NumPy requires with where=.
NodeRef neutral_value(const ReduceIr &ir, int initial_param, int line) {
  if (ir.op == ReduceOp::kMin || ir.op == ReduceOp::kMax) return make_param(initial_param, ir.accumulator, line);
  if (ir.op == ReduceOp::kAny || ir.op == ReduceOp::kAll) {
    return make_constant(ConstantValue{ir.op == ReduceOp::kAll}, ir.accumulator, line);
  }
  return make_constant(ConstantValue{identity_of(ir.op)}, ir.accumulator, line);
}

}  // namespace

ReduceArgs::ReduceArgs(const ReduceIr &ir) {
  count = static_cast<int>(ir.map->parameters.size());
  if (ir.where) mask = count++;
  if (ir.initial) initial = count++;
}

NodeRef element_value(const ReduceIr &ir) {
  const NodeRef &map = ir.map->outputs[0].value;
  const ScalarType acc = ir.accumulator;
  NodeRef value = acc.dtype == DType::kBool && map->type.dtype != DType::kBool ? make_node(ScalarOp::kTruth, acc, {map}, map->line)
                                                                             : cast_to(map, acc);
  if (!ir.where) return value;
  const ReduceArgs args(ir);
  NodeRef mask = make_param(args.mask, ScalarType{DType::kBool, false}, map->line);
  return make_node(ScalarOp::kSelect, acc, {mask, value, neutral_value(ir, args.initial, map->line)}, map->line);
}

NodeRef combine_value(const ReduceIr &ir) {
  if (ir.combine) return ir.combine;
  const ScalarType acc = ir.accumulator;
  ScalarOp op = ScalarOp::kAdd;
  switch (ir.op) {
    case ReduceOp::kProd: op = ScalarOp::kMul; break;
    case ReduceOp::kMin:
    case ReduceOp::kArgMin: op = ScalarOp::kMinimum; break;
    case ReduceOp::kMax:
    case ReduceOp::kArgMax: op = ScalarOp::kMaximum; break;
    case ReduceOp::kAny: op = ScalarOp::kLogicalOr; break;
    case ReduceOp::kAll: op = ScalarOp::kLogicalAnd; break;
    default: op = ScalarOp::kAdd; break;  // sum (combine has its own operator)
  }
  return make_node(op, acc, {make_param(0, acc, 0), make_param(1, acc, 0)}, 0);
}

bool has_identity(ReduceOp op) {
  return op == ReduceOp::kSum || op == ReduceOp::kProd || op == ReduceOp::kAny || op == ReduceOp::kAll;
}

int64_t identity_of(ReduceOp op) { return op == ReduceOp::kProd || op == ReduceOp::kAll ? 1 : 0; }

}  // namespace sejits::specializers::reduce
