// Lowering of the gmm specializer to OpenCL: the CPU entries' roles and
// arguments (lower.h's symbols) with device arrays, each instantiating
// sejits/gmm_opencl_runtime.h (the host half: the EM loop, the M-step's
// finish) for the IR's constants, over sejits/gmm_opencl.cl (the device
// half: the E-step and the sufficient statistics per work-group), which the
// artifact embeds specialized by #defines.
//
// Why a hand-written .cl file rather than kernels built as target AST (as
// reduce's): the EM kernels are fixed algorithms with no user code in them,
// like the C++ runtime (gmm_tile.h) the CPU lowering instantiates; kept as
// OpenCL C they read as the C++ kernels do, line for line.
#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/gmm/ir.h"
#include "specializers/gmm/plan.h"

namespace sejits::specializers::gmm {

codegen::TranslationUnit lower_gmm_opencl(const GmmIr &ir, const GmmPlan &plan, std::vector<std::string> &notes);

}  // namespace sejits::specializers::gmm
