#include "specializers/common/opencl_lowering.h"

#include <optional>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "specializers/common/lower_entry.h"
#include "specializers/common/lower_scalar.h"
#include "specializers/common/variant_params.h"
#include "specializers/request.h"

namespace sejits::specializers {
namespace cg = codegen;

namespace {

constexpr int64_t kMaxWorkGroup = 1024;
constexpr int64_t kMaxItems = 1024;

cg::CType kernel_scalar_type(DType dtype) { return dtype == DType::kBool ? cg::CType::kUInt8 : ctype_of(dtype); }

cg::ExprPtr arg_address(int arg) { return cg::unary(cg::UnaryOp::kAddressOf, cg::index(cg::var("args"), cg::int_literal(arg))); }
cg::ExprPtr launch_address() { return cg::unary(cg::UnaryOp::kAddressOf, cg::var("launch")); }

}  // namespace

int64_t default_items(int streams) { return streams <= 3 ? 4 : 2; }

absl::StatusOr<OpenClPlan> parse_opencl_plan(const std::string &specializer, const std::map<std::string, std::string> &params,
                                             OpenClPlan plan) {
  for (const auto &[name, value] : params) {
    if (!is_variant_param(name)) continue;
    const std::string field = name.substr(sizeof(kVariantPrefix) - 1);
    int64_t *target = field == "wg_x"    ? &plan.wg_x
                      : field == "wg_y"  ? &plan.wg_y
                      : field == "items" ? &plan.items
                      : field == "march" ? &plan.march
                                         : nullptr;
    if (target == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(specializer, " on OpenCL has no variant parameter '", field.substr(0, 64),
                                                     "' (known: wg_x, wg_y, items, march)"));
    }
    const bool per_item = field == "items" || field == "march";
    absl::StatusOr<int64_t> parsed = parse_variant_int(specializer, name, value, field == "march" ? 0 : 1, per_item ? kMaxItems : kMaxWorkGroup);
    if (!parsed.ok()) return parsed.status();
    *target = *parsed;
  }
  return plan;
}

std::string describe_opencl_plan(const OpenClPlan &plan, bool two_dimensional) {
  if (two_dimensional) {
    return absl::StrCat("variant: work-groups of ", plan.wg_x, "x", plan.wg_y, " work items",
                        plan.march > 0 ? absl::StrCat(", each walking ", plan.march, " points along axis 0") : "");
  }
  return absl::StrCat("variant: work-groups of ", plan.wg_x, " work items, ", plan.items, " element(s) per work item");
}

std::map<int, DType> narrowed_scalar_params(const std::vector<NodeRef> &values) {
  std::map<int, DType> narrowed;
  std::map<int, bool> other_use;
  for (const NodeRef &value : values) {
    if (value->op == ScalarOp::kParam) other_use[value->param_index] = true;  // an output that is the scalar itself
    for (const NodeRef &node : topological_order(value)) {
      for (const NodeRef &operand : node->operands) {
        if (operand->op != ScalarOp::kParam) continue;
        // Any read but a cast of the weak (Python) scalar, including a
        // strong copy of it, needs the value as the host has it.
        if (node->op != ScalarOp::kCast || !operand->type.weak) {
          other_use[operand->param_index] = true;
          continue;
        }
        auto [it, inserted] = narrowed.emplace(operand->param_index, node->type.dtype);
        if (!inserted && it->second != node->type.dtype) other_use[operand->param_index] = true;
      }
    }
  }
  for (const auto &[param, used] : other_use) narrowed.erase(param);
  return narrowed;
}

bool needs_fp64(const NodeRef &value, const std::vector<DType> &operand_dtypes, const std::map<int, DType> &narrowed) {
  for (DType dtype : operand_dtypes) {
    if (dtype == DType::kFloat64) return true;
  }
  for (const NodeRef &node : topological_order(value)) {
    if (node->op == ScalarOp::kParam && narrowed.count(node->param_index)) continue;
    if (node->type.dtype == DType::kFloat64) return true;
  }
  return false;
}

namespace {

// The unsigned type integer arithmetic of `dtype` wraps in: 8 and 16 bits
// compute in uint (OpenCL C promotes ushort * ushort to int, which can
// overflow), int in uint, long in ulong.
std::optional<DType> wrapping_type(DType dtype) {
  switch (dtype) {
    case DType::kInt8:
    case DType::kInt16:
    case DType::kUInt8:
    case DType::kUInt16:
    case DType::kInt32: return DType::kUInt32;
    case DType::kInt64: return DType::kUInt64;
    default: return std::nullopt;
  }
}

}  // namespace

NodeRef device_scalar_ir(const NodeRef &value, const std::map<int, DType> &narrowed) {
  std::unordered_map<const ScalarNode *, NodeRef> rewritten;
  for (const NodeRef &node : topological_order(value)) {
    std::vector<NodeRef> operands;
    for (const NodeRef &operand : node->operands) operands.push_back(rewritten.at(operand.get()));
    NodeRef result = with_operands(node, operands);
    if (node->op == ScalarOp::kCast && operands[0]->op == ScalarOp::kParam) {
      auto found = narrowed.find(operands[0]->param_index);
      if (operands[0]->type.weak && found != narrowed.end() && found->second == node->type.dtype) result = make_param(found->first, node->type, node->line);
    }
    const bool arithmetic = node->op == ScalarOp::kAdd || node->op == ScalarOp::kSub || node->op == ScalarOp::kMul || node->op == ScalarOp::kNeg;
    std::optional<DType> twin = wrapping_type(node->type.dtype);
    if (arithmetic && twin && !node->type.weak) {
      const ScalarType wide{*twin, false};
      std::vector<NodeRef> as_unsigned;
      for (const NodeRef &operand : operands) as_unsigned.push_back(cast_to(operand, wide));
      result = cast_to(make_node(node->op, wide, std::move(as_unsigned), node->line), node->type);
    }
    rewritten[node.get()] = result;
  }
  return rewritten.at(value.get());
}

void add_buffer_param(cg::Function &kernel, std::vector<cg::StmtPtr> &prologue, const std::string &name, DType dtype, bool input) {
  cg::Type pointer = cg::global_pointer_type(ctype_of(dtype), input);
  pointer.restrict_pointer = true;  // inputs too: read-only, non-aliased loads (the device's read-only cache)
  kernel.params.push_back({pointer, name + "_base"});
  kernel.params.push_back({cg::scalar_type(cg::CType::kInt64, true), name + "_off"});
  prologue.push_back(cg::decl(pointer, name, cg::binary(cg::BinaryOp::kAdd, cg::var(name + "_base"), cg::var(name + "_off"))));
}

void add_scalar_param(cg::Function &kernel, const std::string &name, DType dtype) {
  kernel.params.push_back({cg::scalar_type(kernel_scalar_type(dtype), true), name});
}

void add_index_param(cg::Function &kernel, const std::string &name, cg::CType type) {
  kernel.params.push_back({cg::scalar_type(type, true), name});
}

void add_error_flag_param(cg::Function &kernel) {
  kernel.params.push_back({cg::global_pointer_type(cg::CType::kInt32, false), "error_out"});
}

cg::StmtPtr report_error_flag() {
  // Any flagged element will do: the host turns the flag into one message.
  return cg::if_stmt(cg::binary(cg::BinaryOp::kNe, cg::var("error_flag"), cg::int_literal(0)),
                     {cg::assign(cg::unary(cg::UnaryOp::kDeref, cg::var("error_out")), cg::var("error_flag"))});
}

cg::Function device_kernel(const std::string &name) {
  cg::Function kernel;
  kernel.return_type = cg::scalar_type(cg::CType::kVoid);
  kernel.name = name;
  kernel.device_kernel = true;
  return kernel;
}

cg::StmtPtr check_device_array(int arg, DType dtype, int rank) {
  cg::ExprPtr wrong = cg::binary(cg::BinaryOp::kLogicalOr,
                                 cg::binary(cg::BinaryOp::kNe, arg_field(arg, "kind"), cg::int_literal(3)),  // SEJITS_ARG_DEVICE_ARRAY
                                 cg::binary(cg::BinaryOp::kNe, arg_field(arg, "dtype"), cg::int_literal(static_cast<int>(dtype))));
  if (rank >= 0) {
    wrong = cg::binary(cg::BinaryOp::kLogicalOr, wrong, cg::binary(cg::BinaryOp::kNe, arg_field(arg, "rank"), cg::int_literal(rank)));
  }
  return cg::if_stmt(wrong, {fail_statement(absl::StrCat("argument ", arg, " does not match the specialized signature (a device array of ",
                                                         dtype_name(dtype), rank >= 0 ? absl::StrCat(", rank ", rank) : "", ")"))});
}

cg::StmtPtr check_scalar(int arg, DType dtype) {
  cg::ExprPtr wrong = cg::binary(cg::BinaryOp::kLogicalOr,
                                 cg::binary(cg::BinaryOp::kNe, arg_field(arg, "kind"), cg::int_literal(static_cast<int>(ArgKind::kScalar))),
                                 cg::binary(cg::BinaryOp::kNe, arg_field(arg, "dtype"), cg::int_literal(static_cast<int>(dtype))));
  return cg::if_stmt(wrong, {fail_statement(absl::StrCat("argument ", arg, " does not match the specialized signature (scalar ",
                                                         dtype_name(dtype), ")"))});
}

cg::StmtPtr check_device_arg(int arg) {
  return cg::if_stmt(cg::binary(cg::BinaryOp::kNe, arg_field(arg, "kind"), cg::int_literal(4)),  // SEJITS_ARG_DEVICE
                     {fail_statement("an OpenCL kernel takes the device as its last argument")});
}

cg::StmtPtr declare_launch() { return cg::decl(cg::scalar_type(cg::CType::kSejitsClLaunch), "launch"); }

cg::StmtPtr begin_launch(const std::string &kernel_name, int device_arg, bool fp64) {
  cg::ExprPtr begin = cg::call(cg::Callee::kClBegin,
                               {launch_address(), arg_address(device_arg), cg::var("sejits_opencl_source"), cg::var("sejits_opencl_digest"),
                                cg::literal(cg::CType::kChar, kernel_name), cg::literal(cg::CType::kBool, fp64), cg::var("error"),
                                cg::var("error_len")});
  return cg::if_stmt(cg::binary(cg::BinaryOp::kNe, begin, cg::int_literal(0)), {cg::return_stmt(cg::int_literal(1))});
}

cg::StmtPtr pass_buffer(int arg) { return cg::expr_stmt(cg::call(cg::Callee::kClArgBuffer, {launch_address(), arg_address(arg)})); }

cg::StmtPtr pass_value(cg::CType type, cg::ExprPtr value) {
  if (type == cg::CType::kBool) type = cg::CType::kUInt8;
  return cg::expr_stmt(cg::call_templated(cg::Callee::kClArgValue, cg::scalar_type(type),
                                          {launch_address(), cg::cast(cg::scalar_type(type), std::move(value))}));
}

cg::StmtPtr pass_error_flag() { return cg::expr_stmt(cg::call(cg::Callee::kClArgErrorFlag, {launch_address()})); }

cg::StmtPtr run_launch(const std::vector<cg::ExprPtr> &global, const std::vector<int64_t> &local) {
  std::vector<cg::ExprPtr> args = {launch_address(), cg::int_literal(static_cast<int64_t>(global.size()))};
  for (size_t d = 0; d < 3; ++d) args.push_back(d < global.size() ? global[d] : cg::int_literal(1));
  for (size_t d = 0; d < 3; ++d) args.push_back(cg::int_literal(d < local.size() ? local[d] : 1));
  return cg::if_stmt(cg::binary(cg::BinaryOp::kNe, cg::call(cg::Callee::kClRun, std::move(args)), cg::int_literal(0)),
                     {cg::return_stmt(cg::int_literal(1))});
}

cg::StmtPtr read_error_flag() {
  return cg::decl(cg::scalar_type(cg::CType::kInt, true), "error_flag", cg::call(cg::Callee::kClErrorFlag, {launch_address()}));
}

}  // namespace sejits::specializers
