#include "specializers/common/argument_key.h"

#include "absl/strings/str_cat.h"

namespace sejits::specializers {

// The text is hashed into every request key: changing it invalidates every
// stored artifact (so it is what request_key.cc wrote before it moved here).
std::string argument_key_text(const std::vector<ArgSpec> &args, bool with_ranks) {
  std::string text;
  for (const ArgSpec &arg : args) {
    absl::StrAppend(&text, static_cast<int>(arg.kind), ":", arg.dtype_code, ":", arg.weak ? "w" : "s");
    if (with_ranks && arg.kind == ArgKind::kArray) absl::StrAppend(&text, ":r", arg.rank);
    absl::StrAppend(&text, ";");
  }
  return text;
}

}  // namespace sejits::specializers
