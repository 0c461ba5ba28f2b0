// Specializers by name. Callers reach a specializer only through here.
#pragma once

#include <string>
#include <vector>

#include "specializers/specializer.h"

namespace sejits::specializers {

// nullptr when no specializer has that name.
const Specializer *find_specializer(const std::string &name);
std::vector<std::string> specializer_names();

}  // namespace sejits::specializers
