#pragma once

#include "specializers/common/scalar_ir.h"

namespace sejits::specializers {

// Evaluates operations whose operands are all constants, with the same
// semantics (and rounding) the generated code would have.
NodeRef fold_constants(const NodeRef &root);

}  // namespace sejits::specializers
