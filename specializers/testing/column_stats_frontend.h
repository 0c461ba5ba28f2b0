#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "specializers/request.h"
#include "specializers/testing/column_stats_ir.h"

namespace sejits::specializers::testing {

// The request's args and params -> the IR. INVALID_ARGUMENT, naming the
// problem, for a function's AST (a library kernel has none), an argument
// other than one 2-D float32/float64 array X, or an unknown or bad param.
absl::StatusOr<std::unique_ptr<ColumnStatsIr>> build_column_stats_ir(const SpecializationRequest &request);

}  // namespace sejits::specializers::testing
