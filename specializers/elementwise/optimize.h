#pragma once

#include <string>
#include <vector>

#include "specializers/elementwise/ir.h"

namespace sejits::specializers::elementwise {

// Domain optimizations: constant folding, then common subexpression elimination.
void optimize_elementwise(ElementwiseIr &ir, std::vector<std::string> &notes);

}  // namespace sejits::specializers::elementwise
