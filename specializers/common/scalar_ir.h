// The scalar expression IR shared by the element-wise and stencil
// specializers: an immutable DAG of typed nodes. Every operand already has
// the type its operation computes in (the front end inserts the casts), so
// lowering prints each node without deciding anything.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "specializers/common/dtype.h"

namespace sejits::specializers {

enum class ScalarOp {
  kParam,     // a kernel parameter's element (param_index), at `offsets` from the current point (stencils)
  kConstant,  // value
  kCast,      // operand converted to `type`
  kNeg, kNot, kAbs,
  kAdd, kSub, kMul, kTrueDiv, kFloorDiv, kMod, kPow,
  kEq, kNe, kLt, kLe, kGt, kGe,
  kLogicalAnd, kLogicalOr,  // on bool operands
  kTruth,                   // x != 0, as bool
  kSelect,                  // operands: condition (bool), if_true, if_false
  kMaximum, kMinimum,
  kMath,                    // math_fn over operands
  // Integer (and bool: and/or/xor) bitwise operations. Shifts follow NumPy:
  // a count outside [0, bits) gives 0, or -1 for a right shift of a negative.
  kBitAnd, kBitOr, kBitXor, kInvert, kLeftShift, kRightShift,
  // Loops. kLoop (loop_id) carries n values: operands are their n initial
  // values, the condition, then their n next values. The condition and the
  // next values are graphs over kLoopVariable leaves (loop_id, param_index:
  // which value) and run as `while (condition) values = next`. kLoopResult
  // (operand: the loop; param_index: which value) is a value after the loop.
  kLoop, kLoopVariable, kLoopResult,
};

enum class MathFn {
  kSin, kCos, kTan, kAsin, kAcos, kAtan, kAtan2, kSinh, kCosh, kTanh, kExp, kExpm1, kLog, kLog1p,
  kLog2, kLog10, kSqrt, kFabs, kFloor, kCeil, kTrunc, kHypot, kCopysign,
  kExp2, kCbrt, kRint, kFmod, kErf, kErfc, kGamma, kLgamma,
};

// Whether NumPy has the function as a ufunc (np.<math_fn_name>): erf, erfc,
// gamma and lgamma are the math module's only.
bool is_numpy_ufunc(MathFn fn);

using ConstantValue = std::variant<bool, int64_t, uint64_t, double>;

struct ScalarNode;
using NodeRef = std::shared_ptr<const ScalarNode>;

struct ScalarNode {
  ScalarOp op;
  ScalarType type;
  std::vector<NodeRef> operands;
  int param_index = -1;
  std::vector<int64_t> offsets;  // kParam of a stencil: relative index per axis; empty: the current point
  ConstantValue value = false;
  MathFn math_fn = MathFn::kSin;
  int line = 0;  // the user's source line, for messages
  int loop_id = 0;  // kLoop, kLoopVariable: which loop (ids grow with nesting: an inner loop's is larger)
};

NodeRef make_param(int index, ScalarType type, int line);
NodeRef make_relative_read(int index, ScalarType type, std::vector<int64_t> offsets, int line);
NodeRef make_constant(ConstantValue value, ScalarType type, int line);
NodeRef make_node(ScalarOp op, ScalarType type, std::vector<NodeRef> operands, int line);
NodeRef make_math(MathFn fn, ScalarType type, std::vector<NodeRef> operands, int line);
// A cast to `type`, or `node` itself when it already has that type.
NodeRef cast_to(const NodeRef &node, ScalarType type);
// Arithmetic between Python ints (weak int64: +, -, *, **, shifts), which
// the kernels compute exactly in 64 bits or flag, never wrap.
bool is_python_int_arithmetic(const ScalarNode &node);
// Whether `node` is a constant equal to `value` (x ** 2 and x ** 0.5 take NumPy's square and sqrt).
bool is_constant_equal(const NodeRef &node, double value);
// `node` with new operands; the same node when they did not change.
NodeRef with_operands(const NodeRef &node, std::vector<NodeRef> operands);
// `root` with each node for which `replacement` gives a node replaced by it,
// and every node above a replaced one rebuilt over its new operands. Nodes
// already in `rewritten` (if given) count as replaced by their entries; it
// keeps what this call rewrote, for the next root that shares nodes.
using NodeRewrites = std::unordered_map<const ScalarNode *, NodeRef>;
NodeRef substitute(const NodeRef &root, const std::function<NodeRef(const NodeRef &)> &replacement,
                   NodeRewrites *rewritten = nullptr);

// A fresh loop id, larger than every id handed out before.
int new_loop_id();
NodeRef make_loop_variable(int loop_id, int index, ScalarType type, int line);
NodeRef make_loop(int loop_id, std::vector<NodeRef> initial, NodeRef condition, std::vector<NodeRef> next, int line);
NodeRef make_loop_result(const NodeRef &loop, int index, int line);
// How many values a kLoop node carries.
inline size_t loop_value_count(const ScalarNode &loop) { return (loop.operands.size() - 1) / 2; }
inline const NodeRef &loop_condition(const ScalarNode &loop) { return loop.operands[loop_value_count(loop)]; }
// For each node of `order` (a topological order), the innermost loop whose
// body it belongs to: the largest id among the loops whose variables it
// reads (a loop's own node reads only the variables of loops around it);
// 0 outside every loop.
std::unordered_map<const ScalarNode *, int> innermost_loops(const std::vector<NodeRef> &order);

// Nodes reachable from `root`, each once, operands before users.
std::vector<NodeRef> topological_order(const NodeRef &root);
int64_t count_nodes(const NodeRef &root);
// A readable one-line rendering, for logs, explain and tests.
std::string to_string(const NodeRef &root);
std::string math_fn_name(MathFn fn);
bool is_comparison(ScalarOp op);

}  // namespace sejits::specializers
