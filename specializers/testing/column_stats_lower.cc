#include "specializers/testing/column_stats_lower.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "specializers/common/lower_entry.h"
#include "specializers/common/lower_scalar.h"

namespace sejits::specializers::testing {
namespace cg = codegen;
namespace {

// Elements below which one thread does the work.
constexpr int64_t kParallelThreshold = 32768;

cg::ExprPtr add(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kAdd, std::move(a), std::move(b)); }
cg::ExprPtr mul(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kMul, std::move(a), std::move(b)); }
cg::ExprPtr ne(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kNe, std::move(a), std::move(b)); }
cg::ExprPtr extent(int arg, int axis) { return cg::index(arg_field(arg, "shape"), cg::int_literal(axis)); }

// One array parameter of an entry point, as the ABI passes it.
struct ArrayParam {
  std::string name;   // the pointer's name in the generated code; strides are <name>_s<d>
  std::string label;  // the parameter's name in the interface, for messages
  int rank;
  bool written;
};

class EntryLowering {
 public:
  EntryLowering(const ColumnStatsIr &ir, std::vector<ArrayParam> params) : ir_(ir), params_(std::move(params)) {}

  cg::CType element() const { return ctype_of(ir_.dtype); }

  // Fails unless nargs, every argument's kind, dtype and rank match; then
  // declares each array's pointer and its strides in elements.
  void declare_params(const std::string &signature, std::vector<cg::StmtPtr> &body) const {
    const int count = static_cast<int>(params_.size());
    body.push_back(cg::if_stmt(ne(cg::var("nargs"), cg::int_literal(count)),
                               {fail_statement(absl::StrCat("expected ", count, " arguments: ", signature))}));
    for (int arg = 0; arg < count; ++arg) {
      const ArrayParam &param = params_[arg];
      cg::ExprPtr wrong = cg::binary(
          cg::BinaryOp::kLogicalOr,
          cg::binary(cg::BinaryOp::kLogicalOr, ne(arg_field(arg, "kind"), cg::int_literal(static_cast<int>(ArgKind::kArray))),
                     ne(arg_field(arg, "dtype"), cg::int_literal(static_cast<int>(ir_.dtype)))),
          ne(arg_field(arg, "rank"), cg::int_literal(param.rank)));
      body.push_back(cg::if_stmt(wrong, {fail_statement(absl::StrCat("argument ", arg, " (", param.label, ") must be a ", param.rank,
                                                                     "-D ", dtype_name(ir_.dtype), " array"))}));
      cg::ExprPtr item = cg::size_of(cg::scalar_type(element()));
      for (int d = 0; d < param.rank; ++d) {
        cg::ExprPtr stride = cg::index(arg_field(arg, "strides"), cg::int_literal(d));
        body.push_back(cg::if_stmt(ne(cg::binary(cg::BinaryOp::kMod, stride, item), cg::int_literal(0)),
                                   {fail_statement(absl::StrCat("argument ", arg, " (", param.label, ") is not aligned to its element size"))}));
        body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), absl::StrCat(param.name, "_s", d),
                                cg::binary(cg::BinaryOp::kDiv, stride, item)));
      }
      const bool read_only = !param.written;
      body.push_back(cg::decl(cg::pointer_type(element(), read_only), param.name,
                              cg::cast(cg::pointer_type(element(), read_only), arg_field(arg, "data"))));
    }
  }

  // Fails unless args[arg].shape[axis] equals `size`.
  void check_extent(int arg, int axis, cg::ExprPtr size, const std::string &what, std::vector<cg::StmtPtr> &body) const {
    body.push_back(cg::if_stmt(ne(extent(arg, axis), std::move(size)), {fail_statement(what)}));
  }

  // n_rows, n_cols: X's extents (X is args[0]); parallel: worth threads, and
  // the caller (flags of args[serial_arg]) did not ask for a serial call.
  void declare_extents(int serial_arg, std::vector<cg::StmtPtr> &body) const {
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "n_rows", extent(0, 0)));
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "n_cols", extent(0, 1)));
    cg::ExprPtr large = cg::binary(cg::BinaryOp::kGe, mul(cg::var("n_rows"), cg::var("n_cols")), cg::int_literal(kParallelThreshold));
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "parallel",
                            cg::binary(cg::BinaryOp::kLogicalAnd, large, cg::unary(cg::UnaryOp::kNot, serial_call(serial_arg)))));
  }

  // name[i0 * name_s0 (+ i1 * name_s1)]
  cg::ExprPtr element_at(const std::string &name, std::vector<cg::ExprPtr> indices) const {
    cg::ExprPtr flat;
    for (size_t d = 0; d < indices.size(); ++d) {
      cg::ExprPtr term = mul(indices[d], cg::var(absl::StrCat(name, "_s", d)));
      flat = flat ? add(flat, term) : term;
    }
    return cg::index(cg::var(name), flat);
  }

 private:
  const ColumnStatsIr &ir_;
  std::vector<ArrayParam> params_;
};

cg::StmtPtr parallel_for(const std::string &index, const std::string &end, std::vector<cg::StmtPtr> body) {
  return cg::for_loop(index, cg::int_literal(0), cg::var(end), std::move(body), cg::OmpParallelFor{false, "parallel", "", 0});
}

// call(X, col_sums, row_max). Column sums accumulate in double whatever X's
// dtype, so float32 sums lose nothing to the order of the rows.
std::vector<cg::StmtPtr> call_body(const ColumnStatsIr &ir) {
  EntryLowering entry(ir, {{"x", "X", 2, false}, {"col_sums", "col_sums", 1, true}, {"row_max", "row_max", 1, true}});
  std::vector<cg::StmtPtr> body;
  entry.declare_params("X, col_sums, row_max", body);
  entry.declare_extents(1, body);
  entry.check_extent(1, 0, cg::var("n_cols"), "col_sums must have X.shape[1] elements", body);
  entry.check_extent(2, 0, cg::var("n_rows"), "row_max must have X.shape[0] elements", body);
  const cg::CType element = entry.element();
  cg::ExprPtr x_ij = entry.element_at("x", {cg::var("i"), cg::var("j")});

  std::vector<cg::StmtPtr> column = {cg::decl(cg::scalar_type(cg::CType::kFloat64), "sum", cg::literal(cg::CType::kFloat64, 0.0))};
  column.push_back(cg::for_loop("i", cg::int_literal(0), cg::var("n_rows"),
                                {cg::assign(cg::var("sum"), add(cg::var("sum"), cg::cast(cg::scalar_type(cg::CType::kFloat64), x_ij)))}));
  column.push_back(cg::assign(entry.element_at("col_sums", {cg::var("j")}),
                              cg::cast(cg::scalar_type(element), mul(cg::literal(cg::CType::kFloat64, ir.scale), cg::var("sum")))));
  body.push_back(parallel_for("j", "n_cols", std::move(column)));

  // NumPy's maximum: a NaN in the row wins; a row of no columns is -inf.
  std::vector<cg::StmtPtr> row = {cg::decl(cg::scalar_type(element), "largest", cg::literal(element, -std::numeric_limits<double>::infinity()))};
  row.push_back(cg::for_loop("j", cg::int_literal(0), cg::var("n_cols"),
                             {cg::assign(cg::var("largest"), cg::call(cg::Callee::kMaximum, {cg::var("largest"), x_ij}))}));
  row.push_back(cg::assign(entry.element_at("row_max", {cg::var("i")}), cg::var("largest")));
  body.push_back(parallel_for("i", "n_rows", std::move(row)));
  body.push_back(cg::return_stmt(cg::int_literal(0)));
  return body;
}

// center(X, col_sums, Y): Y = X - col_sums / n_rows, in X's dtype (as NumPy
// computes it). With no rows there is nothing to write, and no division.
std::vector<cg::StmtPtr> center_body(const ColumnStatsIr &ir) {
  EntryLowering entry(ir, {{"x", "X", 2, false}, {"col_sums", "col_sums", 1, false}, {"y", "Y", 2, true}});
  std::vector<cg::StmtPtr> body;
  entry.declare_params("X, col_sums, Y", body);
  entry.declare_extents(2, body);
  entry.check_extent(1, 0, cg::var("n_cols"), "col_sums must have X.shape[1] elements", body);
  entry.check_extent(2, 0, cg::var("n_rows"), "Y must have X's shape", body);
  entry.check_extent(2, 1, cg::var("n_cols"), "Y must have X's shape", body);
  const cg::CType element = entry.element();
  cg::ExprPtr mean = cg::binary(cg::BinaryOp::kDiv, entry.element_at("col_sums", {cg::var("j")}),
                                cg::cast(cg::scalar_type(element), cg::var("n_rows")));
  cg::ExprPtr centered = cg::binary(cg::BinaryOp::kSub, entry.element_at("x", {cg::var("i"), cg::var("j")}), mean);
  std::vector<cg::StmtPtr> row = {
      cg::for_loop("j", cg::int_literal(0), cg::var("n_cols"), {cg::assign(entry.element_at("y", {cg::var("i"), cg::var("j")}), centered)})};
  body.push_back(parallel_for("i", "n_rows", std::move(row)));
  body.push_back(cg::return_stmt(cg::int_literal(0)));
  return body;
}

}  // namespace

cg::TranslationUnit lower_column_stats(const ColumnStatsIr &ir, std::vector<std::string> &notes) {
  cg::TranslationUnit unit;
  unit.header_comment = {"Generated by sejits: test_column_stats (a test-only library kernel).",
                         absl::StrCat("Dtype: ", dtype_name(ir.dtype), ", scale: ", ir.scale)};
  unit.functions.push_back(entry_point(kColumnStatsCallSymbol, call_body(ir)));
  unit.functions.push_back(entry_point(kColumnStatsCenterSymbol, center_body(ir)));
  notes.push_back(absl::StrCat("C++/OpenMP test_column_stats (", dtype_name(ir.dtype),
                               "): call and center read every array through its strides, in parallel above ", kParallelThreshold,
                               " elements"));
  return unit;
}

}  // namespace sejits::specializers::testing
