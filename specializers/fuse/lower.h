// Fusion IR -> C++/OpenMP: two entry points over the same prologue (every
// run-time size computed and checked once): "shapes" writes the outputs'
// shapes for the caller to allocate, "call" runs one loop nest per store.
#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/fuse/ir.h"

namespace sejits::specializers::fuse {

inline constexpr char kCallSymbol[] = "sejits_fuse_call";
inline constexpr char kShapesSymbol[] = "sejits_fuse_shapes";
inline constexpr char kShapesRole[] = "shapes";
// Per output in the shapes array: its rank, then SEJITS_MAX_RANK dimensions.
inline constexpr int kShapeSlots = 1 + 8;
inline constexpr int64_t kFuseParallelThreshold = 32768;

codegen::TranslationUnit lower_fuse(const FuseIr &ir, std::vector<std::string> &notes);

}  // namespace sejits::specializers::fuse
