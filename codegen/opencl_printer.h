// Prints the device functions of a target AST as OpenCL C: the same
// statements and expressions as the C++ printer, with OpenCL's type names,
// address spaces and literals, after the OpenCL runtime prelude.
#pragma once

#include <string>

#include "codegen/target_ast.h"

namespace sejits::codegen {

// The OpenCL C program of the unit: the prelude, the device runtime files
// after their #defines, then `unit.device_functions`.
std::string print_opencl(const TranslationUnit &unit);

// Prints a literal in OpenCL C (used by tests).
std::string print_opencl_literal(const Literal &literal);

}  // namespace sejits::codegen
