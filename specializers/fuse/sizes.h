// Sizes known only at run time: the lengths, offsets and strides of the
// function's array values, as expressions over the arguments' shapes and
// strides. The generated code computes each once at its entry, in order;
// two sizes with the same key are the same value, which is how fusion
// proves that two loop nests cover the same points.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sejits::specializers::fuse {

enum class SizeOp {
  kConstant,  // constant
  kDim,       // the length of axis `axis` of argument `param`
  kStride,    // its stride in bytes
  kAdd,
  kMul,              // of the two operands
  kSliceStart,       // where lower:upper:step starts on an axis of length operands[0] (Python's slice rules)
  kSliceLength,      // how many elements it takes
  kIndex,            // the integer index `constant` on an axis of length operands[0], made non-negative; out of range: an error
  kBroadcast,        // NumPy's broadcast of the operands' lengths; an error unless all that are not 1 are equal
  kStrideUnlessOne,  // operands: a length and a stride: 0 where the length is 1 (a broadcast axis), else the stride
  kFitsInto,         // operands: a value's length and a target's: the target's; an error unless equal or the value's is 1
  kNonEmpty,         // operands[0], a count that must not be 0 (a min, max, argmin or argmax over nothing is NumPy's error)
};

struct SizeNode;
using SizeRef = std::shared_ptr<const SizeNode>;

struct SizeNode {
  SizeOp op = SizeOp::kConstant;
  int64_t constant = 0;
  int param = -1;
  int axis = 0;
  std::optional<int64_t> lower, upper;  // a slice's bounds, as written
  int64_t step = 1;
  std::vector<SizeRef> operands;
  std::string key;  // canonical: equal keys, equal values at run time
};

SizeRef size_constant(int64_t value);
SizeRef size_dim(int param, int axis);
SizeRef size_stride(int param, int axis);
SizeRef size_add(const SizeRef &a, const SizeRef &b);
SizeRef size_mul(const SizeRef &a, const SizeRef &b);
SizeRef slice_start(const SizeRef &length, std::optional<int64_t> lower, std::optional<int64_t> upper, int64_t step);
SizeRef slice_length(const SizeRef &length, std::optional<int64_t> lower, std::optional<int64_t> upper, int64_t step);
SizeRef index_position(const SizeRef &length, int64_t index);
SizeRef broadcast_length(const SizeRef &a, const SizeRef &b);
SizeRef non_empty(const SizeRef &count);
SizeRef fits_into(const SizeRef &value, const SizeRef &target);
SizeRef stride_unless_one(const SizeRef &length, const SizeRef &stride);

// The constant value of `size`, if it is known before run time.
std::optional<int64_t> constant_value(const SizeRef &size);
inline bool same_size(const SizeRef &a, const SizeRef &b) { return a->key == b->key; }
// Every size `roots` depend on, each once, operands first.
std::vector<SizeRef> sizes_in_order(const std::vector<SizeRef> &roots);

}  // namespace sejits::specializers::fuse
