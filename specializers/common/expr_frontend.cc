#include "specializers/common/expr_frontend.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "specializers/common/python_int_compare.h"
#include "specializers/common/type_rules.h"

namespace sejits::specializers {
namespace {

constexpr int kMaxStatementNesting = 64;

std::string binop_symbol(v1::BinaryOperator op) {
  switch (op) {
    case v1::MAT_MULT: return "@";
    case v1::LSHIFT: return "<<";
    case v1::RSHIFT: return ">>";
    case v1::BIT_OR: return "|";
    case v1::BIT_XOR: return "^";
    case v1::BIT_AND: return "&";
    default: {
      const std::string &name = v1::BinaryOperator_Name(op);
      return name.empty() ? absl::StrCat("#", static_cast<int>(op), " (unknown to this daemon)") : name;
    }
  }
}

std::optional<ScalarOp> arithmetic_op(v1::BinaryOperator op) {
  switch (op) {
    case v1::ADD: return ScalarOp::kAdd;
    case v1::SUB: return ScalarOp::kSub;
    case v1::MULT: return ScalarOp::kMul;
    case v1::DIV: return ScalarOp::kTrueDiv;
    case v1::FLOOR_DIV: return ScalarOp::kFloorDiv;
    case v1::MOD: return ScalarOp::kMod;
    case v1::POW: return ScalarOp::kPow;
    case v1::BIT_AND: return ScalarOp::kBitAnd;
    case v1::BIT_OR: return ScalarOp::kBitOr;
    case v1::BIT_XOR: return ScalarOp::kBitXor;
    case v1::LSHIFT: return ScalarOp::kLeftShift;
    case v1::RSHIFT: return ScalarOp::kRightShift;
    default: return std::nullopt;
  }
}

std::optional<ScalarOp> comparison_op(v1::CompareOperator op) {
  switch (op) {
    case v1::EQ: return ScalarOp::kEq;
    case v1::NOT_EQ: return ScalarOp::kNe;
    case v1::LT: return ScalarOp::kLt;
    case v1::LT_E: return ScalarOp::kLe;
    case v1::GT: return ScalarOp::kGt;
    case v1::GT_E: return ScalarOp::kGe;
    default: return std::nullopt;
  }
}

// The functions a kernel may call, by the qualified name the client resolved.
enum class Builtin { kMath, kAbs, kMaximum, kMinimum, kWhere, kOperator, kInvert, kLogical, kLogicalNot, kCast };
struct FunctionSpec {
  Builtin builtin;
  MathFn math_fn = MathFn::kSin;
  int arity = 1;  // -1: two or more (builtin min/max)
  ScalarOp op = ScalarOp::kAdd;  // kOperator, kLogical: the binary operation
  DType cast_dtype = DType::kFloat64;  // kCast: the type converted to
};

FunctionSpec cast_to_dtype(DType dtype) {
  FunctionSpec spec{Builtin::kCast};
  spec.cast_dtype = dtype;
  return spec;
}

// np.float32(x), np.int8(x), ...: NumPy's scalar types as conversions.
const std::map<std::string, DType> &numpy_scalar_type_table() {
  static const std::map<std::string, DType> kNames = {
      {"bool_", DType::kBool},     {"bool", DType::kBool},       {"int8", DType::kInt8},
      {"int16", DType::kInt16},    {"int32", DType::kInt32},     {"int64", DType::kInt64},
      {"uint8", DType::kUInt8},    {"uint16", DType::kUInt16},   {"uint32", DType::kUInt32},
      {"uint64", DType::kUInt64},  {"float32", DType::kFloat32}, {"float64", DType::kFloat64},
      {"single", DType::kFloat32}, {"double", DType::kFloat64},
  };
  return kNames;
}

std::optional<FunctionSpec> numpy_scalar_type(const std::string &name) {
  auto it = numpy_scalar_type_table().find(name);
  if (it == numpy_scalar_type_table().end()) return std::nullopt;
  return cast_to_dtype(it->second);
}

// NumPy's ufuncs for operators: np.add(a, b) is a + b and np.bitwise_and(a, b)
// a & b, with NumPy scalar results; np.logical_and(a, b) takes the truth of
// each operand. (np.negative and np.positive: expr_frontend_ufuncs.cc.)
const std::map<std::string, FunctionSpec> &numpy_operator_table() {
  static const std::map<std::string, FunctionSpec> kNames = {
      {"add", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kAdd}},
      {"subtract", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kSub}},
      {"multiply", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kMul}},
      {"divide", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kTrueDiv}},
      {"true_divide", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kTrueDiv}},
      {"floor_divide", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kFloorDiv}},
      {"equal", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kEq}},
      {"not_equal", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kNe}},
      {"less", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kLt}},
      {"less_equal", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kLe}},
      {"greater", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kGt}},
      {"greater_equal", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kGe}},
      {"bitwise_and", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kBitAnd}},
      {"bitwise_or", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kBitOr}},
      {"bitwise_xor", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kBitXor}},
      {"left_shift", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kLeftShift}},
      {"right_shift", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kRightShift}},
      {"bitwise_left_shift", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kLeftShift}},
      {"bitwise_right_shift", {Builtin::kOperator, MathFn::kSin, 2, ScalarOp::kRightShift}},
      {"invert", {Builtin::kInvert}},
      {"bitwise_not", {Builtin::kInvert}},
      {"bitwise_invert", {Builtin::kInvert}},
      {"logical_and", {Builtin::kLogical, MathFn::kSin, 2, ScalarOp::kLogicalAnd}},
      {"logical_or", {Builtin::kLogical, MathFn::kSin, 2, ScalarOp::kLogicalOr}},
      {"logical_xor", {Builtin::kLogical, MathFn::kSin, 2, ScalarOp::kNe}},
      {"logical_not", {Builtin::kLogicalNot}},
  };
  return kNames;
}

std::optional<FunctionSpec> numpy_operator_function(const std::string &name) {
  auto it = numpy_operator_table().find(name);
  if (it == numpy_operator_table().end()) return std::nullopt;
  return it->second;
}

const std::map<std::string, FunctionSpec> &math_function_table() {
  static const std::map<std::string, FunctionSpec> kNames = {
      {"sin", {Builtin::kMath, MathFn::kSin}},       {"cos", {Builtin::kMath, MathFn::kCos}},
      {"tan", {Builtin::kMath, MathFn::kTan}},       {"arcsin", {Builtin::kMath, MathFn::kAsin}},
      {"asin", {Builtin::kMath, MathFn::kAsin}},     {"arccos", {Builtin::kMath, MathFn::kAcos}},
      {"acos", {Builtin::kMath, MathFn::kAcos}},     {"arctan", {Builtin::kMath, MathFn::kAtan}},
      {"atan", {Builtin::kMath, MathFn::kAtan}},     {"arctan2", {Builtin::kMath, MathFn::kAtan2, 2}},
      {"atan2", {Builtin::kMath, MathFn::kAtan2, 2}}, {"sinh", {Builtin::kMath, MathFn::kSinh}},
      {"cosh", {Builtin::kMath, MathFn::kCosh}},     {"tanh", {Builtin::kMath, MathFn::kTanh}},
      {"exp", {Builtin::kMath, MathFn::kExp}},       {"expm1", {Builtin::kMath, MathFn::kExpm1}},
      {"log", {Builtin::kMath, MathFn::kLog}},       {"log1p", {Builtin::kMath, MathFn::kLog1p}},
      {"log2", {Builtin::kMath, MathFn::kLog2}},     {"log10", {Builtin::kMath, MathFn::kLog10}},
      {"sqrt", {Builtin::kMath, MathFn::kSqrt}},     {"fabs", {Builtin::kMath, MathFn::kFabs}},
      {"floor", {Builtin::kMath, MathFn::kFloor}},   {"ceil", {Builtin::kMath, MathFn::kCeil}},
      {"trunc", {Builtin::kMath, MathFn::kTrunc}},   {"hypot", {Builtin::kMath, MathFn::kHypot, 2}},
      {"copysign", {Builtin::kMath, MathFn::kCopysign, 2}},
  };
  return kNames;
}

std::optional<FunctionSpec> math_function(const std::string &name) {
  auto it = math_function_table().find(name);
  if (it == math_function_table().end()) return std::nullopt;
  return it->second;
}

// Resolves "numpy.sin", "math.fabs", "builtins.abs", ... The second member
// says whether the function is NumPy's (strong results on Python scalars).
std::optional<std::pair<FunctionSpec, bool>> resolve_function(const std::string &qualified) {
  auto dot = qualified.rfind('.');
  if (dot == std::string::npos) return std::nullopt;
  std::string module = qualified.substr(0, dot), name = qualified.substr(dot + 1);
  if (module == "numpy") {
    if (name == "abs" || name == "absolute") return std::pair{FunctionSpec{Builtin::kAbs}, true};
    if (name == "maximum") return std::pair{FunctionSpec{Builtin::kMaximum, MathFn::kSin, 2}, true};
    if (name == "minimum") return std::pair{FunctionSpec{Builtin::kMinimum, MathFn::kSin, 2}, true};
    if (name == "where") return std::pair{FunctionSpec{Builtin::kWhere, MathFn::kSin, 3}, true};
    if (auto spec = numpy_operator_function(name)) return std::pair{*spec, true};
    if (auto spec = numpy_scalar_type(name)) return std::pair{*spec, true};
    if (auto spec = math_function(name)) return std::pair{*spec, true};  // NumPy 2 has asin... aliases too
    return std::nullopt;
  }
  if (module == "math") {
    if (name.rfind("arc", 0) == 0) return std::nullopt;  // math has asin, not arcsin
    if (auto spec = math_function(name)) return std::pair{*spec, false};
    return std::nullopt;
  }
  if (module == "builtins") {
    if (name == "abs") return std::pair{FunctionSpec{Builtin::kAbs}, false};
    if (name == "max") return std::pair{FunctionSpec{Builtin::kMaximum, MathFn::kSin, -1}, false};
    if (name == "min") return std::pair{FunctionSpec{Builtin::kMinimum, MathFn::kSin, -1}, false};
    // float(x), int(x), bool(x): Python scalars (weak); int() of a float truncates
    if (name == "float") return std::pair{cast_to_dtype(DType::kFloat64), false};
    if (name == "int") return std::pair{cast_to_dtype(DType::kInt64), false};
    if (name == "bool") return std::pair{cast_to_dtype(DType::kBool), false};
  }
  return std::nullopt;
}

// Levenshtein distance, for suggesting a near-miss name.
size_t edit_distance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Every function a kernel may call from `module` ("numpy", "math", ...).
std::vector<std::string> callable_names(const std::string &module) {
  std::vector<std::string> candidates;
  auto add_if_callable = [&](const std::string &name) {
    if (resolve_function(absl::StrCat(module, ".", name))) candidates.push_back(name);
  };
  for (const char *name : {"abs", "absolute", "maximum", "minimum", "where", "max", "min", "float", "int", "bool"}) {
    add_if_callable(name);
  }
  for (const auto &entry : math_function_table()) add_if_callable(entry.first);
  for (const auto &entry : numpy_operator_table()) add_if_callable(entry.first);
  for (const auto &entry : numpy_scalar_type_table()) add_if_callable(entry.first);
  for (const std::string &qualified : expanded_ufunc_names()) {
    if (qualified.substr(0, qualified.rfind('.')) == module) candidates.push_back(qualified.substr(qualified.rfind('.') + 1));
  }
  return candidates;
}

// "the function 'math.sqr' is not supported in a kernel; did you mean 'math.sqrt'?"
std::string unsupported_function_message(const std::string &qualified) {
  std::string message = absl::StrCat("the function '", qualified, "' is not supported in a kernel");
  const auto dot = qualified.rfind('.');
  if (dot == std::string::npos) return message;
  const std::string module = qualified.substr(0, dot), name = qualified.substr(dot + 1);
  std::set<std::string> nearest;
  size_t nearest_distance = std::max<size_t>(1, std::min<size_t>(2, name.size() / 3));  // a near miss, not any short name
  for (const std::string &candidate : callable_names(module)) {
    size_t distance = edit_distance(name, candidate);
    if (distance < nearest_distance) nearest.clear(), nearest_distance = distance;
    if (distance == nearest_distance) nearest.insert(absl::StrCat("'", module, ".", candidate, "'"));
  }
  if (!nearest.empty()) absl::StrAppend(&message, "; did you mean ", absl::StrJoin(nearest, " or "), "?");
  return message;
}

// The float constants of the numpy and math modules (Python floats: weak).
std::optional<double> module_constant(const std::string &module, const std::string &name) {
  constexpr double kInf = std::numeric_limits<double>::infinity(), kNan = std::numeric_limits<double>::quiet_NaN();
  static const std::map<std::string, double> kNumpy = {
      {"pi", std::numbers::pi}, {"e", std::numbers::e}, {"inf", kInf}, {"nan", kNan}, {"euler_gamma", std::numbers::egamma},
  };
  static const std::map<std::string, double> kMath = {
      {"pi", std::numbers::pi}, {"e", std::numbers::e}, {"inf", kInf}, {"nan", kNan}, {"tau", 2 * std::numbers::pi},
  };
  const auto *table = module == "numpy" ? &kNumpy : module == "math" ? &kMath : nullptr;
  if (table == nullptr) return std::nullopt;
  auto it = table->find(name);
  if (it == table->end()) return std::nullopt;
  return it->second;
}

std::string describe_expr_kind(const v1::Expr &expr) {
  switch (expr.node_case()) {
    case v1::Expr::kSubscript: return "indexing (a[...])";
    case v1::Expr::kTuple: return "a tuple";
    case v1::Expr::kSlice: return "a slice";
    case v1::Expr::kAttribute: return absl::StrCat("the attribute '.", expr.attribute().attr(), "'");
    case v1::Expr::kGlobalRef: return absl::StrCat("'", expr.global_ref().qualified_name(), "' as a value");
    case v1::Expr::kUnsupported: return expr.unsupported().what();
    case v1::Expr::NODE_NOT_SET: return "an empty expression";
    default: return "this expression";
  }
}

// The Python int constants a weak operand can take: itself, or the
// branches of selects between constants (`y = 1000 if c else 1`).
std::vector<int64_t> weak_int_constants(const NodeRef &node) {
  std::vector<int64_t> values;
  std::vector<const ScalarNode *> pending = {node.get()};
  while (!pending.empty()) {
    const ScalarNode *current = pending.back();
    pending.pop_back();
    if (current->op == ScalarOp::kConstant && std::holds_alternative<int64_t>(current->value)) {
      values.push_back(std::get<int64_t>(current->value));
    } else if (current->op == ScalarOp::kSelect) {
      pending.push_back(current->operands[1].get());
      pending.push_back(current->operands[2].get());
    } else if (current->op == ScalarOp::kCast && current->operands[0]->type.weak) {
      pending.push_back(current->operands[0].get());
    }
  }
  return values;
}

// Whether every value the operand can take is a constant.
bool is_known_constant(const NodeRef &node) {
  if (node->op == ScalarOp::kConstant) return true;
  if (node->op == ScalarOp::kSelect) return is_known_constant(node->operands[1]) && is_known_constant(node->operands[2]);
  return false;
}

bool contains_return(const google::protobuf::RepeatedPtrField<v1::Stmt> &body) {
  for (const auto &stmt : body) {
    if (stmt.has_return_stmt()) return true;
    if (stmt.has_if_stmt() && (contains_return(stmt.if_stmt().body()) || contains_return(stmt.if_stmt().orelse()))) {
      return true;
    }
  }
  return false;
}

bool is_docstring(const v1::Stmt &stmt) {
  return stmt.has_expr() && stmt.expr().value().has_constant() &&
         stmt.expr().value().constant().value_case() == v1::Constant::kStrValue;
}

}  // namespace

std::optional<std::string> callee_name(const v1::Expr &func) {
  if (func.has_global_ref()) return func.global_ref().qualified_name();
  if (func.has_attribute() && func.attribute().value().has_global_ref()) {
    return absl::StrCat(func.attribute().value().global_ref().qualified_name(), ".", func.attribute().attr());
  }
  return std::nullopt;
}

absl::Status user_error(const SourceContext &context, int line, const std::string &message) {
  return absl::InvalidArgumentError(absl::StrCat(context.filename.empty() ? "<kernel>" : context.filename,
                                                 ":", line, ": ", message));
}

absl::Status check_parameter_names(const SourceContext &context, const v1::FunctionAst &function) {
  std::set<std::string> seen;
  for (const v1::Argument &arg : function.args()) {
    if (arg.name().empty()) return user_error(context, function.pos().line(), "a parameter has no name");
    if (!seen.insert(arg.name()).second) {
      return user_error(context, function.pos().line(),
                        absl::StrCat("duplicate argument '", arg.name(), "' in function definition"));
    }
  }
  return absl::OkStatus();
}

absl::Status ExprFrontend::check_size(int line) {
  if (++nodes_built_ > context_.max_nodes) {
    return error(line, absl::StrCat(context_.kernel_name, " is too large (more than ", context_.max_nodes,
                                    " operations after inlining its branches)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<NodeRef> ExprFrontend::translate_body(const google::protobuf::RepeatedPtrField<v1::Stmt> &body,
                                                     const Environment &environment, int function_line) {
  auto values = translate_body_values(body, environment, function_line);
  if (!values.ok()) return values.status();
  if (values->size() != 1) {
    return error(function_line, absl::StrCat(context_.kernel_name, " returns a tuple of ", values->size(),
                                              " values; it must return one value"));
  }
  return values->front();
}

absl::StatusOr<Values> ExprFrontend::translate_body_values(const google::protobuf::RepeatedPtrField<v1::Stmt> &body,
                                                           const Environment &environment, int function_line) {
  std::vector<const v1::Stmt *> stmts;
  for (const auto &stmt : body) stmts.push_back(&stmt);
  return translate_block(stmts, environment, 0, function_line);
}

// Statements run in order. An `if` whose branches only assign merges the
// branches' variables and goes on; an `if` with a return in it continues
// with the rest of the block in both branches (tail duplication), so every
// path ends in its own return and the value is one select tree. Common
// subexpression elimination later merges the duplicated tails.
absl::StatusOr<Values> ExprFrontend::translate_block(const std::vector<const v1::Stmt *> &stmts,
                                                     Environment environment, int depth, int function_line) {
  if (depth > kMaxStatementNesting) {
    return error(function_line, absl::StrCat(context_.kernel_name, " nests if-statements too deeply"));
  }
  for (size_t i = 0; i < stmts.size(); ++i) {
    const v1::Stmt &stmt = *stmts[i];
    const int line = stmt.pos().line();
    if (stmt.has_return_stmt()) {
      if (!stmt.return_stmt().has_value()) return error(line, "a kernel must return a value");
      return translate_values(stmt.return_stmt().value(), environment);
    }
    if (stmt.has_if_stmt() && (contains_return(stmt.if_stmt().body()) || contains_return(stmt.if_stmt().orelse()))) {
      const auto &if_stmt = stmt.if_stmt();
      auto condition = translate_expr(if_stmt.test(), environment);
      if (!condition.ok()) return condition.status();
      std::vector<const v1::Stmt *> then_path, else_path;
      for (const auto &s : if_stmt.body()) then_path.push_back(&s);
      for (const auto &s : if_stmt.orelse()) else_path.push_back(&s);
      then_path.insert(then_path.end(), stmts.begin() + static_cast<std::ptrdiff_t>(i) + 1, stmts.end());
      else_path.insert(else_path.end(), stmts.begin() + static_cast<std::ptrdiff_t>(i) + 1, stmts.end());
      auto then_value = translate_block(then_path, environment, depth + 1, line);
      if (!then_value.ok()) return then_value.status();
      auto else_value = translate_block(else_path, environment, depth + 1, line);
      if (!else_value.ok()) return else_value.status();
      if (then_value->size() != else_value->size()) {
        return error(line, absl::StrCat("the paths of this 'if' return ", then_value->size(), " and ", else_value->size(),
                                        " values; every return must give as many"));
      }
      Values merged;
      for (size_t k = 0; k < then_value->size(); ++k) {
        auto value = select(*condition, (*then_value)[k], (*else_value)[k], line);
        if (!value.ok()) return value.status();
        merged.push_back(*value);
      }
      return merged;
    }
    if (absl::Status applied = apply_statement(stmt, environment, depth); !applied.ok()) return applied;
    auto returned = continue_after_loop_return(stmts, i + 1, environment, depth, line);
    if (!returned.ok() || !returned->empty()) return returned;
  }
  return error(stmts.empty() ? function_line : stmts.back()->pos().line(),
               "the kernel can reach its end without returning a value; every path must end in 'return'");
}

// A statement that changes only the environment: an assignment, a pass, a
// docstring, or an if-statement whose branches only assign.
absl::Status ExprFrontend::apply_statement(const v1::Stmt &stmt, Environment &environment, int depth) {
  const int line = stmt.pos().line();
  switch (stmt.node_case()) {
    case v1::Stmt::kPassStmt:
      return absl::OkStatus();
    case v1::Stmt::kExpr:
      if (is_docstring(stmt)) return absl::OkStatus();
      return error(line, "an expression statement has no effect in a kernel; assign or return its value");
    case v1::Stmt::kAssign:
      return apply_assignment(stmt.assign(), environment, line);
    case v1::Stmt::kAugAssign: {
      const auto &aug = stmt.aug_assign();
      if (!aug.target().has_name()) return error(line, "only names can be updated with an augmented assignment");
      auto it = environment.find(aug.target().name().id());
      if (it == environment.end()) {
        return error(line, absl::StrCat("local variable '", aug.target().name().id(), "' is used before assignment"));
      }
      auto op = arithmetic_op(aug.op());
      if (!op) return error(line, absl::StrCat("the operator '", binop_symbol(aug.op()), "=' is not supported"));
      auto value = translate_expr(aug.value(), environment);
      if (!value.ok()) return value.status();
      auto updated = binary(*op, it->second, *value, line);
      if (!updated.ok()) return updated.status();
      environment[aug.target().name().id()] = *updated;
      return absl::OkStatus();
    }
    case v1::Stmt::kIfStmt: {
      auto condition = translate_expr(stmt.if_stmt().test(), environment);
      if (!condition.ok()) return condition.status();
      auto merged = merge_branches(*condition, stmt.if_stmt(), environment, depth, line);
      if (!merged.ok()) return merged.status();
      environment = std::move(*merged);
      return absl::OkStatus();
    }
    case v1::Stmt::kReturnStmt:
    case v1::Stmt::kBreakStmt:
    case v1::Stmt::kContinueStmt:
      return apply_jump(stmt, environment, line);
    case v1::Stmt::kForStmt:
      return translate_for(stmt.for_stmt(), environment, depth, line);
    case v1::Stmt::kWhileStmt:
      return translate_while(stmt.while_stmt(), environment, depth, line);
    case v1::Stmt::kUnsupported:
      return error(line, absl::StrCat(stmt.unsupported().what(), " is not supported in a kernel"));
    case v1::Stmt::NODE_NOT_SET:
      break;
  }
  return error(line, "empty statement in the request");
}

absl::Status ExprFrontend::apply_assignment(const v1::Assign &assign, Environment &environment, int line) {
  if (assign.targets_size() != 1) return error(line, "chained assignment (a = b = ...) is not supported");
  const v1::Expr &target = assign.targets(0);
  if (target.has_name()) {
    auto value = translate_expr(assign.value(), environment);
    if (!value.ok()) return value.status();
    environment[target.name().id()] = *value;
    return absl::OkStatus();
  }
  if (target.has_tuple()) {  // a, b = x, y  or  q, r = np.divmod(x, y)
    auto values = translate_values(assign.value(), environment);
    if (!values.ok()) return values.status();
    if (static_cast<int>(values->size()) != target.tuple().elts_size()) {
      return error(line, absl::StrCat("cannot unpack ", values->size(), " value", values->size() == 1 ? "" : "s", " into ",
                                      target.tuple().elts_size(), " names"));
    }
    for (int k = 0; k < target.tuple().elts_size(); ++k) {
      if (!target.tuple().elts(k).has_name()) return error(line, "only names can be assigned to");
      environment[target.tuple().elts(k).name().id()] = (*values)[k];
    }
    return absl::OkStatus();
  }
  if (target.has_subscript()) {
    return error(line, "assignment to an element (a[...] = ...) is not supported; return the value instead");
  }
  return error(line, "only names (or a tuple of names from a tuple) can be assigned to");
}

// The environment after an if-statement whose branches only assign: each
// variable a branch changed becomes a select between the branches' values;
// one assigned in a single branch is undefined afterwards.
absl::StatusOr<Environment> ExprFrontend::merge_branches(const NodeRef &condition, const v1::If &if_stmt,
                                                        const Environment &before, int depth, int line) {
  if (depth > kMaxStatementNesting) {
    return error(line, absl::StrCat(context_.kernel_name, " nests if-statements too deeply"));
  }
  Environment branches[2] = {before, before};
  const google::protobuf::RepeatedPtrField<v1::Stmt> *bodies[2] = {&if_stmt.body(), &if_stmt.orelse()};
  for (int b = 0; b < 2; ++b) {
    if (absl::Status applied = apply_statements(*bodies[b], branches[b], depth + 1); !applied.ok()) return applied;
  }
  Environment merged;
  for (const auto &[name, else_value] : branches[1]) {  // a loop's jump state, set in the else branch only
    if (name[0] != '#' || branches[0].count(name)) continue;
    auto value = merge_hidden(condition, nullptr, else_value, line);
    if (!value.ok()) return value.status();
    merged[name] = *value;
  }
  for (const auto &[name, then_value] : branches[0]) {
    auto other = branches[1].find(name);
    if (other == branches[1].end()) {
      if (name[0] != '#') continue;
      auto value = merge_hidden(condition, then_value, nullptr, line);
      if (!value.ok()) return value.status();
      merged[name] = *value;
      continue;
    }
    if (other->second == then_value) {
      merged[name] = then_value;
      continue;
    }
    auto value = select(condition, then_value, other->second, line);
    if (!value.ok()) return value.status();
    merged[name] = *value;
  }
  return merged;
}

absl::StatusOr<NodeRef> ExprFrontend::translate_constant(const v1::Constant &constant, int line) {
  const bool weak = constant.dtype() == v1::DTYPE_UNSPECIFIED;
  DType strong = static_cast<DType>(constant.dtype());
  if (!weak && !is_supported_dtype(constant.dtype())) {
    return error(line, absl::StrCat("a constant of dtype ", v1::DType_Name(constant.dtype()), " is not supported"));
  }
  switch (constant.value_case()) {
    case v1::Constant::kBoolValue:
      return make_constant(constant.bool_value(), ScalarType{weak ? DType::kBool : strong, weak}, line);
    case v1::Constant::kIntValue: {
      ScalarType type{weak ? DType::kInt64 : strong, weak};
      if (!weak && !int_fits(strong, constant.int_value())) return error(line, "constant out of range for its dtype");
      if (!weak && is_float(strong)) return make_constant(static_cast<double>(constant.int_value()), type, line);
      if (!weak && strong == DType::kBool) return make_constant(constant.int_value() != 0, type, line);
      return make_constant(constant.int_value(), type, line);
    }
    case v1::Constant::kUintValue:
      if (weak || strong != DType::kUInt64) return error(line, "an unsigned constant must be a uint64 NumPy scalar");
      return make_constant(constant.uint_value(), ScalarType{DType::kUInt64, false}, line);
    case v1::Constant::kFloatValue: {
      ScalarType type{weak ? DType::kFloat64 : strong, weak};
      if (!weak && !is_float(strong)) return error(line, "a float constant must have a float dtype");
      double value = constant.float_value();
      if (type.dtype == DType::kFloat32) value = static_cast<double>(static_cast<float>(value));
      return make_constant(value, type, line);
    }
    case v1::Constant::kBigIntValue: {
      const std::string &digits = constant.big_int_value();
      const bool is_integer = !digits.empty() && digits.find_first_not_of("-0123456789") == std::string::npos;
      return error(line, is_integer ? absl::StrCat("the integer constant ", digits.substr(0, 40), " does not fit in 64 bits")
                                    : "malformed integer constant in the request");
    }
    case v1::Constant::kStrValue:
      return error(line, "string constants are not supported in a kernel");
    case v1::Constant::kNoneValue:
      return error(line, "None is not supported in a kernel");
    case v1::Constant::kEllipsisValue:
      return error(line, "'...' (Ellipsis) is not supported here");
    case v1::Constant::VALUE_NOT_SET:
      return error(line, "empty constant in the request");
  }
  return error(line, "unknown constant");
}

NodeRef ExprFrontend::python_int_beside(const NodeRef &value, const NodeRef &array) {
  if (!value || !array || !value->type.weak || !is_integer(value->type.dtype) || value->op == ScalarOp::kConstant ||
      array->type.weak || !is_integer(array->type.dtype) || array->type.dtype == value->type.dtype) {
    return value;
  }
  // The inner cast is weak, so its range check asks for the Python code, not
  // OverflowError; the outer one is the array's own dtype, which later casts keep.
  NodeRef lenient = make_node(ScalarOp::kCast, ScalarType{array->type.dtype, true}, {value}, value->line);
  return make_node(ScalarOp::kCast, ScalarType{array->type.dtype, false}, {lenient}, value->line);
}

absl::StatusOr<NodeRef> ExprFrontend::binary(ScalarOp op, NodeRef left, NodeRef right, int line, bool numpy_function) {
  if (absl::Status size = check_size(line); !size.ok()) return size;
  if (auto folded = fold_python_ints(op, left, right, line); !folded.ok() || *folded) {
    if (!folded.ok()) return folded.status();
    return *folded;
  }
  if (NodeRef exact = compare_with_python_int(op, left, right, line)) return exact;
  const WeakResult weak_result = numpy_function ? WeakResult::kMakeStrong : WeakResult::kKeepWeak;
  auto resolved = resolve_operator(op, {left->type, right->type}, weak_result);
  if (!resolved.ok()) return error(line, std::string(resolved.status().message()));
  // A Python int meeting a narrower integer dtype: NumPy compares exactly,
  // and refuses arithmetic with a value that does not fit. Constants are
  // checked here; Python int arguments by the kernel when it is called.
  if (is_integer(resolved->operands.dtype) && resolved->operands.dtype != DType::kInt64) {
    for (NodeRef *operand : {&left, &right}) {
      if (!(*operand)->type.weak || !is_integer((*operand)->type.dtype)) continue;
      bool fits = true;
      for (int64_t value : weak_int_constants(*operand)) fits = fits && int_fits(resolved->operands.dtype, value);
      bool known = is_known_constant(*operand);
      if (is_comparison(op) && (!fits || !known)) {
        *operand = cast_to(*operand, ScalarType{DType::kInt64, false});  // compare in a type that holds both
        resolved = resolve_operator(op, {left->type, right->type}, weak_result);
        if (!resolved.ok()) return error(line, std::string(resolved.status().message()));
        break;
      }
      if (!fits) {
        for (int64_t value : weak_int_constants(*operand)) {
          if (!int_fits(resolved->operands.dtype, value)) {
            return error(line, absl::StrCat("Python integer ", value, " out of bounds for ", dtype_name(resolved->operands.dtype)));
          }
        }
      }
    }
  }
  return make_node(op, resolved->result,
                   {cast_to(left, resolved->operands), cast_to(right, resolved->operands)}, line);
}

// Arithmetic between two Python int constants is done here, as Python does
// it: exactly, or refused when the result leaves 64 bits (the kernel then runs
// as Python); a negative power gives a float; division by zero is an error.
absl::StatusOr<NodeRef> ExprFrontend::fold_python_ints(ScalarOp op, const NodeRef &left, const NodeRef &right, int line) {
  auto is_python_int = [](const NodeRef &node) {
    return node->op == ScalarOp::kConstant && node->type.weak && node->type.dtype == DType::kInt64 &&
           std::holds_alternative<int64_t>(node->value);
  };
  if (!is_python_int(left) || !is_python_int(right)) return NodeRef();
  const int64_t a = std::get<int64_t>(left->value), b = std::get<int64_t>(right->value);
  const ScalarType python_int{DType::kInt64, true};
  int64_t result = 0;
  bool overflow = false;
  switch (op) {
    case ScalarOp::kAdd: overflow = __builtin_add_overflow(a, b, &result); break;
    case ScalarOp::kSub: overflow = __builtin_sub_overflow(a, b, &result); break;
    case ScalarOp::kMul: overflow = __builtin_mul_overflow(a, b, &result); break;
    case ScalarOp::kFloorDiv:
    case ScalarOp::kMod:
      if (b == 0) return error(line, "integer division or modulo by zero");
      if (a == std::numeric_limits<int64_t>::min() && b == -1) {
        overflow = op == ScalarOp::kFloorDiv;
        break;
      }
      result = op == ScalarOp::kFloorDiv ? a / b - ((a % b != 0) && ((a < 0) != (b < 0))) : ((a % b) + b) % b;
      break;
    case ScalarOp::kBitAnd: result = a & b; break;
    case ScalarOp::kBitOr: result = a | b; break;
    case ScalarOp::kBitXor: result = a ^ b; break;
    case ScalarOp::kLeftShift:
    case ScalarOp::kRightShift:
      if (b < 0) return error(line, "negative shift count");
      if (op == ScalarOp::kRightShift) {
        result = b >= 64 ? (a < 0 ? -1 : 0) : a >> b;
      } else {
        overflow = a != 0 && (b >= 63 || ((static_cast<int64_t>(static_cast<uint64_t>(a) << b)) >> b) != a);
        result = overflow ? 0 : static_cast<int64_t>(static_cast<uint64_t>(a) << b);
      }
      break;
    case ScalarOp::kPow:
      if (b < 0) return make_constant(std::pow(static_cast<double>(a), static_cast<double>(b)), ScalarType{DType::kFloat64, true}, line);
      result = 1;
      for (int64_t base = a, exponent = b; exponent > 0 && !overflow;) {  // by squaring
        if (exponent & 1) overflow = __builtin_mul_overflow(result, base, &result);
        exponent >>= 1;
        if (exponent > 0 && !overflow) overflow = __builtin_mul_overflow(base, base, &base);
      }
      break;
    default:
      return NodeRef();
  }
  if (overflow) {
    return error(line, "arithmetic on Python ints here exceeds 64 bits; sejits computes in 64 bits, so the kernel runs as Python");
  }
  return make_constant(result, python_int, line);
}

// A conversion as a NumPy scalar type or Python's float/int/bool does it:
// truth for bool, C's conversion otherwise (floats to integers: NumPy's
// astype values). A Python int that a NumPy integer type cannot hold is
// NumPy's OverflowError (constants here, arguments when the kernel is called).
absl::StatusOr<NodeRef> ExprFrontend::convert(const NodeRef &value, ScalarType target, int line) {
  if (target.dtype == DType::kBool) return cast_to(truth(value, line), target);
  if (!target.weak && is_integer(target.dtype) && value->type.weak && is_integer(value->type.dtype)) {
    for (int64_t constant : weak_int_constants(value)) {
      if (!int_fits(target.dtype, constant)) {
        return error(line, absl::StrCat("Python integer ", constant, " out of bounds for ", dtype_name(target.dtype)));
      }
    }
  }
  return cast_to(value, target);
}

NodeRef ExprFrontend::truth(const NodeRef &value, int line) {
  if (value->type.dtype == DType::kBool) return value;
  return make_node(ScalarOp::kTruth, ScalarType{DType::kBool, value->type.weak}, {value}, line);
}

// `~x`: bitwise not of an integer, logical not of a NumPy bool (-2 for a
// Python bool, as Python computes it).
absl::StatusOr<NodeRef> ExprFrontend::invert(const NodeRef &operand, int line, bool numpy_function) {
  if (absl::Status size = check_size(line); !size.ok()) return size;
  auto types = resolve_operator(ScalarOp::kInvert, {operand->type}, numpy_function ? WeakResult::kMakeStrong : WeakResult::kKeepWeak);
  if (!types.ok()) return error(line, std::string(types.status().message()));
  NodeRef value = cast_to(operand, types->operands);
  if (value->op == ScalarOp::kConstant && value->type.weak && std::holds_alternative<int64_t>(value->value)) {
    return make_constant(~std::get<int64_t>(value->value), types->result, line);
  }
  if (types->operands.dtype == DType::kBool) return make_node(ScalarOp::kNot, types->result, {value}, line);
  return make_node(ScalarOp::kInvert, types->result, {value}, line);
}

absl::StatusOr<NodeRef> ExprFrontend::select(NodeRef condition, NodeRef if_true, NodeRef if_false, int line,
                                             bool numpy_function) {
  if (absl::Status size = check_size(line); !size.ok()) return size;
  auto resolved = resolve_operator(ScalarOp::kSelect, {if_true->type, if_false->type},
                                   numpy_function ? WeakResult::kMakeStrong : WeakResult::kKeepWeak);
  if (!resolved.ok()) return error(line, std::string(resolved.status().message()));
  return make_node(ScalarOp::kSelect, resolved->result,
                   {truth(condition, line), cast_to(if_true, resolved->operands), cast_to(if_false, resolved->operands)}, line);
}

absl::StatusOr<NodeRef> ExprFrontend::translate_binop(const v1::BinOp &binop, const Environment &environment,
                                                      int line) {
  auto op = arithmetic_op(binop.op());
  if (!op) return error(line, absl::StrCat("the operator '", binop_symbol(binop.op()), "' is not supported"));
  auto left = translate_expr(binop.left(), environment);
  if (!left.ok()) return left.status();
  auto right = translate_expr(binop.right(), environment);
  if (!right.ok()) return right.status();
  return binary(*op, *left, *right, line);
}

absl::StatusOr<NodeRef> ExprFrontend::translate_compare(const v1::Compare &compare, const Environment &environment,
                                                        int line) {
  if (compare.ops_size() == 0 || compare.ops_size() != compare.comparators_size()) {
    return error(line, "malformed comparison in the request");
  }
  auto left = translate_expr(compare.left(), environment);
  if (!left.ok()) return left.status();
  NodeRef result;
  NodeRef previous = *left;
  for (int k = 0; k < compare.ops_size(); ++k) {
    auto op = comparison_op(compare.ops(k));
    if (!op) {
      return error(line, absl::StrCat("the comparison '", v1::CompareOperator_Name(compare.ops(k)),
                                      "' is not supported (use ==, !=, <, <=, >, >=)"));
    }
    auto right = translate_expr(compare.comparators(k), environment);
    if (!right.ok()) return right.status();
    auto comparison = binary(*op, previous, *right, line);
    if (!comparison.ok()) return comparison.status();
    if (!result) {
      result = *comparison;
    } else {  // a < b < c means (a < b) and (b < c)
      auto both = select(result, *comparison, result, line);
      if (!both.ok()) return both.status();
      result = *both;
    }
    previous = *right;
  }
  return result;
}

absl::StatusOr<NodeRef> ExprFrontend::translate_call(const v1::Call &call, const Environment &environment, int line) {
  auto name = callee_name(call.func());
  if (!name) {
    if (call.func().has_name()) {
      return error(line, absl::StrCat("'", call.func().name().id(), "' is not a function sejits knows"));
    }
    return error(line, absl::StrCat("calling ", describe_expr_kind(call.func()), " is not supported"));
  }
  if (is_expanded_ufunc(*name)) return translate_ufunc(*name, call, environment, line);
  if (const v1::FunctionAst *helper = find_helper(*name)) {
    auto values = inline_helper(*helper, call, environment, line);
    if (!values.ok()) return values.status();
    if (values->size() != 1) {
      return error(line, absl::StrCat("'", helper->name(), "' returns a tuple of ", values->size(),
                                      " values: unpack it (a, b = ", helper->name(), "(...)) or return it"));
    }
    return values->front();
  }
  if (is_tuple_function(*name)) {
    return error(line, absl::StrCat("'", *name, "' returns a tuple: unpack it (a, b = ", *name, "(...)) or return it"));
  }
  auto resolved = resolve_function(*name);
  if (!resolved) return error(line, unsupported_function_message(*name));
  if (call.keywords_size() > 0) {
    return error(line, absl::StrCat("keyword arguments ('", call.keywords(0).arg(), "=') to '", *name,
                                    "' are not supported"));
  }
  auto [spec, numpy_function] = *resolved;
  const int nargs = call.args_size();
  if ((spec.arity > 0 && nargs != spec.arity) || (spec.arity < 0 && nargs < 2)) {
    return error(line, absl::StrCat("'", *name, "' takes ", spec.arity > 0 ? absl::StrCat(spec.arity) : "two or more",
                                    " arguments here, got ", nargs));
  }
  std::vector<NodeRef> args;
  for (const auto &arg : call.args()) {
    auto value = translate_expr(arg, environment);
    if (!value.ok()) return value.status();
    args.push_back(*value);
  }
  if (absl::Status size = check_size(line); !size.ok()) return size;
  const WeakResult weak_result = numpy_function ? WeakResult::kMakeStrong : WeakResult::kKeepWeak;
  switch (spec.builtin) {
    case Builtin::kCast:
      return convert(args[0], ScalarType{spec.cast_dtype, !numpy_function}, line);
    case Builtin::kOperator:
      return binary(spec.op, args[0], args[1], line, true);
    case Builtin::kInvert:
      return invert(args[0], line, true);
    case Builtin::kLogical:
    case Builtin::kLogicalNot: {
      for (auto &arg : args) arg = truth(arg, line);
      if (spec.builtin == Builtin::kLogicalNot) return make_node(ScalarOp::kNot, ScalarType{DType::kBool, false}, {args[0]}, line);
      return make_node(spec.op, ScalarType{DType::kBool, false}, {args[0], args[1]}, line);
    }
    case Builtin::kWhere:
      return select(args[0], python_int_beside(args[1], args[2]), python_int_beside(args[2], args[1]), line, true);
    case Builtin::kMaximum:
    case Builtin::kMinimum: {
      const bool maximum = spec.builtin == Builtin::kMaximum;
      NodeRef value = args[0];
      for (size_t k = 1; k < args.size(); ++k) {
        absl::StatusOr<NodeRef> next;
        if (numpy_function) {  // np.maximum/np.minimum: NaN propagates
          next = binary(maximum ? ScalarOp::kMaximum : ScalarOp::kMinimum, value, args[k], line, true);
        } else {  // Python's max/min: a later argument replaces the current one only if it compares greater (less)
          auto better = binary(maximum ? ScalarOp::kGt : ScalarOp::kLt, args[k], value, line);
          if (!better.ok()) return better.status();
          next = select(*better, args[k], value, line);
        }
        if (!next.ok()) return next.status();
        value = *next;
      }
      return value;
    }
    case Builtin::kAbs: {
      auto types = resolve_operator(ScalarOp::kAbs, {args[0]->type}, weak_result);
      if (!types.ok()) return error(line, std::string(types.status().message()));
      return make_node(ScalarOp::kAbs, types->result, {cast_to(args[0], types->operands)}, line);
    }
    case Builtin::kMath: {
      std::vector<ScalarType> types;
      for (const auto &arg : args) types.push_back(arg->type);
      auto resolved_types = resolve_math(spec.math_fn, types, weak_result);
      if (!resolved_types.ok()) return error(line, absl::StrCat("'", *name, "': ", resolved_types.status().message()));
      for (auto &arg : args) arg = cast_to(arg, resolved_types->operands);
      return make_math(spec.math_fn, resolved_types->result, std::move(args), line);
    }
  }
  return error(line, "unreachable");
}

absl::StatusOr<NodeRef> ExprFrontend::translate_expr(const v1::Expr &expr, const Environment &environment) {
  const int line = expr.pos().line();
  switch (expr.node_case()) {
    case v1::Expr::kName: {
      auto it = environment.find(expr.name().id());
      if (it == environment.end()) {
        return error(line, absl::StrCat("the name '", expr.name().id(),
                                        "' is not defined here (is it assigned only on some paths?)"));
      }
      return it->second;
    }
    case v1::Expr::kConstant:
      return translate_constant(expr.constant(), line);
    case v1::Expr::kBinOp:
      return translate_binop(expr.bin_op(), environment, line);
    case v1::Expr::kUnaryOp: {
      auto operand = translate_expr(expr.unary_op().operand(), environment);
      if (!operand.ok()) return operand.status();
      switch (expr.unary_op().op()) {
        case v1::UADD: {
          if ((*operand)->type.dtype != DType::kBool) return *operand;
          if (!(*operand)->type.weak) return error(line, "unary '+' on a bool array is not supported by NumPy");
          return cast_to(*operand, ScalarType{DType::kInt64, true});
        }
        case v1::USUB: {
          const ScalarNode &value = **operand;
          if (value.op == ScalarOp::kConstant && value.type.weak) {  // a negative literal: -1000, -0.5
            if (const auto *i = std::get_if<int64_t>(&value.value); i && *i != std::numeric_limits<int64_t>::min()) {
              return make_constant(-*i, value.type, line);
            }
            if (const auto *d = std::get_if<double>(&value.value)) return make_constant(-*d, value.type, line);
          }
          auto types = resolve_operator(ScalarOp::kNeg, {(*operand)->type});
          if (!types.ok()) return error(line, std::string(types.status().message()));
          return make_node(ScalarOp::kNeg, types->result, {cast_to(*operand, types->operands)}, line);
        }
        case v1::NOT: {
          NodeRef value = truth(*operand, line);
          return make_node(ScalarOp::kNot, value->type, {value}, line);
        }
        case v1::INVERT:
          return invert(*operand, line, false);
        default:
          return error(line, "this unary operator is not supported");
      }
    }
    case v1::Expr::kBoolOp: {
      const auto &values = expr.bool_op().values();
      if (values.size() < 2) return error(line, "malformed boolean operation in the request");
      // Python: `a and b` is b when a is true, else a; `a or b` is a when a is true, else b.
      auto result = translate_expr(values[values.size() - 1], environment);
      if (!result.ok()) return result;
      for (int k = values.size() - 2; k >= 0; --k) {
        auto value = translate_expr(values[k], environment);
        if (!value.ok()) return value;
        result = expr.bool_op().op() == v1::AND ? select(*value, *result, *value, line)
                                                : select(*value, *value, *result, line);
        if (!result.ok()) return result;
      }
      return result;
    }
    case v1::Expr::kCompare:
      return translate_compare(expr.compare(), environment, line);
    case v1::Expr::kIfExp: {
      auto condition = translate_expr(expr.if_exp().test(), environment);
      if (!condition.ok()) return condition;
      auto body = translate_expr(expr.if_exp().body(), environment);
      if (!body.ok()) return body;
      auto orelse = translate_expr(expr.if_exp().orelse(), environment);
      if (!orelse.ok()) return orelse;
      return select(*condition, *body, *orelse, line);
    }
    case v1::Expr::kCall:
      return translate_call(expr.call(), environment, line);
    case v1::Expr::kAttribute: {
      const v1::Attribute &attribute = expr.attribute();
      if (attribute.value().has_global_ref()) {
        const std::string &module = attribute.value().global_ref().qualified_name();
        if (auto value = module_constant(module, attribute.attr())) {
          return make_constant(*value, ScalarType{DType::kFloat64, true}, line);
        }
        if (module == "numpy" || module == "math") {
          return error(line, absl::StrCat("'", module, ".", attribute.attr(), "' is not a constant sejits knows (",
                                          module == "numpy" ? "numpy's: pi, e, inf, nan, euler_gamma" : "math's: pi, e, inf, nan, tau",
                                          "); pass other values as arguments"));
        }
      }
      return error(line, absl::StrCat(describe_expr_kind(expr), " is not supported in a kernel"));
    }
    case v1::Expr::kSubscript:
      if (subscript_handler_) return subscript_handler_(*this, expr.subscript(), environment, line);
      return error(line, absl::StrCat("indexing (a[...]) is not supported in an ", context_.kernel_name,
                                      "; use sejits.stencil for neighbour access"));
    default:
      return error(line, absl::StrCat(describe_expr_kind(expr), " is not supported in a kernel"));
  }
}

}  // namespace sejits::specializers
