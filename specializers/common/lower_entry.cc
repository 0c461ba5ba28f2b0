#include "specializers/common/lower_entry.h"

#include "absl/strings/str_cat.h"
#include "specializers/common/lower_scalar.h"

namespace sejits::specializers {
namespace cg = codegen;

cg::Function entry_point(const std::string &symbol, std::vector<cg::StmtPtr> body) {
  cg::Function entry;
  entry.return_type = cg::scalar_type(cg::CType::kInt32);
  entry.name = symbol;
  entry.params = {{cg::pointer_type(cg::CType::kSejitsArg, true), "args"},
                  {cg::scalar_type(cg::CType::kInt32), "nargs"},
                  {cg::pointer_type(cg::CType::kChar, false), "error"},
                  {cg::scalar_type(cg::CType::kInt64), "error_len"}};
  entry.body = std::move(body);
  entry.exported = true;
  return entry;
}

cg::Function runtime_entry_point(const std::string &symbol, cg::Callee runtime, DType dtype, std::vector<int64_t> constants,
                                 ThreadCount threads) {
  std::vector<cg::StmtPtr> body = {declare_thread_count(threads)};
  body.push_back(cg::return_stmt(cg::call_specialized(
      runtime, cg::scalar_type(ctype_of(dtype)), std::move(constants),
      {cg::var("args"), cg::var("nargs"), cg::var(kThreadCountVar), cg::var("error"), cg::var("error_len")})));
  return entry_point(symbol, std::move(body));
}

cg::TranslationUnit entry_point_unit(const std::string &symbol, std::vector<cg::StmtPtr> body,
                                     std::vector<std::string> header_comment) {
  cg::TranslationUnit unit;
  unit.header_comment = std::move(header_comment);
  unit.functions.push_back(entry_point(symbol, std::move(body)));
  return unit;
}

cg::ExprPtr arg_field(int index, const std::string &field) {
  return cg::member(cg::index(cg::var("args"), cg::int_literal(index)), field);
}

std::string scalar_field(DType dtype) {
  if (is_float(dtype)) return "f";
  if (kind_of(dtype) == Kind::kUnsigned) return "u";
  return "i";
}

cg::StmtPtr declare_scalar_arg(int arg, DType dtype) {
  return cg::decl(cg::scalar_type(ctype_of(dtype), true), absl::StrCat("s", arg),
                  cg::cast(cg::scalar_type(ctype_of(dtype)), cg::member(arg_field(arg, "scalar"), scalar_field(dtype))));
}

cg::StmtPtr fail_statement(std::string message) {
  return cg::return_stmt(cg::call(cg::Callee::kFail, {cg::var("error"), cg::var("error_len"),
                                                       cg::literal(cg::CType::kChar, std::move(message))}));
}

cg::ExprPtr serial_call(int output_arg) {
  // flags & SEJITS_CALL_SERIAL, written with the operators the target AST has
  return cg::binary(cg::BinaryOp::kNe, cg::binary(cg::BinaryOp::kMod, arg_field(output_arg, "flags"), cg::int_literal(2)),
                    cg::int_literal(0));
}

// "sejits-fallback:" asks the client to run the Python code for this call.
constexpr char kPythonIntFallback[] = "sejits-fallback: Python int arithmetic exceeds 64 bits";
// np.clip's bounds and np.where's branches take a Python int the array's dtype cannot hold: NumPy decides.
constexpr char kPythonIntBeyondDtype[] = "sejits-fallback: a Python int argument lies outside the dtype it meets";

void append_python_int_range_checks(const NodeRef &root, std::vector<cg::StmtPtr> &body) {
  for (const NarrowedPythonInt &narrowed : python_int_params_narrowed(root)) {
    const DType dtype = narrowed.type.dtype;
    cg::ExprPtr value = cg::var(absl::StrCat("s", narrowed.param_index));
    cg::ExprPtr as_target = cg::cast(cg::scalar_type(ctype_of(dtype)), value);
    cg::ExprPtr back = cg::cast(cg::scalar_type(ctype_of(narrowed.param_dtype)), as_target);
    cg::ExprPtr outside = cg::binary(cg::BinaryOp::kNe, back, value);
    if (kind_of(dtype) != kind_of(narrowed.param_dtype)) {  // the sign changes where the value does not fit
      cg::ExprPtr negative = cg::binary(cg::BinaryOp::kLt, kind_of(dtype) == Kind::kUnsigned ? value : as_target,
                                        cg::int_literal(0));
      outside = cg::binary(cg::BinaryOp::kLogicalOr, negative, outside);
    }
    cg::StmtPtr fail = narrowed.type.weak
                           ? fail_statement(kPythonIntBeyondDtype)
                           : cg::return_stmt(cg::call(cg::Callee::kFailOutOfBounds,
                                                      {cg::var("error"), cg::var("error_len"), value,
                                                       cg::literal(cg::CType::kChar, dtype_name(dtype))}));
    body.push_back(cg::if_stmt(outside, {fail}));
  }
}

void append_error_flag_checks(const NodeRef &value, std::vector<cg::StmtPtr> &body) {
  if (!may_set_error_flag(value)) return;
  for (auto [flag, message] : {std::pair{1, "Integers to negative integer powers are not allowed."},
                               std::pair{2, kPythonIntFallback}}) {
    body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kEq, cg::var("error_flag"), cg::int_literal(flag)),
                               {fail_statement(message)}));
  }
}

}  // namespace sejits::specializers
