#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/common/opencl_lowering.h"
#include "specializers/stencil/ir.h"

namespace sejits::specializers::stencil {

// Stencil IR -> OpenCL: one kernel, `sejits_sweep`, with a work item per
// output point (the last two axes on the range's first two dimensions, the
// others folded into the third); a point whose reads stay in the grid
// computes the interior expression, others the border's. Host entry points:
// kEntrySymbol (one sweep) and kIterateSymbol (`steps` sweeps enqueued back
// to back, ping-ponging between the output and a spare device buffer: the
// grid never leaves the device).
codegen::TranslationUnit lower_stencil_opencl(const StencilIr &ir, const OpenClPlan &plan, std::vector<std::string> &notes);

// The default work-group shape for a grid of this rank.
OpenClPlan default_stencil_opencl_plan(int rank);

}  // namespace sejits::specializers::stencil
