// The fusion specializer's pieces that need no compiler: run-time sizes
// (their keys decide what fusion may merge), NumPy's basic indexing on
// strided views, the reductions' axes and types, and the interface's
// description of what a call returns.
#include <catch2/catch.hpp>

#include "specializers/fuse/reductions.h"
#include "specializers/fuse/sizes.h"
#include "specializers/fuse/views.h"
#include "specializers/interface.h"

namespace sejits::specializers::fuse {
namespace {

TEST_CASE("sizes fold constants and compare equal whatever order they met in", "[fuse]") {
  const SizeRef n = size_dim(0, 0), m = size_dim(1, 0), k = size_dim(2, 0);
  CHECK(constant_value(size_add(size_constant(2), size_constant(3))) == 5);
  CHECK(size_mul(n, size_constant(1))->key == n->key);
  CHECK(size_mul(n, size_constant(0))->key == "0");
  CHECK(same_size(broadcast_length(broadcast_length(n, m), k), broadcast_length(k, broadcast_length(m, n))));
  CHECK(same_size(broadcast_length(n, size_constant(1)), n));
  CHECK(same_size(broadcast_length(n, n), n));
  CHECK(broadcast_length(n, m)->operands.size() == 2);
  CHECK(same_size(fits_into(size_constant(1), n), n));  // a 1-long value fits any target
  CHECK(fits_into(m, n)->op == SizeOp::kFitsInto);      // else it is checked at run time
  CHECK(constant_value(stride_unless_one(size_constant(1), size_stride(0, 0))) == 0);
}

TEST_CASE("basic indexing makes NumPy's strided views", "[fuse]") {
  const View a = argument_view(0, 2);
  REQUIRE(is_whole_argument(a));
  auto interior = index_view(a, {SliceItem{1, -1, 1}, SliceItem{std::nullopt, std::nullopt, 2}});
  REQUIRE(interior.ok());
  CHECK(interior->dims.size() == 2);
  CHECK(interior->dims[0]->op == SizeOp::kSliceLength);
  CHECK(interior->strides[1]->key == size_mul(size_stride(0, 1), size_constant(2))->key);
  CHECK_FALSE(is_whole_argument(*interior));

  auto column = index_view(a, {SliceItem{}, IndexItem{-1}});  // a[:, -1]
  REQUIRE(column.ok());
  CHECK(column->dims.size() == 1);
  CHECK(column->offset->key != "0");

  auto row_vector = index_view(a, {NewAxisItem{}, SliceItem{}});  // a[None, :]: 1 x n0 x n1
  REQUIRE(row_vector.ok());
  CHECK(row_vector->dims.size() == 3);
  CHECK(constant_value(row_vector->dims[0]) == 1);
  CHECK(constant_value(row_vector->strides[0]) == 0);

  CHECK_FALSE(index_view(a, {IndexItem{0}, IndexItem{0}, IndexItem{0}}).ok());  // too many indices

  auto last_column = index_view(a, {EllipsisItem{}, IndexItem{-1}});  // a[..., -1] is a[:, -1]
  REQUIRE(last_column.ok());
  CHECK(last_column->key() == column->key());
  auto whole = index_view(a, {EllipsisItem{}});  // a[...] is a
  REQUIRE(whole.ok());
  CHECK(is_whole_argument(*whole));
  CHECK_FALSE(index_view(a, {EllipsisItem{}, IndexItem{0}, EllipsisItem{}}).ok());  // one ellipsis at most

  const View transposed = transpose_view(a);
  CHECK(transposed.dims[0]->key == a.dims[1]->key);
  CHECK(transposed.strides[1]->key == a.strides[0]->key);

  const View broadcast = broadcast_view(argument_view(1, 1), a.dims);  // a 1-D view against 2-D dims
  CHECK(constant_value(broadcast.strides[0]) == 0);
  CHECK(broadcast.strides[1]->op == SizeOp::kStrideUnlessOne);
}

TEST_CASE("reductions follow NumPy's axes and accumulator types", "[fuse]") {
  const std::vector<SizeRef> dims = {size_dim(0, 0), size_dim(0, 1), size_dim(0, 2)};
  const NodeRef int8_body = make_param(0, {DType::kInt8, false}, 1);
  auto sum = make_reduction(ReduceOp::kSum, int8_body, dims, AxisSpec{std::vector<int64_t>{-1, 0}}, false, 1);
  REQUIRE(sum.ok());
  CHECK(sum->result.dtype == DType::kInt64);
  CHECK(sum->reduced == std::vector<bool>{true, false, true});
  CHECK(sum->dims.size() == 1);

  const NodeRef uint16_body = make_param(0, {DType::kUInt16, false}, 1);
  auto product = make_reduction(ReduceOp::kProd, uint16_body, dims, AxisSpec{}, true, 1);
  REQUIRE(product.ok());
  CHECK(product->result.dtype == DType::kUInt64);
  CHECK(product->dims.size() == 3);  // keepdims: all three, each 1
  CHECK(constant_value(product->dims[1]) == 1);

  const NodeRef float_body = make_param(0, {DType::kFloat32, false}, 1);
  auto argmax = make_reduction(ReduceOp::kArgMax, float_body, dims, AxisSpec{std::vector<int64_t>{1}}, false, 1);
  REQUIRE(argmax.ok());
  CHECK(argmax->result.dtype == DType::kInt64);
  CHECK(argmax->accumulator.dtype == DType::kFloat32);

  CHECK_FALSE(make_reduction(ReduceOp::kSum, float_body, dims, AxisSpec{std::vector<int64_t>{3}}, false, 1).ok());
  CHECK_FALSE(make_reduction(ReduceOp::kSum, float_body, dims, AxisSpec{std::vector<int64_t>{1, -2}}, false, 1).ok());
  CHECK_FALSE(make_reduction(ReduceOp::kArgMin, float_body, dims, AxisSpec{std::vector<int64_t>{0, 1}}, false, 1).ok());
  CHECK(reduction_named("numpy.amax") == ReduceOp::kMax);
  CHECK(reduction_named("mean") == ReduceOp::kSum);
  CHECK_FALSE(reduction_named("numpy.cumsum").has_value());
}

TEST_CASE("what a fused call returns survives the store's text", "[fuse]") {
  KernelInterface interface;
  interface.entries.push_back({"call", "sejits_fuse_call", {{"a0", ParamRole::kInOut, DType::kFloat64, {}}}});
  interface.returns = Returns{
      true, {{ReturnedValue::Kind::kOutput, 0}, {ReturnedValue::Kind::kArgument, 0}, {ReturnedValue::Kind::kPythonScalar, 1}}};
  auto parsed = interface_from_text(interface_to_text(interface));
  REQUIRE(parsed.ok());
  CHECK(*parsed == interface);
  KernelInterface none = interface;
  none.returns = Returns{};  // `return` with no value
  auto parsed_none = interface_from_text(interface_to_text(none));
  REQUIRE(parsed_none.ok());
  CHECK(parsed_none->returns == Returns{});
  CHECK_FALSE(interface_from_text("entry call s\nreturns t x1\n").ok());
}

}  // namespace
}  // namespace sejits::specializers::fuse
