#include "specializers/stencil/lower.h"

#include "absl/strings/str_cat.h"
#include "specializers/common/lower_scalar.h"

namespace sejits::specializers::stencil {
namespace cg = codegen;

namespace {

cg::ExprPtr arg_field(int index, const std::string &field) {
  return cg::member(cg::index(cg::var("args"), cg::int_literal(index)), field);
}

cg::ExprPtr add(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kAdd, std::move(a), std::move(b)); }
cg::ExprPtr mul(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kMul, std::move(a), std::move(b)); }
cg::ExprPtr sub(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kSub, std::move(a), std::move(b)); }

std::string scalar_field(DType dtype) {
  if (is_float(dtype)) return "f";
  if (kind_of(dtype) == Kind::kUnsigned) return "u";
  return "i";
}

int boundary_mode_code(Boundary boundary) {
  switch (boundary) {
    case Boundary::kNearest: return 1;
    case Boundary::kReflect: return 2;
    case Boundary::kMirror: return 3;
    default: return 4;  // wrap
  }
}

struct Range {
  cg::ExprPtr begin, end;
};

class StencilLowering {
 public:
  explicit StencilLowering(const StencilIr &ir) : ir_(ir), out_(static_cast<int>(ir.parameters.size())) {}

  cg::TranslationUnit run(std::vector<std::string> &notes) {
    std::vector<cg::StmtPtr> body;
    check_arguments(body);
    declare_operands(body);
    cg::ExprPtr points = cg::var("n0");
    for (int d = 1; d < ir_.rank; ++d) points = mul(points, cg::var(absl::StrCat("n", d)));
    cg::ExprPtr serial = cg::binary(cg::BinaryOp::kNe, cg::binary(cg::BinaryOp::kMod, arg_field(out_, "flags"), cg::int_literal(2)),
                                    cg::int_literal(0));
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "parallel",
                            cg::binary(cg::BinaryOp::kLogicalAnd, cg::binary(cg::BinaryOp::kGe, points, cg::int_literal(kParallelThreshold)),
                                       cg::unary(cg::UnaryOp::kNot, serial))));
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt), "error_flag", cg::int_literal(0)));
    // Axis d splits into [0, a_d) [a_d, b_d) [b_d, n_d): low border, interior, high border.
    for (int d = 0; d < ir_.rank; ++d) {
      cg::ExprPtr n = cg::var(absl::StrCat("n", d));
      body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), absl::StrCat("a", d),
                              cg::call(cg::Callee::kMin, {cg::int_literal(ir_.low[d]), n})));
      body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), absl::StrCat("b", d),
                              cg::call(cg::Callee::kMax, {sub(n, cg::int_literal(ir_.high[d])), cg::var(absl::StrCat("a", d))})));
    }
    std::vector<Range> interior;
    for (int d = 0; d < ir_.rank; ++d) interior.push_back({cg::var(absl::StrCat("a", d)), cg::var(absl::StrCat("b", d))});
    body.push_back(cg::comment("interior: every read inside the grid"));
    body.push_back(loop_nest(interior, point_body(/*border=*/false)));
    if (ir_.boundary != Boundary::kSkip) {
      for (int d = 0; d < ir_.rank; ++d) {
        for (bool low_side : {true, false}) {
          std::vector<Range> slab;
          for (int e = 0; e < ir_.rank; ++e) {
            std::string axis = absl::StrCat(e);
            if (e < d) slab.push_back(interior[e]);
            else if (e > d) slab.push_back({cg::int_literal(0), cg::var("n" + axis)});
            else if (low_side) slab.push_back({cg::int_literal(0), cg::var("a" + axis)});
            else slab.push_back({cg::var("b" + axis), cg::var("n" + axis)});
          }
          body.push_back(cg::comment(absl::StrCat("border: axis ", d, low_side ? ", low side" : ", high side")));
          body.push_back(loop_nest(slab, point_body(/*border=*/true)));
        }
      }
    }
    if (may_set_error_flag(ir_.value)) {
      for (auto [flag, message] : {std::pair{1, "Integers to negative integer powers are not allowed."},
                                   std::pair{2, "sejits-fallback: Python int arithmetic exceeds 64 bits"}}) {
        body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kEq, cg::var("error_flag"), cg::int_literal(flag)), {fail(message)}));
      }
    }
    body.push_back(cg::return_stmt(cg::int_literal(0)));

    notes.push_back(absl::StrCat("C++/OpenMP stencil, rank ", ir_.rank, ", boundary ", boundary_name(ir_.boundary),
                                 ": branch-free interior loop nest (parallel outer axis, simd inner axis), border slabs ",
                                 ir_.boundary == Boundary::kSkip ? "left untouched" : "computed separately"));
    cg::Function entry;
    entry.return_type = cg::scalar_type(cg::CType::kInt32);
    entry.name = kEntrySymbol;
    entry.params = {{cg::pointer_type(cg::CType::kSejitsArg, true), "args"},
                    {cg::scalar_type(cg::CType::kInt32), "nargs"},
                    {cg::pointer_type(cg::CType::kChar, false), "error"},
                    {cg::scalar_type(cg::CType::kInt64), "error_len"}};
    entry.body = std::move(body);
    entry.exported = true;
    cg::TranslationUnit unit;
    unit.header_comment = {"Generated by sejits: stencil kernel.", absl::StrCat("Result dtype: ", dtype_name(ir_.result.dtype))};
    unit.functions.push_back(std::move(entry));
    return unit;
  }

 private:
  static cg::StmtPtr fail(std::string message) {
    return cg::return_stmt(cg::call(cg::Callee::kFail, {cg::var("error"), cg::var("error_len"),
                                                         cg::literal(cg::CType::kChar, std::move(message))}));
  }

  bool is_array(int k) const { return k == out_ || ir_.parameters[k].kind == ArgKind::kArray; }
  DType dtype_of(int k) const { return k == out_ ? ir_.result.dtype : ir_.parameters[k].type.dtype; }

  void check_arguments(std::vector<cg::StmtPtr> &body) {
    body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kNe, cg::var("nargs"), cg::int_literal(out_ + 1)),
                               {fail(absl::StrCat("expected ", out_ + 1, " arguments (inputs and the output)"))}));
    for (int k = 0; k <= out_; ++k) {
      ArgKind kind = is_array(k) ? ArgKind::kArray : ArgKind::kScalar;
      cg::ExprPtr wrong = cg::binary(cg::BinaryOp::kLogicalOr,
                                     cg::binary(cg::BinaryOp::kNe, arg_field(k, "kind"), cg::int_literal(static_cast<int>(kind))),
                                     cg::binary(cg::BinaryOp::kNe, arg_field(k, "dtype"), cg::int_literal(static_cast<int>(dtype_of(k)))));
      if (kind == ArgKind::kArray) {
        wrong = cg::binary(cg::BinaryOp::kLogicalOr, wrong,
                           cg::binary(cg::BinaryOp::kNe, arg_field(k, "rank"), cg::int_literal(ir_.rank)));
      }
      body.push_back(cg::if_stmt(wrong, {fail(absl::StrCat("argument ", k, " does not match the specialized signature"))}));
    }
    for (int k = 0; k < out_; ++k) {
      if (!is_array(k)) continue;
      for (int d = 0; d < ir_.rank; ++d) {
        cg::ExprPtr extent = cg::index(arg_field(k, "shape"), cg::int_literal(d));
        body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kNe, extent, cg::index(arg_field(out_, "shape"), cg::int_literal(d))),
                                   {fail(absl::StrCat("argument ", k, " does not have the grid's shape"))}));
      }
    }
  }

  // Data pointers, extents, strides in elements, scalar values.
  void declare_operands(std::vector<cg::StmtPtr> &body) {
    for (int d = 0; d < ir_.rank; ++d) {
      body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), absl::StrCat("n", d),
                              cg::index(arg_field(out_, "shape"), cg::int_literal(d))));
    }
    for (int k = 0; k <= out_; ++k) {
      DType dtype = dtype_of(k);
      if (!is_array(k)) {
        body.push_back(cg::decl(cg::scalar_type(ctype_of(dtype), true), absl::StrCat("s", k),
                                cg::cast(cg::scalar_type(ctype_of(dtype)), cg::member(arg_field(k, "scalar"), scalar_field(dtype)))));
        continue;
      }
      cg::ExprPtr item = cg::size_of(cg::scalar_type(ctype_of(dtype)));
      for (int d = 0; d < ir_.rank; ++d) {
        cg::ExprPtr stride = cg::index(arg_field(k, "strides"), cg::int_literal(d));
        body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kNe, cg::binary(cg::BinaryOp::kMod, stride, item), cg::int_literal(0)),
                                   {fail(absl::StrCat("argument ", k, " is not aligned to its element size"))}));
        body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), absl::StrCat("st", k, "_", d),
                                cg::binary(cg::BinaryOp::kDiv, stride, item)));
      }
      bool output = k == out_;
      body.push_back(cg::decl(cg::pointer_type(ctype_of(dtype), !output, !output), absl::StrCat("q", k),
                              cg::cast(cg::pointer_type(ctype_of(dtype), !output), arg_field(k, "data"))));
    }
  }

  // The element of operand k at the current point plus `offsets`; on the
  // border, each axis index goes through the boundary mode.
  cg::ExprPtr element(int k, const std::vector<int64_t> &offsets, bool border) const {
    cg::ExprPtr flat;
    for (int d = 0; d < ir_.rank; ++d) {
      cg::ExprPtr i = cg::var(absl::StrCat("i", d));
      if (!offsets.empty() && offsets[d] != 0) i = add(i, cg::int_literal(offsets[d]));
      if (border && !offsets.empty() && offsets[d] != 0) {
        i = cg::call(cg::Callee::kBoundaryIndex, {i, cg::var(absl::StrCat("n", d)), cg::int_literal(boundary_mode_code(ir_.boundary))});
      }
      cg::ExprPtr term = mul(i, cg::var(absl::StrCat("st", k, "_", d)));
      flat = flat ? add(flat, term) : term;
    }
    return cg::index(cg::var(absl::StrCat("q", k)), flat);
  }

  std::vector<cg::StmtPtr> point_body(bool border) const {
    cg::ExprPtr target = element(out_, {}, false);
    if (border && ir_.boundary == Boundary::kConstant) {
      DType dtype = ir_.result.dtype;
      cg::ExprPtr cval = is_float(dtype) ? cg::literal(ctype_of(dtype), ir_.cval)
                                         : cg::cast(cg::scalar_type(ctype_of(dtype)), cg::literal(cg::CType::kFloat64, ir_.cval));
      return {cg::assign(target, cval)};
    }
    ScalarLoweringContext context;
    context.error_flag = "error_flag";
    context.param = [&](int index, const std::vector<int64_t> &offsets) -> cg::ExprPtr {
      if (!is_array(index)) return cg::var(absl::StrCat("s", index));
      return element(index, offsets, border);
    };
    LoweredScalar lowered = lower_scalar(ir_.value, context);
    std::vector<cg::StmtPtr> statements = lowered.statements;
    statements.push_back(cg::assign(target, lowered.value));
    return statements;
  }

  // Nested loops over `ranges` (outermost first): OpenMP over the outer axis,
  // simd over the inner one.
  cg::StmtPtr loop_nest(const std::vector<Range> &ranges, std::vector<cg::StmtPtr> body) const {
    const int rank = static_cast<int>(ranges.size());
    for (int d = rank - 1; d >= 0; --d) {
      std::variant<std::monostate, cg::OmpParallelFor, cg::OmpSimd, cg::OmpFor> annotation;
      if (d == 0) annotation = cg::OmpParallelFor{rank == 1, "parallel"};
      else if (d == rank - 1) annotation = cg::OmpSimd{};
      body = {cg::for_loop(absl::StrCat("i", d), ranges[d].begin, ranges[d].end, std::move(body), annotation)};
    }
    return cg::block(std::move(body));
  }

  const StencilIr &ir_;
  int out_;
};

}  // namespace

cg::TranslationUnit lower_stencil(const StencilIr &ir, std::vector<std::string> &notes) {
  return StencilLowering(ir).run(notes);
}

}  // namespace sejits::specializers::stencil
