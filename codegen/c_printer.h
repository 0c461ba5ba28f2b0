// The printer shared by the C-family back ends. C++ (cpp_printer.cc) and
// OpenCL C (opencl_printer.cc) print the same target AST; they differ only in
// type and callee names, literal spellings and pragmas, which a Dialect
// supplies.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "codegen/target_ast.h"

namespace sejits::codegen {

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string type_name(const Type &type) const = 0;
  virtual std::string call_name(const CallExpr &call) const = 0;
  virtual std::string literal(const Literal &literal) const = 0;
  virtual bool prints_openmp() const = 0;
};

std::string print_expr(const Dialect &dialect, const ExprPtr &expr);
void print_body(const Dialect &dialect, const std::vector<StmtPtr> &body, int depth, std::ostringstream &out);
// `return_type name(params) {` body `}`, with `prefix` before it.
void print_function(const Dialect &dialect, const Function &function, const std::string &prefix, std::ostringstream &out);
void print_header_comment(const std::vector<std::string> &lines, std::ostringstream &out);

// How a dialect spells what C dialects disagree on in literals.
struct LiteralSpelling {
  const char *int64_suffix;   // "LL" (C++), "L" (OpenCL C)
  const char *uint64_suffix;  // "ULL", "UL"
  const char *nan32, *nan64, *inf32, *inf64;
};
// A literal printed so that the compiler reads back exactly the same value.
std::string print_c_literal(const Literal &literal, const LiteralSpelling &spelling);

// Helpers both dialects share.
std::string escape_c_string(const std::string &text);
std::string shortest_float_text(double value);
std::string shortest_float_text(float value);
// A callee's name without dialect decoration (math functions, runtime helpers).
std::string base_callee_name(Callee callee);
std::string binary_token(BinaryOp op);

}  // namespace sejits::codegen
