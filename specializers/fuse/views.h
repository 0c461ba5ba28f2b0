// NumPy's basic indexing on strided views: each returns the view of the
// same memory that `a[...]`, `a.T` or broadcasting give.
#pragma once

#include <optional>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "specializers/fuse/ir.h"

namespace sejits::specializers::fuse {

struct SliceItem {
  std::optional<int64_t> lower, upper;
  int64_t step = 1;
};
struct IndexItem {
  int64_t index = 0;
};
struct NewAxisItem {};
struct EllipsisItem {};  // `...`: as many whole axes as the other items leave
using IndexingItem = std::variant<SliceItem, IndexItem, NewAxisItem, EllipsisItem>;

// view[items...]; FAILED_PRECONDITION "too many indices" when the items take
// more axes than it has, or for a second `...`.
absl::StatusOr<View> index_view(const View &view, const std::vector<IndexingItem> &items);
View transpose_view(const View &view);
// The identity view of argument `param` of rank `rank`.
View argument_view(int param, int rank);
// Whether `view` is all of argument `param`, as passed.
bool is_whole_argument(const View &view);

}  // namespace sejits::specializers::fuse
