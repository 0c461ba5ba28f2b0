#include "codegen/opencl_printer.h"

#include <sstream>

#include "codegen/c_printer.h"
#include "codegen/runtime_headers.h"

namespace sejits::codegen {
namespace {

std::string opencl_scalar_name(CType type) {
  switch (type) {
    case CType::kBool: return "bool";
    case CType::kInt8: return "char";
    case CType::kInt16: return "short";
    case CType::kInt32: return "int";
    case CType::kInt64: return "long";
    case CType::kUInt8: return "uchar";
    case CType::kUInt16: return "ushort";
    case CType::kUInt32: return "uint";
    case CType::kUInt64: return "ulong";
    case CType::kFloat32: return "float";
    case CType::kFloat64: return "double";
    case CType::kChar: return "char";
    case CType::kInt: return "int";
    default: return "void";  // host-only types never reach device code
  }
}

class OpenClDialect : public Dialect {
 public:
  std::string type_name(const Type &type) const override {
    // Buffers of NumPy bools hold one byte per element; OpenCL's bool has no
    // defined size, so they are read and written as uchar (0 or 1).
    CType scalar = type.pointer_depth > 0 && type.scalar == CType::kBool ? CType::kUInt8 : type.scalar;
    std::string out;
    if (type.pointer_depth > 0 && type.address_space == AddressSpace::kGlobal) out = "__global ";
    out += type.is_const ? "const " + opencl_scalar_name(scalar) : opencl_scalar_name(scalar);
    for (int i = 0; i < type.pointer_depth; ++i) out += i == 0 ? " *" : "*";
    if (type.restrict_pointer && type.pointer_depth > 0) out += " restrict";
    return out;
  }
  std::string call_name(const CallExpr &call) const override {
    std::string name = base_callee_name(call.callee);
    if (call.templated) name += "_" + opencl_scalar_name(call.template_type.scalar);
    return name;
  }
  std::string literal(const Literal &literal) const override { return print_opencl_literal(literal); }
  bool prints_openmp() const override { return false; }
};

// An embedded runtime file by name; a line the device compiler refuses when
// there is none (a lowering that names a file the daemon was built without).
std::string_view embedded(std::string_view name, std::string &missing) {
  for (const EmbeddedHeader &header : runtime_headers()) {
    if (header.name == name) return header.text;
  }
  missing = "#error \"sejits: no embedded OpenCL runtime file " + std::string(name) + "\"\n";
  return missing;
}

}  // namespace

std::string print_opencl_literal(const Literal &literal) {
  static const LiteralSpelling opencl = {"L", "UL", "NAN", "((double)NAN)", "INFINITY", "((double)INFINITY)"};
  return print_c_literal(literal, opencl);
}

std::string print_opencl(const TranslationUnit &unit) {
  std::ostringstream out;
  OpenClDialect dialect;
  print_header_comment(unit.header_comment, out);
  std::string missing;
  out << embedded("opencl_prelude.cl", missing) << "\n";
  for (const auto &[name, value] : unit.device_defines) out << "#define " << name << " " << value << "\n";
  for (const std::string &file : unit.device_runtime) out << "\n" << embedded(file, missing);
  for (const auto &function : unit.device_functions) {
    out << "\n";
    print_function(dialect, function, function.device_kernel ? "__kernel " : "inline ", out);
  }
  return out.str();
}

}  // namespace sejits::codegen
