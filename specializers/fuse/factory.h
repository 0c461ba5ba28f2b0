#pragma once

#include <memory>

#include "specializers/specializer.h"

namespace sejits::specializers {

// The "fuse" specializer: a whole NumPy function compiled into fused loop nests.
std::unique_ptr<Specializer> make_fuse_specializer();

}  // namespace sejits::specializers
