// Pieces every specializer's lowering shares: the ABI entry point around a
// body, reading argument descriptors, failing with a message, turning the
// loop's error flag into NumPy's errors.
#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/common/scalar_ir.h"
#include "specializers/common/variant_params.h"

namespace sejits::specializers {

// An exported entry point of the kernel ABI signature (args, nargs, error,
// error_len) with the given body.
codegen::Function entry_point(const std::string &symbol, std::vector<codegen::StmtPtr> body);
// An entry point that hands the whole call to a library kernel's runtime
// (gmm, sparse): `const int nthreads = <threads>; return <runtime><T,
// constants...>(args, nargs, nthreads, error, error_len);`, T the C type of
// `dtype`.
codegen::Function runtime_entry_point(const std::string &symbol, codegen::Callee runtime, DType dtype,
                                      std::vector<int64_t> constants, ThreadCount threads);
// A translation unit with one exported entry point of the kernel ABI
// signature (args, nargs, error, error_len) and the given body.
codegen::TranslationUnit entry_point_unit(const std::string &symbol, std::vector<codegen::StmtPtr> body,
                                          std::vector<std::string> header_comment);

// args[index].field
codegen::ExprPtr arg_field(int index, const std::string &field);
// The member of sejits_arg.scalar a scalar of this dtype is passed in.
std::string scalar_field(DType dtype);
// `const T s<arg> = (T)args[arg].scalar.<field>;`
codegen::StmtPtr declare_scalar_arg(int arg, DType dtype);
// `return sejits_fail(error, error_len, message);`
codegen::StmtPtr fail_statement(std::string message);
// True when the caller asked for a serial call (a forked child, see the ABI).
codegen::ExprPtr serial_call(int output_arg);
// Before the loops: NumPy's OverflowError for a Python int scalar (`s<param>`)
// that does not fit the integer dtype it meets in `value`.
void append_python_int_range_checks(const NodeRef &value, std::vector<codegen::StmtPtr> &body);
// After the loops: fail with NumPy's message for each error flag `value` may set.
void append_error_flag_checks(const NodeRef &value, std::vector<codegen::StmtPtr> &body);

}  // namespace sejits::specializers
