#pragma once

#include <string>
#include <vector>

#include "specializers/stencil/ir.h"

namespace sejits::specializers::stencil {

// Domain optimizations: constant folding, then common subexpression
// elimination (repeated reads of one neighbour become one load).
void optimize_stencil(StencilIr &ir, std::vector<std::string> &notes);

}  // namespace sejits::specializers::stencil
