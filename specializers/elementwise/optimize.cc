#include "specializers/elementwise/optimize.h"

#include "absl/strings/str_cat.h"
#include "specializers/common/eliminate_common_subexpressions.h"
#include "specializers/common/fold_constants.h"
#include "spdlog/spdlog.h"

namespace sejits::specializers::elementwise {

void optimize_elementwise(ElementwiseIr &ir, std::vector<std::string> &notes) {
  int64_t before = 0, after = 0;
  for (Output &output : ir.outputs) {
    before += count_nodes(output.value);
    NodeRef folded = fold_constants(output.value);
    if (folded != output.value && spdlog::should_log(spdlog::level::debug)) spdlog::debug("elementwise: fold_constants: {}", to_string(folded));
    NodeRef merged = eliminate_common_subexpressions(folded);
    if (merged != folded && spdlog::should_log(spdlog::level::debug)) spdlog::debug("elementwise: eliminate_common_subexpressions: {}", to_string(merged));
    after += count_nodes(merged);
    output.value = merged;
  }
  notes.push_back(absl::StrCat("optimized the expression", ir.outputs.size() > 1 ? "s" : "", " from ", before, " to ", after,
                               " operations (constant folding, common subexpressions)"));
}

}  // namespace sejits::specializers::elementwise
