#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/elementwise/ir.h"

namespace sejits::specializers::elementwise {

inline constexpr char kEntrySymbol[] = "sejits_elementwise";
// Below this many elements the loop runs on the calling thread: starting the
// OpenMP team costs more than it saves.
inline constexpr int64_t kParallelThreshold = 32768;
// Elements per task on the strided path, so that one long strided row still
// spreads over every thread.
inline constexpr int64_t kStridedBlock = 4096;
// Outputs at least this large (bytes) are written with streaming stores: they
// will not stay in cache anyway, and skipping the read-for-ownership saves a
// third of the memory traffic of a two-input kernel.
inline constexpr int64_t kStreamingOutputBytes = int64_t{16} << 20;
// Bytes of output computed into L1 scratch before each streaming copy.
inline constexpr int64_t kStreamingBlockBytes = 4096;

// Element-wise IR -> C++/OpenMP target AST: a dense path (one flat loop,
// restrict pointers, parallel simd), its streaming-store variant for large
// outputs, and a strided/broadcasting path.
struct ElementwisePlan;
// `plan` selects the variant (threads, chunk, unroll, ...; see plan.h).
codegen::TranslationUnit lower_elementwise(const ElementwiseIr &ir, const ElementwisePlan &plan, std::vector<std::string> &notes);

}  // namespace sejits::specializers::elementwise
