#include "codegen/c_printer.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sejits::codegen {
namespace {

template <typename F>
std::string shortest_text(F value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

std::string one_line(std::string text) {
  for (auto &ch : text) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return text;
}

struct ExprPrinter {
  const Dialect &dialect;

  std::string print(const ExprPtr &expr) const { return std::visit(*this, expr->node); }
  std::string args(const std::vector<ExprPtr> &args) const {
    std::vector<std::string> parts;
    for (const auto &arg : args) parts.push_back(print(arg));
    return absl::StrJoin(parts, ", ");
  }

  std::string operator()(const Variable &v) const { return v.name; }
  std::string operator()(const Literal &l) const { return dialect.literal(l); }
  std::string operator()(const Unary &u) const {
    switch (u.op) {
      case UnaryOp::kNeg: return "(-" + print(u.operand) + ")";
      case UnaryOp::kNot: return "(!" + print(u.operand) + ")";
      case UnaryOp::kAddressOf: return "(&" + print(u.operand) + ")";
      case UnaryOp::kDeref: return "(*" + print(u.operand) + ")";
      case UnaryOp::kBitNot: return "(~" + print(u.operand) + ")";
    }
    return "";
  }
  std::string operator()(const Binary &b) const {
    return absl::StrCat("(", print(b.left), " ", binary_token(b.op), " ", print(b.right), ")");
  }
  std::string operator()(const Ternary &t) const {
    return absl::StrCat("(", print(t.condition), " ? ", print(t.if_true), " : ", print(t.if_false), ")");
  }
  std::string operator()(const CallExpr &c) const { return absl::StrCat(dialect.call_name(c), "(", args(c.args), ")"); }
  std::string operator()(const Cast &c) const { return absl::StrCat("((", dialect.type_name(c.type), ")", print(c.operand), ")"); }
  std::string operator()(const IndexExpr &i) const { return absl::StrCat(print(i.base), "[", print(i.index), "]"); }
  std::string operator()(const Member &m) const { return absl::StrCat(print(m.base), m.via_pointer ? "->" : ".", m.field); }
  std::string operator()(const SizeOf &s) const {
    return absl::StrCat("((", dialect.type_name(scalar_type(CType::kInt64)), ")sizeof(", dialect.type_name(s.type), "))");
  }
};

class StmtPrinter {
 public:
  StmtPrinter(const Dialect &dialect, std::ostringstream &out) : dialect_(dialect), expr_{dialect}, out_(out) {}

  void print_body(const std::vector<StmtPtr> &body, int depth) {
    for (const auto &stmt : body) std::visit([&](const auto &node) { print_node(node, depth); }, stmt->node);
  }

 private:
  void indent(int depth) { out_ << std::string(2 * depth, ' '); }
  std::string e(const ExprPtr &expr) const { return expr_.print(expr); }

  void print_node(const Decl &d, int depth) {
    indent(depth);
    if (d.alignment > 0 && dialect_.prints_openmp()) out_ << "alignas(" << d.alignment << ") ";
    out_ << dialect_.type_name(d.type) << " " << d.name;
    if (d.array_length > 0) out_ << "[" << d.array_length << "]";
    if (d.init) out_ << " = " << e(d.init);
    out_ << ";\n";
  }
  void print_node(const AssignStmt &a, int depth) {
    indent(depth);
    out_ << e(a.target) << " = " << e(a.value) << ";\n";
  }
  static std::string schedule(int64_t chunk) {
    return chunk > 0 ? " schedule(static, " + std::to_string(chunk) + ")" : " schedule(static)";
  }
  void print_pragma(const ForStmt &f, int depth) {
    if (!dialect_.prints_openmp()) return;
    if (const auto *omp = std::get_if<OmpParallelFor>(&f.annotation)) {
      indent(depth);
      out_ << "#pragma omp parallel for" << (omp->simd ? " simd" : "") << schedule(omp->chunk);
      if (!omp->if_threshold_var.empty()) out_ << " if(" << omp->if_threshold_var << ")";
      if (!omp->num_threads_var.empty()) out_ << " num_threads(" << omp->num_threads_var << ")";
      out_ << "\n";
    } else if (const auto *simd = std::get_if<OmpSimd>(&f.annotation)) {
      indent(depth);
      out_ << "#pragma omp simd";
      static const char *const kOps[] = {"+", "*", "max", "min", "|"};
      for (const OmpReduction &reduction : simd->reductions) {
        out_ << " reduction(" << kOps[static_cast<int>(reduction.op)] << ":" << reduction.variable << ")";
      }
      out_ << "\n";
    } else if (const auto *omp = std::get_if<OmpFor>(&f.annotation)) {
      indent(depth);
      out_ << "#pragma omp for" << schedule(omp->chunk) << (omp->nowait ? " nowait" : "") << "\n";
    }
  }
  void print_node(const ForStmt &f, int depth) {
    print_pragma(f, depth);
    indent(depth);
    std::string step = f.step ? absl::StrCat(f.index, " += ", e(f.step)) : "++" + f.index;
    out_ << "for (" << dialect_.type_name(scalar_type(f.index_type)) << " " << f.index << " = " << e(f.begin) << "; " << f.index << " < "
         << e(f.end) << "; " << step << ") {\n";
    print_body(f.body, depth + 1);
    indent(depth);
    out_ << "}\n";
  }
  // A condition without the parentheses a binary expression prints with
  // (clang warns about `if ((a == b))`, which OpenCL compilers print).
  std::string condition(const ExprPtr &expr) {
    std::string text = e(expr);
    if (std::holds_alternative<Binary>(expr->node) && text.size() > 2 && text.front() == '(' && text.back() == ')') {
      return text.substr(1, text.size() - 2);
    }
    return text;
  }

  void print_node(const IfStmt &i, int depth) {
    indent(depth);
    out_ << "if (" << condition(i.condition) << ") {\n";
    print_body(i.then_body, depth + 1);
    indent(depth);
    if (!i.else_body.empty()) {
      out_ << "} else {\n";
      print_body(i.else_body, depth + 1);
      indent(depth);
    }
    out_ << "}\n";
  }
  void print_node(const WhileStmt &w, int depth) {
    indent(depth);
    out_ << "while (" << condition(w.condition) << ") {\n";
    print_body(w.body, depth + 1);
    indent(depth);
    out_ << "}\n";
  }
  void print_node(const BreakStmt &, int depth) {
    indent(depth);
    out_ << "break;\n";
  }
  void print_node(const ReturnStmt &r, int depth) {
    indent(depth);
    out_ << "return";
    if (r.value) out_ << " " << e(r.value);
    out_ << ";\n";
  }
  void print_node(const ExprStmt &s, int depth) {
    indent(depth);
    out_ << e(s.value) << ";\n";
  }
  void print_node(const Comment &c, int depth) {
    indent(depth);
    out_ << "// " << one_line(c.text) << "\n";
  }
  void print_node(const Block &b, int depth) {
    if (b.parallel && dialect_.prints_openmp()) {
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

  const Dialect &dialect_;
  ExprPrinter expr_;
  std::ostringstream &out_;
};

}  // namespace

std::string print_expr(const Dialect &dialect, const ExprPtr &expr) { return ExprPrinter{dialect}.print(expr); }

void print_body(const Dialect &dialect, const std::vector<StmtPtr> &body, int depth, std::ostringstream &out) {
  StmtPrinter(dialect, out).print_body(body, depth);
}

void print_function(const Dialect &dialect, const Function &function, const std::string &prefix, std::ostringstream &out) {
  std::vector<std::string> params;
  for (const auto &param : function.params) params.push_back(dialect.type_name(param.type) + " " + param.name);
  out << prefix << dialect.type_name(function.return_type) << " " << function.name << "(" << absl::StrJoin(params, ", ") << ") {\n";
  print_body(dialect, function.body, 1, out);
  out << "}\n";
}

void print_header_comment(const std::vector<std::string> &lines, std::ostringstream &out) {
  for (const auto &line : lines) out << "// " << one_line(line) << "\n";
}

std::string escape_c_string(const std::string &text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '\n') {
      out += "\\n";  // embedded OpenCL sources stay readable
    } else if (c == '"' || c == '\\') {
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

std::string print_c_literal(const Literal &literal, const LiteralSpelling &spelling) {
  if (const auto *b = std::get_if<bool>(&literal.value)) return *b ? "true" : "false";
  if (const auto *s = std::get_if<std::string>(&literal.value)) return escape_c_string(*s);
  if (const auto *u = std::get_if<uint64_t>(&literal.value)) return std::to_string(*u) + spelling.uint64_suffix;
  if (const auto *i = std::get_if<int64_t>(&literal.value)) {
    if (*i == std::numeric_limits<int64_t>::min()) return absl::StrCat("(-9223372036854775807", spelling.int64_suffix, " - 1)");
    std::string digits = std::to_string(*i);
    if (*i >= std::numeric_limits<int32_t>::min() && *i <= std::numeric_limits<int32_t>::max()) {
      return *i < 0 ? "(" + digits + ")" : digits;  // fits `int`: no suffix needed
    }
    return absl::StrCat("(", digits, spelling.int64_suffix, ")");
  }
  double value = std::get<double>(literal.value);
  bool single = literal.type == CType::kFloat32;
  if (std::isnan(value)) return single ? spelling.nan32 : spelling.nan64;
  if (std::isinf(value)) {
    std::string inf = single ? spelling.inf32 : spelling.inf64;
    return value < 0 ? "(-" + inf + ")" : inf;
  }
  if (single) return "(" + shortest_float_text(static_cast<float>(value)) + "f)";
  return "(" + shortest_float_text(value) + ")";
}

std::string shortest_float_text(double value) { return shortest_text(value); }
std::string shortest_float_text(float value) { return shortest_text(value); }

std::string base_callee_name(Callee callee) {
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
    case Callee::kExp2: return "exp2";
    case Callee::kCbrt: return "cbrt";
    case Callee::kRint: return "rint";
    case Callee::kFmod: return "fmod";
    case Callee::kErf: return "erf";
    case Callee::kErfc: return "erfc";
    case Callee::kTgamma: return "tgamma";
    case Callee::kLgamma: return "lgamma";
    case Callee::kFloorDivInt: return "sejits_floor_div_int";
    case Callee::kModInt: return "sejits_mod_int";
    case Callee::kFloorDivFloat: return "sejits_floor_div_float";
    case Callee::kModFloat: return "sejits_mod_float";
    case Callee::kPowInt: return "sejits_pow_int";
    case Callee::kMaximum: return "sejits_maximum";
    case Callee::kMinimum: return "sejits_minimum";
    case Callee::kAbs: return "sejits_abs";
    case Callee::kLeftShift: return "sejits_left_shift";
    case Callee::kRightShift: return "sejits_right_shift";
    case Callee::kPythonLeftShift: return "sejits_python_left_shift";
    case Callee::kPythonRightShift: return "sejits_python_right_shift";
    case Callee::kFloatToInt: return "sejits_float_to_int";
    case Callee::kDoubleToInt: return "sejits_double_to_int";
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
    case Callee::kWavefrontDepth: return "sejits_wavefront_depth";
    case Callee::kWavefrontBlockItems: return "sejits_wavefront_block_items";
    case Callee::kGlobalId: return "get_global_id";
    case Callee::kGlobalSize: return "get_global_size";
    case Callee::kClBegin: return "sejits_cl_begin";
    case Callee::kClArgBuffer: return "sejits_cl_arg_buffer";
    case Callee::kClArgValue: return "sejits_cl_arg_value";
    case Callee::kClArgErrorFlag: return "sejits_cl_arg_error_flag";
    case Callee::kClRun: return "sejits_cl_run";
    case Callee::kClErrorFlag: return "sejits_cl_error_flag";
    case Callee::kClAllDense: return "sejits_cl_all_dense";
    case Callee::kClElementStride: return "sejits_cl_element_stride";
    case Callee::kClScratch: return "sejits_cl_scratch";
    case Callee::kClArgScratch: return "sejits_cl_arg_scratch";
    case Callee::kClAllCContiguous: return "sejits_cl_all_c_contiguous";
    case Callee::kClReduceLanes: return "sejits_cl_reduce_lanes";
    case Callee::kClReduceLaneMajor: return "sejits_cl_reduce_lane_major";
    case Callee::kReduceRun: return "sejits_reduce_run";
    case Callee::kReduceArgMaxRun: return "sejits_reduce_argmax_run";
    case Callee::kReduceArgMinRun: return "sejits_reduce_argmin_run";
    case Callee::kScanRun: return "sejits_scan_run";
    case Callee::kGmmFit: return "sejits_gmm::fit";
    case Callee::kGmmEmIteration: return "sejits_gmm::em_iteration";
    case Callee::kGmmPerRow: return "sejits_gmm::per_row";
    case Callee::kGmmMStep: return "sejits_gmm::m_step";
    case Callee::kGmmClFit: return "sejits_gmm_cl::fit";
    case Callee::kGmmClEmIteration: return "sejits_gmm_cl::em_iteration";
    case Callee::kGmmClPerRow: return "sejits_gmm_cl::per_row";
    case Callee::kGmmClMStep: return "sejits_gmm_cl::m_step";
    case Callee::kSparseSpmv: return "sejits_sparse::spmv";
    case Callee::kSparseCgIteration: return "sejits_sparse::cg_iteration";
    case Callee::kSparsePowers: return "sejits_sparse::powers";
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
    case BinaryOp::kBitAnd: return "&";
    case BinaryOp::kBitOr: return "|";
    case BinaryOp::kBitXor: return "^";
  }
  return "";
}

}  // namespace sejits::codegen
