// Comparisons between a Python int and an integer array that NumPy 2 makes
// exactly, where promoting both to one dtype would not: a Python int in
// int64 against uint64 values, and one in [2**63, 2**64) (described as a
// weak uint64) against any integer dtype.
#pragma once

#include "specializers/common/scalar_ir.h"

namespace sejits::specializers {

// `left op right` computed exactly, or nullptr where the usual promotion
// compares exactly (or `op` is not a comparison).
NodeRef compare_with_python_int(ScalarOp op, const NodeRef &left, const NodeRef &right, int line);

}  // namespace sejits::specializers
