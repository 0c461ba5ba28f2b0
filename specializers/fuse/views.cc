#include "specializers/fuse/views.h"

#include "absl/strings/str_cat.h"

namespace sejits::specializers::fuse {

std::string View::key() const {
  std::string text = absl::StrCat("p", param, "@", offset->key, "[");
  for (size_t d = 0; d < dims.size(); ++d) absl::StrAppend(&text, d ? "," : "", dims[d]->key, "/", strides[d]->key);
  return text + "]";
}

View broadcast_view(const View &view, const std::vector<SizeRef> &dims) {
  View result{view.param, view.offset, dims, {}};
  const size_t lead = dims.size() - view.dims.size();
  for (size_t d = 0; d < dims.size(); ++d) {
    if (d < lead) {
      result.strides.push_back(size_constant(0));
    } else {
      result.strides.push_back(stride_unless_one(view.dims[d - lead], view.strides[d - lead]));
    }
  }
  return result;
}

absl::StatusOr<View> index_view(const View &view, const std::vector<IndexingItem> &given) {
  int taken = 0, ellipses = 0;
  for (const IndexingItem &item : given) {
    taken += std::holds_alternative<SliceItem>(item) || std::holds_alternative<IndexItem>(item);
    ellipses += std::holds_alternative<EllipsisItem>(item);
  }
  if (ellipses > 1) return absl::FailedPreconditionError("an index can only have a single ellipsis ('...')");
  if (taken > static_cast<int>(view.dims.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat("too many indices: the array is ", view.dims.size(), "-dimensional, but ", taken, " were indexed"));
  }
  std::vector<IndexingItem> items;
  for (const IndexingItem &item : given) {
    if (!std::holds_alternative<EllipsisItem>(item)) {
      items.push_back(item);
      continue;
    }
    for (size_t k = taken; k < view.dims.size(); ++k) items.push_back(SliceItem{});
  }
  View result{view.param, view.offset, {}, {}};
  size_t axis = 0;
  for (const IndexingItem &item : items) {
    if (std::holds_alternative<NewAxisItem>(item)) {
      result.dims.push_back(size_constant(1));
      result.strides.push_back(size_constant(0));
      continue;
    }
    const SizeRef &length = view.dims[axis];
    const SizeRef &stride = view.strides[axis];
    if (const auto *index = std::get_if<IndexItem>(&item)) {
      result.offset = size_add(result.offset, size_mul(index_position(length, index->index), stride));
    } else {
      const auto &slice = std::get<SliceItem>(item);
      result.offset = size_add(result.offset, size_mul(slice_start(length, slice.lower, slice.upper, slice.step), stride));
      result.dims.push_back(slice_length(length, slice.lower, slice.upper, slice.step));
      result.strides.push_back(size_mul(stride, size_constant(slice.step)));
    }
    ++axis;
  }
  for (; axis < view.dims.size(); ++axis) {
    result.dims.push_back(view.dims[axis]);
    result.strides.push_back(view.strides[axis]);
  }
  return result;
}

View transpose_view(const View &view) {
  View result = view;
  std::reverse(result.dims.begin(), result.dims.end());
  std::reverse(result.strides.begin(), result.strides.end());
  return result;
}

View argument_view(int param, int rank) {
  View view{param, size_constant(0), {}, {}};
  for (int d = 0; d < rank; ++d) {
    view.dims.push_back(size_dim(param, d));
    view.strides.push_back(size_stride(param, d));
  }
  return view;
}

bool is_whole_argument(const View &view) {
  return view.key() == argument_view(view.param, static_cast<int>(view.dims.size())).key();
}

}  // namespace sejits::specializers::fuse
