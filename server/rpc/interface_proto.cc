#include "server/rpc/interface_proto.h"

#include "absl/strings/str_cat.h"

namespace sejits::server::rpc {
namespace {

using specializers::Dimension;
using specializers::ParamRole;

v1::ParamRole role_to_proto(ParamRole role) {
  switch (role) {
    case ParamRole::kInput: return v1::PARAM_INPUT;
    case ParamRole::kOutput: return v1::PARAM_OUTPUT;
    case ParamRole::kInOut: return v1::PARAM_IN_OUT;
    case ParamRole::kScalar: return v1::PARAM_SCALAR;
    case ParamRole::kWorkspace: return v1::PARAM_WORKSPACE;
  }
  return v1::PARAM_ROLE_UNSPECIFIED;
}

absl::StatusOr<ParamRole> role_from_proto(v1::ParamRole role) {
  switch (role) {
    case v1::PARAM_INPUT: return ParamRole::kInput;
    case v1::PARAM_OUTPUT: return ParamRole::kOutput;
    case v1::PARAM_IN_OUT: return ParamRole::kInOut;
    case v1::PARAM_SCALAR: return ParamRole::kScalar;
    case v1::PARAM_WORKSPACE: return ParamRole::kWorkspace;
    default: return absl::InvalidArgumentError(absl::StrCat("unknown parameter role ", static_cast<int>(role)));
  }
}

void dimension_to_proto(const Dimension &dimension, v1::Dimension &out) {
  switch (dimension.kind) {
    case Dimension::Kind::kConstant: out.set_constant(dimension.constant); break;
    case Dimension::Kind::kAxisOf:
      out.mutable_axis_of()->set_parameter(dimension.parameter);
      out.mutable_axis_of()->set_axis(dimension.axis);
      break;
    case Dimension::Kind::kParam: out.set_param(dimension.param); break;
  }
}

absl::StatusOr<Dimension> dimension_from_proto(const v1::Dimension &dimension) {
  switch (dimension.size_case()) {
    case v1::Dimension::kConstant: return Dimension::of_constant(dimension.constant());
    case v1::Dimension::kAxisOf: return Dimension::of_axis(dimension.axis_of().parameter(), dimension.axis_of().axis());
    case v1::Dimension::kParam: return Dimension::of_param(dimension.param());
    default: return absl::InvalidArgumentError("a dimension without a size");
  }
}

}  // namespace

void to_proto(const specializers::KernelInterface &interface, v1::KernelInterface &out) {
  for (const specializers::EntryPoint &entry : interface.entries) {
    v1::EntryPoint &wire = *out.add_entries();
    wire.set_role(entry.role);
    wire.set_symbol(entry.symbol);
    for (const specializers::EntryParam &param : entry.params) {
      v1::EntryParam &wire_param = *wire.add_params();
      wire_param.set_name(param.name);
      wire_param.set_role(role_to_proto(param.role));
      wire_param.set_dtype(static_cast<v1::DType>(param.dtype));
      v1::ShapeRule &shape = *wire_param.mutable_shape();
      for (int operand : param.shape.broadcast) shape.add_broadcast(operand);
      for (const Dimension &dimension : param.shape.dims) dimension_to_proto(dimension, *shape.add_dims());
      shape.set_shape_entry(param.shape.shape_entry);
    }
  }
  if (interface.returns) {
    v1::Returns &returns = *out.mutable_returns();
    returns.set_tuple(interface.returns->tuple);
    for (const specializers::ReturnedValue &value : interface.returns->values) {
      v1::ReturnedValue &wire = *returns.add_values();
      wire.set_kind(value.kind == specializers::ReturnedValue::Kind::kOutput     ? v1::ReturnedValue::OUTPUT
                    : value.kind == specializers::ReturnedValue::Kind::kArgument ? v1::ReturnedValue::ARGUMENT
                                                                                 : v1::ReturnedValue::PYTHON_SCALAR);
      wire.set_index(value.index);
    }
  }
}

absl::StatusOr<specializers::KernelInterface> from_proto(const v1::KernelInterface &interface) {
  specializers::KernelInterface out;
  for (const v1::EntryPoint &wire : interface.entries()) {
    specializers::EntryPoint entry{wire.role(), wire.symbol(), {}};
    for (const v1::EntryParam &wire_param : wire.params()) {
      specializers::EntryParam param;
      param.name = wire_param.name();
      absl::StatusOr<ParamRole> role = role_from_proto(wire_param.role());
      if (!role.ok()) return role.status();
      param.role = *role;
      if (!specializers::is_supported_dtype(wire_param.dtype())) {
        return absl::InvalidArgumentError(absl::StrCat("parameter '", param.name.substr(0, 64), "' has an unknown dtype"));
      }
      param.dtype = static_cast<specializers::DType>(wire_param.dtype());
      param.shape.broadcast.assign(wire_param.shape().broadcast().begin(), wire_param.shape().broadcast().end());
      for (const v1::Dimension &dimension : wire_param.shape().dims()) {
        absl::StatusOr<Dimension> parsed = dimension_from_proto(dimension);
        if (!parsed.ok()) return parsed.status();
        param.shape.dims.push_back(*parsed);
      }
      param.shape.shape_entry = wire_param.shape().shape_entry();
      entry.params.push_back(std::move(param));
    }
    out.entries.push_back(std::move(entry));
  }
  if (interface.has_returns()) {
    specializers::Returns returns{interface.returns().tuple(), {}};
    for (const v1::ReturnedValue &wire : interface.returns().values()) {
      using Kind = specializers::ReturnedValue::Kind;
      if (wire.kind() == v1::ReturnedValue::KIND_UNSPECIFIED || wire.index() < 0) {
        return absl::InvalidArgumentError("a returned value without a kind or with a negative index");
      }
      Kind kind = wire.kind() == v1::ReturnedValue::OUTPUT ? Kind::kOutput
                  : wire.kind() == v1::ReturnedValue::ARGUMENT ? Kind::kArgument : Kind::kPythonScalar;
      returns.values.push_back({kind, wire.index()});
    }
    out.returns = std::move(returns);
  }
  return out;
}

}  // namespace sejits::server::rpc
