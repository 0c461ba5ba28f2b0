#include "specializers/elementwise/optimize.h"

#include "absl/strings/str_cat.h"
#include "specializers/common/eliminate_common_subexpressions.h"
#include "specializers/common/fold_constants.h"
#include "spdlog/spdlog.h"

namespace sejits::specializers::elementwise {

void optimize_elementwise(ElementwiseIr &ir, std::vector<std::string> &notes) {
  int64_t before = count_nodes(ir.value);
  NodeRef folded = fold_constants(ir.value);
  if (folded != ir.value && spdlog::should_log(spdlog::level::debug)) spdlog::debug("elementwise: fold_constants: {}", to_string(folded));
  NodeRef merged = eliminate_common_subexpressions(folded);
  if (merged != folded && spdlog::should_log(spdlog::level::debug)) spdlog::debug("elementwise: eliminate_common_subexpressions: {}", to_string(merged));
  int64_t after = count_nodes(merged);
  notes.push_back(absl::StrCat("optimized the expression from ", before, " to ", after,
                               " operations (constant folding, common subexpressions)"));
  ir.value = merged;
}

}  // namespace sejits::specializers::elementwise
