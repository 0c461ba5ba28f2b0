// NumPy ufuncs (and their math-module and builtin cousins) that the front
// end writes out in operations the IR already has: every platform then
// computes them with no new lowering. Each follows NumPy's loop for its
// operands (result dtype, NaN, infinities, -0.0) as its C source does.
#include <cmath>
#include <limits>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "specializers/common/expr_frontend.h"
#include "specializers/common/type_rules.h"

namespace sejits::specializers {
namespace {

struct UfuncSpec {
  std::vector<std::string> params;  // by position; keywords bind by these names
  int required = 1;
};

// name -> parameters, for "numpy.<name>", "math.<name>" and "builtins.<name>".
const std::map<std::string, UfuncSpec> &expansions() {
  static const std::map<std::string, UfuncSpec> kSpecs = {
      {"numpy.square", {{"x"}}},
      {"numpy.negative", {{"x"}}},
      {"numpy.positive", {{"x"}}},
      {"numpy.reciprocal", {{"x"}}},
      {"numpy.power", {{"x1", "x2"}, 2}},
      {"numpy.pow", {{"x1", "x2"}, 2}},
      {"numpy.float_power", {{"x1", "x2"}, 2}},
      {"numpy.remainder", {{"x1", "x2"}, 2}},
      {"numpy.mod", {{"x1", "x2"}, 2}},
      {"numpy.fmod", {{"x1", "x2"}, 2}},
      {"math.fmod", {{"x", "y"}, 2}},
      {"numpy.isnan", {{"x"}}},
      {"numpy.isinf", {{"x"}}},
      {"numpy.isfinite", {{"x"}}},
      {"math.isnan", {{"x"}}},
      {"math.isinf", {{"x"}}},
      {"math.isfinite", {{"x"}}},
      {"numpy.signbit", {{"x"}}},
      {"numpy.sign", {{"x"}}},
      {"numpy.clip", {{"a", "a_min", "a_max"}, 1}},
      {"numpy.fmin", {{"x1", "x2"}, 2}},
      {"numpy.fmax", {{"x1", "x2"}, 2}},
      {"numpy.deg2rad", {{"x"}}},
      {"numpy.radians", {{"x"}}},
      {"numpy.rad2deg", {{"x"}}},
      {"numpy.degrees", {{"x"}}},
      {"math.radians", {{"x"}}},
      {"math.degrees", {{"x"}}},
      {"numpy.heaviside", {{"x1", "x2"}, 2}},
      {"numpy.round", {{"a", "decimals"}}},
      {"numpy.around", {{"a", "decimals"}}},
      {"numpy.rint", {{"x"}}},
      {"builtins.round", {{"number", "ndigits"}}},
      {"numpy.logaddexp", {{"x1", "x2"}, 2}},
      {"numpy.logaddexp2", {{"x1", "x2"}, 2}},
      {"numpy.nan_to_num", {{"x", "copy", "nan", "posinf", "neginf"}}},
      {"numpy.exp2", {{"x"}}},
      {"numpy.cbrt", {{"x"}}},
      {"math.exp2", {{"x"}}},
      {"math.cbrt", {{"x"}}},
      {"math.erf", {{"x"}}},
      {"math.erfc", {{"x"}}},
      {"math.gamma", {{"x"}}},
      {"math.lgamma", {{"x"}}},
      // scipy.special's ufuncs of one float, where the kernel imported them.
      {"scipy.special.erf", {{"x"}}},
      {"scipy.special.erfc", {{"x"}}},
      {"scipy.special.gamma", {{"x"}}},
      {"scipy.special.gammaln", {{"x"}}},
      {"scipy.special.cbrt", {{"x"}}},
      {"scipy.special.exp2", {{"x"}}},
      {"scipy.special.expit", {{"x"}}},
  };
  return kSpecs;
}

bool is_none(const v1::Expr &expr) { return expr.has_constant() && expr.constant().value_case() == v1::Constant::kNoneValue; }

}  // namespace

bool ExprFrontend::is_expanded_ufunc(const std::string &qualified) { return expansions().count(qualified) > 0; }

std::vector<std::string> expanded_ufunc_names() {
  std::vector<std::string> names;
  for (const auto &[name, spec] : expansions()) names.push_back(name);
  return names;
}

// A constant of the (strong) type `type`.
static NodeRef typed_constant(double value, ScalarType type, int line) {
  if (is_float(type.dtype)) {
    return make_constant(type.dtype == DType::kFloat32 ? static_cast<double>(static_cast<float>(value)) : value, type, line);
  }
  if (type.dtype == DType::kBool) return make_constant(value != 0, type, line);
  if (type.dtype == DType::kUInt64) return make_constant(static_cast<uint64_t>(value), type, line);
  return make_constant(static_cast<int64_t>(value), type, line);
}

// `value` for every element of x (np.isnan of integers, np.signbit of
// unsigned ones): x == x or x != x, an array of x's shape where x is one,
// not a lone constant (np.isnan(int array) is an array of False).
static NodeRef same_for_every_element(bool value, const NodeRef &x, ScalarType type, int line) {
  if (x->op == ScalarOp::kConstant) return make_constant(value, type, line);
  return make_node(value ? ScalarOp::kEq : ScalarOp::kNe, type, {x, x}, line);
}

absl::StatusOr<NodeRef> ExprFrontend::translate_ufunc(const std::string &qualified, const v1::Call &call,
                                                      const Environment &environment, int line) {
  const UfuncSpec &spec = expansions().at(qualified);
  const std::string module = qualified.substr(0, qualified.rfind('.'));
  const std::string name = qualified.substr(qualified.rfind('.') + 1);
  const bool scipy_function = module == "scipy.special";
  const bool numpy_function = module == "numpy" || scipy_function;
  const WeakResult weak_result = numpy_function ? WeakResult::kMakeStrong : WeakResult::kKeepWeak;
  // Bind the arguments to the parameters (None: not given).
  std::vector<const v1::Expr *> bound(spec.params.size(), nullptr);
  if (call.args_size() > static_cast<int>(spec.params.size())) {
    return error(line, absl::StrCat("'", qualified, "' takes at most ", spec.params.size(), " arguments here, got ", call.args_size()));
  }
  for (int k = 0; k < call.args_size(); ++k) bound[k] = &call.args(k);
  for (const auto &keyword : call.keywords()) {
    auto it = std::find(spec.params.begin(), spec.params.end(), keyword.arg());
    if (it == spec.params.end() || keyword.arg() == spec.params[0]) {
      return error(line, absl::StrCat("the keyword argument '", keyword.arg(), "=' to '", qualified, "' is not supported (it takes ",
                                      absl::StrJoin(spec.params.begin() + 1, spec.params.end(), ", "), ")"));
    }
    bound[it - spec.params.begin()] = &keyword.value();
  }
  std::vector<NodeRef> args(spec.params.size());
  for (size_t k = 0; k < bound.size(); ++k) {
    if (bound[k] == nullptr || is_none(*bound[k])) {
      if (static_cast<int>(k) < spec.required) return error(line, absl::StrCat("'", qualified, "' needs its argument '", spec.params[k], "'"));
      continue;
    }
    auto value = translate_expr(*bound[k], environment);
    if (!value.ok()) return value.status();
    args[k] = *value;
  }
  if (absl::Status size = check_size(line); !size.ok()) return size;
  auto fail = [&](const std::string &message) { return error(line, absl::StrCat("'", qualified, "': ", message)); };
  // The float loop NumPy picks for the operands (float16 refused).
  auto float_loop = [&](std::vector<NodeRef> operands) -> absl::StatusOr<ScalarType> {
    // scipy.special lists its float64 loop first: every input but float32 takes it.
    if (scipy_function) return ScalarType{operands[0]->type == ScalarType{DType::kFloat32, false} ? DType::kFloat32 : DType::kFloat64, false};
    std::vector<ScalarType> types;
    for (const auto &operand : operands) types.push_back(operand->type);
    auto resolved = resolve_math(MathFn::kExp, types, weak_result);
    if (!resolved.ok()) return fail(std::string(resolved.status().message()).substr(std::string(resolved.status().message()).find(' ') + 1));
    return resolved->operands;
  };
  auto math = [&](MathFn fn, std::vector<NodeRef> operands) -> absl::StatusOr<NodeRef> {
    auto loop = float_loop(operands);
    if (!loop.ok()) return loop.status();
    for (auto &operand : operands) operand = cast_to(operand, *loop);
    ScalarType result = *loop;
    result.weak = result.weak && weak_result == WeakResult::kKeepWeak;
    bool all_weak = true;
    for (const auto &operand : operands) all_weak = all_weak && operand->type.weak;
    result.weak = all_weak && weak_result == WeakResult::kKeepWeak;
    return make_math(fn, result, std::move(operands), line);
  };
  auto node_of = [&](absl::StatusOr<NodeRef> value) { return value; };
  auto bool_result = [&](const NodeRef &x) { return ScalarType{DType::kBool, x->type.weak && !numpy_function}; };
  NodeRef x = args[0];

  if (name == "exp2") return math(MathFn::kExp2, {x});
  if (name == "cbrt") return math(MathFn::kCbrt, {x});
  if (name == "erf") return math(MathFn::kErf, {x});
  if (name == "erfc") return math(MathFn::kErfc, {x});
  if (name == "gamma") return math(MathFn::kGamma, {x});
  if (name == "lgamma" || name == "gammaln") return math(MathFn::kLgamma, {x});
  if (name == "expit") {  // 1 / (1 + exp(-x)), in the loop's float type
    auto loop = float_loop({x});
    if (!loop.ok()) return loop.status();
    NodeRef one = typed_constant(1.0, *loop, line);
    auto exp_minus_x = math(MathFn::kExp, {make_node(ScalarOp::kNeg, *loop, {cast_to(x, *loop)}, line)});
    if (!exp_minus_x.ok()) return exp_minus_x.status();
    return make_node(ScalarOp::kTrueDiv, *loop, {one, make_node(ScalarOp::kAdd, *loop, {one, *exp_minus_x}, line)}, line);
  }
  if (name == "rint") return math(MathFn::kRint, {x});
  if (name == "power" || name == "pow") return binary(ScalarOp::kPow, x, args[1], line, true);
  if (name == "remainder" || name == "mod") return binary(ScalarOp::kMod, x, args[1], line, true);
  if (name == "float_power") {
    ScalarType float64{DType::kFloat64, false};
    return binary(ScalarOp::kPow, cast_to(x, float64), cast_to(args[1], float64), line, true);
  }
  if (name == "fmod") {
    if (numpy_function && !is_float(result_type(x->type, args[1]->type).dtype)) {
      return fail("np.fmod of integers is not supported (C's remainder); use np.remainder or %, or floats");
    }
    if (!numpy_function) {  // math.fmod: Python floats
      x = cast_to(x, ScalarType{is_float(x->type.dtype) ? x->type.dtype : DType::kFloat64, x->type.weak});
    }
    return math(MathFn::kFmod, {x, args[1]});
  }
  if (name == "negative" || name == "positive") {
    if (x->type.dtype == DType::kBool) return fail("booleans have no negative or positive in NumPy (use ~ or np.logical_not)");
    const ScalarType type = strengthen(x->type);
    if (name == "positive") return make_node(ScalarOp::kCast, type, {cast_to(x, type)}, line);  // a new array: never the argument itself
    auto resolved = resolve_operator(ScalarOp::kNeg, {type});
    if (!resolved.ok()) return fail(std::string(resolved.status().message()));
    return make_node(ScalarOp::kNeg, resolved->result, {cast_to(x, resolved->operands)}, line);
  }
  if (name == "square") {
    if (x->type.dtype == DType::kBool && !x->type.weak) x = cast_to(x, ScalarType{DType::kInt8, false});
    return binary(ScalarOp::kMul, x, x, line, true);
  }
  if (name == "reciprocal") {
    if (!is_float(x->type.dtype)) return fail("np.reciprocal of integers (1 // x in NumPy) is not supported; use 1 / x");
    ScalarType type = strengthen(x->type);
    return binary(ScalarOp::kTrueDiv, typed_constant(1, type, line), x, line, true);
  }
  if (name == "isnan" || name == "isinf" || name == "isfinite") {
    if (!is_float(x->type.dtype)) return same_for_every_element(name == "isfinite", x, bool_result(x), line);
    const NodeRef inf = typed_constant(std::numeric_limits<double>::infinity(), strengthen(x->type), line);
    NodeRef magnitude = make_node(ScalarOp::kAbs, x->type, {x}, line);
    if (name == "isnan") return make_node(ScalarOp::kNe, bool_result(x), {x, x}, line);
    return make_node(name == "isinf" ? ScalarOp::kEq : ScalarOp::kLt, bool_result(x), {cast_to(magnitude, strengthen(x->type)), inf}, line);
  }
  if (name == "signbit") {
    if (!is_float(x->type.dtype)) {
      if (!is_signed_integer(x->type.dtype)) return same_for_every_element(false, x, ScalarType{DType::kBool, false}, line);
      return make_node(ScalarOp::kLt, ScalarType{DType::kBool, false}, {x, typed_constant(0, x->type, line)}, line);
    }
    ScalarType type = strengthen(x->type);
    NodeRef one = make_math(MathFn::kCopysign, type, {typed_constant(1, type, line), cast_to(x, type)}, line);
    return make_node(ScalarOp::kLt, ScalarType{DType::kBool, false}, {one, typed_constant(0, type, line)}, line);
  }
  if (name == "sign") {
    if (x->type.dtype == DType::kBool) return fail("NumPy's sign has no loop for bool (TypeError)");
    ScalarType type = strengthen(x->type);
    x = cast_to(x, type);
    auto is = [&](ScalarOp op) { return make_node(op, ScalarType{DType::kBool, false}, {x, typed_constant(0, type, line)}, line); };
    NodeRef value = x;  // NaN stays NaN; 0 stays 0
    if (is_float(type.dtype)) value = make_node(ScalarOp::kSelect, type, {is(ScalarOp::kEq), typed_constant(0, type, line), x}, line);
    if (kind_of(type.dtype) != Kind::kUnsigned) {
      value = make_node(ScalarOp::kSelect, type, {is(ScalarOp::kLt), typed_constant(-1, type, line), value}, line);
    }
    return make_node(ScalarOp::kSelect, type, {is(ScalarOp::kGt), typed_constant(1, type, line), value}, line);
  }
  if (name == "clip") {
    NodeRef value = x;
    if (!args[1] && !args[2]) return fail("give a_min or a_max");
    if (args[1]) {
      auto clipped = binary(ScalarOp::kMaximum, value, python_int_beside(args[1], x), line, true);
      if (!clipped.ok()) return clipped;
      value = *clipped;
    }
    if (args[2]) {
      auto clipped = binary(ScalarOp::kMinimum, value, python_int_beside(args[2], x), line, true);
      if (!clipped.ok()) return clipped;
      value = *clipped;
    }
    return cast_to(value, strengthen(value->type));
  }
  if (name == "fmin" || name == "fmax") {
    auto extreme = binary(name == "fmax" ? ScalarOp::kMaximum : ScalarOp::kMinimum, x, args[1], line, true);
    if (!extreme.ok() || !is_float((*extreme)->type.dtype) || (*extreme)->op != (name == "fmax" ? ScalarOp::kMaximum : ScalarOp::kMinimum)) {
      return extreme;
    }
    // NaN is ignored: the other operand wins (NaN only when both are).
    const NodeRef &a = (*extreme)->operands[0], &b = (*extreme)->operands[1];
    const ScalarType type = (*extreme)->type, boolean{DType::kBool, false};
    NodeRef b_nan = make_node(ScalarOp::kNe, boolean, {b, b}, line), a_nan = make_node(ScalarOp::kNe, boolean, {a, a}, line);
    NodeRef value = make_node(ScalarOp::kSelect, type, {b_nan, a, *extreme}, line);
    return make_node(ScalarOp::kSelect, type, {a_nan, b, value}, line);
  }
  if (name == "deg2rad" || name == "radians" || name == "rad2deg" || name == "degrees") {
    auto loop = float_loop({x});
    if (!loop.ok()) return loop.status();
    const bool to_radians = name == "deg2rad" || name == "radians";
    // NumPy's constant, computed in the loop's type: x * (pi / 180)
    double factor = loop->dtype == DType::kFloat32
                        ? static_cast<double>(to_radians ? std::numbers::pi_v<float> / 180.0f : 180.0f / std::numbers::pi_v<float>)
                        : (to_radians ? std::numbers::pi / 180.0 : 180.0 / std::numbers::pi);
    return binary(ScalarOp::kMul, cast_to(x, *loop), typed_constant(factor, ScalarType{loop->dtype, false}, line), line, numpy_function);
  }
  if (name == "heaviside") {
    auto loop = float_loop({x, args[1]});
    if (!loop.ok()) return loop.status();
    ScalarType type{loop->dtype, false}, boolean{DType::kBool, false};
    NodeRef a = cast_to(x, type), h = cast_to(args[1], type);
    auto compare = [&](ScalarOp op) { return make_node(op, boolean, {a, typed_constant(0, type, line)}, line); };
    NodeRef value = make_node(ScalarOp::kSelect, type, {compare(ScalarOp::kGt), typed_constant(1, type, line), h}, line);
    value = make_node(ScalarOp::kSelect, type, {compare(ScalarOp::kLt), typed_constant(0, type, line), value}, line);
    return make_node(ScalarOp::kSelect, type, {make_node(ScalarOp::kNe, boolean, {a, a}, line), a, value}, line);
  }
  if (name == "round" || name == "around") {
    // builtins.round(x): a Python int, rounded half to even; with ndigits, as np.round.
    const bool python_round = module == "builtins";
    int64_t decimals = 0;
    if (args[1]) {
      auto constants = args[1]->op == ScalarOp::kConstant ? std::vector<NodeRef>{args[1]} : std::vector<NodeRef>{};
      if (constants.empty() || !std::holds_alternative<int64_t>(args[1]->value)) {
        return fail("the number of decimals must be an integer constant");
      }
      decimals = std::get<int64_t>(args[1]->value);
      if (decimals > 300 || decimals < -300) return fail("decimals out of range");
    }
    if (x->type.dtype == DType::kBool) return fail("rounding a bool gives float16 in NumPy, which sejits does not support");
    ScalarType result_type_ = python_round ? x->type : strengthen(x->type);
    if (!is_float(x->type.dtype)) {
      if (decimals >= 0) return cast_to(x, result_type_);
      // NumPy rounds integers in float64 and casts back.
      ScalarType float64{DType::kFloat64, false};
      double factor = std::pow(10.0, static_cast<double>(-decimals));
      NodeRef scaled = make_node(ScalarOp::kTrueDiv, float64, {cast_to(x, float64), typed_constant(factor, float64, line)}, line);
      NodeRef rounded = make_math(MathFn::kRint, float64, {scaled}, line);
      return cast_to(make_node(ScalarOp::kMul, float64, {rounded, typed_constant(factor, float64, line)}, line), result_type_);
    }
    ScalarType type{x->type.dtype, result_type_.weak};
    if (python_round && !args[1]) {  // round(x): a Python int
      return cast_to(make_math(MathFn::kRint, type, {x}, line), ScalarType{DType::kInt64, true});
    }
    if (decimals == 0) return make_math(MathFn::kRint, type, {cast_to(x, type)}, line);
    NodeRef factor = typed_constant(std::pow(10.0, static_cast<double>(decimals >= 0 ? decimals : -decimals)), ScalarType{type.dtype, false}, line);
    factor = cast_to(factor, type);
    ScalarOp scale = decimals > 0 ? ScalarOp::kMul : ScalarOp::kTrueDiv, unscale = decimals > 0 ? ScalarOp::kTrueDiv : ScalarOp::kMul;
    NodeRef rounded = make_math(MathFn::kRint, type, {make_node(scale, type, {cast_to(x, type), factor}, line)}, line);
    return make_node(unscale, type, {rounded, factor}, line);
  }
  if (name == "logaddexp" || name == "logaddexp2") {
    auto loop = float_loop({x, args[1]});
    if (!loop.ok()) return loop.status();
    const ScalarType type{loop->dtype, false}, boolean{DType::kBool, false};
    const bool base2 = name == "logaddexp2";
    NodeRef a = cast_to(x, type), b = cast_to(args[1], type);
    auto op = [&](ScalarOp o, NodeRef l, NodeRef r) { return make_node(o, type, {std::move(l), std::move(r)}, line); };
    // log(e^a + e^b) = max + log1p(e^-|a-b|); base 2: log2(1 + v) = log1p(v) / ln 2
    auto log1p_of_exp = [&](NodeRef d) {
      NodeRef e = make_math(base2 ? MathFn::kExp2 : MathFn::kExp, type, {d}, line);
      NodeRef l = make_math(MathFn::kLog1p, type, {e}, line);
      return base2 ? op(ScalarOp::kMul, l, typed_constant(std::numbers::log2e, type, line)) : l;
    };
    NodeRef same = op(ScalarOp::kAdd, a, typed_constant(base2 ? 1.0 : std::numbers::ln2, type, line));
    NodeRef difference = op(ScalarOp::kSub, a, b);
    NodeRef zero = typed_constant(0, type, line);
    NodeRef negated = make_node(ScalarOp::kNeg, type, {difference}, line);
    NodeRef value = make_node(ScalarOp::kSelect, type,
                              {make_node(ScalarOp::kLe, boolean, {difference, zero}, line), op(ScalarOp::kAdd, b, log1p_of_exp(difference)), difference}, line);
    value = make_node(ScalarOp::kSelect, type,
                      {make_node(ScalarOp::kGt, boolean, {difference, zero}, line), op(ScalarOp::kAdd, a, log1p_of_exp(negated)), value}, line);
    return make_node(ScalarOp::kSelect, type, {make_node(ScalarOp::kEq, boolean, {a, b}, line), same, value}, line);
  }
  if (name == "nan_to_num") {
    ScalarType type = strengthen(x->type);
    x = cast_to(x, type);
    if (!is_float(type.dtype)) return x;
    const double largest = type.dtype == DType::kFloat32 ? std::numeric_limits<float>::max() : std::numeric_limits<double>::max();
    auto replacement = [&](const NodeRef &given, double otherwise) { return given ? cast_to(given, type) : typed_constant(otherwise, type, line); };
    const ScalarType boolean{DType::kBool, false};
    const NodeRef inf = typed_constant(std::numeric_limits<double>::infinity(), type, line);
    NodeRef value = make_node(ScalarOp::kSelect, type,
                              {make_node(ScalarOp::kEq, boolean, {x, make_node(ScalarOp::kNeg, type, {inf}, line)}, line), replacement(args[4], -largest), x}, line);
    value = make_node(ScalarOp::kSelect, type, {make_node(ScalarOp::kEq, boolean, {x, inf}, line), replacement(args[3], largest), value}, line);
    return make_node(ScalarOp::kSelect, type, {make_node(ScalarOp::kNe, boolean, {x, x}, line), replacement(args[2], 0.0), value}, line);
  }
  (void)node_of;
  return fail("not expanded (an internal error)");
}

}  // namespace sejits::specializers
