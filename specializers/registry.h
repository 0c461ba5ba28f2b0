// Specializers by name. Callers reach a specializer only through here.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "specializers/specializer.h"

namespace sejits::specializers {

// nullptr when no specializer has that name.
const Specializer *find_specializer(const std::string &name);
std::vector<std::string> specializer_names();

// TEST ONLY (sejitsd --testing_specializer_version_suffix): appends `suffix`
// to every specializer's version(), so that request keys and the daemon's
// build identity change as after an upgrade, while the generated code stays
// the same. FAILED_PRECONDITION once a specializer has been looked up.
absl::Status set_testing_version_suffix(const std::string &suffix);

// TEST ONLY (sejitsd --enable_test_specializers): registers the test-only
// specializers too (specializers/testing/factory.h), which production
// daemons neither list nor serve. FAILED_PRECONDITION once a specializer has
// been looked up.
absl::Status enable_test_specializers();

}  // namespace sejits::specializers
