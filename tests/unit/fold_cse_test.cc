// Constant folding and common subexpression elimination on hand-built
// scalar IR.
#include <cmath>
#include <cstdint>
#include <limits>

#include <catch2/catch.hpp>

#include "specializers/common/eliminate_common_subexpressions.h"
#include "specializers/common/fold_constants.h"
#include "specializers/common/scalar_ir.h"

namespace sejits::specializers {
namespace {

constexpr ScalarType kInt8{DType::kInt8, false};
constexpr ScalarType kInt64{DType::kInt64, false};
constexpr ScalarType kFloat32{DType::kFloat32, false};
constexpr ScalarType kFloat64{DType::kFloat64, false};
constexpr ScalarType kBool{DType::kBool, false};

NodeRef constant(ConstantValue value, ScalarType type) { return make_constant(value, type, 1); }
NodeRef param(int index, ScalarType type) { return make_param(index, type, 1); }
NodeRef node(ScalarOp op, ScalarType type, std::vector<NodeRef> operands) {
  return make_node(op, type, std::move(operands), 1);
}

// The folded value of `root`, which must have folded to a constant.
ConstantValue folded_value(const NodeRef &root) {
  NodeRef folded = fold_constants(root);
  INFO(to_string(folded));
  REQUIRE(folded->op == ScalarOp::kConstant);
  CHECK(folded->type == root->type);
  return folded->value;
}

}  // namespace

TEST_CASE("2 + 3 folds to the int64 constant 5", "[fold_cse]") {
  const NodeRef sum = node(ScalarOp::kAdd, kInt64, {constant(int64_t{2}, kInt64), constant(int64_t{3}, kInt64)});
  CHECK(folded_value(sum) == ConstantValue(int64_t{5}));
}

TEST_CASE("integer folding wraps as the generated code does (-fwrapv)", "[fold_cse]") {
  static constexpr ScalarType kInt32{DType::kInt32, false};  // static: GENERATE's lambda captures nothing
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max(), kInt32Min = std::numeric_limits<int32_t>::min();
  constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max(), kInt64Min = std::numeric_limits<int64_t>::min();
  struct Wrap {
    ScalarOp op;
    ScalarType type;
    int64_t left, right, expected;
  };
  const Wrap wrap = GENERATE(values<Wrap>({
      {ScalarOp::kAdd, kInt8, 100, 100, -56},
      {ScalarOp::kAdd, kInt32, kInt32Max, 1, kInt32Min},
      {ScalarOp::kAdd, kInt64, kInt64Max, 1, kInt64Min},
      {ScalarOp::kSub, kInt64, kInt64Min, 1, kInt64Max},
      {ScalarOp::kMul, kInt64, kInt64Min, -1, kInt64Min},
  }));
  INFO(wrap.left << " op " << wrap.right << " in " << dtype_name(wrap.type.dtype));
  const NodeRef result = node(wrap.op, wrap.type, {constant(wrap.left, wrap.type), constant(wrap.right, wrap.type)});
  CHECK(folded_value(result) == ConstantValue(wrap.expected));
}

TEST_CASE("float32 folding rounds in float, not in double", "[fold_cse]") {
  // 1 + 1e-8 is 1.00000001 in double but exactly 1 in float.
  const float tiny = 1e-8f;
  const NodeRef sum =
      node(ScalarOp::kAdd, kFloat32, {constant(1.0, kFloat32), constant(static_cast<double>(tiny), kFloat32)});
  CHECK(folded_value(sum) == ConstantValue(1.0));

  const NodeRef third = node(ScalarOp::kTrueDiv, kFloat32, {constant(1.0, kFloat32), constant(3.0, kFloat32)});
  CHECK(folded_value(third) == ConstantValue(static_cast<double>(1.0f / 3.0f)));
}

TEST_CASE("a select on a constant condition folds to the chosen branch", "[fold_cse]") {
  const NodeRef x = param(0, kFloat64), y = param(1, kFloat64);
  const NodeRef condition = node(ScalarOp::kLt, kBool, {constant(1.0, kFloat64), constant(2.0, kFloat64)});
  CHECK(fold_constants(node(ScalarOp::kSelect, kFloat64, {condition, x, y})) == x);
}

TEST_CASE("fold_constants returns the same node when nothing folds", "[fold_cse]") {
  const NodeRef product = node(ScalarOp::kMul, kFloat64, {param(0, kFloat64), param(1, kFloat64)});
  const NodeRef sum = node(ScalarOp::kAdd, kFloat64, {product, constant(1.0, kFloat64)});
  CHECK(fold_constants(sum) == sum);
}

TEST_CASE("x*y computed twice becomes one node", "[fold_cse]") {
  const NodeRef x = param(0, kFloat64), y = param(1, kFloat64);
  const NodeRef sum = node(ScalarOp::kAdd, kFloat64,
                           {node(ScalarOp::kMul, kFloat64, {x, y}), node(ScalarOp::kMul, kFloat64, {x, y})});
  REQUIRE(count_nodes(sum) == 5);

  const NodeRef merged = eliminate_common_subexpressions(sum);
  CHECK(count_nodes(merged) == 4);
  CHECK(merged->operands[0] == merged->operands[1]);
  CHECK(to_string(merged) == "%0 = p0:float64; %1 = p1:float64; %2 = mul(%0, %1):float64; %3 = add(%2, %2):float64");
}

TEST_CASE("equal parameters and constants merge too", "[fold_cse]") {
  const NodeRef sum = node(ScalarOp::kAdd, kFloat64, {param(0, kFloat64), param(0, kFloat64)});
  CHECK(count_nodes(eliminate_common_subexpressions(sum)) == 2);
  const NodeRef two_ones = node(ScalarOp::kAdd, kFloat64, {constant(1.0, kFloat64), constant(1.0, kFloat64)});
  CHECK(count_nodes(eliminate_common_subexpressions(two_ones)) == 2);
}

TEST_CASE("CSE keeps constants apart unless their bits are equal", "[fold_cse]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Pair {
    const char *what;
    NodeRef left, right;
    bool merged;
  };
  const Pair pair = GENERATE_COPY(values<Pair>({
      {"NaN and 1.0", constant(nan, kFloat64), constant(1.0, kFloat64), false},
      {"NaN and 0.0", constant(nan, kFloat64), constant(0.0, kFloat64), false},
      {"NaN and NaN (the same bits)", constant(nan, kFloat64), constant(nan, kFloat64), true},
      {"0.0 and -0.0", constant(0.0, kFloat64), constant(-0.0, kFloat64), false},
      {"int64 1 and float64 1.0", constant(int64_t{1}, kInt64), constant(1.0, kFloat64), false},
      {"int64 -1 and uint64 max (the same bits)", constant(int64_t{-1}, kInt64),
       constant(std::numeric_limits<uint64_t>::max(), ScalarType{DType::kUInt64, false}), false},
  }));
  INFO(pair.what);
  // max(left, right): an operation that keeps both constants as operands.
  const NodeRef root = node(ScalarOp::kMaximum, kFloat64, {pair.left, pair.right});
  const NodeRef result = eliminate_common_subexpressions(root);
  CHECK((result->operands[0] == result->operands[1]) == pair.merged);
}

TEST_CASE("CSE returns the same node when nothing is shared", "[fold_cse]") {
  const NodeRef x = param(0, kFloat64), y = param(1, kFloat64);
  const NodeRef expression =
      node(ScalarOp::kSub, kFloat64, {node(ScalarOp::kMul, kFloat64, {x, y}), node(ScalarOp::kAdd, kFloat64, {x, y})});
  CHECK(eliminate_common_subexpressions(expression) == expression);
}

}  // namespace sejits::specializers
