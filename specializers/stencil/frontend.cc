#include "specializers/stencil/frontend.h"

#include <cerrno>
#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "specializers/common/expr_frontend.h"
#include "specializers/stencil/constant_arrays.h"
#include "specializers/stencil/plan.h"

namespace sejits::specializers::stencil {

std::string boundary_name(Boundary boundary) {
  switch (boundary) {
    case Boundary::kConstant: return "constant";
    case Boundary::kNearest: return "nearest";
    case Boundary::kReflect: return "reflect";
    case Boundary::kMirror: return "mirror";
    case Boundary::kWrap: return "wrap";
    case Boundary::kSkip: return "skip";
  }
  return "?";
}

std::string StencilIr::describe() const {
  return absl::StrCat("rank ", rank, ", boundary ", boundary_name(boundary), ", halo -[", absl::StrJoin(low, ","), "] +[",
                      absl::StrJoin(high, ","), "] -> ", type_name(result), ": ", to_string(value),
                      border ? absl::StrCat("; border: ", to_string(border)) : "");
}

namespace {

absl::StatusOr<Boundary> parse_boundary(const SourceContext &context, int line, const std::map<std::string, std::string> &params) {
  auto it = params.find("boundary");
  if (it == params.end()) return Boundary::kConstant;
  for (Boundary mode : {Boundary::kConstant, Boundary::kNearest, Boundary::kReflect, Boundary::kMirror, Boundary::kWrap,
                        Boundary::kSkip}) {
    if (it->second == boundary_name(mode)) return mode;
  }
  return user_error(context, line,
                    absl::StrCat("unknown boundary '", it->second.substr(0, 32),
                                 "' (constant, nearest, reflect, mirror, wrap or skip)"));
}

absl::StatusOr<double> parse_cval(const SourceContext &context, int line, const std::map<std::string, std::string> &params) {
  auto it = params.find("cval");
  if (it == params.end()) return 0.0;
  errno = 0;
  char *end = nullptr;
  double value = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0' || errno == ERANGE) {
    return user_error(context, line, absl::StrCat("cval must be a number, got '", it->second.substr(0, 32), "'"));
  }
  return value;
}

// neighborhood=((lo, hi), ...): the stencil's declared extent per axis, as
// "lo,hi;lo,hi". Empty when not given.
absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> parse_neighborhood(const SourceContext &context, int line,
                                                                            const std::map<std::string, std::string> &params,
                                                                            int rank) {
  std::vector<std::pair<int64_t, int64_t>> extent;
  auto it = params.find("neighborhood");
  if (it == params.end()) return extent;
  for (absl::string_view axis : absl::StrSplit(it->second, ';')) {
    std::pair<std::string, std::string> bounds = absl::StrSplit(axis, absl::MaxSplits(',', 1));
    int64_t low = 0, high = 0;
    if (!absl::SimpleAtoi(bounds.first, &low) || !absl::SimpleAtoi(bounds.second, &high) || low > 0 || high < 0 ||
        low < -1024 || high > 1024) {
      return user_error(context, line, "neighborhood must give (low, high) per axis with low <= 0 <= high, within 1024");
    }
    extent.emplace_back(low, high);
  }
  if (static_cast<int>(extent.size()) != rank) {
    return user_error(context, line, absl::StrCat("neighborhood gives ", extent.size(), " axes; the grid has rank ", rank));
  }
  return extent;
}

// Reads of `a[i, j]` at constant offsets from the current point.
class RelativeIndexing {
 public:
  RelativeIndexing(const SourceContext &context, int rank, const std::map<int, std::string> &array_names)
      : context_(context), rank_(rank), array_names_(array_names) {}

  absl::StatusOr<NodeRef> operator()(ExprFrontend &frontend, const v1::Subscript &subscript,
                                     const Environment &environment, int line) const {
    if (is_constant_array_read(subscript)) return read_constant_array(frontend, context_, subscript, environment, line);
    if (subscript.value().has_unsupported()) {
      return user_error(context_, line, absl::StrCat("indexing ", subscript.value().unsupported().what(),
                                                     " is not supported: a stencil reads its array arguments, and "
                                                     "NumPy arrays, lists or tuples of at most 4096 numbers as constants "
                                                     "(weights); pass a larger array as an argument"));
    }
    if (!subscript.value().has_name()) {
      return user_error(context_, line, "only a kernel argument can be indexed, as a[offset, ...]");
    }
    const std::string &name = subscript.value().name().id();
    auto it = environment.find(name);
    bool is_array = it != environment.end() && it->second->op == ScalarOp::kParam && it->second->offsets.empty() &&
                    array_names_.count(it->second->param_index);
    if (!is_array) return user_error(context_, line, absl::StrCat("'", name.substr(0, 64), "' is not an array argument and cannot be indexed"));
    std::vector<const v1::Expr *> indices;
    if (subscript.slice().has_tuple()) {
      for (const auto &element : subscript.slice().tuple().elts()) indices.push_back(&element);
    } else {
      indices.push_back(&subscript.slice());
    }
    if (static_cast<int>(indices.size()) != rank_) {
      return user_error(context_, line, absl::StrCat("'", name, "' is indexed with ", indices.size(), " relative indices; the grid has rank ",
                                                     rank_, ", so write one per axis"));
    }
    std::vector<int64_t> offsets;
    for (const v1::Expr *index : indices) {
      auto value = frontend.translate_expr(*index, environment);
      if (!value.ok()) return value.status();
      const ScalarNode &node = **value;
      if (node.op != ScalarOp::kConstant || !std::holds_alternative<int64_t>(node.value) || !node.type.weak) {
        return user_error(context_, line, absl::StrCat("the relative indices of '", name,
                                                       "' must be integer constants (like a[0, -1]); a value computed at run "
                                                       "time would need a neighborhood="));
      }
      int64_t offset = std::get<int64_t>(node.value);
      if (offset < -1024 || offset > 1024) return user_error(context_, line, "relative indices are limited to -1024..1024");
      offsets.push_back(offset);
    }
    return make_relative_read(it->second->param_index, it->second->type, std::move(offsets), line);
  }

 private:
  const SourceContext &context_;
  int rank_;
  const std::map<int, std::string> &array_names_;
};

// Which of the body's `count` values this kernel computes: the "output"
// option, required when there are several.
absl::StatusOr<size_t> chosen_output(const SourceContext &context, int line, const std::map<std::string, std::string> &params,
                                     size_t count) {
  auto it = params.find("output");
  if (it == params.end()) {
    if (count == 1) return size_t{0};
    return user_error(context, line, absl::StrCat(context.kernel_name, " returns ", count,
                                                  " values: the client asks for each with the 'output' option"));
  }
  size_t output = 0;
  if (!absl::SimpleAtoi(it->second, &output) || output >= count) {
    return user_error(context, line, absl::StrCat("output must be an index below ", count, ", got '",
                                                  it->second.substr(0, 32), "'"));
  }
  return output;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StencilIr>> build_stencil_ir(const SpecializationRequest &request) {
  if (!request.function) return absl::InvalidArgumentError("a stencil request needs the function's AST");
  const v1::FunctionAst &function = *request.function;
  SourceContext context = source_context(function, "stencil kernel");
  const int line = function.pos().line();
  if (function.args_size() != static_cast<int>(request.args.size())) {
    return user_error(context, line, absl::StrCat(context.kernel_name, " takes ", function.args_size(),
                                                  " arguments, called with ", request.args.size()));
  }
  if (request.args.empty() || request.args[0].kind != ArgKind::kArray) {
    return user_error(context, line, "the first argument of a stencil is the grid: an array");
  }
  if (absl::Status names = check_parameter_names(context, function); !names.ok()) return names;
  auto ir = std::make_unique<StencilIr>();
  ir->rank = request.args[0].rank;
  if (ir->rank < 1 || ir->rank > kMaxStencilRank) {
    return user_error(context, line, absl::StrCat("stencil grids have rank 1 to ", kMaxStencilRank, ", got ", ir->rank));
  }
  auto boundary = parse_boundary(context, line, request.params);
  if (!boundary.ok()) return boundary.status();
  ir->boundary = *boundary;
  auto cval = parse_cval(context, line, request.params);
  if (!cval.ok()) return cval.status();
  ir->cval = *cval;
  for (const auto &[name, value] : request.params) {
    if (name != "boundary" && name != "cval" && name != "neighborhood" && name != "output" && !is_variant_param(name)) {
      return user_error(context, line, absl::StrCat("unknown stencil option '", name.substr(0, 32), "'"));
    }
  }
  auto neighborhood = parse_neighborhood(context, line, request.params, ir->rank);
  if (!neighborhood.ok()) return neighborhood.status();

  Environment environment;
  std::map<int, std::string> array_names;
  for (int k = 0; k < function.args_size(); ++k) {
    const ArgSpec &spec = request.args[k];
    const std::string &name = function.args(k).name();
    if (name == "out") return user_error(context, line, "a stencil parameter cannot be named 'out' (it is the output keyword)");
    if (!is_supported_dtype(spec.dtype_code)) {
      return user_error(context, line, absl::StrCat("argument '", name, "' has a dtype sejits does not support"));
    }
    DType dtype = static_cast<DType>(spec.dtype_code);
    if (spec.kind == ArgKind::kArray) {
      if (spec.rank != ir->rank || spec.shape != request.args[0].shape) {
        return user_error(context, line, absl::StrCat("argument '", name, "' must have the grid's shape"));
      }
      array_names[k] = name;
      ir->parameters.push_back({ArgKind::kArray, ScalarType{dtype, false}});
    } else {
      if (spec.weak && !is_python_scalar_dtype(dtype)) {
        return user_error(context, line, absl::StrCat("argument '", name, "': a Python scalar must be described as ",
                                                    kPythonScalarDtypes));
      }
      ir->parameters.push_back({ArgKind::kScalar, ScalarType{dtype, spec.weak}});
    }
    environment[name] = make_param(k, ir->parameters.back().type, line);
  }

  ExprFrontend frontend(context, RelativeIndexing(context, ir->rank, array_names));
  auto values = frontend.translate_body_values(function.body(), environment, line);
  if (!values.ok()) return values.status();
  // A stencil returning several values (`return a, b`) is one kernel per
  // output, chosen by the "output" option; the halo is every output's.
  auto output = chosen_output(context, line, request.params, values->size());
  if (!output.ok()) return output.status();
  const NodeRef value = (*values)[*output];

  ir->low.assign(ir->rank, 0);
  ir->high.assign(ir->rank, 0);
  for (int d = 0; d < ir->rank && !neighborhood->empty(); ++d) {  // declared extent: the halo at least
    ir->low[d] = -(*neighborhood)[d].first;
    ir->high[d] = (*neighborhood)[d].second;
  }
  std::vector<NodeRef> nodes;
  for (const NodeRef &each : *values) {
    auto order = topological_order(each);
    nodes.insert(nodes.end(), order.begin(), order.end());
  }
  for (const NodeRef &node : nodes) {
    if (node->op != ScalarOp::kParam || !array_names.count(node->param_index)) continue;
    if (node->offsets.empty()) {
      std::vector<std::string> zeros(ir->rank, "0");
      return user_error(context, node->line, absl::StrCat("the array '", array_names[node->param_index],
                                                          "' is used without a relative index; write ",
                                                          array_names[node->param_index], "[", absl::StrJoin(zeros, ", "),
                                                          "] for the current point"));
    }
    for (int d = 0; d < ir->rank; ++d) {
      if (!neighborhood->empty() &&
          (node->offsets[d] < (*neighborhood)[d].first || node->offsets[d] > (*neighborhood)[d].second)) {
        return user_error(context, node->line,
                          absl::StrCat("relative index ", node->offsets[d], " along axis ", d, " is outside neighborhood (",
                                       (*neighborhood)[d].first, ", ", (*neighborhood)[d].second, ")"));
      }
      ir->low[d] = std::max(ir->low[d], -node->offsets[d]);
      ir->high[d] = std::max(ir->high[d], node->offsets[d]);
    }
  }
  ir->result = strengthen(value->type);
  ir->value = cast_to(value, ir->result);
  return ir;
}

}  // namespace sejits::specializers::stencil
