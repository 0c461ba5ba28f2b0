// Outer-loop vectorization of an element loop whose iterations run loops of
// their own: reductions bound to the element, as in k-means' assignment
// (each point's argmin over the centroids of a sum over the coordinates).
// The compiler vectorizes only innermost loops, and an 8-long sum is too
// short for its lanes, so such a loop ran one element at a time.
//
// Here kLanes consecutive elements advance together: the inner loops stay
// loops, and each run of straight-line code between them becomes a simd
// loop over the lanes, with `index = lane_base + lane`. What an element
// keeps across runs (its accumulators, its best and first flags) lives in
// an array with one entry per lane; what it declares and uses within one
// run stays a local of that run; values that depend only on the index are
// recomputed in each run that reads them. Every element runs the same
// statements in the same order as before, so its results are the same bits.
//
// The lanes pay where the inner loops are short; where an innermost loop is
// kSimdReductionMinimum or longer the element loop runs as written (its own
// simd reduction is the faster one), chosen at run time.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "codegen/target_ast.h"

namespace sejits::specializers::fuse {
namespace cg = codegen;

// Elements that advance together. On k-means' assignment (2^20 points, 16
// centroids, 8-D) 16 lanes took 31 ms, 64 took 24 and 256 took 25 (one
// element at a time: 58 ms): more lanes share each inner loop's overhead.
inline constexpr int64_t kLanes = 64;

using LoopAnnotation = std::variant<std::monostate, cg::OmpParallelFor, cg::OmpSimd, cg::OmpFor>;

// `for (index = begin; index < end; ++index) body` (with `annotation`) with
// its elements in lanes where its inner loops are short, as above; nullopt
// where `body` runs no loop, or holds what lanes cannot run: a loop whose
// bounds differ between elements, a loop under a condition that does,
// stores to variables declared outside it, or statements other than
// declarations, assignments, conditions and loops.
std::optional<cg::StmtPtr> lane_blocked_loop(const std::string &index, const cg::ExprPtr &begin, const cg::ExprPtr &end,
                                             const std::vector<cg::StmtPtr> &body, const LoopAnnotation &annotation,
                                             int64_t short_loop);

}  // namespace sejits::specializers::fuse
