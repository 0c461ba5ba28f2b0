#include "specializers/elementwise/frontend.h"

#include "absl/strings/str_cat.h"
#include "codegen/include/sejits/kernel_abi.h"
#include "specializers/common/expr_frontend.h"

namespace sejits::specializers::elementwise {

std::string ElementwiseIr::describe() const {
  std::string text = absl::StrCat(parameters.size(), " parameters ->");
  for (size_t k = 0; k < outputs.size(); ++k) {
    absl::StrAppend(&text, k == 0 ? " " : "; ", type_name(outputs[k].type), ": ", to_string(outputs[k].value));
  }
  return text;
}

namespace {

absl::StatusOr<Parameter> describe_parameter(const SourceContext &context, const v1::Argument &argument,
                                             const ArgSpec &spec) {
  const int line = argument.pos().line();
  if (!is_supported_dtype(spec.dtype_code)) {
    return user_error(context, line,
                      absl::StrCat("argument '", argument.name(), "' has a dtype sejits does not support (",
                                   v1::DType_IsValid(spec.dtype_code) ? v1::DType_Name(static_cast<v1::DType>(spec.dtype_code))
                                                                       : absl::StrCat("code ", spec.dtype_code),
                                   "); supported: bool, int8..int64, uint8..uint64, float32, float64"));
  }
  DType dtype = static_cast<DType>(spec.dtype_code);
  if (spec.kind == ArgKind::kScalar) {
    if (spec.weak && !is_python_scalar_dtype(dtype)) {
      return user_error(context, line, absl::StrCat("argument '", argument.name(), "': a Python scalar must be described as ",
                                                    kPythonScalarDtypes));
    }
    return Parameter{ArgKind::kScalar, ScalarType{dtype, spec.weak}};
  }
  if (spec.kind != ArgKind::kArray) {
    return user_error(context, line, absl::StrCat("argument '", argument.name(), "' has no kind (array or scalar)"));
  }
  if (spec.rank < 0 || spec.rank > SEJITS_MAX_RANK) {
    return user_error(context, line, absl::StrCat("argument '", argument.name(), "' has rank ", spec.rank,
                                                  "; element-wise kernels take ranks 0 to ", SEJITS_MAX_RANK));
  }
  return Parameter{ArgKind::kArray, ScalarType{dtype, false}};
}

}  // namespace

absl::StatusOr<std::unique_ptr<ElementwiseIr>> build_elementwise_ir(const SpecializationRequest &request) {
  if (!request.function) return absl::InvalidArgumentError("an element-wise request needs the function's AST");
  const v1::FunctionAst &function = *request.function;
  SourceContext context = source_context(function, "element-wise kernel");
  if (function.args_size() != static_cast<int>(request.args.size())) {
    return user_error(context, function.pos().line(),
                      absl::StrCat(context.kernel_name, " takes ", function.args_size(), " arguments, called with ",
                                   request.args.size()));
  }
  if (function.args_size() > 64) {
    return user_error(context, function.pos().line(), "element-wise kernels take at most 64 arguments");
  }
  if (absl::Status names = check_parameter_names(context, function); !names.ok()) return names;
  int arrays = 0;
  for (const auto &arg : request.args) arrays += arg.kind == ArgKind::kArray;
  if (arrays > SEJITS_MAX_RANK) {  // the broadcasting iterator holds the arrays and the output
    return user_error(context, function.pos().line(),
                      absl::StrCat(context.kernel_name, " is called with ", arrays, " arrays; at most ", SEJITS_MAX_RANK,
                                   " array arguments are supported (scalars do not count)"));
  }
  auto ir = std::make_unique<ElementwiseIr>();
  Environment environment;
  for (int k = 0; k < function.args_size(); ++k) {
    auto parameter = describe_parameter(context, function.args(k), request.args[k]);
    if (!parameter.ok()) return parameter.status();
    ir->parameters.push_back(*parameter);
    environment[function.args(k).name()] = make_param(k, parameter->type, function.args(k).pos().line());
  }
  ExprFrontend frontend(context);
  auto values = frontend.translate_body_values(function.body(), environment, function.pos().line());
  if (!values.ok()) return values.status();
  if (arrays + static_cast<int>(values->size()) > SEJITS_MAX_RANK + 1) {  // the iterator's operand limit
    return user_error(context, function.pos().line(),
                      absl::StrCat(context.kernel_name, " has ", arrays, " array arguments and ", values->size(),
                                   " outputs; at most ", SEJITS_MAX_RANK + 1, " arrays in all are supported"));
  }
  for (const NodeRef &value : *values) {
    ScalarType type = strengthen(value->type);
    ir->outputs.push_back({cast_to(value, type), type});
  }
  return ir;
}

}  // namespace sejits::specializers::elementwise
