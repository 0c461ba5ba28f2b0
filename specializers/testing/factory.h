// Specializers that exist only for tests: registered only when the daemon
// runs with --enable_test_specializers (see registry.h); production daemons
// neither list nor serve them.
#pragma once

#include <memory>

#include "specializers/specializer.h"

namespace sejits::specializers {

// "test_column_stats": a library kernel (params, no user AST) with two entry
// points, `call` (column sums and row maxima of a 2-D X: two outputs of
// different shapes) and `center` (X minus its column means).
std::unique_ptr<Specializer> make_test_column_stats_specializer();

}  // namespace sejits::specializers
