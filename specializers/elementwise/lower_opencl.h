#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/common/opencl_lowering.h"
#include "specializers/elementwise/ir.h"

namespace sejits::specializers::elementwise {

// Element-wise IR -> OpenCL: two kernels, `sejits_dense` (one flat index for
// operands that all have the output's C-contiguous layout) and
// `sejits_strided` (broadcasting: the rank-`rank` index of each element, zero
// strides on broadcast axes), and the host entry point that picks one per
// call, sets its arguments and enqueues it.
codegen::TranslationUnit lower_elementwise_opencl(const ElementwiseIr &ir, const OpenClPlan &plan, int rank,
                                                  std::vector<std::string> &notes);

}  // namespace sejits::specializers::elementwise
