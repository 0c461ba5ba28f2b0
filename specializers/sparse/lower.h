// Lowering of the sparse specializer to C++/OpenMP: products give "call"
// (y = A x) and "cg_iteration"; powers give "call" (V), each instantiating
// sejits/sparse_runtime.h for the IR's value type, index width, k and basis.
#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/sparse/ir.h"
#include "specializers/sparse/plan.h"

namespace sejits::specializers::sparse {

inline constexpr char kSpmvSymbol[] = "sejits_sparse_spmv";
inline constexpr char kCgIterationSymbol[] = "sejits_sparse_cg_iteration";
inline constexpr char kPowersSymbol[] = "sejits_sparse_powers";

codegen::TranslationUnit lower_sparse(const SparseIr &ir, const SparsePlan &plan, std::vector<std::string> &notes);

}  // namespace sejits::specializers::sparse
