#include "codegen/cpp_printer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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
  }
  return "void";
}

std::string type_name(const Type &type) {
  std::string out = type.is_const ? "const " + c_scalar_name(type.scalar) : c_scalar_name(type.scalar);
  for (int i = 0; i < type.pointer_depth; ++i) out += i == 0 ? " *" : "*";
  if (type.restrict_pointer && type.pointer_depth > 0) out += " __restrict__";
  return out;
}

// Math calls pick the float or double libm function from the argument type
// at lowering; the printer maps the callee to the C name here.
std::string callee_name(Callee callee) {
  switch (callee) {
    case Callee::kSin: return "sin";
    case Callee::kCos: return "cos";
    case Callee::kTan: return "tan";
    case Callee::kAsin: return "asin";
    case Callee::kAcos: return "acos";
    case Callee::kAtan: return "atan";
    case Callee::kAtan2: return "atan2";
    case Callee::kSinh: return "sinh";
    case Callee::kCosh: return "cosh";
    case Callee::kTanh: return "tanh";
    case Callee::kExp: return "exp";
    case Callee::kExpm1: return "expm1";
    case Callee::kLog: return "log";
    case Callee::kLog1p: return "log1p";
    case Callee::kLog2: return "log2";
    case Callee::kLog10: return "log10";
    case Callee::kSqrt: return "sqrt";
    case Callee::kFabs: return "fabs";
    case Callee::kFloor: return "floor";
    case Callee::kCeil: return "ceil";
    case Callee::kTrunc: return "trunc";
    case Callee::kHypot: return "hypot";
    case Callee::kCopysign: return "copysign";
    case Callee::kPow: return "pow";
    case Callee::kFloorDivInt: return "sejits_floor_div_int";
    case Callee::kModInt: return "sejits_mod_int";
    case Callee::kFloorDivFloat: return "sejits_floor_div_float";
    case Callee::kModFloat: return "sejits_mod_float";
    case Callee::kPowInt: return "sejits_pow_int";
    case Callee::kMaximum: return "sejits_maximum";
    case Callee::kMinimum: return "sejits_minimum";
    case Callee::kAbs: return "sejits_abs";
    case Callee::kIterInit: return "sejits_iter_init";
    case Callee::kIterRow: return "sejits_iter_row";
    case Callee::kIterDense: return "sejits_iter_dense";
    case Callee::kFail: return "sejits_fail";
    case Callee::kStreamCopy: return "sejits_stream_copy";
    case Callee::kStreamFence: return "sejits_stream_fence";
    case Callee::kPythonAdd: return "sejits_python_add";
    case Callee::kPythonSub: return "sejits_python_sub";
    case Callee::kPythonMul: return "sejits_python_mul";
    case Callee::kPythonPow: return "sejits_python_pow";
    case Callee::kFailOutOfBounds: return "sejits_fail_out_of_bounds";
    case Callee::kBoundaryIndex: return "sejits_boundary_index";
    case Callee::kMin: return "sejits_min_index";
    case Callee::kMax: return "sejits_max_index";
    case Callee::kCacheBytes: return "sejits_cache_bytes";
    case Callee::kMaxThreads: return "sejits_max_threads";
    case Callee::kSpinMicroseconds: return "sejits_spin_microseconds";
  }
  return "";
}

std::string binary_token(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kMod: return "%";
    case BinaryOp::kEq: return "==";
    case BinaryOp::kNe: return "!=";
    case BinaryOp::kLt: return "<";
    case BinaryOp::kLe: return "<=";
    case BinaryOp::kGt: return ">";
    case BinaryOp::kGe: return ">=";
    case BinaryOp::kLogicalAnd: return "&&";
    case BinaryOp::kLogicalOr: return "||";
  }
  return "";
}

std::string escape_c_string(const std::string &text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\%03o", c);
      out += buffer;
    }
  }
  return out + "\"";
}

template <typename F>
std::string shortest_float_text(F value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

std::string print_expr(const ExprPtr &expr);

std::string print_args(const std::vector<ExprPtr> &args) {
  std::vector<std::string> parts;
  for (const auto &arg : args) parts.push_back(print_expr(arg));
  return absl::StrJoin(parts, ", ");
}

struct ExprPrinter {
  std::string operator()(const Variable &v) const { return v.name; }
  std::string operator()(const Literal &l) const { return print_cpp_literal(l); }
  std::string operator()(const Unary &u) const {
    switch (u.op) {
      case UnaryOp::kNeg: return "(-" + print_expr(u.operand) + ")";
      case UnaryOp::kNot: return "(!" + print_expr(u.operand) + ")";
      case UnaryOp::kAddressOf: return "(&" + print_expr(u.operand) + ")";
      case UnaryOp::kDeref: return "(*" + print_expr(u.operand) + ")";
    }
    return "";
  }
  std::string operator()(const Binary &b) const {
    return absl::StrCat("(", print_expr(b.left), " ", binary_token(b.op), " ", print_expr(b.right), ")");
  }
  std::string operator()(const Ternary &t) const {
    return absl::StrCat("(", print_expr(t.condition), " ? ", print_expr(t.if_true), " : ",
                        print_expr(t.if_false), ")");
  }
  std::string operator()(const CallExpr &c) const {
    std::string name = callee_name(c.callee);
    if (c.templated) name += "<" + type_name(c.template_type) + ">";
    return absl::StrCat(name, "(", print_args(c.args), ")");
  }
  std::string operator()(const Cast &c) const {
    return absl::StrCat("((", type_name(c.type), ")", print_expr(c.operand), ")");
  }
  std::string operator()(const IndexExpr &i) const {
    return absl::StrCat(print_expr(i.base), "[", print_expr(i.index), "]");
  }
  std::string operator()(const Member &m) const {
    return absl::StrCat(print_expr(m.base), m.via_pointer ? "->" : ".", m.field);
  }
  std::string operator()(const SizeOf &s) const { return "((int64_t)sizeof(" + type_name(s.type) + "))"; }
};

std::string print_expr(const ExprPtr &expr) { return std::visit(ExprPrinter{}, expr->node); }

class StmtPrinter {
 public:
  explicit StmtPrinter(std::ostringstream &out) : out_(out) {}

  void print_body(const std::vector<StmtPtr> &body, int depth) {
    for (const auto &stmt : body) print(*stmt, depth);
  }

  void print(const Stmt &stmt, int depth) {
    std::visit([&](const auto &node) { print_node(node, depth); }, stmt.node);
  }

 private:
  void indent(int depth) { out_ << std::string(2 * depth, ' '); }

  void print_node(const Decl &d, int depth) {
    indent(depth);
    if (d.alignment > 0) out_ << "alignas(" << d.alignment << ") ";
    out_ << type_name(d.type) << " " << d.name;
    if (d.array_length > 0) out_ << "[" << d.array_length << "]";
    if (d.init) out_ << " = " << print_expr(d.init);
    out_ << ";\n";
  }
  void print_node(const AssignStmt &a, int depth) {
    indent(depth);
    out_ << print_expr(a.target) << " = " << print_expr(a.value) << ";\n";
  }
  static std::string schedule(int64_t chunk) {
    return chunk > 0 ? " schedule(static, " + std::to_string(chunk) + ")" : " schedule(static)";
  }
  void print_node(const ForStmt &f, int depth) {
    if (const auto *omp = std::get_if<OmpParallelFor>(&f.annotation)) {
      indent(depth);
      out_ << "#pragma omp parallel for" << (omp->simd ? " simd" : "") << schedule(omp->chunk);
      if (!omp->if_threshold_var.empty()) out_ << " if(" << omp->if_threshold_var << ")";
      if (!omp->num_threads_var.empty()) out_ << " num_threads(" << omp->num_threads_var << ")";
      out_ << "\n";
    } else if (std::holds_alternative<OmpSimd>(f.annotation)) {
      indent(depth);
      out_ << "#pragma omp simd\n";
    } else if (const auto *omp = std::get_if<OmpFor>(&f.annotation)) {
      indent(depth);
      out_ << "#pragma omp for" << schedule(omp->chunk) << (omp->nowait ? " nowait" : "") << "\n";
    }
    indent(depth);
    out_ << "for (int64_t " << f.index << " = " << print_expr(f.begin) << "; " << f.index << " < "
         << print_expr(f.end) << "; ++" << f.index << ") {\n";
    print_body(f.body, depth + 1);
    indent(depth);
    out_ << "}\n";
  }
  void print_node(const IfStmt &i, int depth) {
    indent(depth);
    out_ << "if (" << print_expr(i.condition) << ") {\n";
    print_body(i.then_body, depth + 1);
    indent(depth);
    if (!i.else_body.empty()) {
      out_ << "} else {\n";
      print_body(i.else_body, depth + 1);
      indent(depth);
    }
    out_ << "}\n";
  }
  void print_node(const ReturnStmt &r, int depth) {
    indent(depth);
    out_ << "return";
    if (r.value) out_ << " " << print_expr(r.value);
    out_ << ";\n";
  }
  void print_node(const ExprStmt &e, int depth) {
    indent(depth);
    out_ << print_expr(e.value) << ";\n";
  }
  void print_node(const Comment &c, int depth) {
    indent(depth);
    std::string text = c.text;
    for (auto &ch : text) {
      if (ch == '\n' || ch == '\r') ch = ' ';
    }
    out_ << "// " << text << "\n";
  }
  void print_node(const Block &b, int depth) {
    if (b.parallel) {
      indent(depth);
      out_ << "#pragma omp parallel";
      if (!b.parallel->if_threshold_var.empty()) out_ << " if(" << b.parallel->if_threshold_var << ")";
      if (!b.parallel->num_threads_var.empty()) out_ << " num_threads(" << b.parallel->num_threads_var << ")";
      out_ << "\n";
    }
    indent(depth);
    out_ << "{\n";
    print_body(b.body, depth + 1);
    indent(depth);
    out_ << "}\n";
  }

  std::ostringstream &out_;
};

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

std::string print_cpp_expr(const ExprPtr &expr) { return print_expr(expr); }

std::string print_cpp(const TranslationUnit &unit) {
  std::ostringstream out;
  for (const auto &line : unit.header_comment) {
    std::string text = line;
    for (auto &ch : text) {
      if (ch == '\n' || ch == '\r') ch = ' ';
    }
    out << "// " << text << "\n";
  }
  out << "#include \"sejits/kernel_runtime.h\"\n\n";
  out << "SEJITS_EXPORT int32_t sejits_abi_version(void) { return SEJITS_ABI_VERSION; }\n";
  StmtPrinter printer(out);
  for (const auto &function : unit.functions) {
    out << "\n";
    if (function.exported) out << "SEJITS_EXPORT ";
    else out << "static inline ";
    std::vector<std::string> params;
    for (const auto &param : function.params) params.push_back(type_name(param.type) + " " + param.name);
    out << type_name(function.return_type) << " " << function.name << "(" << absl::StrJoin(params, ", ")
        << ") {\n";
    printer.print_body(function.body, 1);
    out << "}\n";
  }
  return out.str();
}

}  // namespace sejits::codegen
