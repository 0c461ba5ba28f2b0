#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "specializers/stencil/ir.h"

namespace sejits::specializers::stencil {

// Asp's class-based kernels -> stencil IR:
//   for x in out_grid.interior_points():
//       out_grid[x] = self.center * in_grid[x]
//       for y in in_grid.neighbors(x, 1):
//           out_grid[x] = out_grid[x] + self.edge * in_grid[y]
// The request's params say which argument is the output grid ("output"), the
// output grid's "ghost_depth", and each grid's neighbour sets
// ("neighbors.<k>.<i>": set i of grid argument k, offsets "dx,dy;dx,dy;...").
// `self` attributes arrive as constants. Interior points
// are computed; the ghost cells of the output are left untouched.
absl::StatusOr<std::unique_ptr<StencilIr>> build_class_stencil_ir(const SpecializationRequest &request);

}  // namespace sejits::specializers::stencil
