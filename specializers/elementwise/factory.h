#pragma once

#include <memory>

#include "specializers/specializer.h"

namespace sejits::specializers {

// The "elementwise" specializer: maps and ufunc-like kernels.
std::unique_ptr<Specializer> make_elementwise_specializer();

}  // namespace sejits::specializers
