#include "specializers/interface.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sejits::specializers {
namespace {

constexpr ParamRole kRoles[] = {ParamRole::kInput, ParamRole::kOutput, ParamRole::kInOut, ParamRole::kScalar,
                                ParamRole::kWorkspace};

std::string join_roles(const KernelInterface &interface) {
  std::vector<std::string> roles;
  for (const EntryPoint &entry : interface.entries) roles.push_back(entry.role);
  return roles.empty() ? "none" : absl::StrJoin(roles, ", ");
}

// The broadcast of `shapes` (NumPy's rule: aligned at the end, 1 stretches).
absl::StatusOr<std::vector<int64_t>> broadcast_shapes(const std::vector<std::vector<int64_t>> &shapes) {
  size_t rank = 0;
  for (const auto &shape : shapes) rank = std::max(rank, shape.size());
  std::vector<int64_t> result(rank, 1);
  for (const auto &shape : shapes) {
    for (size_t k = 0; k < shape.size(); ++k) {
      int64_t &into = result[rank - shape.size() + k];
      const int64_t size = shape[k];
      if (size == into || size == 1) continue;
      if (into != 1) return absl::InvalidArgumentError("the inputs' shapes do not broadcast together");
      into = size;
    }
  }
  return result;
}

absl::StatusOr<int64_t> dimension_size(const Dimension &dimension, const std::vector<std::vector<int64_t>> &shapes,
                                       const std::map<std::string, std::string> &params) {
  switch (dimension.kind) {
    case Dimension::Kind::kConstant:
      return dimension.constant;
    case Dimension::Kind::kAxisOf: {
      if (dimension.parameter < 0 || static_cast<size_t>(dimension.parameter) >= shapes.size()) {
        return absl::InvalidArgumentError(absl::StrCat("shape rule names parameter ", dimension.parameter, " of ", shapes.size()));
      }
      const auto &shape = shapes[dimension.parameter];
      const int rank = static_cast<int>(shape.size());
      const int axis = dimension.axis < 0 ? dimension.axis + rank : dimension.axis;
      if (axis < 0 || axis >= rank) {
        return absl::InvalidArgumentError(absl::StrCat("shape rule names axis ", dimension.axis, " of parameter ",
                                                       dimension.parameter, ", of rank ", rank));
      }
      return shape[axis];
    }
    case Dimension::Kind::kParam: {
      auto found = params.find(dimension.param);
      int64_t value = 0;
      if (found == params.end() || !absl::SimpleAtoi(found->second, &value) || value < 0) {
        return absl::InvalidArgumentError(absl::StrCat("shape rule needs the integer param '", dimension.param, "'"));
      }
      return value;
    }
  }
  return absl::InternalError("unknown dimension kind");
}

// ---- text ------------------------------------------------------------------
// entry <role> <symbol>
// param <name> <role> <dtype code> <shape>, shape one of
//   -               (inputs and scalars: none)
//   b:0,2           broadcast of parameters 0 and 2
//   d:c4,a0.-1,pk   dimensions: constant 4, axis -1 of parameter 0, param "k" ("d:" alone: 0-d)
//   e:<role>        computed by the entry <role>

std::string token(const std::string &text) {
  std::string out = text;
  for (char &c : out) {
    if (c == ' ' || c == '\n' || c == '|' || c == ',' || c == ':') c = '_';
  }
  return out.empty() ? "_" : out;
}

std::string shape_text(const EntryParam &param) {
  const ShapeRule &rule = param.shape;
  if (param.role != ParamRole::kOutput && param.role != ParamRole::kWorkspace) return "-";
  if (!rule.broadcast.empty()) return absl::StrCat("b:", absl::StrJoin(rule.broadcast, ","));
  if (!rule.shape_entry.empty()) return absl::StrCat("e:", token(rule.shape_entry));
  std::vector<std::string> dims;
  for (const Dimension &dimension : rule.dims) {
    switch (dimension.kind) {
      case Dimension::Kind::kConstant: dims.push_back(absl::StrCat("c", dimension.constant)); break;
      case Dimension::Kind::kAxisOf: dims.push_back(absl::StrCat("a", dimension.parameter, ".", dimension.axis)); break;
      case Dimension::Kind::kParam: dims.push_back(absl::StrCat("p", token(dimension.param))); break;
    }
  }
  return absl::StrCat("d:", absl::StrJoin(dims, ","));
}

absl::StatusOr<ShapeRule> parse_shape(absl::string_view text) {
  ShapeRule rule;
  if (text == "-") return rule;
  if (text.size() < 2 || text[1] != ':') return absl::InvalidArgumentError(absl::StrCat("bad shape rule '", text, "'"));
  const char kind = text[0];
  absl::string_view body = text.substr(2);
  if (kind == 'e') {
    rule.shape_entry = std::string(body);
    return rule;
  }
  for (absl::string_view item : absl::StrSplit(body, ',', absl::SkipEmpty())) {
    if (kind == 'b') {
      int parameter = 0;
      if (!absl::SimpleAtoi(item, &parameter)) return absl::InvalidArgumentError(absl::StrCat("bad broadcast operand '", item, "'"));
      rule.broadcast.push_back(parameter);
      continue;
    }
    if (kind != 'd' || item.empty()) return absl::InvalidArgumentError(absl::StrCat("bad shape rule '", text, "'"));
    Dimension dimension;
    if (item[0] == 'c' && absl::SimpleAtoi(item.substr(1), &dimension.constant)) {
      dimension.kind = Dimension::Kind::kConstant;
    } else if (item[0] == 'p' && item.size() > 1) {
      dimension = Dimension::of_param(std::string(item.substr(1)));
    } else if (std::pair<absl::string_view, absl::string_view> axis = absl::StrSplit(item.substr(1), absl::MaxSplits('.', 1));
               item[0] == 'a' && absl::SimpleAtoi(axis.first, &dimension.parameter) && absl::SimpleAtoi(axis.second, &dimension.axis)) {
      dimension.kind = Dimension::Kind::kAxisOf;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("bad dimension '", item, "'"));
    }
    rule.dims.push_back(dimension);
  }
  return rule;
}

}  // namespace

absl::StatusOr<const EntryPoint *> KernelInterface::entry(const std::string &role) const {
  for (const EntryPoint &entry : entries) {
    if (entry.role == role) return &entry;
  }
  return absl::NotFoundError(absl::StrCat("the artifact has no '", role.substr(0, 64), "' entry point (it has: ",
                                          join_roles(*this), ")"));
}

DType KernelInterface::result_dtype() const {
  for (ParamRole role : {ParamRole::kOutput, ParamRole::kInOut}) {
    for (const EntryPoint &entry : entries) {
      for (const EntryParam &param : entry.params) {
        if (param.role == role) return param.dtype;
      }
    }
  }
  return DType::kFloat64;
}

const char *param_role_name(ParamRole role) {
  switch (role) {
    case ParamRole::kInput: return "input";
    case ParamRole::kOutput: return "output";
    case ParamRole::kInOut: return "inout";
    case ParamRole::kScalar: return "scalar";
    case ParamRole::kWorkspace: return "workspace";
  }
  return "?";
}

std::vector<EntryParam> argument_params(const SpecializationRequest &request) {
  std::vector<EntryParam> params;
  for (size_t k = 0; k < request.args.size(); ++k) {
    const ArgSpec &arg = request.args[k];
    const bool array = arg.kind == ArgKind::kArray;
    const DType dtype = is_supported_dtype(arg.dtype_code) ? static_cast<DType>(arg.dtype_code) : DType::kFloat64;
    params.push_back({absl::StrCat("a", k), array ? ParamRole::kInput : ParamRole::kScalar, dtype, {}});
  }
  return params;
}

EntryParam shaped_like(std::string name, ParamRole role, DType dtype, std::vector<int> parameters) {
  return {std::move(name), role, dtype, ShapeRule{std::move(parameters), {}, {}}};
}

absl::StatusOr<std::vector<int64_t>> output_shape(const EntryPoint &entry, int index,
                                                  const std::vector<std::vector<int64_t>> &shapes,
                                                  const std::map<std::string, std::string> &params) {
  if (index < 0 || static_cast<size_t>(index) >= entry.params.size()) {
    return absl::InvalidArgumentError(absl::StrCat("entry '", entry.role, "' has no parameter ", index));
  }
  const ShapeRule &rule = entry.params[index].shape;
  if (!rule.broadcast.empty()) {
    std::vector<std::vector<int64_t>> operands;
    for (int parameter : rule.broadcast) {
      if (parameter < 0 || static_cast<size_t>(parameter) >= shapes.size()) {
        return absl::InvalidArgumentError(absl::StrCat("shape rule names parameter ", parameter, " of ", shapes.size()));
      }
      operands.push_back(shapes[parameter]);
    }
    return broadcast_shapes(operands);
  }
  if (!rule.shape_entry.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the shape of '", entry.params[index].name, "' is computed by the entry '",
                                                   rule.shape_entry, "': call it first"));
  }
  std::vector<int64_t> shape;
  for (const Dimension &dimension : rule.dims) {
    absl::StatusOr<int64_t> size = dimension_size(dimension, shapes, params);
    if (!size.ok()) return size.status();
    shape.push_back(*size);
  }
  return shape;
}

std::string interface_to_text(const KernelInterface &interface) {
  std::string text;
  for (const EntryPoint &entry : interface.entries) {
    absl::StrAppend(&text, "entry ", token(entry.role), " ", token(entry.symbol), "\n");
    for (const EntryParam &param : entry.params) {
      absl::StrAppend(&text, "param ", token(param.name), " ", param_role_name(param.role), " ",
                      static_cast<int>(param.dtype), " ", shape_text(param), "\n");
    }
  }
  // returns <t|s> o<k> a<k> p<k>...: tuple or single; output, argument, output as a Python number
  if (interface.returns) {
    absl::StrAppend(&text, "returns ", interface.returns->tuple ? "t" : "s");
    for (const ReturnedValue &value : interface.returns->values) {
      const char *kind = value.kind == ReturnedValue::Kind::kOutput ? "o" : value.kind == ReturnedValue::Kind::kArgument ? "a" : "p";
      absl::StrAppend(&text, " ", kind, value.index);
    }
    absl::StrAppend(&text, "\n");
  }
  return text;
}

absl::StatusOr<KernelInterface> interface_from_text(const std::string &text) {
  KernelInterface interface;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ');
    if (words[0] == "entry" && words.size() == 3) {
      interface.entries.push_back({std::string(words[1]), std::string(words[2]), {}});
      continue;
    }
    if (words[0] == "returns" && words.size() >= 2 && (words[1] == "t" || words[1] == "s")) {
      Returns returns{words[1] == "t", {}};
      for (size_t k = 2; k < words.size(); ++k) {
        ReturnedValue value;
        const char kind = words[k].empty() ? '?' : words[k][0];
        value.kind = kind == 'o' ? ReturnedValue::Kind::kOutput : kind == 'a' ? ReturnedValue::Kind::kArgument
                                                                               : ReturnedValue::Kind::kPythonScalar;
        if ((kind != 'o' && kind != 'a' && kind != 'p') || !absl::SimpleAtoi(words[k].substr(1), &value.index) || value.index < 0) {
          return absl::InvalidArgumentError(absl::StrCat("bad interface line '", line.substr(0, 80), "'"));
        }
        returns.values.push_back(value);
      }
      interface.returns = std::move(returns);
      continue;
    }
    if (words[0] != "param" || words.size() != 5 || interface.entries.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("bad interface line '", line.substr(0, 80), "'"));
    }
    EntryParam param;
    param.name = std::string(words[1]);
    auto role = std::find_if(std::begin(kRoles), std::end(kRoles), [&](ParamRole r) { return words[2] == param_role_name(r); });
    int dtype = 0;
    if (role == std::end(kRoles) || !absl::SimpleAtoi(words[3], &dtype) || !is_supported_dtype(dtype)) {
      return absl::InvalidArgumentError(absl::StrCat("bad interface line '", line.substr(0, 80), "'"));
    }
    param.role = *role;
    param.dtype = static_cast<DType>(dtype);
    absl::StatusOr<ShapeRule> shape = parse_shape(words[4]);
    if (!shape.ok()) return shape.status();
    param.shape = std::move(*shape);
    interface.entries.back().params.push_back(std::move(param));
  }
  if (interface.entries.empty()) return absl::InvalidArgumentError("an interface without entry points");
  return interface;
}

}  // namespace sejits::specializers
