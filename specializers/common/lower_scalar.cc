#include "specializers/common/lower_scalar.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"

namespace sejits::specializers {
namespace cg = codegen;

cg::CType ctype_of(DType dtype) {
  switch (dtype) {
    case DType::kBool: return cg::CType::kBool;
    case DType::kInt8: return cg::CType::kInt8;
    case DType::kInt16: return cg::CType::kInt16;
    case DType::kInt32: return cg::CType::kInt32;
    case DType::kInt64: return cg::CType::kInt64;
    case DType::kUInt8: return cg::CType::kUInt8;
    case DType::kUInt16: return cg::CType::kUInt16;
    case DType::kUInt32: return cg::CType::kUInt32;
    case DType::kUInt64: return cg::CType::kUInt64;
    case DType::kFloat32: return cg::CType::kFloat32;
    default: return cg::CType::kFloat64;
  }
}

namespace {

cg::ExprPtr constant_literal(const ScalarNode &node) {
  cg::CType type = ctype_of(node.type.dtype);
  const auto &value = node.value;
  switch (node.type.dtype) {
    case DType::kBool: return cg::literal(type, std::visit([](auto v) { return v != 0; }, value));
    case DType::kFloat32:
    case DType::kFloat64: return cg::literal(type, std::visit([](auto v) { return static_cast<double>(v); }, value));
    case DType::kUInt64: return cg::literal(type, std::visit([](auto v) { return static_cast<uint64_t>(v); }, value));
    default:
      return cg::cast(cg::scalar_type(type), cg::literal(cg::CType::kInt64, std::visit([](auto v) { return static_cast<int64_t>(v); }, value)));
  }
}

cg::Callee math_callee(MathFn fn) {
  switch (fn) {
    case MathFn::kSin: return cg::Callee::kSin;
    case MathFn::kCos: return cg::Callee::kCos;
    case MathFn::kTan: return cg::Callee::kTan;
    case MathFn::kAsin: return cg::Callee::kAsin;
    case MathFn::kAcos: return cg::Callee::kAcos;
    case MathFn::kAtan: return cg::Callee::kAtan;
    case MathFn::kAtan2: return cg::Callee::kAtan2;
    case MathFn::kSinh: return cg::Callee::kSinh;
    case MathFn::kCosh: return cg::Callee::kCosh;
    case MathFn::kTanh: return cg::Callee::kTanh;
    case MathFn::kExp: return cg::Callee::kExp;
    case MathFn::kExpm1: return cg::Callee::kExpm1;
    case MathFn::kLog: return cg::Callee::kLog;
    case MathFn::kLog1p: return cg::Callee::kLog1p;
    case MathFn::kLog2: return cg::Callee::kLog2;
    case MathFn::kLog10: return cg::Callee::kLog10;
    case MathFn::kSqrt: return cg::Callee::kSqrt;
    case MathFn::kFabs: return cg::Callee::kFabs;
    case MathFn::kFloor: return cg::Callee::kFloor;
    case MathFn::kCeil: return cg::Callee::kCeil;
    case MathFn::kTrunc: return cg::Callee::kTrunc;
    case MathFn::kHypot: return cg::Callee::kHypot;
    case MathFn::kCopysign: return cg::Callee::kCopysign;
    case MathFn::kExp2: return cg::Callee::kExp2;
    case MathFn::kCbrt: return cg::Callee::kCbrt;
    case MathFn::kRint: return cg::Callee::kRint;
    case MathFn::kFmod: return cg::Callee::kFmod;
    case MathFn::kErf: return cg::Callee::kErf;
    case MathFn::kErfc: return cg::Callee::kErfc;
    case MathFn::kGamma: return cg::Callee::kTgamma;
    case MathFn::kLgamma: return cg::Callee::kLgamma;
  }
  return cg::Callee::kSin;
}

class ScalarLowering {
 public:
  explicit ScalarLowering(const ScalarLoweringContext &context) : context_(context) {}

  LoweredScalar run(const NodeRef &root) {
    LoweredScalars lowered = run_all({root});
    return {std::move(lowered.statements), lowered.values.front()};
  }

  LoweredScalars run_all(const std::vector<NodeRef> &roots) {
    std::vector<NodeRef> order;
    std::unordered_set<const ScalarNode *> listed;
    for (const NodeRef &root : roots) {  // each root's order lists operands first: so does their union
      for (const NodeRef &node : topological_order(root)) {
        if (listed.insert(node.get()).second) order.push_back(node);
      }
    }
    // A root is a use: one that is also another root, or another's operand, is computed once.
    if (roots.size() > 1) {
      for (const NodeRef &root : roots) ++uses_[root.get()];
    }
    scopes_ = innermost_loops(order);
    for (const auto &node : order) {
      const int scope = scopes_.at(node.get());
      for (size_t k = 0; k < node->operands.size(); ++k) {
        const ScalarNode *operand = node->operands[k].get();
        ++uses_[operand];
        // A loop's condition and next values run in its body.
        const int used_in = node->op == ScalarOp::kLoop && k >= loop_value_count(*node) ? node->loop_id : scope;
        if (used_in != scopes_.at(operand)) used_in_loop_.insert(operand);
      }
      members_[scope].push_back(node);
      if (node->op == ScalarOp::kLoop) loop_nodes_[node->loop_id] = node.get();
    }
    LoweredScalars lowered;
    emit_nodes(members_[0], lowered.statements);
    for (const NodeRef &root : roots) lowered.values.push_back(lowered_.at(root.get()));
    return lowered;
  }

 private:
  // Nodes of one scope, in dependence order, each as an inline expression or
  // a temporary declared in `statements`.
  void emit_nodes(const std::vector<NodeRef> &nodes, std::vector<cg::StmtPtr> &statements) {
    for (const auto &node : nodes) {
      if (node->op == ScalarOp::kLoop) {
        emit_loop(*node, statements);
        depth_[node.get()] = 0;
        continue;
      }
      bool leaf = node->op == ScalarOp::kConstant || node->op == ScalarOp::kLoopVariable || node->op == ScalarOp::kLoopResult;
      int depth = 1;
      for (const auto &operand : node->operands) depth = std::max(depth, depth_.at(operand.get()) + 1);
      // Shared values and deep chains become temporaries: the printed
      // expressions stay shallow whatever the kernel's length. A value a loop
      // body reads but does not change is computed once, before the loop.
      bool shared = uses_[node.get()] > 1 || node->op == ScalarOp::kParam || depth > kMaxInlineDepth ||
                    used_in_loop_.count(node.get());
      cg::ExprPtr expr = emit(*node);
      depth_[node.get()] = shared && !leaf ? 0 : depth;
      if (shared && !leaf) {
        std::string name = absl::StrCat(context_.temporary_prefix, temporaries_++);
        statements.push_back(cg::decl(cg::scalar_type(ctype_of(node->type.dtype), true), name, expr));
        expr = cg::var(name);
      }
      lowered_[node.get()] = expr;
    }
  }

  // `T v = initial; ... while (1) { <condition's nodes> if (!condition) break;
  // <next values' nodes> v = next; ... }`. Next values are all computed
  // before any variable is assigned (they read each other's old values).
  void emit_loop(const ScalarNode &loop, std::vector<cg::StmtPtr> &statements) {
    const size_t count = loop_value_count(loop);
    std::vector<std::string> &names = loop_variables_[loop.loop_id];
    const int number = loops_++;
    for (size_t k = 0; k < count; ++k) {
      names.push_back(absl::StrCat(context_.temporary_prefix, "v", number, "_", k));
      statements.push_back(cg::decl(cg::scalar_type(ctype_of(loop.operands[k]->type.dtype)), names.back(), operand(loop, k)));
    }
    // The body's nodes the condition needs come first.
    std::unordered_set<const ScalarNode *> for_condition;
    std::vector<const ScalarNode *> pending = {loop_condition(loop).get()};
    while (!pending.empty()) {
      const ScalarNode *node = pending.back();
      pending.pop_back();
      if (!inside(scopes_.at(node), loop.loop_id) || !for_condition.insert(node).second) continue;
      for (const auto &operand : node->operands) pending.push_back(operand.get());
    }
    std::vector<NodeRef> first, rest;
    for (const auto &node : members_[loop.loop_id]) (for_condition.count(node.get()) ? first : rest).push_back(node);
    std::vector<cg::StmtPtr> body;
    emit_nodes(first, body);
    body.push_back(cg::if_stmt(cg::unary(cg::UnaryOp::kNot, operand(loop, count)), {cg::break_stmt()}));
    emit_nodes(rest, body);
    std::vector<cg::StmtPtr> assignments;
    for (size_t k = 0; k < count; ++k) {
      const ScalarNode &next = *loop.operands[count + 1 + k];
      if (next.op == ScalarOp::kLoopVariable && next.loop_id == loop.loop_id && next.param_index == static_cast<int>(k)) continue;
      cg::ExprPtr value = operand(loop, count + 1 + k);
      if (!std::holds_alternative<cg::Variable>(value->node) || next.op == ScalarOp::kLoopVariable) {
        std::string name = absl::StrCat(context_.temporary_prefix, temporaries_++);
        body.push_back(cg::decl(cg::scalar_type(ctype_of(next.type.dtype), true), name, value));
        value = cg::var(name);
      }
      assignments.push_back(cg::assign(cg::var(names[k]), value));
    }
    body.insert(body.end(), assignments.begin(), assignments.end());
    statements.push_back(cg::while_loop(cg::int_literal(1), std::move(body)));
  }

  // Whether scope `scope` is loop `loop_id`'s body or nested in it.
  bool inside(int scope, int loop_id) const {
    while (scope > loop_id) scope = parent_loop(scope);
    return scope == loop_id;
  }
  int parent_loop(int loop_id) const { return scopes_.at(loop_nodes_.at(loop_id)); }

 private:
  cg::ExprPtr operand(const ScalarNode &node, size_t k) { return lowered_.at(node.operands[k].get()); }

  cg::ExprPtr python_int_call(cg::Callee callee, const ScalarNode &node) {
    return cg::call(callee, {operand(node, 0), operand(node, 1), cg::unary(cg::UnaryOp::kAddressOf, cg::var(context_.error_flag))});
  }

  cg::ExprPtr typed(const ScalarNode &node, cg::ExprPtr expr) {
    return cg::cast(cg::scalar_type(ctype_of(node.type.dtype)), std::move(expr));
  }

  cg::ExprPtr emit(const ScalarNode &node) {
    const cg::Type type = cg::scalar_type(ctype_of(node.type.dtype));
    const DType operand_dtype = node.operands.empty() ? node.type.dtype : node.operands[0]->type.dtype;
    const bool float_operands = is_float(operand_dtype);
    auto bin = [&](cg::BinaryOp op) { return cg::binary(op, operand(node, 0), operand(node, 1)); };
    switch (node.op) {
      case ScalarOp::kParam: return context_.param(node.param_index, node.offsets);
      case ScalarOp::kLoopVariable: return cg::var(loop_variables_.at(node.loop_id).at(node.param_index));
      case ScalarOp::kLoopResult: return cg::var(loop_variables_.at(node.operands[0]->loop_id).at(node.param_index));
      case ScalarOp::kLoop: break;  // emit_loop
      case ScalarOp::kConstant: return constant_literal(node);
      case ScalarOp::kCast:
        if (float_operands && is_integer(node.type.dtype)) {  // NumPy's values where C's conversion is undefined
          return cg::call_templated(operand_dtype == DType::kFloat32 ? cg::Callee::kFloatToInt : cg::Callee::kDoubleToInt, type,
                                    {operand(node, 0)});
        }
        return cg::cast(type, operand(node, 0));
      case ScalarOp::kNeg: return typed(node, cg::unary(cg::UnaryOp::kNeg, operand(node, 0)));
      case ScalarOp::kNot: return cg::unary(cg::UnaryOp::kNot, operand(node, 0));
      case ScalarOp::kTruth: return cg::binary(cg::BinaryOp::kNe, operand(node, 0), cg::literal(cg::CType::kInt64, int64_t{0}));
      case ScalarOp::kAbs: return cg::call(cg::Callee::kAbs, {operand(node, 0)});
      case ScalarOp::kAdd:
        if (is_python_int_arithmetic(node)) return python_int_call(cg::Callee::kPythonAdd, node);
        return typed(node, bin(cg::BinaryOp::kAdd));
      case ScalarOp::kSub:
        if (is_python_int_arithmetic(node)) return python_int_call(cg::Callee::kPythonSub, node);
        return typed(node, bin(cg::BinaryOp::kSub));
      case ScalarOp::kMul:
        if (is_python_int_arithmetic(node)) return python_int_call(cg::Callee::kPythonMul, node);
        return typed(node, bin(cg::BinaryOp::kMul));
      case ScalarOp::kTrueDiv: return typed(node, bin(cg::BinaryOp::kDiv));
      case ScalarOp::kFloorDiv:
        return cg::call_templated(float_operands ? cg::Callee::kFloorDivFloat : cg::Callee::kFloorDivInt, type,
                                  {operand(node, 0), operand(node, 1)});
      case ScalarOp::kMod:
        return cg::call_templated(float_operands ? cg::Callee::kModFloat : cg::Callee::kModInt, type,
                                  {operand(node, 0), operand(node, 1)});
      case ScalarOp::kPow:
        if (is_constant_equal(node.operands[1], 2.0)) {  // NumPy's own fast path for x**2
          return typed(node, cg::binary(cg::BinaryOp::kMul, operand(node, 0), operand(node, 0)));
        }
        if (is_python_int_arithmetic(node)) return python_int_call(cg::Callee::kPythonPow, node);
        if (float_operands && is_constant_equal(node.operands[1], 0.5)) {  // and for x**0.5
          return typed(node, cg::call(cg::Callee::kSqrt, {operand(node, 0)}));
        }
        if (float_operands) return typed(node, cg::call(cg::Callee::kPow, {operand(node, 0), operand(node, 1)}));
        return cg::call_templated(cg::Callee::kPowInt, type,
                                  {operand(node, 0), operand(node, 1),
                                   cg::unary(cg::UnaryOp::kAddressOf, cg::var(context_.error_flag))});
      case ScalarOp::kEq: return bin(cg::BinaryOp::kEq);
      case ScalarOp::kNe: return bin(cg::BinaryOp::kNe);
      case ScalarOp::kLt: return bin(cg::BinaryOp::kLt);
      case ScalarOp::kLe: return bin(cg::BinaryOp::kLe);
      case ScalarOp::kGt: return bin(cg::BinaryOp::kGt);
      case ScalarOp::kGe: return bin(cg::BinaryOp::kGe);
      case ScalarOp::kLogicalAnd: return bin(cg::BinaryOp::kLogicalAnd);
      case ScalarOp::kLogicalOr: return bin(cg::BinaryOp::kLogicalOr);
      case ScalarOp::kSelect: return cg::ternary(operand(node, 0), operand(node, 1), operand(node, 2));
      case ScalarOp::kMaximum: return cg::call_templated(cg::Callee::kMaximum, type, {operand(node, 0), operand(node, 1)});
      case ScalarOp::kMinimum: return cg::call_templated(cg::Callee::kMinimum, type, {operand(node, 0), operand(node, 1)});
      case ScalarOp::kBitAnd: return typed(node, bin(cg::BinaryOp::kBitAnd));
      case ScalarOp::kBitOr: return typed(node, bin(cg::BinaryOp::kBitOr));
      case ScalarOp::kBitXor: return typed(node, bin(cg::BinaryOp::kBitXor));
      case ScalarOp::kInvert: return typed(node, cg::unary(cg::UnaryOp::kBitNot, operand(node, 0)));
      case ScalarOp::kLeftShift:
        if (is_python_int_arithmetic(node)) return python_int_call(cg::Callee::kPythonLeftShift, node);
        return cg::call_templated(cg::Callee::kLeftShift, type, {operand(node, 0), operand(node, 1)});
      case ScalarOp::kRightShift:
        if (is_python_int_arithmetic(node)) return python_int_call(cg::Callee::kPythonRightShift, node);
        return cg::call_templated(cg::Callee::kRightShift, type, {operand(node, 0), operand(node, 1)});
      case ScalarOp::kMath: {
        bool rounding = node.math_fn == MathFn::kFloor || node.math_fn == MathFn::kCeil || node.math_fn == MathFn::kTrunc ||
                        node.math_fn == MathFn::kRint;
        if (rounding && !float_operands) return operand(node, 0);  // integers are already whole
        std::vector<cg::ExprPtr> args;
        for (size_t k = 0; k < node.operands.size(); ++k) args.push_back(operand(node, k));
        return typed(node, cg::call(math_callee(node.math_fn), std::move(args)));
      }
    }
    return cg::literal(cg::CType::kInt64, int64_t{0});
  }

  static constexpr int kMaxInlineDepth = 24;
  const ScalarLoweringContext &context_;
  std::unordered_map<const ScalarNode *, int> scopes_;            // innermost loop id, 0: none
  std::unordered_map<int, std::vector<NodeRef>> members_;         // loop id -> its body's nodes, in order
  std::unordered_map<int, const ScalarNode *> loop_nodes_;        // loop id -> its kLoop node
  std::unordered_map<int, std::vector<std::string>> loop_variables_;  // loop id -> its variables' names
  std::unordered_set<const ScalarNode *> used_in_loop_;           // read in a loop body that does not change it
  int loops_ = 0;
  std::unordered_map<const ScalarNode *, int> uses_;
  std::unordered_map<const ScalarNode *, int> depth_;
  std::unordered_map<const ScalarNode *, cg::ExprPtr> lowered_;
  int temporaries_ = 0;
};

}  // namespace

LoweredScalar lower_scalar(const NodeRef &root, const ScalarLoweringContext &context) {
  return ScalarLowering(context).run(root);
}

LoweredScalars lower_scalars(const std::vector<NodeRef> &roots, const ScalarLoweringContext &context) {
  return ScalarLowering(context).run_all(roots);
}

bool may_set_error_flag(const NodeRef &root) {
  for (const auto &node : topological_order(root)) {
    if (is_python_int_arithmetic(*node)) return true;
    if (node->op == ScalarOp::kPow && !is_float(node->operands[0]->type.dtype) &&
        !is_constant_equal(node->operands[1], 2.0)) {
      return true;
    }
  }
  return false;
}

std::vector<NarrowedPythonInt> python_int_params_narrowed(const NodeRef &root) {
  std::vector<NarrowedPythonInt> narrowed;
  for (const auto &node : topological_order(root)) {
    if (node->op != ScalarOp::kCast || !is_integer(node->type.dtype)) continue;
    const NodeRef &source = node->operands[0];
    const DType from = source->type.dtype;
    bool python_int = source->type.weak && (from == DType::kInt64 || from == DType::kUInt64);
    if (source->op == ScalarOp::kParam && python_int && node->type.dtype != from) {
      narrowed.push_back({source->param_index, from, node->type});
    }
  }
  return narrowed;
}

}  // namespace sejits::specializers
