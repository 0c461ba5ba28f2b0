// The sparse-matrix specializer ("sparse"), reached through the registry.
#pragma once

#include <memory>

#include "specializers/specializer.h"

namespace sejits::specializers {

std::unique_ptr<Specializer> make_sparse_specializer();

}  // namespace sejits::specializers
