#include "codegen/cpp_printer.h"

#include <sstream>

#include "codegen/c_printer.h"
#include "codegen/opencl_printer.h"
#include "codegen/sha256.h"

namespace sejits::codegen {
namespace {

std::string c_scalar_name(CType type) {
  switch (type) {
    case CType::kVoid: return "void";
    case CType::kBool: return "bool";
    case CType::kInt8: return "int8_t";
    case CType::kInt16: return "int16_t";
    case CType::kInt32: return "int32_t";
    case CType::kInt64: return "int64_t";
    case CType::kUInt8: return "uint8_t";
    case CType::kUInt16: return "uint16_t";
    case CType::kUInt32: return "uint32_t";
    case CType::kUInt64: return "uint64_t";
    case CType::kFloat32: return "float";
    case CType::kFloat64: return "double";
    case CType::kChar: return "char";
    case CType::kSejitsArg: return "sejits_arg";
    case CType::kSejitsIter: return "sejits_iter";
    case CType::kInt: return "int";
    case CType::kSejitsClLaunch: return "sejits_cl_launch";
  }
  return "void";
}

class CppDialect : public Dialect {
 public:
  std::string type_name(const Type &type) const override {
    std::string out = type.is_const ? "const " + c_scalar_name(type.scalar) : c_scalar_name(type.scalar);
    for (int i = 0; i < type.pointer_depth; ++i) out += i == 0 ? " *" : "*";
    if (type.restrict_pointer && type.pointer_depth > 0) out += " __restrict__";
    return out;
  }
  // Math calls pick the float or double libm function from the argument type
  // at lowering; templated runtime helpers name their type.
  std::string call_name(const CallExpr &call) const override {
    std::string name = base_callee_name(call.callee);
    if (!call.templated) return name;
    name += "<" + type_name(call.template_type);
    for (int64_t value : call.template_values) name += ", " + std::to_string(value);
    for (const std::string &function : call.template_functions) name += ", " + function;
    return name + ">";
  }
  std::string literal(const Literal &literal) const override { return print_cpp_literal(literal); }
  bool prints_openmp() const override { return true; }
};

// The OpenCL C kernels of the unit, as the string the host part builds, and
// its digest (part of the key of the device binaries built from it).
void print_embedded_opencl(const TranslationUnit &unit, std::ostringstream &out) {
  std::string source = print_opencl(unit);
  out << "\nstatic const char sejits_opencl_digest[] = \"" << sha256_hex(source) << "\";\n";
  out << "static const char sejits_opencl_source[] =";
  // One string literal per line keeps the generated file readable.
  size_t start = 0;
  while (start < source.size()) {
    size_t end = source.find('\n', start);
    end = end == std::string::npos ? source.size() : end + 1;
    out << "\n    " << escape_c_string(source.substr(start, end - start));
    start = end;
  }
  out << ";\n";
}

}  // namespace

std::string print_cpp_literal(const Literal &literal) {
  static const LiteralSpelling cpp = {"LL", "ULL", "__builtin_nanf(\"\")", "__builtin_nan(\"\")", "__builtin_inff()", "__builtin_inf()"};
  return print_c_literal(literal, cpp);
}

std::string print_cpp_expr(const ExprPtr &expr) { return print_expr(CppDialect{}, expr); }

std::string print_cpp(const TranslationUnit &unit) {
  std::ostringstream out;
  CppDialect dialect;
  print_header_comment(unit.header_comment, out);
  out << "#include \"sejits/kernel_runtime.h\"\n";
  if (unit.has_device_code()) out << "#include \"sejits/opencl_runtime.h\"\n";
  for (const std::string &header : unit.runtime_headers) out << "#include \"sejits/" << header << "\"\n";
  out << "\nSEJITS_EXPORT int32_t sejits_abi_version(void) { return SEJITS_ABI_VERSION; }\n";
  if (unit.has_device_code()) print_embedded_opencl(unit, out);
  for (const auto &function : unit.functions) {
    out << "\n";
    print_function(dialect, function, function.exported ? "SEJITS_EXPORT " : "static inline ", out);
  }
  return out.str();
}

}  // namespace sejits::codegen
