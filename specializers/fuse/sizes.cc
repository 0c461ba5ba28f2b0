#include "specializers/fuse/sizes.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"

namespace sejits::specializers::fuse {
namespace {

std::string bound_text(std::optional<int64_t> bound) { return bound ? absl::StrCat(*bound) : std::string("_"); }

SizeRef make(SizeNode node) { return std::make_shared<const SizeNode>(std::move(node)); }

SizeRef make_slice(SizeOp op, const char *name, const SizeRef &length, std::optional<int64_t> lower, std::optional<int64_t> upper,
                   int64_t step) {
  SizeNode node{op, 0, -1, 0, lower, upper, step, {length}, ""};
  node.key = absl::StrCat(name, "(", length->key, ",", bound_text(lower), ":", bound_text(upper), ":", step, ")");
  return make(std::move(node));
}

}  // namespace

SizeRef size_constant(int64_t value) { return make({SizeOp::kConstant, value, -1, 0, {}, {}, 1, {}, absl::StrCat(value)}); }

SizeRef size_dim(int param, int axis) {
  return make({SizeOp::kDim, 0, param, axis, {}, {}, 1, {}, absl::StrCat("dim", param, "_", axis)});
}

SizeRef size_stride(int param, int axis) {
  return make({SizeOp::kStride, 0, param, axis, {}, {}, 1, {}, absl::StrCat("stride", param, "_", axis)});
}

SizeRef size_add(const SizeRef &a, const SizeRef &b) {
  auto ca = constant_value(a), cb = constant_value(b);
  if (ca && cb) return size_constant(*ca + *cb);
  if (ca == 0) return b;
  if (cb == 0) return a;
  return make({SizeOp::kAdd, 0, -1, 0, {}, {}, 1, {a, b}, absl::StrCat("(", a->key, "+", b->key, ")")});
}

SizeRef size_mul(const SizeRef &a, const SizeRef &b) {
  auto ca = constant_value(a), cb = constant_value(b);
  if (ca && cb) return size_constant(*ca * *cb);
  if (ca == 0 || cb == 0) return size_constant(0);
  if (ca == 1) return b;
  if (cb == 1) return a;
  return make({SizeOp::kMul, 0, -1, 0, {}, {}, 1, {a, b}, absl::StrCat("(", a->key, "*", b->key, ")")});
}

SizeRef slice_start(const SizeRef &length, std::optional<int64_t> lower, std::optional<int64_t> upper, int64_t step) {
  if (!lower && step > 0) return size_constant(0);
  return make_slice(SizeOp::kSliceStart, "start", length, lower, upper, step);
}

SizeRef slice_length(const SizeRef &length, std::optional<int64_t> lower, std::optional<int64_t> upper, int64_t step) {
  if (!lower && !upper && step == 1) return length;
  return make_slice(SizeOp::kSliceLength, "len", length, lower, upper, step);
}

SizeRef index_position(const SizeRef &length, int64_t index) {
  if (index >= 0 && constant_value(length) && index < *constant_value(length)) return size_constant(index);
  return make({SizeOp::kIndex, index, -1, 0, {}, {}, 1, {length}, absl::StrCat("index(", length->key, ",", index, ")")});
}

// n-ary, flattened and sorted by key: the broadcast of the same lengths is
// the same size whatever order the operands met in.
SizeRef broadcast_length(const SizeRef &a, const SizeRef &b) {
  std::map<std::string, SizeRef> lengths;
  for (const SizeRef &size : {a, b}) {
    if (size->op == SizeOp::kBroadcast) {
      for (const SizeRef &operand : size->operands) lengths[operand->key] = operand;
    } else if (constant_value(size) != 1) {
      lengths[size->key] = size;
    }
  }
  if (lengths.empty()) return size_constant(1);
  if (lengths.size() == 1) return lengths.begin()->second;
  SizeNode node{SizeOp::kBroadcast, 0, -1, 0, {}, {}, 1, {}, "bcast("};
  for (const auto &[key, size] : lengths) {
    absl::StrAppend(&node.key, node.operands.empty() ? "" : ",", key);
    node.operands.push_back(size);
  }
  node.key += ")";
  return make(std::move(node));
}

SizeRef non_empty(const SizeRef &count) {
  if (constant_value(count) && *constant_value(count) > 0) return count;
  return make({SizeOp::kNonEmpty, 0, -1, 0, {}, {}, 1, {count}, absl::StrCat("nonempty(", count->key, ")")});
}

SizeRef fits_into(const SizeRef &value, const SizeRef &target) {
  if (same_size(value, target) || constant_value(value) == 1) return target;
  return make(
      {SizeOp::kFitsInto, 0, -1, 0, {}, {}, 1, {value, target}, absl::StrCat("into(", value->key, ",", target->key, ")")});
}

SizeRef stride_unless_one(const SizeRef &length, const SizeRef &stride) {
  if (constant_value(length) == 1 || constant_value(stride) == 0) return size_constant(0);
  if (constant_value(length)) return stride;
  return make({SizeOp::kStrideUnlessOne,
               0,
               -1,
               0,
               {},
               {},
               1,
               {length, stride},
               absl::StrCat("unless1(", length->key, ",", stride->key, ")")});
}

std::optional<int64_t> constant_value(const SizeRef &size) {
  if (size->op == SizeOp::kConstant) return size->constant;
  return std::nullopt;
}

std::vector<SizeRef> sizes_in_order(const std::vector<SizeRef> &roots) {
  std::vector<SizeRef> order;
  std::set<std::string> seen;
  std::vector<std::pair<SizeRef, bool>> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.push_back({*it, false});
  while (!stack.empty()) {
    auto [size, expanded] = stack.back();
    stack.pop_back();
    if (seen.count(size->key)) continue;
    if (expanded) {
      seen.insert(size->key);
      order.push_back(size);
      continue;
    }
    stack.push_back({size, true});
    for (const SizeRef &operand : size->operands) {
      if (!seen.count(operand->key)) stack.push_back({operand, false});
    }
  }
  return order;
}

}  // namespace sejits::specializers::fuse
