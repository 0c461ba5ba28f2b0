// The arguments' part of a request key, as the element-wise and stencil
// specializers define it: kind, dtype and weakness of each argument, and its
// rank where the generated code is specific to ranks.
#pragma once

#include <string>
#include <vector>

#include "specializers/request.h"

namespace sejits::specializers {

std::string argument_key_text(const std::vector<ArgSpec> &args, bool with_ranks);

}  // namespace sejits::specializers
