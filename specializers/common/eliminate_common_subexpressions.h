#pragma once

#include <vector>

#include "specializers/common/scalar_ir.h"

namespace sejits::specializers {

// Merges structurally equal nodes so that each value is computed once.
NodeRef eliminate_common_subexpressions(const NodeRef &root);
// The same over several trees at once: a value they share is one node.
std::vector<NodeRef> eliminate_common_subexpressions(const std::vector<NodeRef> &roots);

}  // namespace sejits::specializers
