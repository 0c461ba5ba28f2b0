#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/stencil/ir.h"
#include "specializers/stencil/sweep.h"

namespace sejits::specializers::stencil {

inline constexpr char kEntrySymbol[] = "sejits_stencil";
inline constexpr int64_t kParallelThreshold = 32768;

// Stencil IR -> C++/OpenMP. The entry point kEntrySymbol is one sweep: a
// branch-free interior loop nest (OpenMP over the outer axis, a vectorizable
// unit-stride inner loop) and, unless the boundary is "skip", loop nests over
// the border slabs that write cval or read through the boundary mode's index
// resolution. Where it can, the unit also has `iterate`'s temporally blocked
// entry point (temporal.h).
codegen::TranslationUnit lower_stencil(const StencilIr &ir, const StencilPlan &plan, std::vector<std::string> &notes);

}  // namespace sejits::specializers::stencil
