#include "specializers/common/numpy_lowering.h"

#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sejits::specializers {
namespace {

// How a node's value exists at run time.
enum class Rep {
  kPython,       // a Python bool/int/float: a weak value computed with Python's (or NumPy's scalar) arithmetic
  kNumpyScalar,  // a NumPy scalar of the node's dtype
  kArray,        // depends on array reads: an ndarray (a NumPy scalar when every read is 0-d)
};

std::string no_vectorized_form(const std::string &what, int line) {
  return absl::StrCat("no vectorized NumPy form: ", what, line > 0 ? absl::StrCat(" (line ", line, ")") : "");
}

bool is_non_negative_constant(const NodeRef &node) {
  if (node->op != ScalarOp::kConstant) return false;
  return std::visit([](auto v) { return static_cast<double>(v) >= 0; }, node->value);
}

// The integer a constant of this dtype holds, as C's cast to the dtype gives it.
std::string integer_literal(const ConstantValue &value, DType dtype) {
  if (dtype == DType::kUInt64) return absl::StrCat(std::visit([](auto v) { return static_cast<uint64_t>(v); }, value));
  const int64_t raw = std::visit([](auto v) { return static_cast<int64_t>(v); }, value);
  switch (dtype) {
    case DType::kInt8: return absl::StrCat(static_cast<int>(static_cast<int8_t>(raw)));
    case DType::kInt16: return absl::StrCat(static_cast<int16_t>(raw));
    case DType::kInt32: return absl::StrCat(static_cast<int32_t>(raw));
    case DType::kUInt8: return absl::StrCat(static_cast<unsigned>(static_cast<uint8_t>(raw)));
    case DType::kUInt16: return absl::StrCat(static_cast<uint16_t>(raw));
    case DType::kUInt32: return absl::StrCat(static_cast<uint32_t>(raw));
    default: return absl::StrCat(raw);
  }
}

// A Python literal of the constant's kind: what a Python scalar of this type holds.
std::string python_literal(const ScalarNode &node) {
  switch (kind_of(node.type.dtype)) {
    case Kind::kBool: return std::visit([](auto v) { return v != 0; }, node.value) ? "True" : "False";
    case Kind::kFloat: return python_float_literal(std::visit([](auto v) { return static_cast<double>(v); }, node.value));
    default: return integer_literal(node.value, node.type.dtype);
  }
}

// The ufunc computing an operation whose operands already have its dtype.
std::string ufunc_name(const ScalarNode &node) {
  switch (node.op) {
    case ScalarOp::kNeg: return "np.negative";
    case ScalarOp::kNot: return "np.logical_not";
    case ScalarOp::kAbs: return "np.absolute";
    case ScalarOp::kAdd: return "np.add";
    case ScalarOp::kSub: return "np.subtract";
    case ScalarOp::kMul: return "np.multiply";
    case ScalarOp::kTrueDiv: return "np.true_divide";
    case ScalarOp::kFloorDiv: return "np.floor_divide";
    case ScalarOp::kMod: return "np.remainder";
    case ScalarOp::kPow: return "np.power";
    case ScalarOp::kEq: return "np.equal";
    case ScalarOp::kNe: return "np.not_equal";
    case ScalarOp::kLt: return "np.less";
    case ScalarOp::kLe: return "np.less_equal";
    case ScalarOp::kGt: return "np.greater";
    case ScalarOp::kGe: return "np.greater_equal";
    case ScalarOp::kLogicalAnd: return "np.logical_and";
    case ScalarOp::kLogicalOr: return "np.logical_or";
    case ScalarOp::kTruth: return "np.not_equal";
    case ScalarOp::kMaximum: return "np.maximum";
    case ScalarOp::kMinimum: return "np.minimum";
    case ScalarOp::kMath: return absl::StrCat("np.", math_fn_name(node.math_fn));
    case ScalarOp::kBitAnd: return "np.bitwise_and";
    case ScalarOp::kBitOr: return "np.bitwise_or";
    case ScalarOp::kBitXor: return "np.bitwise_xor";
    case ScalarOp::kInvert: return "np.invert";
    case ScalarOp::kLeftShift: return "np.left_shift";
    case ScalarOp::kRightShift: return "np.right_shift";
    default: return "";
  }
}

bool is_rounding(const ScalarNode &node) {
  return node.op == ScalarOp::kMath && (node.math_fn == MathFn::kFloor || node.math_fn == MathFn::kCeil ||
                                        node.math_fn == MathFn::kTrunc || node.math_fn == MathFn::kRint);
}

// Operations that give their operand back unchanged: the truth of a bool,
// rounding an integer (C's lowering skips them too).
bool is_identity(const ScalarNode &node) {
  if (node.op == ScalarOp::kTruth) return node.operands[0]->type.dtype == DType::kBool;
  if (node.op == ScalarOp::kCast) return node.operands[0]->type.dtype == node.type.dtype;
  return is_rounding(node) && !is_float(node.operands[0]->type.dtype);
}

// Python int arithmetic on a Python int may leave 64 bits; the native kernel
// then asks for the Python code. A negative exponent gives a float in Python.
constexpr char kPythonIntPowHelper[] =
    "try:\n"
    "    from sejits._native import FallbackRequested\n"
    "except ImportError:  # the module outside the sejits client\n"
    "    class FallbackRequested(Exception):\n"
    "        pass\n"
    "\n"
    "\n"
    "def python_int_pow(base, exponent):\n"
    "    if exponent < 0:\n"
    "        raise FallbackRequested(\"Python int power with a negative exponent\")\n"
    "    return base ** exponent";

class NumpyPrinter {
 public:
  NumpyPrinter(const NumpyOperands &operands, const std::string &destination, int indent,
               PythonModule &module)
      : operands_(operands), destination_(destination), indent_(indent), module_(module) {}

  absl::Status run(const NodeRef &root) {
    order_ = topological_order(root);
    for (const NodeRef &node : order_) {
      for (const NodeRef &operand : node->operands) ++uses_[operand.get()];
    }
    if (absl::Status refused = refuse_conditional_integer_powers(root); !refused.ok()) return refused;
    for (const NodeRef &node : order_) {
      if (node->op == ScalarOp::kLoop) {  // each element may iterate a different number of times
        return absl::FailedPreconditionError(no_vectorized_form("a loop with a per-element trip count", node->line));
      }
    }
    for (const NodeRef &node : order_) {
      if (node->op == ScalarOp::kMath && !is_numpy_ufunc(node->math_fn)) {
        return absl::FailedPreconditionError(
            no_vectorized_form(absl::StrCat("math.", math_fn_name(node->math_fn), " (NumPy has no ", math_fn_name(node->math_fn),
                                            " ufunc; scipy.special has one)"), node->line));
      }
    }
    for (const NodeRef &node : order_) plan(*node);
    plan_destination(*root);
    for (const NodeRef &node : order_) emit(*node, node == root);
    if (!root_written_) {  // a parameter, a constant, a scalar or an unchanged value: copied in
      statement(absl::StrCat("np.copyto(", destination_, ", ", text(root), ", casting=\"unsafe\")"));
    }
    return absl::OkStatus();
  }

 private:
  struct Plan {
    Rep rep = Rep::kPython;
    std::set<int> classes;             // shape classes of the array reads below
    const ScalarNode *reuses = nullptr;  // the operand whose buffer this node overwrites
    bool in_destination = false;       // computed straight into the destination
    bool owned = false;                // a buffer of this function's, free to overwrite
    std::string text;                  // the Python name or literal of the value
  };

  // NumPy raises for a negative integer exponent anywhere in the array, even
  // where a conditional would not have evaluated the power.
  absl::Status refuse_conditional_integer_powers(const NodeRef &root) {
    std::unordered_set<const ScalarNode *> unconditional = {root.get()};
    std::vector<const ScalarNode *> pending = {root.get()};
    while (!pending.empty()) {
      const ScalarNode *node = pending.back();
      pending.pop_back();
      const size_t reached = node->op == ScalarOp::kSelect ? 1 : node->operands.size();
      for (size_t k = 0; k < reached; ++k) {
        if (unconditional.insert(node->operands[k].get()).second) pending.push_back(node->operands[k].get());
      }
    }
    for (const NodeRef &node : order_) {
      if (node->op != ScalarOp::kPow || unconditional.count(node.get())) continue;
      const DType dtype = node->operands[0]->type.dtype;
      if (is_signed_integer(dtype) && !node->type.weak && !is_non_negative_constant(node->operands[1])) {
        return absl::FailedPreconditionError(
            no_vectorized_form("a signed integer power inside a conditional (NumPy raises for a negative exponent "
                               "even where the condition would not have computed it)",
                               node->line));
      }
    }
    return absl::OkStatus();
  }

  void plan(const ScalarNode &node) {
    Plan &plan = plans_[&node];
    if (node.op == ScalarOp::kParam && operands_.is_array(node.param_index)) {
      plan.rep = Rep::kArray;
      plan.classes = {operands_.shape_class(node.param_index)};
      return;
    }
    bool all_python = true;
    for (size_t k = 0; k < node.operands.size(); ++k) {
      const Plan &operand = plans_.at(node.operands[k].get());
      plan.classes.insert(operand.classes.begin(), operand.classes.end());
      const bool condition = node.op == ScalarOp::kSelect && k == 0;
      if (operand.rep != Rep::kPython && !condition) all_python = false;
    }
    if (!plan.classes.empty()) {
      plan.rep = Rep::kArray;
    } else {
      plan.rep = node.type.weak && all_python ? Rep::kPython : Rep::kNumpyScalar;
    }
    if (plan.rep != Rep::kArray || is_identity(node)) return;
    plan.owned = true;
    // The buffer of a single-use temporary of the same dtype (and shape) is
    // overwritten in place: np.add(t, b, out=t).
    for (const ScalarNode *operand : reusable_operands(node)) {
      if (operands_.reuse_condition(plans_.at(operand).classes, plan.classes)) {
        plan.reuses = operand;
        break;
      }
    }
  }

  // The operands whose buffer `node` may overwrite: owned, used once, of
  // its dtype. Not a select's: np.where is faster than a masked copyto.
  std::vector<const ScalarNode *> reusable_operands(const ScalarNode &node) const {
    std::vector<const ScalarNode *> reusable;
    const bool ufunc = node.op != ScalarOp::kCast && node.op != ScalarOp::kSelect;
    for (size_t k = 0; ufunc && k < node.operands.size(); ++k) {
      const ScalarNode *operand = node.operands[k].get();
      const Plan &candidate = plans_.at(operand);
      if (candidate.rep == Rep::kArray && candidate.owned && uses_.at(operand) == 1 && operand->type.dtype == node.type.dtype) {
        reusable.push_back(operand);
      }
    }
    return reusable;
  }

  // The root is computed in the destination itself, and so is each
  // temporary it would overwrite, down the chain: whatever their shapes,
  // their reads broadcast to the destination's. No temporary, no final copy.
  // That holds for a strided destination (a stencil's interior) too: a ufunc
  // over a strided output is slower than over a contiguous one, but every
  // temporary it saves is a fresh array whose pages fault in on first touch
  // (200 steps of a 512x512 heat loop: 1.5 ms a step against 4.0 ms with the
  // chain in a temporary and the last operation into the interior). A root select computes one branch there and
  // copies the other over it where it is chosen (np.where would need a copy).
  void plan_destination(const ScalarNode &root) {
    const Plan &root_plan = plans_.at(&root);
    if (root_plan.rep != Rep::kArray || !root_plan.owned || root.op == ScalarOp::kCast) return;
    if (root.op != ScalarOp::kSelect) {
      chain_into_destination(&root);
      return;
    }
    for (size_t branch : {size_t{2}, size_t{1}}) {  // the else branch first: no negated condition
      const ScalarNode *value = root.operands[branch].get();
      const Plan &plan = plans_.at(value);
      // Any other user of the branch runs before the select, reading it
      // from the destination; nothing else writes there in between.
      const bool distinct = value != root.operands[0].get() && value != root.operands[3 - branch].get();
      if (distinct && plan.rep == Rep::kArray && plan.owned && value->type.dtype == root.type.dtype &&
          value->op != ScalarOp::kSelect && value->op != ScalarOp::kCast) {
        chain_into_destination(value);
        select_branch_in_destination_ = branch;
        return;
      }
    }
  }

  void chain_into_destination(const ScalarNode *node) {
    while (node != nullptr) {
      Plan &plan = plans_.at(node);
      plan.in_destination = true;
      if (!plan.reuses) {
        std::vector<const ScalarNode *> reusable = reusable_operands(*node);
        if (!reusable.empty()) plan.reuses = reusable.front();
      }
      node = plan.reuses;
    }
  }

  std::string temporary() { return absl::StrCat("t", temporaries_++); }

  std::string text(const NodeRef &node) const { return plans_.at(node.get()).text; }

  void statement(const std::string &line) { module_.line(indent_, line); }

  std::string scalar_argument(const ScalarNode &node) {
    const std::string name = absl::StrCat(node.type.weak ? "w" : "s", node.param_index);
    if (declared_.insert(name).second) {
      std::string conversion;
      if (!node.type.weak) {
        conversion = numpy_type_name(node.type.dtype);
      } else {
        conversion = kind_of(node.type.dtype) == Kind::kBool ? "bool" : is_float(node.type.dtype) ? "float" : "int";
      }
      statement(absl::StrCat(name, " = ", conversion, "(args[", node.param_index, "])"));
    }
    return name;
  }

  std::string strong_constant(const ScalarNode &node) {
    const DType dtype = node.type.dtype;
    if (dtype == DType::kBool) return std::visit([](auto v) { return v != 0; }, node.value) ? "np.True_" : "np.False_";
    std::string value = is_float(dtype) ? python_float_literal(std::visit([](auto v) { return static_cast<double>(v); }, node.value))
                                        : integer_literal(node.value, dtype);
    return module_.constant(absl::StrCat(numpy_type_name(dtype), "(", value, ")"));
  }

  void emit(const ScalarNode &node, bool is_root) {
    Plan &plan = plans_.at(&node);
    if (node.op == ScalarOp::kParam) {
      plan.text = operands_.is_array(node.param_index) ? operands_.array_read(node.param_index, node.offsets) : scalar_argument(node);
    } else if (node.op == ScalarOp::kConstant) {
      plan.text = node.type.weak ? python_literal(node) : strong_constant(node);
    } else if (is_identity(node)) {
      plan.text = text(node.operands[0]);
    } else if (plan.rep == Rep::kPython) {
      plan.text = temporary();
      statement(absl::StrCat(plan.text, " = ", python_expression(node)));
    } else if (node.op == ScalarOp::kCast) {
      emit_cast(node, plan, is_root);
    } else if (node.op == ScalarOp::kSelect) {
      emit_select(node, plan, is_root);
    } else {
      emit_ufunc(node, plan, is_root);
    }
  }

  void emit_cast(const ScalarNode &node, Plan &plan, bool is_root) {
    std::string value = numpy_cast(node);
    if (plan.rep == Rep::kArray) {
      if (is_root) {
        statement(absl::StrCat("np.copyto(", destination_, ", ", value, ", casting=\"unsafe\")"));
        root_written_ = true;
        return;
      }
      value = absl::StrCat(value, ".astype(", numpy_type_name(node.type.dtype), ")");
    }
    plan.text = temporary();
    statement(absl::StrCat(plan.text, " = ", value));
  }

  // A cast of an array: the operand (astype or copyto follows); of a NumPy
  // scalar: astype; of a Python scalar: the NumPy scalar conversion C's
  // conversion agrees with.
  std::string numpy_cast(const ScalarNode &node) {
    const NodeRef &operand = node.operands[0];
    const std::string target = numpy_type_name(node.type.dtype);
    const Rep from = plans_.at(operand.get()).rep;
    if (from == Rep::kArray) return text(operand);
    if (from == Rep::kNumpyScalar) return absl::StrCat(text(operand), ".astype(", target, ")");
    // A Python int argument made a narrower integer raises NumPy's
    // OverflowError when it does not fit, as the native kernel checks on entry.
    const bool narrowed_argument = operand->op == ScalarOp::kParam && is_integer(node.type.dtype);
    // To a float, from a Python bool, int (of any size) or float: one rounding, as C's.
    const bool exact = operand->type.dtype == DType::kBool || is_float(node.type.dtype);
    if (narrowed_argument || exact) return absl::StrCat(target, "(", text(operand), ")");
    return absl::StrCat(numpy_type_name(operand->type.dtype), "(", text(operand), ").astype(", target, ")");
  }

  // The run-time condition under which `plan` overwrites its operand's
  // buffer (empty: always).
  std::string reuse_condition(const Plan &plan) {
    const std::string &buffer = plans_.at(plan.reuses).text;
    std::string condition = *operands_.reuse_condition(plans_.at(plan.reuses).classes, plan.classes);
    for (size_t at = condition.find("{}"); at != std::string::npos; at = condition.find("{}", at + buffer.size())) {
      condition.replace(at, 2, buffer);
    }
    return condition;
  }

  // The `out=` of a ufunc computing `node`.
  std::string out_clause(const Plan &plan) {
    if (plan.in_destination) return absl::StrCat(", out=", destination_);
    if (!plan.reuses) return "";
    const std::string &buffer = plans_.at(plan.reuses).text;
    const std::string condition = reuse_condition(plan);
    if (condition.empty()) return absl::StrCat(", out=", buffer);
    return absl::StrCat(", out=", buffer, " if ", condition, " else None");
  }

  void emit_ufunc(const ScalarNode &node, Plan &plan, bool is_root) {
    std::vector<std::string> args;
    std::string function = ufunc_name(node);
    if (node.op == ScalarOp::kPow && is_constant_equal(node.operands[1], 2.0)) {
      function = "np.square";  // C's x * x, and NumPy's own path for x**2
      args = {text(node.operands[0])};
    } else if (node.op == ScalarOp::kPow && is_float(node.operands[0]->type.dtype) && is_constant_equal(node.operands[1], 0.5)) {
      function = "np.sqrt";
      args = {text(node.operands[0])};
    } else {
      for (const NodeRef &operand : node.operands) args.push_back(text(operand));
      if (node.op == ScalarOp::kTruth) args.push_back(is_float(node.operands[0]->type.dtype) ? "0.0" : "0");
    }
    if (plan.rep != Rep::kArray) {
      if (is_root) {
        statement(absl::StrCat(function, "(", absl::StrJoin(args, ", "), ", out=", destination_, ")"));
        root_written_ = true;
        return;
      }
      plan.text = temporary();
      statement(absl::StrCat(plan.text, " = ", function, "(", absl::StrJoin(args, ", "), ")"));
      return;
    }
    const std::string call = absl::StrCat(function, "(", absl::StrJoin(args, ", "), out_clause(plan), ")");
    if (plan.in_destination) {
      plan.text = destination_;
      statement(call);
      root_written_ = root_written_ || is_root;
      return;
    }
    plan.text = temporary();
    statement(absl::StrCat(plan.text, " = ", call));
  }

  void emit_select(const ScalarNode &node, Plan &plan, bool is_root) {
    const std::string condition = text(node.operands[0]), if_true = text(node.operands[1]),
                      if_false = text(node.operands[2]);
    if (is_root && select_branch_in_destination_ == 2) {
      statement(absl::StrCat("np.copyto(", destination_, ", ", if_true, ", where=", condition, ", casting=\"unsafe\")"));
      root_written_ = true;
      return;
    }
    if (is_root && select_branch_in_destination_ == 1) {
      statement(absl::StrCat("np.copyto(", destination_, ", ", if_false, ", where=np.logical_not(", condition,
                             "), casting=\"unsafe\")"));
      root_written_ = true;
      return;
    }
    plan.text = temporary();
    if (plan.rep == Rep::kNumpyScalar) {
      statement(absl::StrCat(plan.text, " = ", if_true, " if ", condition, " else ", if_false));
    } else {
      statement(absl::StrCat(plan.text, " = np.where(", condition, ", ", if_true, ", ", if_false, ")"));
    }
  }

  // A weak (Python scalar) operation: Python's arithmetic where it agrees
  // with the native kernel's, NumPy's float64/int64 scalars where Python
  // would raise (division by zero, domain errors) or give a complex number.
  std::string python_expression(const ScalarNode &node) {
    auto operand = [&](size_t k) { return text(node.operands[k]); };
    const DType dtype = node.operands.empty() ? node.type.dtype : node.operands[0]->type.dtype;
    const bool floats = is_float(dtype);
    auto binary = [&](const char *op) { return absl::StrCat("(", operand(0), " ", op, " ", operand(1), ")"); };
    auto via_numpy = [&](const std::string &expression) { return absl::StrCat("(", expression, ").item()"); };
    auto numpy_scalar = [&](size_t k) { return absl::StrCat(numpy_type_name(node.operands[k]->type.dtype), "(", operand(k), ")"); };
    switch (node.op) {
      case ScalarOp::kCast:
        if (kind_of(node.type.dtype) == Kind::kBool) return absl::StrCat("bool(", operand(0), ")");
        if (is_float(node.type.dtype)) return absl::StrCat("float(", operand(0), ")");
        if (floats) return via_numpy(absl::StrCat(numpy_scalar(0), ".astype(np.int64)"));  // C's conversion, not int()'s error
        return absl::StrCat("int(", operand(0), ")");
      case ScalarOp::kNeg: return absl::StrCat("(-", operand(0), ")");
      case ScalarOp::kNot: return absl::StrCat("(not ", operand(0), ")");
      case ScalarOp::kAbs: return absl::StrCat("abs(", operand(0), ")");
      case ScalarOp::kAdd: return binary("+");
      case ScalarOp::kSub: return binary("-");
      case ScalarOp::kMul: return binary("*");
      case ScalarOp::kTrueDiv: return via_numpy(absl::StrCat(numpy_scalar(0), " / ", operand(1)));
      case ScalarOp::kFloorDiv:
        if (floats) return via_numpy(absl::StrCat(numpy_scalar(0), " // ", operand(1)));
        return absl::StrCat("(", operand(0), " // ", operand(1), " if ", operand(1), " else 0)");
      case ScalarOp::kMod:
        if (floats) return via_numpy(absl::StrCat(numpy_scalar(0), " % ", operand(1)));
        return absl::StrCat("(", operand(0), " % ", operand(1), " if ", operand(1), " else 0)");
      case ScalarOp::kPow:
        if (is_constant_equal(node.operands[1], 2.0)) return absl::StrCat("(", operand(0), " * ", operand(0), ")");
        if (floats) return via_numpy(absl::StrCat("np.power(", numpy_scalar(0), ", ", operand(1), ")"));
        module_.helper("python_int_pow", kPythonIntPowHelper);
        return absl::StrCat("python_int_pow(", operand(0), ", ", operand(1), ")");
      case ScalarOp::kEq: return binary("==");
      case ScalarOp::kNe: return binary("!=");
      case ScalarOp::kLt: return binary("<");
      case ScalarOp::kLe: return binary("<=");
      case ScalarOp::kGt: return binary(">");
      case ScalarOp::kGe: return binary(">=");
      case ScalarOp::kLogicalAnd: return binary("and");
      case ScalarOp::kLogicalOr: return binary("or");
      case ScalarOp::kBitAnd: return binary("&");
      case ScalarOp::kBitOr: return binary("|");
      case ScalarOp::kBitXor: return binary("^");
      case ScalarOp::kInvert: return absl::StrCat("(~", operand(0), ")");
      case ScalarOp::kLeftShift: return binary("<<");
      case ScalarOp::kRightShift: return binary(">>");
      case ScalarOp::kTruth: return absl::StrCat("(", operand(0), " != 0)");
      case ScalarOp::kSelect: return absl::StrCat("(", operand(1), " if ", operand(0), " else ", operand(2), ")");
      default: {  // maximum, minimum, math functions: NumPy's, on float64/int64 scalars
        std::vector<std::string> args;
        for (size_t k = 0; k < node.operands.size(); ++k) args.push_back(numpy_scalar(k));
        return via_numpy(absl::StrCat(ufunc_name(node), "(", absl::StrJoin(args, ", "), ")"));
      }
    }
  }

  const NumpyOperands &operands_;
  const std::string destination_;
  const int indent_;
  PythonModule &module_;
  std::vector<NodeRef> order_;
  std::unordered_map<const ScalarNode *, int> uses_;
  std::unordered_map<const ScalarNode *, Plan> plans_;
  std::set<std::string> declared_;
  int temporaries_ = 0;
  bool root_written_ = false;  // the root's value is in the destination
  size_t select_branch_in_destination_ = 0;  // of a root select: the operand computed in the destination
};

}  // namespace

absl::Status print_numpy_value(const NodeRef &root, const NumpyOperands &operands, const std::string &destination,
                               int indent, PythonModule &module) {
  return NumpyPrinter(operands, destination, indent, module).run(root);
}

}  // namespace sejits::specializers
