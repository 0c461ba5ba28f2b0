// The Gaussian-mixture EM specializer ("gmm"), reached through the registry.
#pragma once

#include <memory>

#include "specializers/specializer.h"

namespace sejits::specializers {

std::unique_ptr<Specializer> make_gmm_specializer();

}  // namespace sejits::specializers
