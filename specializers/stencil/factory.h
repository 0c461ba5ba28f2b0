#pragma once

#include <memory>

#include "specializers/specializer.h"

namespace sejits::specializers {

// The "stencil" specializer: relative-index kernels over N-D grids.
std::unique_ptr<Specializer> make_stencil_specializer();

}  // namespace sejits::specializers
