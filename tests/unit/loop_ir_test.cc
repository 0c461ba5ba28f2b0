// Loop nodes of the scalar IR (kLoop, kLoopVariable, kLoopResult) through
// the passes and the C printer: which body each node belongs to, folding and
// CSE that keep loops apart, and the printed `while` loop.
#include <string>

#include <catch2/catch.hpp>

#include "codegen/cpp_printer.h"
#include "specializers/common/eliminate_common_subexpressions.h"
#include "specializers/common/fold_constants.h"
#include "specializers/common/lower_scalar.h"
#include "specializers/common/scalar_ir.h"

namespace sejits::specializers {
namespace {
namespace cg = codegen;

constexpr ScalarType kInt64{DType::kInt64, false};
constexpr ScalarType kFloat64{DType::kFloat64, false};
constexpr ScalarType kBool{DType::kBool, false};

NodeRef node(ScalarOp op, ScalarType type, std::vector<NodeRef> operands) { return make_node(op, type, std::move(operands), 1); }
NodeRef int64(int64_t value) { return make_constant(value, kInt64, 1); }

// total = 0.0; i = 0; while i < p1: total += p0 * 2.0; i += 1 -> total
struct SumLoop {
  NodeRef loop, total, invariant, step;
};
SumLoop sum_loop() {
  const int id = new_loop_id();
  NodeRef total = make_loop_variable(id, 0, kFloat64, 1), i = make_loop_variable(id, 1, kInt64, 1);
  NodeRef invariant = node(ScalarOp::kMul, kFloat64, {make_param(0, kFloat64, 1), make_constant(2.0, kFloat64, 1)});
  NodeRef step = node(ScalarOp::kAdd, kFloat64, {total, invariant});
  NodeRef loop = make_loop(id, {make_constant(0.0, kFloat64, 1), int64(0)}, node(ScalarOp::kLt, kBool, {i, make_param(1, kInt64, 1)}),
                           {step, node(ScalarOp::kAdd, kInt64, {i, int64(1)})}, 1);
  return {loop, make_loop_result(loop, 0, 1), invariant, step};
}

std::string printed(const NodeRef &root) {
  ScalarLoweringContext context;
  context.param = [](int index, const std::vector<int64_t> &) { return cg::var("p" + std::to_string(index)); };
  context.error_flag = "error_flag";
  LoweredScalar lowered = lower_scalar(root, context);
  cg::TranslationUnit unit;
  cg::Function function;
  function.return_type = cg::scalar_type(cg::CType::kFloat64);
  function.name = "f";
  function.body = lowered.statements;
  function.body.push_back(cg::return_stmt(lowered.value));
  unit.functions.push_back(function);
  return cg::print_cpp(unit);
}

}  // namespace

TEST_CASE("a node belongs to the innermost loop whose variables it reads", "[loop_ir]") {
  SumLoop sum = sum_loop();
  auto scopes = innermost_loops(topological_order(sum.total));
  CHECK(scopes.at(sum.step.get()) == sum.loop->loop_id);
  CHECK(scopes.at(sum.invariant.get()) == 0);  // reads no loop variable: computed once, before the loop
  CHECK(scopes.at(sum.loop.get()) == 0);
  CHECK(scopes.at(sum.total.get()) == 0);

  // An inner loop that starts from the outer loop's variable lives in the outer body.
  const int outer_id = new_loop_id(), inner_id = new_loop_id();
  NodeRef x = make_loop_variable(outer_id, 0, kFloat64, 1), y = make_loop_variable(inner_id, 0, kFloat64, 1);
  NodeRef inner = make_loop(inner_id, {x}, node(ScalarOp::kGt, kBool, {y, x}), {node(ScalarOp::kMul, kFloat64, {y, make_constant(0.5, kFloat64, 1)})}, 1);
  NodeRef inner_result = make_loop_result(inner, 0, 1);
  NodeRef outer = make_loop(outer_id, {make_param(0, kFloat64, 1)}, node(ScalarOp::kGt, kBool, {x, make_constant(1.0, kFloat64, 1)}),
                            {inner_result}, 1);
  auto nested = innermost_loops(topological_order(make_loop_result(outer, 0, 1)));
  CHECK(nested.at(inner.get()) == outer_id);
  CHECK(nested.at(inner_result.get()) == outer_id);
  CHECK(nested.at(outer.get()) == 0);
}

TEST_CASE("folding and CSE keep loops apart and keep their bodies", "[loop_ir]") {
  SumLoop first = sum_loop(), second = sum_loop();  // the same computation, two loops
  NodeRef both = node(ScalarOp::kAdd, kFloat64, {first.total, second.total});
  NodeRef optimized = eliminate_common_subexpressions(fold_constants(both));
  // Only what reads no loop variable merges: p0, 2.0, p0 * 2.0, p1 and the constants 0.0, 0, 1.
  CHECK(count_nodes(optimized) == count_nodes(both) - 7);
  int loops = 0;
  for (const NodeRef &n : topological_order(optimized)) loops += n->op == ScalarOp::kLoop;
  CHECK(loops == 2);
}

TEST_CASE("a loop prints as a while loop with its invariants hoisted", "[loop_ir]") {
  const std::string text = printed(sum_loop().total);
  INFO(text);
  const size_t loop_start = text.find("while (1");
  REQUIRE(loop_start != std::string::npos);
  CHECK(text.find("break;") > loop_start);
  CHECK(text.find("(t1 * (2.0))") < loop_start);  // p0 * 2.0, computed once
  CHECK(text.find("double tv0_0 = (0.0);") < loop_start);
  CHECK(text.find("tv0_1 = t") > text.find("break;"));  // assigned after the condition is checked
  CHECK(text.find("return tv0_0;") > text.find("tv0_1 = t"));
}

}  // namespace sejits::specializers
