// `iterate`'s entry point: n sweeps with temporal blocking.
//
// Sweeps advance together in a wavefront along the outer axis: blocks of B
// planes (B at least the stencil's reach along that axis), sweep s working
// 2*s blocks behind sweep 0. Sweep s's reads of sweep s-1 were written in an
// earlier wave, and the block it overwrites (sweep s-2's, in the same buffer)
// is no longer read, so every sweep of a wave runs at once, and the planes
// near the wavefront stay in the cache between sweeps: the grid goes through
// memory once per wavefront instead of once per sweep. Each point is computed
// from the same values by the same code as a single sweep: bit-identical.
#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/stencil/ir.h"
#include "specializers/stencil/sweep.h"

namespace sejits::specializers::stencil {

inline constexpr char kIterateSymbol[] = "sejits_stencil_iterate";

// Empty when `iterate` can block this stencil in time; otherwise why not.
std::string temporal_blocking_obstacle(const StencilIr &ir);

// args: the stencil's inputs (the grid first), a spare output-shaped buffer,
// the number of sweeps (an int64 scalar), the output. Sweep 1 reads the grid;
// sweeps ping-pong between the spare buffer and the output, the last one
// writing the output. For boundary "skip" both buffers get the grid's border.
codegen::Function iterate_entry(const StencilIr &ir, const StencilPlan &plan);

}  // namespace sejits::specializers::stencil
