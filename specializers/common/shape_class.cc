#include "specializers/common/shape_class.h"

#include <bit>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace sejits::specializers {

std::string size_bucket_shape_class(const std::vector<ArgSpec> &args, const std::string &entry_role) {
  const ArgSpec *largest = nullptr;
  int64_t largest_size = -1;
  bool all_contiguous = true;
  for (const ArgSpec &arg : args) {
    if (arg.kind != ArgKind::kArray) continue;
    int64_t size = 1;
    for (int64_t extent : arg.shape) size *= extent;
    if (size > largest_size) {  // the first of equal sizes
      largest = &arg;
      largest_size = size;
    }
    all_contiguous = all_contiguous && arg.c_contiguous;
  }
  if (largest == nullptr) return absl::StrCat(entry_role, ":scalar:c");
  std::string buckets;
  for (int64_t extent : largest->shape) {
    absl::StrAppend(&buckets, buckets.empty() ? "" : "x", std::bit_width(static_cast<uint64_t>(extent)));
  }
  if (buckets.empty()) buckets = "0";  // a 0-d array
  return absl::StrCat(entry_role, ":", buckets, ":", all_contiguous ? "c" : "s");
}

}  // namespace sejits::specializers
