#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "specializers/elementwise/ir.h"

namespace sejits::specializers::elementwise {

inline constexpr char kNumpyEntrySymbol[] = "sejits_elementwise_numpy";

// Element-wise IR -> a Python module whose kNumpyEntrySymbol(args, out) writes
// the kernel's value into `out` (the broadcast shape, the result dtype) with
// whole-array NumPy operations. It holds for arguments of any rank, as the
// native kernel does.
absl::StatusOr<NumpyModule> lower_elementwise_numpy(const ElementwiseIr &ir, std::vector<std::string> &notes);

}  // namespace sejits::specializers::elementwise
