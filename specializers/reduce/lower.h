#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/reduce/ir.h"
#include "specializers/reduce/plan.h"

namespace sejits::specializers::reduce {

inline constexpr char kEntrySymbol[] = "sejits_reduce";

// Reduction IR -> C++/OpenMP target AST: the map (per element, for strided
// and for unit-stride operands) and the combine operator as small functions,
// and an entry point that hands them to sejits_reduce_run
// (sejits/reduce_runtime.h), which owns the order of combination.
codegen::TranslationUnit lower_reduce(const ReduceIr &ir, const ReducePlan &plan, std::vector<std::string> &notes);

}  // namespace sejits::specializers::reduce
