#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "specializers/reduce/ir.h"

namespace sejits::specializers::reduce {

// The request's params that describe the reduction around its map.
inline constexpr char kOpParam[] = "op";                    // sum prod min max any all mean argmin argmax combine
inline constexpr char kReducedDimsParam[] = "reduced_dims"; // trailing dimensions reduced
inline constexpr char kDtypeParam[] = "dtype";              // NumPy's dtype=: the accumulator
inline constexpr char kWhereParam[] = "where";              // "1": a where= mask follows the arguments
inline constexpr char kInitialParam[] = "initial";          // "1": NumPy's initial= follows them
inline constexpr char kScanParam[] = "scan";                // "1": a scan (sum prod min max) along one dimension

// Python function + argument descriptions + params -> reduction IR. The
// accumulator follows NumPy's rule: `dtype` when given; else sum and prod of
// bool and integers narrower than 64 bits accumulate in int64 (uint64 for
// unsigned ones), any and all in bool, mean of bool and integers in float64,
// and everything else (min, max, argmin, argmax) in the map's dtype.
// op "combine": the function is an associative operator f(a, b) over the
// elements of the call's one array (its map is the identity), accumulated in
// the array's dtype (or dtype=); "initial" is then its identity.
absl::StatusOr<std::unique_ptr<ReduceIr>> build_reduce_ir(const SpecializationRequest &request);

}  // namespace sejits::specializers::reduce
