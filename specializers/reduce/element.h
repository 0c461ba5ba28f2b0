// What one element contributes to a reduction, and how two accumulations
// combine: the rules every platform's lowering of a reduction shares.
#pragma once

#include "specializers/reduce/ir.h"

namespace sejits::specializers::reduce {

// The parameter indices of the entry point's arguments after the map's own:
// the where= mask, the initial value, the output.
struct ReduceArgs {
  explicit ReduceArgs(const ReduceIr &ir);
  int mask = -1;     // the where= mask, or -1
  int initial = -1;  // the initial= scalar, or -1
  int count = 0;     // arguments before the output
};

// The value element contributes: the map's value in the accumulator's type
// (truth for any and all), or the neutral value where the mask is false.
NodeRef element_value(const ReduceIr &ir);

// a (param 0) combined with b (param 1) in the accumulator's type: NumPy's
// operator (NaN wins min and max), or the user's.
NodeRef combine_value(const ReduceIr &ir);

// Whether a reduction of no elements has a value without initial= (sum,
// prod, any, all: their identity), and that identity (0, 1, False, True).
bool has_identity(ReduceOp op);
int64_t identity_of(ReduceOp op);

}  // namespace sejits::specializers::reduce
