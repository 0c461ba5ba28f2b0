#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/reduce/ir.h"
#include "specializers/reduce/plan.h"

namespace sejits::specializers::reduce {

// Reduction IR -> OpenCL kernels and their host entry point (the ABI of
// lower_reduce's, with device arrays). A reduction runs in passes:
//   1. lanes: lane l of each output folds the output's elements l, l + L,
//      l + 2L, ... in order (L = sejits_cl_reduce_lanes(outputs, elements),
//      a function of the shape only), float sums with Kahan compensation;
//   2. fold, while there are more than 16 lanes: lane l of the next pass
//      folds up to 16 lanes l, l + L', l + 2L', ... (L' lanes next), in order;
//   3. finish: an output's partials in lane order, then initial= (and
//      mean's division), written to the output.
// Adjacent work items take adjacent lanes or adjacent outputs, whichever
// reads memory in order; the order of combination is the same either way,
// so results do not depend on the device, the work-group size or the
// variant. A scan runs NumPy's order in the blocks of the C++ kernels
// (totals, offsets, then each block from its offset): the same bits.
codegen::TranslationUnit lower_reduce_opencl(const ReduceIr &ir, const ReducePlan &plan, std::vector<std::string> &notes);

}  // namespace sejits::specializers::reduce
