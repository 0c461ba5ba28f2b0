#include "specializers/stencil/optimize.h"

#include "absl/strings/str_cat.h"
#include "specializers/common/eliminate_common_subexpressions.h"
#include "specializers/common/fold_constants.h"

namespace sejits::specializers::stencil {

void optimize_stencil(StencilIr &ir, std::vector<std::string> &notes) {
  int64_t before = count_nodes(ir.value);
  ir.value = eliminate_common_subexpressions(fold_constants(ir.value));
  if (ir.border) ir.border = eliminate_common_subexpressions(fold_constants(ir.border));
  notes.push_back(absl::StrCat("optimized the point expression from ", before, " to ", count_nodes(ir.value),
                               " operations (constant folding, common subexpressions)"));
}

}  // namespace sejits::specializers::stencil
