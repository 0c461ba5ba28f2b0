#include "codegen/cpp_printer.h"

#include <cmath>
#include <limits>
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
    if (call.templated) name += "<" + type_name(call.template_type) + ">";
    return name;
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
  if (const auto *b = std::get_if<bool>(&literal.value)) return *b ? "true" : "false";
  if (const auto *s = std::get_if<std::string>(&literal.value)) return escape_c_string(*s);
  if (const auto *u = std::get_if<uint64_t>(&literal.value)) return std::to_string(*u) + "ULL";
  if (const auto *i = std::get_if<int64_t>(&literal.value)) {
    if (*i == std::numeric_limits<int64_t>::min()) return "(-9223372036854775807LL - 1)";
    std::string digits = std::to_string(*i);
    if (*i >= std::numeric_limits<int32_t>::min() && *i <= std::numeric_limits<int32_t>::max()) {
      return *i < 0 ? "(" + digits + ")" : digits;  // fits `int`: no suffix needed
    }
    return "(" + digits + "LL)";
  }
  double value = std::get<double>(literal.value);
  bool single = literal.type == CType::kFloat32;
  if (std::isnan(value)) return single ? "__builtin_nanf(\"\")" : "__builtin_nan(\"\")";
  if (std::isinf(value)) {
    std::string inf = single ? "__builtin_inff()" : "__builtin_inf()";
    return value < 0 ? "(-" + inf + ")" : inf;
  }
  if (single) return "(" + shortest_float_text(static_cast<float>(value)) + "f)";
  return "(" + shortest_float_text(value) + ")";
}

std::string print_cpp_expr(const ExprPtr &expr) { return print_expr(CppDialect{}, expr); }

std::string print_cpp(const TranslationUnit &unit) {
  std::ostringstream out;
  CppDialect dialect;
  print_header_comment(unit.header_comment, out);
  out << "#include \"sejits/kernel_runtime.h\"\n";
  if (!unit.device_functions.empty()) out << "#include \"sejits/opencl_runtime.h\"\n";
  out << "\nSEJITS_EXPORT int32_t sejits_abi_version(void) { return SEJITS_ABI_VERSION; }\n";
  if (!unit.device_functions.empty()) print_embedded_opencl(unit, out);
  for (const auto &function : unit.functions) {
    out << "\n";
    print_function(dialect, function, function.exported ? "SEJITS_EXPORT " : "static inline ", out);
  }
  return out.str();
}

}  // namespace sejits::codegen
