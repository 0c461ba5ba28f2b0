#pragma once

#include <memory>

#include "specializers/specializer.h"

namespace sejits::specializers {

// The "reduce" specializer: a map folded into sum, prod, min, max, any or all.
std::unique_ptr<Specializer> make_reduce_specializer();

}  // namespace sejits::specializers
