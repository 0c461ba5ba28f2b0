#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/testing/column_stats_ir.h"

namespace sejits::specializers::testing {

// The IR -> C++/OpenMP: a unit with both entry points, `call`
// (kColumnStatsCallSymbol) and `center` (kColumnStatsCenterSymbol). Every
// array is read and written through the strides its descriptor carries, so
// X may be a strided view; the loops run in parallel above a size threshold
// unless the caller asks for a serial call.
codegen::TranslationUnit lower_column_stats(const ColumnStatsIr &ir, std::vector<std::string> &notes);

}  // namespace sejits::specializers::testing
