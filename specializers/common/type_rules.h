// How NumPy 2 types each operation: which loop a ufunc picks for its
// operands (and so what the operands are cast to), and the result type.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "specializers/common/dtype.h"
#include "specializers/common/scalar_ir.h"

namespace sejits::specializers {

struct ResolvedTypes {
  ScalarType operands;  // every operand is cast to this
  ScalarType result;
};

// Functions of the numpy module return NumPy scalars (strong) even on Python
// scalars; operators, builtins and the math module keep Python scalars weak.
enum class WeakResult { kKeepWeak, kMakeStrong };

// "bitwise_and, the `&` operator," for messages.
std::string bitwise_ufunc_name(ScalarOp op);

// Operators and ufunc-like ScalarOps (add ... minimum, comparisons).
absl::StatusOr<ResolvedTypes> resolve_operator(ScalarOp op, const std::vector<ScalarType> &operands,
                                               WeakResult weak_result = WeakResult::kKeepWeak);
absl::StatusOr<ResolvedTypes> resolve_math(MathFn fn, const std::vector<ScalarType> &operands,
                                           WeakResult weak_result);

}  // namespace sejits::specializers
