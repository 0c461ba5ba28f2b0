// The reduction domain IR: an element-wise map (one value per element of the
// broadcast arguments), folded into an accumulation by an associative
// operator along the trailing `reduced_dims` dimensions of the operands.
#pragma once

#include <memory>
#include <string>

#include "specializers/elementwise/ir.h"

namespace sejits::specializers::reduce {

enum class ReduceOp { kSum, kProd, kMin, kMax, kAny, kAll };

struct ReduceIr : DomainIr {
  std::unique_ptr<elementwise::ElementwiseIr> map;  // exactly one output
  ReduceOp op = ReduceOp::kSum;
  ScalarType accumulator;  // strong: the result's dtype
  int reduced_dims = 0;    // the operands' trailing dimensions that are reduced
  bool where = false;      // a bool mask array follows the map's arguments
  bool initial = false;    // then a scalar of the accumulator's dtype: NumPy's `initial`
  std::string describe() const override;
};

// "sum", "prod", ...
const char *op_name(ReduceOp op);

}  // namespace sejits::specializers::reduce
