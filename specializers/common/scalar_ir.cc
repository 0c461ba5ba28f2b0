#include "specializers/common/scalar_ir.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sejits::specializers {

NodeRef make_param(int index, ScalarType type, int line) { return make_relative_read(index, type, {}, line); }

NodeRef make_relative_read(int index, ScalarType type, std::vector<int64_t> offsets, int line) {
  auto node = std::make_shared<ScalarNode>();
  node->op = ScalarOp::kParam;
  node->type = type;
  node->param_index = index;
  node->offsets = std::move(offsets);
  node->line = line;
  return node;
}

NodeRef make_constant(ConstantValue value, ScalarType type, int line) {
  auto node = std::make_shared<ScalarNode>();
  node->op = ScalarOp::kConstant;
  node->type = type;
  node->value = value;
  node->line = line;
  return node;
}

NodeRef make_node(ScalarOp op, ScalarType type, std::vector<NodeRef> operands, int line) {
  auto node = std::make_shared<ScalarNode>();
  node->op = op;
  node->type = type;
  node->operands = std::move(operands);
  node->line = line;
  return node;
}

NodeRef make_math(MathFn fn, ScalarType type, std::vector<NodeRef> operands, int line) {
  auto node = std::make_shared<ScalarNode>();
  node->op = ScalarOp::kMath;
  node->type = type;
  node->math_fn = fn;
  node->operands = std::move(operands);
  node->line = line;
  return node;
}

bool is_python_int_arithmetic(const ScalarNode &node) {
  if (!node.type.weak || node.type.dtype != DType::kInt64) return false;
  switch (node.op) {
    case ScalarOp::kAdd: case ScalarOp::kSub: case ScalarOp::kMul: case ScalarOp::kPow:
    case ScalarOp::kLeftShift: case ScalarOp::kRightShift:
      return true;
    default:
      return false;
  }
}

NodeRef cast_to(const NodeRef &node, ScalarType type) {
  if (node->type == type) return node;
  // (Python int arithmetic keeps its own type, and its checks: n * n + int64 array is OverflowError in NumPy, not a wrap)
  if (node->type.dtype == type.dtype && !is_python_int_arithmetic(*node)) {
    // Only weakness differs: no conversion in C, keep one node.
    auto copy = std::make_shared<ScalarNode>(*node);
    copy->type = type;
    return copy;
  }
  return make_node(ScalarOp::kCast, type, {node}, node->line);
}

NodeRef with_operands(const NodeRef &node, std::vector<NodeRef> operands) {
  if (operands == node->operands) return node;
  auto copy = std::make_shared<ScalarNode>(*node);
  copy->operands = std::move(operands);
  return copy;
}

bool is_constant_equal(const NodeRef &node, double value) {
  if (node->op != ScalarOp::kConstant) return false;
  return std::visit([&](auto v) { return static_cast<double>(v) == value; }, node->value);
}

NodeRef substitute(const NodeRef &root, const std::function<NodeRef(const NodeRef &)> &replacement,
                   NodeRewrites *rewritten) {
  NodeRewrites local;
  NodeRewrites &done = rewritten != nullptr ? *rewritten : local;
  for (const NodeRef &node : topological_order(root)) {
    if (done.count(node.get())) continue;
    if (NodeRef replaced = replacement(node)) {
      done[node.get()] = std::move(replaced);
      continue;
    }
    std::vector<NodeRef> operands;
    for (const NodeRef &operand : node->operands) operands.push_back(done.at(operand.get()));
    done[node.get()] = with_operands(node, std::move(operands));
  }
  return done.at(root.get());
}

int new_loop_id() {
  static std::atomic<int> next_id{1};
  return next_id.fetch_add(1);
}

NodeRef make_loop_variable(int loop_id, int index, ScalarType type, int line) {
  auto node = std::make_shared<ScalarNode>();
  node->op = ScalarOp::kLoopVariable;
  node->type = type;
  node->loop_id = loop_id;
  node->param_index = index;
  node->line = line;
  return node;
}

NodeRef make_loop(int loop_id, std::vector<NodeRef> initial, NodeRef condition, std::vector<NodeRef> next, int line) {
  std::vector<NodeRef> operands = std::move(initial);
  operands.push_back(std::move(condition));
  operands.insert(operands.end(), next.begin(), next.end());
  NodeRef loop = make_node(ScalarOp::kLoop, ScalarType{DType::kBool, false}, std::move(operands), line);
  std::const_pointer_cast<ScalarNode>(loop)->loop_id = loop_id;
  return loop;
}

NodeRef make_loop_result(const NodeRef &loop, int index, int line) {
  NodeRef result = make_node(ScalarOp::kLoopResult, loop->operands[index]->type, {loop}, line);
  std::const_pointer_cast<ScalarNode>(result)->param_index = index;
  return result;
}

std::unordered_map<const ScalarNode *, int> innermost_loops(const std::vector<NodeRef> &order) {
  // The loops each node reads variables of, as a sorted list (nesting is shallow).
  std::unordered_map<const ScalarNode *, std::vector<int>> open;
  std::unordered_map<const ScalarNode *, int> innermost;
  for (const NodeRef &node : order) {
    std::vector<int> loops;
    if (node->op == ScalarOp::kLoopVariable) loops.push_back(node->loop_id);
    for (const NodeRef &operand : node->operands) {
      const std::vector<int> &inner = open.at(operand.get());
      std::vector<int> merged;
      std::set_union(loops.begin(), loops.end(), inner.begin(), inner.end(), std::back_inserter(merged));
      loops = std::move(merged);
    }
    if (node->op == ScalarOp::kLoop) std::erase(loops, node->loop_id);
    innermost[node.get()] = loops.empty() ? 0 : loops.back();
    open[node.get()] = std::move(loops);
  }
  return innermost;
}

std::vector<NodeRef> topological_order(const NodeRef &root) {
  std::vector<NodeRef> order;
  std::unordered_set<const ScalarNode *> seen;
  // Iterative post-order: deep expressions must not overflow the stack.
  std::vector<std::pair<NodeRef, size_t>> stack = {{root, 0}};
  seen.insert(root.get());
  while (!stack.empty()) {
    auto &[node, next] = stack.back();
    if (next < node->operands.size()) {
      NodeRef child = node->operands[next++];
      if (seen.insert(child.get()).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

int64_t count_nodes(const NodeRef &root) { return static_cast<int64_t>(topological_order(root).size()); }

bool is_comparison(ScalarOp op) {
  return op == ScalarOp::kEq || op == ScalarOp::kNe || op == ScalarOp::kLt || op == ScalarOp::kLe ||
         op == ScalarOp::kGt || op == ScalarOp::kGe;
}

std::string math_fn_name(MathFn fn) {
  switch (fn) {
    case MathFn::kSin: return "sin";
    case MathFn::kCos: return "cos";
    case MathFn::kTan: return "tan";
    case MathFn::kAsin: return "arcsin";
    case MathFn::kAcos: return "arccos";
    case MathFn::kAtan: return "arctan";
    case MathFn::kAtan2: return "arctan2";
    case MathFn::kSinh: return "sinh";
    case MathFn::kCosh: return "cosh";
    case MathFn::kTanh: return "tanh";
    case MathFn::kExp: return "exp";
    case MathFn::kExpm1: return "expm1";
    case MathFn::kLog: return "log";
    case MathFn::kLog1p: return "log1p";
    case MathFn::kLog2: return "log2";
    case MathFn::kLog10: return "log10";
    case MathFn::kSqrt: return "sqrt";
    case MathFn::kFabs: return "fabs";
    case MathFn::kFloor: return "floor";
    case MathFn::kCeil: return "ceil";
    case MathFn::kTrunc: return "trunc";
    case MathFn::kHypot: return "hypot";
    case MathFn::kCopysign: return "copysign";
    case MathFn::kExp2: return "exp2";
    case MathFn::kCbrt: return "cbrt";
    case MathFn::kRint: return "rint";
    case MathFn::kFmod: return "fmod";
    case MathFn::kErf: return "erf";
    case MathFn::kErfc: return "erfc";
    case MathFn::kGamma: return "gamma";
    case MathFn::kLgamma: return "lgamma";
  }
  return "?";
}

bool is_numpy_ufunc(MathFn fn) {
  return fn != MathFn::kErf && fn != MathFn::kErfc && fn != MathFn::kGamma && fn != MathFn::kLgamma;
}

namespace {
std::string op_name(ScalarOp op) {
  switch (op) {
    case ScalarOp::kParam: return "param";
    case ScalarOp::kConstant: return "const";
    case ScalarOp::kCast: return "cast";
    case ScalarOp::kNeg: return "neg";
    case ScalarOp::kNot: return "not";
    case ScalarOp::kAbs: return "abs";
    case ScalarOp::kAdd: return "add";
    case ScalarOp::kSub: return "sub";
    case ScalarOp::kMul: return "mul";
    case ScalarOp::kTrueDiv: return "truediv";
    case ScalarOp::kFloorDiv: return "floordiv";
    case ScalarOp::kMod: return "mod";
    case ScalarOp::kPow: return "pow";
    case ScalarOp::kEq: return "eq";
    case ScalarOp::kNe: return "ne";
    case ScalarOp::kLt: return "lt";
    case ScalarOp::kLe: return "le";
    case ScalarOp::kGt: return "gt";
    case ScalarOp::kGe: return "ge";
    case ScalarOp::kLogicalAnd: return "and";
    case ScalarOp::kLogicalOr: return "or";
    case ScalarOp::kTruth: return "truth";
    case ScalarOp::kSelect: return "select";
    case ScalarOp::kMaximum: return "maximum";
    case ScalarOp::kMinimum: return "minimum";
    case ScalarOp::kMath: return "math";
    case ScalarOp::kBitAnd: return "bitwise_and";
    case ScalarOp::kBitOr: return "bitwise_or";
    case ScalarOp::kBitXor: return "bitwise_xor";
    case ScalarOp::kInvert: return "invert";
    case ScalarOp::kLeftShift: return "left_shift";
    case ScalarOp::kRightShift: return "right_shift";
    case ScalarOp::kLoop: return "loop";
    case ScalarOp::kLoopVariable: return "loop_variable";
    case ScalarOp::kLoopResult: return "loop_result";
  }
  return "?";
}

std::string value_text(const ConstantValue &value) {
  return std::visit([](auto v) { return absl::StrCat(v); }, value);
}
}  // namespace

// Each node once, in dependence order: "%3 = add(%1, %2):float64". Bounded
// in length, since a kernel's DAG can be large.
std::string to_string(const NodeRef &root) {
  constexpr size_t kMaxChars = 4000;
  std::unordered_map<const ScalarNode *, size_t> ids;
  std::unordered_map<int, size_t> loop_numbers;  // loop ids renumbered from 0: the text does not depend on other requests
  auto loop_number = [&](int loop_id) { return loop_numbers.emplace(loop_id, loop_numbers.size()).first->second; };
  std::vector<std::string> lines;
  size_t chars = 0;
  for (const NodeRef &node : topological_order(root)) {
    std::string text;
    switch (node->op) {
      case ScalarOp::kParam:
        text = absl::StrCat("p", node->param_index);
        if (!node->offsets.empty()) text += absl::StrCat("[", absl::StrJoin(node->offsets, ","), "]");
        break;
      case ScalarOp::kConstant: text = value_text(node->value); break;
      case ScalarOp::kLoopVariable: text = absl::StrCat("L", loop_number(node->loop_id), ".v", node->param_index); break;
      default: {
        std::vector<std::string> parts;
        for (const auto &operand : node->operands) parts.push_back(absl::StrCat("%", ids.at(operand.get())));
        std::string name = node->op == ScalarOp::kMath ? math_fn_name(node->math_fn) : op_name(node->op);
        if (node->op == ScalarOp::kLoop) name = absl::StrCat("loop L", loop_number(node->loop_id));
        if (node->op == ScalarOp::kLoopResult) parts.push_back(absl::StrCat("v", node->param_index));
        text = absl::StrCat(name, "(", absl::StrJoin(parts, ", "), ")");
      }
    }
    ids[node.get()] = ids.size();
    std::string line = absl::StrCat("%", ids[node.get()], " = ", text, ":", type_name(node->type));
    chars += line.size() + 2;
    if (chars > kMaxChars) {
      lines.push_back("...");
      break;
    }
    lines.push_back(std::move(line));
  }
  return absl::StrJoin(lines, "; ");
}

}  // namespace sejits::specializers
