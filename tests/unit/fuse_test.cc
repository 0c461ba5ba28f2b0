// The fusion specializer's pieces that need no compiler: run-time sizes
// (their keys decide what fusion may merge), NumPy's basic indexing on
// strided views, the reductions' axes and types, and the interface's
// description of what a call returns, and which element loops run in lanes.
#include <catch2/catch.hpp>

#include "codegen/cpp_printer.h"
#include "specializers/fuse/lane_blocks.h"
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

// for (i = 0; i < n; ++i) { acc = 0; for (k = 0; k < d; ++k) acc += x[i*d+k] * c[k]; out[i] = acc; }
// with `extra` appended to the element's body.
std::string lanes_of(std::vector<cg::StmtPtr> extra = {}, bool shared_read = true) {
  using cg::BinaryOp;
  const cg::Type f64 = cg::scalar_type(cg::CType::kFloat64);
  cg::ExprPtr element = cg::index(cg::var("x"), cg::binary(BinaryOp::kAdd, cg::binary(BinaryOp::kMul, cg::var("i"), cg::var("d")),
                                                            cg::var("k")));
  cg::ExprPtr other = shared_read ? cg::index(cg::var("c"), cg::var("k")) : cg::literal(cg::CType::kFloat64, 2.0);
  std::vector<cg::StmtPtr> body = {
      cg::decl(f64, "acc", cg::literal(cg::CType::kFloat64, 0.0)),
      cg::for_loop("k", cg::int_literal(0), cg::var("d"),
                   {cg::decl(cg::scalar_type(cg::CType::kFloat64, true), "term", cg::binary(BinaryOp::kMul, element, other)),
                    cg::assign(cg::var("acc"), cg::binary(BinaryOp::kAdd, cg::var("acc"), cg::var("term")))}),
      cg::assign(cg::index(cg::var("out"), cg::var("i")), cg::var("acc"))};
  body.insert(body.end(), extra.begin(), extra.end());
  auto loop = lane_blocked_loop("i", cg::int_literal(0), cg::var("n"), body, cg::OmpParallelFor{}, 32);
  if (!loop) return "";
  cg::TranslationUnit unit;
  unit.functions.push_back(cg::Function{cg::scalar_type(cg::CType::kVoid), "f", {}, {*loop}});
  return cg::print_cpp(unit);
}

TEST_CASE("element loops with short inner loops over shared values run in lanes", "[fuse]") {
  const std::string code = lanes_of();
  REQUIRE_FALSE(code.empty());
  CHECK(code.find("if ((d - 0) < 32)") != std::string::npos);       // the run-time choice
  CHECK(code.find("double acc[64]") != std::string::npos);           // kept across runs: one per lane
  CHECK(code.find("acc[lane] = (acc[lane] + term)") != std::string::npos);
  CHECK(code.find("const int64_t i = (lane_base + lane)") != std::string::npos);
  CHECK(code.find("#pragma omp simd") != std::string::npos);
  CHECK(code.find("for (int64_t i = 0; i < n; ++i)") != std::string::npos);  // as written where loops are long

  // what lanes cannot run: a store every lane makes to one variable outside, a loop whose length varies
  CHECK(lanes_of({cg::assign(cg::var("total"), cg::var("acc"))}).empty());
  CHECK(lanes_of({cg::for_loop("q", cg::int_literal(0), cg::var("i"), {})}).empty());
  CHECK(lanes_of({cg::assign(cg::index(cg::var("out"), cg::int_literal(0)), cg::var("acc"))}).empty());
  CHECK(lanes_of({}, /*shared_read=*/false).empty());  // only the element's own row: as written
}

}  // namespace
}  // namespace sejits::specializers::fuse
