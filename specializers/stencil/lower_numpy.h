#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "specializers/stencil/ir.h"

namespace sejits::specializers::stencil {

inline constexpr char kNumpyEntrySymbol[] = "sejits_stencil_numpy";

// Stencil IR -> a Python module whose kNumpyEntrySymbol(args, out) is one
// sweep into `out` (the grid's shape, the result dtype): each read a[i, j]
// a shifted slice, of the grid itself for "constant" and "skip" (only the
// interior is computed; the border gets cval or keeps out's values), of the
// grid padded once per call with the boundary's np.pad mode for the others.
absl::StatusOr<NumpyModule> lower_stencil_numpy(const StencilIr &ir, std::vector<std::string> &notes);

}  // namespace sejits::specializers::stencil
