// Lowers a scalar IR tree to target-AST statements and one expression: values
// used more than once become named temporaries, the rest stays inline (so a
// select evaluates only the branch it takes).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/common/scalar_ir.h"

namespace sejits::specializers {

codegen::CType ctype_of(DType dtype);

struct LoweredScalar {
  std::vector<codegen::StmtPtr> statements;  // temporaries, in dependence order
  codegen::ExprPtr value;
};

struct ScalarLoweringContext {
  // The expression that reads parameter `index`'s element (at `offsets` from
  // the current point, for stencils; empty offsets: the point itself).
  std::function<codegen::ExprPtr(int index, const std::vector<int64_t> &offsets)> param;
  // Name of an `int` flag set when an integer power meets a negative exponent.
  std::string error_flag;
  // Prefix for temporaries, unique per loop body.
  std::string temporary_prefix = "t";
};

LoweredScalar lower_scalar(const NodeRef &root, const ScalarLoweringContext &context);

// Several trees lowered together: a value they share is computed once.
struct LoweredScalars {
  std::vector<codegen::StmtPtr> statements;
  std::vector<codegen::ExprPtr> values;  // one per root, in order
};
LoweredScalars lower_scalars(const std::vector<NodeRef> &roots, const ScalarLoweringContext &context);

// Whether the tree may set the error flag at run time (integer power,
// Python int arithmetic).
bool may_set_error_flag(const NodeRef &root);

// A Python int parameter converted to another integer dtype: NumPy refuses
// values that do not fit, so the kernel checks them. `param_dtype` is int64,
// or uint64 for an int in [2**63, 2**64); a weak `dtype` is Python int
// arithmetic, which a value that does not fit hands back to Python.
struct NarrowedPythonInt {
  int param_index;
  DType param_dtype;
  ScalarType type;
};
std::vector<NarrowedPythonInt> python_int_params_narrowed(const NodeRef &root);

}  // namespace sejits::specializers
