// The tuning shape class of the element-wise and stencil specializers:
// "<entry role>:<bits of each extent of the largest array>:<layout>", e.g.
// "call:11x11:c" for a 1024x1024 C-contiguous grid, "call:scalar:c" without
// arrays. Calls of one class share a tuning record, so the format is part of
// every stored record: it must not change.
#pragma once

#include <string>
#include <vector>

#include "specializers/request.h"

namespace sejits::specializers {

std::string size_bucket_shape_class(const std::vector<ArgSpec> &args, const std::string &entry_role);

}  // namespace sejits::specializers
