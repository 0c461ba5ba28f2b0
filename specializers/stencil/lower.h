#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/stencil/ir.h"

namespace sejits::specializers::stencil {

inline constexpr char kEntrySymbol[] = "sejits_stencil";
inline constexpr int64_t kParallelThreshold = 32768;

// Stencil IR -> C++/OpenMP: a branch-free interior loop nest (OpenMP over the
// outer axis, a vectorizable unit-stride inner loop) and, unless the boundary
// is "skip", loop nests over the border slabs that write cval or read through
// the boundary mode's index resolution.
codegen::TranslationUnit lower_stencil(const StencilIr &ir, std::vector<std::string> &notes);

}  // namespace sejits::specializers::stencil
