#include "specializers/elementwise/lower.h"

#include "absl/strings/str_cat.h"
#include "specializers/common/lower_scalar.h"

namespace sejits::specializers::elementwise {
namespace cg = codegen;

namespace {

cg::ExprPtr arg_field(int index, const std::string &field) {
  return cg::member(cg::index(cg::var("args"), cg::int_literal(index)), field);
}

std::string scalar_field(DType dtype) {
  if (is_float(dtype)) return "f";
  if (kind_of(dtype) == Kind::kUnsigned) return "u";
  return "i";
}

class ElementwiseLowering {
 public:
  explicit ElementwiseLowering(const ElementwiseIr &ir) : ir_(ir) {
    for (size_t k = 0; k < ir.parameters.size(); ++k) {
      if (ir.parameters[k].kind == ArgKind::kArray) {
        operand_of_param_[k] = static_cast<int>(array_params_.size());
        array_params_.push_back(static_cast<int>(k));
      }
    }
    output_operand_ = static_cast<int>(array_params_.size());
  }

  cg::TranslationUnit run(std::vector<std::string> &notes) {
    std::vector<cg::StmtPtr> body;
    check_arguments(body);
    const int noperands = output_operand_ + 1;
    body.push_back(cg::decl(cg::pointer_type(cg::CType::kSejitsArg, true), "operands", nullptr, noperands));
    for (int j = 0; j < output_operand_; ++j) {
      body.push_back(cg::assign(cg::index(cg::var("operands"), cg::int_literal(j)),
                                cg::unary(cg::UnaryOp::kAddressOf, cg::index(cg::var("args"), cg::int_literal(array_params_[j])))));
    }
    body.push_back(cg::assign(cg::index(cg::var("operands"), cg::int_literal(output_operand_)),
                              cg::unary(cg::UnaryOp::kAddressOf, cg::index(cg::var("args"), cg::int_literal(output_arg())))));
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kSejitsIter), "it"));
    body.push_back(cg::if_stmt(
        cg::binary(cg::BinaryOp::kNe,
                   cg::call(cg::Callee::kIterInit, {cg::unary(cg::UnaryOp::kAddressOf, cg::var("it")), cg::var("operands"),
                                                    cg::int_literal(noperands), cg::var("error"), cg::var("error_len")}),
                   cg::int_literal(0)),
        {cg::return_stmt(cg::int_literal(1))}));
    for (size_t k = 0; k < ir_.parameters.size(); ++k) {
      if (ir_.parameters[k].kind != ArgKind::kScalar) continue;
      DType dtype = ir_.parameters[k].type.dtype;
      body.push_back(cg::decl(cg::scalar_type(ctype_of(dtype), true), absl::StrCat("s", k),
                              cg::cast(cg::scalar_type(ctype_of(dtype)), cg::member(arg_field(static_cast<int>(k), "scalar"), scalar_field(dtype)))));
    }
    check_python_int_ranges(body);
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt), "error_flag", cg::literal(cg::CType::kInt64, int64_t{0})));
    // A process forked from one that ran OpenMP cannot start threads again
    // (libgomp): the client marks such calls serial.
    cg::ExprPtr serial = cg::binary(cg::BinaryOp::kNe,
                                    cg::binary(cg::BinaryOp::kMod, arg_field(output_arg(), "flags"), cg::int_literal(2)),
                                    cg::int_literal(0));
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "parallel",
                            cg::binary(cg::BinaryOp::kLogicalAnd,
                                       cg::binary(cg::BinaryOp::kGe, cg::member(cg::var("it"), "size"), cg::int_literal(kParallelThreshold)),
                                       cg::unary(cg::UnaryOp::kNot, serial))));

    cg::ExprPtr all_dense;
    for (int j = 0; j < noperands; ++j) {
      cg::ExprPtr dense = cg::call(cg::Callee::kIterDense, {cg::unary(cg::UnaryOp::kAddressOf, cg::var("it")), cg::int_literal(j),
                                                            cg::size_of(cg::scalar_type(ctype_of(operand_dtype(j))))});
      all_dense = all_dense ? cg::binary(cg::BinaryOp::kLogicalAnd, all_dense, dense) : dense;
    }
    const int64_t out_itemsize = itemsize(ir_.result.dtype);
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "streaming",
                            cg::binary(cg::BinaryOp::kGe,
                                       cg::binary(cg::BinaryOp::kMul, cg::member(cg::var("it"), "size"), cg::int_literal(out_itemsize)),
                                       cg::int_literal(kStreamingOutputBytes))));
    std::vector<cg::StmtPtr> dense = dense_pointers();
    dense.push_back(cg::if_stmt(cg::var("streaming"), streaming_loop(), {dense_loop()}));
    body.push_back(cg::if_stmt(all_dense, dense, strided_path()));
    if (may_set_error_flag(ir_.value)) {
      // "sejits-fallback:" asks the client to run the Python code for this call.
      for (auto [flag, message] : {std::pair{1, "Integers to negative integer powers are not allowed."},
                                   std::pair{2, "sejits-fallback: Python int arithmetic exceeds 64 bits"}}) {
        body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kEq, cg::var("error_flag"), cg::int_literal(flag)),
                                   {fail_statement(message)}));
      }
    }
    body.push_back(cg::return_stmt(cg::int_literal(0)));

    notes.push_back(absl::StrCat("C++/OpenMP: dense path (one flat loop, parallel simd above ", kParallelThreshold,
                                 " elements; streaming stores for outputs of ", kStreamingOutputBytes >> 20,
                                 " MiB or more) and strided path (broadcasting, dimensions merged where strides allow)"));
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
    unit.header_comment = {"Generated by sejits: element-wise kernel.", absl::StrCat("Result dtype: ", dtype_name(ir_.result.dtype))};
    unit.functions.push_back(std::move(entry));
    return unit;
  }

 private:
  int output_arg() const { return static_cast<int>(ir_.parameters.size()); }

  DType operand_dtype(int operand) const {
    if (operand == output_operand_) return ir_.result.dtype;
    return ir_.parameters[array_params_[operand]].type.dtype;
  }

  static cg::StmtPtr fail_statement(std::string message) {
    return cg::return_stmt(cg::call(cg::Callee::kFail, {cg::var("error"), cg::var("error_len"),
                                                         cg::literal(cg::CType::kChar, std::move(message))}));
  }

  // NumPy refuses a Python int that does not fit the integer dtype it meets.
  void check_python_int_ranges(std::vector<cg::StmtPtr> &body) {
    for (auto [param, dtype] : python_int_params_narrowed(ir_.value)) {
      cg::ExprPtr value = cg::var(absl::StrCat("s", param));
      cg::ExprPtr as_target = cg::cast(cg::scalar_type(ctype_of(dtype)), value);
      cg::ExprPtr back = cg::cast(cg::scalar_type(cg::CType::kInt64), as_target);
      cg::ExprPtr outside = cg::binary(cg::BinaryOp::kNe, back, value);
      if (kind_of(dtype) == Kind::kUnsigned) {
        outside = cg::binary(cg::BinaryOp::kLogicalOr, cg::binary(cg::BinaryOp::kLt, value, cg::int_literal(0)), outside);
      }
      body.push_back(cg::if_stmt(outside, {cg::return_stmt(cg::call(cg::Callee::kFailOutOfBounds,
                                                                    {cg::var("error"), cg::var("error_len"), value,
                                                                     cg::literal(cg::CType::kChar, dtype_name(dtype))}))}));
    }
  }

  void check_arguments(std::vector<cg::StmtPtr> &body) {
    auto fail = [](std::string message) {
      return std::vector<cg::StmtPtr>{cg::return_stmt(cg::call(
          cg::Callee::kFail, {cg::var("error"), cg::var("error_len"), cg::literal(cg::CType::kChar, std::move(message))}))};
    };
    body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kNe, cg::var("nargs"), cg::int_literal(output_arg() + 1)),
                               fail(absl::StrCat("expected ", output_arg() + 1, " arguments (inputs and the output)"))));
    for (int k = 0; k <= output_arg(); ++k) {
      bool is_output = k == output_arg();
      ArgKind kind = is_output ? ArgKind::kArray : ir_.parameters[k].kind;
      DType dtype = is_output ? ir_.result.dtype : ir_.parameters[k].type.dtype;
      cg::ExprPtr wrong = cg::binary(cg::BinaryOp::kNe, arg_field(k, "kind"), cg::int_literal(static_cast<int>(kind)));
      wrong = cg::binary(cg::BinaryOp::kLogicalOr, wrong,
                         cg::binary(cg::BinaryOp::kNe, arg_field(k, "dtype"), cg::int_literal(static_cast<int>(dtype))));
      if (kind == ArgKind::kArray) {
        wrong = cg::binary(cg::BinaryOp::kLogicalOr, wrong,
                           cg::binary(cg::BinaryOp::kGt, arg_field(k, "rank"), cg::int_literal(8)));
      }
      body.push_back(cg::if_stmt(wrong, fail(absl::StrCat("argument ", k, " does not match the specialized signature (",
                                                          kind == ArgKind::kArray ? "array of " : "scalar ", dtype_name(dtype), ")"))));
    }
  }

  // The loop body for one element: load the parameters' elements, compute, store.
  // `element(operand, type)` is the lvalue of the operand's current element.
  std::vector<cg::StmtPtr> element_body(const std::function<cg::ExprPtr(int operand, cg::CType type)> &element) {
    std::vector<cg::StmtPtr> statements;
    ScalarLoweringContext context;
    context.error_flag = "error_flag";
    context.param = [&](int index, const std::vector<int64_t> &) -> cg::ExprPtr {
      if (ir_.parameters[index].kind == ArgKind::kScalar) return cg::var(absl::StrCat("s", index));
      int operand = operand_of_param_.at(index);
      return element(operand, ctype_of(operand_dtype(operand)));
    };
    LoweredScalar lowered = lower_scalar(ir_.value, context);
    statements = lowered.statements;
    statements.push_back(cg::assign(element(output_operand_, ctype_of(ir_.result.dtype)), lowered.value));
    return statements;
  }

  std::vector<cg::StmtPtr> dense_pointers() {
    std::vector<cg::StmtPtr> pointers;
    for (int j = 0; j <= output_operand_; ++j) {
      bool is_output = j == output_operand_;
      pointers.push_back(cg::decl(cg::pointer_type(ctype_of(operand_dtype(j)), !is_output, true), absl::StrCat("p", j),
                                  cg::cast(cg::pointer_type(ctype_of(operand_dtype(j)), !is_output),
                                           cg::index(cg::member(cg::var("it"), "base"), cg::int_literal(j)))));
    }
    pointers.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "n", cg::member(cg::var("it"), "size")));
    return pointers;
  }

  static cg::ExprPtr dense_element(int operand, cg::CType) {
    return cg::index(cg::var(absl::StrCat("p", operand)), cg::var("i"));
  }

  cg::StmtPtr dense_loop() {
    return cg::for_loop("i", cg::int_literal(0), cg::var("n"), element_body(dense_element), cg::OmpParallelFor{true, "parallel"});
  }

  // Blocks of the output computed into aligned scratch, then streamed out.
  std::vector<cg::StmtPtr> streaming_loop() {
    const cg::CType out_type = ctype_of(ir_.result.dtype);
    const int64_t block = kStreamingBlockBytes / itemsize(ir_.result.dtype);
    auto element = [this](int operand, cg::CType type) {
      if (operand != output_operand_) return dense_element(operand, type);
      return cg::index(cg::var("scratch"), cg::binary(cg::BinaryOp::kSub, cg::var("i"), cg::var("begin")));
    };
    std::vector<cg::StmtPtr> task;
    task.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "begin",
                            cg::binary(cg::BinaryOp::kMul, cg::var("block"), cg::int_literal(block))));
    task.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "end",
                            cg::ternary(cg::binary(cg::BinaryOp::kLt, cg::binary(cg::BinaryOp::kAdd, cg::var("begin"), cg::int_literal(block)), cg::var("n")),
                                        cg::binary(cg::BinaryOp::kAdd, cg::var("begin"), cg::int_literal(block)), cg::var("n"))));
    task.push_back(cg::decl(cg::scalar_type(out_type), "scratch", nullptr, block, 64));
    task.push_back(cg::for_loop("i", cg::var("begin"), cg::var("end"), element_body(element), cg::OmpSimd{}));
    cg::ExprPtr out_block = cg::unary(cg::UnaryOp::kAddressOf, cg::index(cg::var(absl::StrCat("p", output_operand_)), cg::var("begin")));
    task.push_back(cg::expr_stmt(cg::call(
        cg::Callee::kStreamCopy,
        {out_block, cg::var("scratch"),
         cg::binary(cg::BinaryOp::kMul, cg::binary(cg::BinaryOp::kSub, cg::var("end"), cg::var("begin")), cg::size_of(cg::scalar_type(out_type)))})));
    cg::ExprPtr blocks = cg::binary(cg::BinaryOp::kDiv, cg::binary(cg::BinaryOp::kAdd, cg::var("n"), cg::int_literal(block - 1)),
                                    cg::int_literal(block));
    return {cg::parallel_region("parallel", {cg::for_loop("block", cg::int_literal(0), blocks, task, cg::OmpFor{}),
                                             cg::expr_stmt(cg::call(cg::Callee::kStreamFence, {}))})};
  }

  std::vector<cg::StmtPtr> strided_path() {
    std::vector<cg::StmtPtr> path;
    auto it_field = [](const std::string &field) { return cg::member(cg::var("it"), field); };
    cg::ExprPtr last = cg::binary(cg::BinaryOp::kSub, it_field("rank"), cg::int_literal(1));
    path.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "inner", cg::index(it_field("shape"), last)));
    for (int j = 0; j <= output_operand_; ++j) {
      path.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), absl::StrCat("step", j),
                              cg::index(cg::index(it_field("strides"), cg::int_literal(j)), last)));
    }
    // Tasks are (row, block of kStridedBlock elements) pairs.
    path.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "blocks_per_row",
                            cg::binary(cg::BinaryOp::kDiv,
                                       cg::binary(cg::BinaryOp::kAdd, cg::var("inner"), cg::int_literal(kStridedBlock - 1)),
                                       cg::int_literal(kStridedBlock))));
    path.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "tasks",
                            cg::binary(cg::BinaryOp::kMul, it_field("outer_size"), cg::var("blocks_per_row"))));
    std::vector<cg::StmtPtr> task;
    task.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "row", cg::binary(cg::BinaryOp::kDiv, cg::var("task"), cg::var("blocks_per_row"))));
    task.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "begin",
                            cg::binary(cg::BinaryOp::kMul, cg::binary(cg::BinaryOp::kMod, cg::var("task"), cg::var("blocks_per_row")),
                                       cg::int_literal(kStridedBlock))));
    task.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "end",
                            cg::ternary(cg::binary(cg::BinaryOp::kLt, cg::binary(cg::BinaryOp::kAdd, cg::var("begin"), cg::int_literal(kStridedBlock)), cg::var("inner")),
                                        cg::binary(cg::BinaryOp::kAdd, cg::var("begin"), cg::int_literal(kStridedBlock)), cg::var("inner"))));
    task.push_back(cg::decl(cg::pointer_type(cg::CType::kChar, false), "row_base", nullptr, output_operand_ + 1));
    task.push_back(cg::expr_stmt(cg::call(cg::Callee::kIterRow, {cg::unary(cg::UnaryOp::kAddressOf, cg::var("it")), cg::var("row"), cg::var("row_base")})));
    auto element = [](int operand, cg::CType type) {
      cg::ExprPtr byte_address = cg::binary(cg::BinaryOp::kAdd, cg::index(cg::var("row_base"), cg::int_literal(operand)),
                                            cg::binary(cg::BinaryOp::kMul, cg::var("i"), cg::var(absl::StrCat("step", operand))));
      return cg::unary(cg::UnaryOp::kDeref, cg::cast(cg::pointer_type(type, false), byte_address));
    };
    task.push_back(cg::for_loop("i", cg::var("begin"), cg::var("end"), element_body(element)));
    path.push_back(cg::for_loop("task", cg::int_literal(0), cg::var("tasks"), task, cg::OmpParallelFor{false, "parallel"}));
    return path;
  }

  const ElementwiseIr &ir_;
  std::vector<int> array_params_;
  std::map<int, int> operand_of_param_;
  int output_operand_ = 0;
};

}  // namespace

cg::TranslationUnit lower_elementwise(const ElementwiseIr &ir, std::vector<std::string> &notes) {
  return ElementwiseLowering(ir).run(notes);
}

}  // namespace sejits::specializers::elementwise
