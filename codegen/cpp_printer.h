// Prints the target AST as C++ for the system compiler (OpenMP pragmas,
// restrict pointers, the kernel runtime header).
#pragma once

#include <string>

#include "codegen/target_ast.h"

namespace sejits::codegen {

// Prints a whole translation unit as C++ source.
std::string print_cpp(const TranslationUnit &unit);

// Prints one expression (used by tests and by golden files).
std::string print_cpp_expr(const ExprPtr &expr);

// Prints a literal so that the compiler reads back exactly the same value.
std::string print_cpp_literal(const Literal &literal);

}  // namespace sejits::codegen
