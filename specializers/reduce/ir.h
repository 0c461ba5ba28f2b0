// The reduction domain IR: an element-wise map (one value per element of the
// broadcast arguments), folded into an accumulation by an associative
// operator along the trailing `reduced_dims` dimensions of the operands.
#pragma once

#include <memory>
#include <string>

#include "specializers/elementwise/ir.h"

namespace sejits::specializers::reduce {

// kCombine: the user's associative operator (sejits.reduce(combine=True)).
enum class ReduceOp { kSum, kProd, kMin, kMax, kAny, kAll, kArgMin, kArgMax, kCombine };

struct ReduceIr : DomainIr {
  std::unique_ptr<elementwise::ElementwiseIr> map;  // exactly one output
  NodeRef combine;  // kCombine: the operator's value over params 0 (a) and 1 (b), in the accumulator's type
  ReduceOp op = ReduceOp::kSum;
  ScalarType accumulator;  // strong: what elements are combined in; the result's dtype but for argmin/argmax (int64)
  int reduced_dims = 0;    // the operands' trailing dimensions that are reduced
  bool scan = false;       // a running reduction along the one reduced dimension: the output keeps it
  bool where = false;      // a bool mask array follows the map's arguments
  bool initial = false;    // then a scalar of the accumulator's dtype: NumPy's `initial`
  bool mean = false;       // a sum divided by the count (by the client on the CPU, by the kernel on OpenCL)
  std::string describe() const override;
};

// "sum", "prod", ...
const char *op_name(ReduceOp op);
// argmin and argmax: the result is an int64 index, not the accumulator.
inline bool is_arg_reduction(ReduceOp op) { return op == ReduceOp::kArgMin || op == ReduceOp::kArgMax; }
// The dtype of the output array.
inline DType result_dtype(const ReduceIr &ir) { return is_arg_reduction(ir.op) ? DType::kInt64 : ir.accumulator.dtype; }

}  // namespace sejits::specializers::reduce
