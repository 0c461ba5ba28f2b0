#pragma once

#include "specializers/common/scalar_ir.h"

namespace sejits::specializers {

// Merges structurally equal nodes so that each value is computed once.
NodeRef eliminate_common_subexpressions(const NodeRef &root);

}  // namespace sejits::specializers
