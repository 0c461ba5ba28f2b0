// Tuples in a kernel: `return q, r`, `a, b = x, y`, and the NumPy functions
// that return a tuple (np.divmod, np.modf, builtin divmod), written out in
// operations the IR already has, one value per element. A kernel returning a
// tuple has as many outputs (element-wise kernels; NumPy's divmod does so).
#include <limits>

#include "absl/strings/str_cat.h"
#include "specializers/common/expr_frontend.h"
#include "specializers/common/type_rules.h"

namespace sejits::specializers {
namespace {

// qualified name -> how many arguments it takes.
const std::map<std::string, int> &tuple_functions() {
  static const std::map<std::string, int> kFunctions = {
      {"numpy.divmod", 2},
      {"builtins.divmod", 2},
      {"numpy.modf", 1},
  };
  return kFunctions;
}

}  // namespace

bool ExprFrontend::is_tuple_function(const std::string &qualified) { return tuple_functions().count(qualified) > 0; }

absl::StatusOr<Values> ExprFrontend::translate_values(const v1::Expr &expr, const Environment &environment) {
  if (expr.has_tuple()) {
    if (expr.tuple().elts_size() == 0) return error(expr.pos().line(), "an empty tuple is not supported in a kernel");
    Values values;
    for (const auto &element : expr.tuple().elts()) {
      auto value = translate_expr(element, environment);
      if (!value.ok()) return value.status();
      values.push_back(*value);
    }
    return values;
  }
  if (expr.has_call()) {
    if (auto name = callee_name(expr.call().func()); name && is_tuple_function(*name)) {
      return translate_tuple_call(*name, expr.call(), environment, expr.pos().line());
    } else if (const v1::FunctionAst *helper = name ? find_helper(*name) : nullptr) {
      return inline_helper(*helper, expr.call(), environment, expr.pos().line());
    }
  }
  auto value = translate_expr(expr, environment);
  if (!value.ok()) return value.status();
  return Values{*value};
}

// np.divmod(x, y) is (np.floor_divide(x, y), np.remainder(x, y)), as NumPy
// computes it (integer division by zero gives 0 and 0; floats follow
// npy_divmod); the builtin keeps Python scalars weak, as `//` and `%` do.
// np.modf(x) is (x - trunc(x), trunc(x)) with C modf's signs: the fraction
// has x's sign, an infinity's fraction is (signed) zero.
absl::StatusOr<Values> ExprFrontend::translate_tuple_call(const std::string &qualified, const v1::Call &call,
                                                          const Environment &environment, int line) {
  const int arity = tuple_functions().at(qualified);
  if (call.keywords_size() > 0) {
    return error(line, absl::StrCat("keyword arguments ('", call.keywords(0).arg(), "=') to '", qualified, "' are not supported"));
  }
  if (call.args_size() != arity) {
    return error(line, absl::StrCat("'", qualified, "' takes ", arity, " argument", arity == 1 ? "" : "s", ", got ", call.args_size()));
  }
  Values args;
  for (const auto &arg : call.args()) {
    auto value = translate_expr(arg, environment);
    if (!value.ok()) return value.status();
    args.push_back(*value);
  }
  const bool numpy_function = qualified.rfind("numpy.", 0) == 0;
  if (arity == 2) {  // divmod
    auto quotient = binary(ScalarOp::kFloorDiv, args[0], args[1], line, numpy_function);
    if (!quotient.ok()) return quotient.status();
    auto remainder = binary(ScalarOp::kMod, args[0], args[1], line, numpy_function);
    if (!remainder.ok()) return remainder.status();
    return Values{*quotient, *remainder};
  }
  // modf
  if (absl::Status size = check_size(line); !size.ok()) return size;
  auto types = resolve_math(MathFn::kExp, {args[0]->type}, WeakResult::kMakeStrong);  // the float loop NumPy picks
  if (!types.ok()) return error(line, absl::StrCat("'", qualified, "': ", types.status().message()));
  const ScalarType type = types->operands;
  NodeRef x = cast_to(args[0], type);
  NodeRef whole = make_math(MathFn::kTrunc, type, {x}, line);
  NodeRef difference = make_node(ScalarOp::kSub, type, {x, whole}, line);
  NodeRef infinite = make_node(ScalarOp::kEq, ScalarType{DType::kBool, false},
                               {make_node(ScalarOp::kAbs, type, {x}, line),
                                make_constant(std::numeric_limits<double>::infinity(), type, line)},
                               line);
  NodeRef magnitude = make_node(ScalarOp::kSelect, type, {infinite, make_constant(0.0, type, line), difference}, line);
  NodeRef fraction = make_math(MathFn::kCopysign, type, {magnitude, x}, line);
  return Values{fraction, whole};
}

}  // namespace sejits::specializers
