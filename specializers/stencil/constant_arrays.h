// Reads of constant arrays in stencil bodies: weights such as
// `W[di + 2, dj + 2] * a[di, dj]`, where W is a NumPy array, list or tuple
// the client captured as constants (numpy.array(<nested tuples>) or nested
// tuples in the AST). Each index must be an integer constant once constant
// loops are unrolled; the element is a constant of the kernel.
#pragma once

#include "absl/status/statusor.h"
#include "sejits/v1/ast.pb.h"
#include "specializers/common/expr_frontend.h"

namespace sejits::specializers::stencil {

// Whether `subscript` indexes a constant array (possibly through W[i][j]).
bool is_constant_array_read(const v1::Subscript &subscript);

// The element `subscript` reads, translated as its constant (its dtype for a
// NumPy array, a Python number for a list or tuple).
absl::StatusOr<NodeRef> read_constant_array(ExprFrontend &frontend, const SourceContext &context,
                                            const v1::Subscript &subscript, const Environment &environment, int line);

}  // namespace sejits::specializers::stencil
