#include "specializers/elementwise/lower.h"

#include "absl/strings/str_cat.h"
#include "specializers/common/lower_entry.h"
#include "specializers/common/lower_scalar.h"
#include "specializers/elementwise/plan.h"

namespace sejits::specializers::elementwise {
namespace cg = codegen;

namespace {

class ElementwiseLowering {
 public:
  ElementwiseLowering(const ElementwiseIr &ir, const ElementwisePlan &plan) : ir_(ir), plan_(plan) {
    for (size_t k = 0; k < ir.parameters.size(); ++k) {
      if (ir.parameters[k].kind == ArgKind::kArray) {
        operand_of_param_[k] = static_cast<int>(array_params_.size());
        array_params_.push_back(static_cast<int>(k));
      }
    }
    output_operand_ = static_cast<int>(array_params_.size());
  }

  // "Result dtype: float64" or "Result dtypes: int64, int64", for the header comment.
  static std::string describe_results(const ElementwiseIr &ir) {
    std::string text = ir.outputs.size() == 1 ? "Result dtype: " : "Result dtypes: ";
    for (size_t k = 0; k < ir.outputs.size(); ++k) absl::StrAppend(&text, k == 0 ? "" : ", ", dtype_name(ir.outputs[k].type.dtype));
    return text;
  }

  cg::TranslationUnit run(std::vector<std::string> &notes) {
    std::vector<cg::StmtPtr> body;
    check_arguments(body);
    if (plan_.spin_us > 0) body.push_back(cg::expr_stmt(cg::call(cg::Callee::kSpinMicroseconds, {cg::int_literal(plan_.spin_us)})));
    const int noperands = output_operand_ + output_count();
    body.push_back(cg::decl(cg::pointer_type(cg::CType::kSejitsArg, true), "operands", nullptr, noperands));
    for (int j = 0; j < output_operand_; ++j) {
      body.push_back(cg::assign(cg::index(cg::var("operands"), cg::int_literal(j)),
                                cg::unary(cg::UnaryOp::kAddressOf, cg::index(cg::var("args"), cg::int_literal(array_params_[j])))));
    }
    for (int j = 0; j < output_count(); ++j) {
      body.push_back(cg::assign(cg::index(cg::var("operands"), cg::int_literal(output_operand_ + j)),
                                cg::unary(cg::UnaryOp::kAddressOf, cg::index(cg::var("args"), cg::int_literal(output_arg() + j)))));
    }
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kSejitsIter), "it"));
    body.push_back(cg::if_stmt(
        cg::binary(cg::BinaryOp::kNe,
                   cg::call(cg::Callee::kIterInit, {cg::unary(cg::UnaryOp::kAddressOf, cg::var("it")), cg::var("operands"),
                                                    cg::int_literal(noperands), cg::var("error"), cg::var("error_len")}),
                   cg::int_literal(0)),
        {cg::return_stmt(cg::int_literal(1))}));
    for (size_t k = 0; k < ir_.parameters.size(); ++k) {
      if (ir_.parameters[k].kind == ArgKind::kScalar) body.push_back(declare_scalar_arg(static_cast<int>(k), ir_.parameters[k].type.dtype));
    }
    for (const Output &output : ir_.outputs) append_python_int_range_checks(output.value, body);
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt), "error_flag", cg::literal(cg::CType::kInt64, int64_t{0})));
    // A process forked from one that ran OpenMP cannot start threads again
    // (libgomp): the client marks such calls serial.
    cg::ExprPtr serial = serial_call(output_arg() + output_count() - 1);  // the client flags the last argument
    cg::ExprPtr parallel = cg::binary(cg::BinaryOp::kLogicalAnd,
                                      cg::binary(cg::BinaryOp::kGe, cg::member(cg::var("it"), "size"), cg::int_literal(plan_.parallel_threshold)),
                                      cg::unary(cg::UnaryOp::kNot, serial));
    if (plan_.threads == ThreadCount::kOne) parallel = cg::literal(cg::CType::kBool, false);
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "parallel", parallel));
    body.push_back(declare_thread_count(plan_.threads));

    cg::ExprPtr all_dense;
    for (int j = 0; j < noperands; ++j) {
      cg::ExprPtr dense = cg::call(cg::Callee::kIterDense, {cg::unary(cg::UnaryOp::kAddressOf, cg::var("it")), cg::int_literal(j),
                                                            cg::size_of(cg::scalar_type(ctype_of(operand_dtype(j))))});
      all_dense = all_dense ? cg::binary(cg::BinaryOp::kLogicalAnd, all_dense, dense) : dense;
    }
    const int64_t out_itemsize = itemsize(ir_.outputs[0].type.dtype);
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "streaming",
                            cg::binary(cg::BinaryOp::kGe,
                                       cg::binary(cg::BinaryOp::kMul, cg::member(cg::var("it"), "size"), cg::int_literal(out_itemsize)),
                                       cg::int_literal(kStreamingOutputBytes))));
    std::vector<cg::StmtPtr> dense = dense_pointers();
    if (plan_.streaming_stores && output_count() == 1) {  // one scratch block and one stream
      dense.push_back(cg::if_stmt(cg::var("streaming"), streaming_loop(), dense_loop()));
    } else {
      for (cg::StmtPtr &statement : dense_loop()) dense.push_back(statement);
    }
    body.push_back(cg::if_stmt(all_dense, dense, strided_path()));
    for (const Output &output : ir_.outputs) append_error_flag_checks(output.value, body);
    body.push_back(cg::return_stmt(cg::int_literal(0)));

    notes.push_back(absl::StrCat("C++/OpenMP: dense path (one flat loop, parallel simd above ", plan_.parallel_threshold,
                                 " elements; streaming stores for outputs of ", kStreamingOutputBytes >> 20,
                                 " MiB or more) and strided path (broadcasting, dimensions merged where strides allow)"));
    notes.push_back(describe_variant());
    return entry_point_unit(kEntrySymbol, std::move(body),
                            {"Generated by sejits: element-wise kernel.", describe_results(ir_)});
  }

 private:
  // The first output's argument; the others follow it.
  int output_arg() const { return static_cast<int>(ir_.parameters.size()); }
  int output_count() const { return static_cast<int>(ir_.outputs.size()); }

  DType operand_dtype(int operand) const {
    if (operand >= output_operand_) return ir_.outputs[operand - output_operand_].type.dtype;
    return ir_.parameters[array_params_[operand]].type.dtype;
  }

  void check_arguments(std::vector<cg::StmtPtr> &body) {
    const int nargs = output_arg() + output_count();
    body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kNe, cg::var("nargs"), cg::int_literal(nargs)),
                               {fail_statement(absl::StrCat("expected ", nargs, " arguments (inputs and the output",
                                                            output_count() > 1 ? "s)" : ")"))}));
    for (int k = 0; k < nargs; ++k) {
      bool is_output = k >= output_arg();
      ArgKind kind = is_output ? ArgKind::kArray : ir_.parameters[k].kind;
      DType dtype = is_output ? ir_.outputs[k - output_arg()].type.dtype : ir_.parameters[k].type.dtype;
      cg::ExprPtr wrong = cg::binary(cg::BinaryOp::kNe, arg_field(k, "kind"), cg::int_literal(static_cast<int>(kind)));
      wrong = cg::binary(cg::BinaryOp::kLogicalOr, wrong,
                         cg::binary(cg::BinaryOp::kNe, arg_field(k, "dtype"), cg::int_literal(static_cast<int>(dtype))));
      if (kind == ArgKind::kArray) {
        wrong = cg::binary(cg::BinaryOp::kLogicalOr, wrong,
                           cg::binary(cg::BinaryOp::kGt, arg_field(k, "rank"), cg::int_literal(8)));
      }
      body.push_back(cg::if_stmt(wrong, {fail_statement(absl::StrCat("argument ", k, " does not match the specialized signature (",
                                                                     kind == ArgKind::kArray ? "array of " : "scalar ",
                                                                     dtype_name(dtype), ")"))}));
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
    for (int j = 0; j < output_count(); ++j) {
      context.temporary_prefix = j == 0 ? "t" : absl::StrCat("o", j, "t");  // one scope: distinct names per output
      LoweredScalar lowered = lower_scalar(ir_.outputs[j].value, context);
      statements.insert(statements.end(), lowered.statements.begin(), lowered.statements.end());
      statements.push_back(cg::assign(element(output_operand_ + j, ctype_of(operand_dtype(output_operand_ + j))), lowered.value));
    }
    return statements;
  }

  std::vector<cg::StmtPtr> dense_pointers() {
    std::vector<cg::StmtPtr> pointers;
    for (int j = 0; j < output_operand_ + output_count(); ++j) {
      bool is_output = j >= output_operand_;
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

  cg::OmpParallelFor parallel_for(bool simd, int64_t chunk) const { return {simd, "parallel", kThreadCountVar, chunk}; }

  std::string describe_variant() const {
    const char *threads = plan_.threads == ThreadCount::kAll ? "all" : plan_.threads == ThreadCount::kHalf ? "half" : "1";
    return absl::StrCat("variant: threads=", threads, ", parallel above ", plan_.parallel_threshold, " elements, chunk ",
                        plan_.chunk == 0 ? std::string("even shares") : absl::StrCat(plan_.chunk, " elements"), ", unroll ",
                        plan_.unroll, ", streaming stores ", plan_.streaming_stores ? "on" : "off",
                        plan_.spin_us > 0 ? absl::StrCat(", test slowdown ", plan_.spin_us, " us") : "");
  }

  // The flat loop; with unroll U, each iteration computes U consecutive
  // elements (one scope each) and a serial loop finishes the remainder.
  std::vector<cg::StmtPtr> dense_loop() {
    if (plan_.unroll <= 1) {
      return {cg::for_loop("i", cg::int_literal(0), cg::var("n"), element_body(dense_element), parallel_for(true, plan_.chunk))};
    }
    cg::ExprPtr unroll = cg::int_literal(plan_.unroll);
    std::vector<cg::StmtPtr> group;
    for (int64_t k = 0; k < plan_.unroll; ++k) {
      std::vector<cg::StmtPtr> one = {cg::decl(cg::scalar_type(cg::CType::kInt64, true), "i",
                                               cg::binary(cg::BinaryOp::kAdd, cg::binary(cg::BinaryOp::kMul, cg::var("u"), unroll), cg::int_literal(k)))};
      for (cg::StmtPtr &statement : element_body(dense_element)) one.push_back(statement);
      group.push_back(cg::block(std::move(one)));
    }
    cg::ExprPtr groups = cg::binary(cg::BinaryOp::kDiv, cg::var("n"), unroll);
    return {cg::for_loop("u", cg::int_literal(0), groups, group, parallel_for(true, (plan_.chunk + plan_.unroll - 1) / plan_.unroll)),
            cg::for_loop("i", cg::binary(cg::BinaryOp::kMul, groups, unroll), cg::var("n"), element_body(dense_element))};
  }

  // Blocks of the output computed into aligned scratch, then streamed out.
  std::vector<cg::StmtPtr> streaming_loop() {
    const cg::CType out_type = ctype_of(ir_.outputs[0].type.dtype);
    const int64_t block = kStreamingBlockBytes / itemsize(ir_.outputs[0].type.dtype);
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
    cg::OmpFor share{true, plan_.chunk > 0 ? std::max<int64_t>(1, plan_.chunk / block) : 0};
    return {cg::parallel_region("parallel", {cg::for_loop("block", cg::int_literal(0), blocks, task, share),
                                             cg::expr_stmt(cg::call(cg::Callee::kStreamFence, {}))},
                                kThreadCountVar)};
  }

  std::vector<cg::StmtPtr> strided_path() {
    std::vector<cg::StmtPtr> path;
    auto it_field = [](const std::string &field) { return cg::member(cg::var("it"), field); };
    cg::ExprPtr last = cg::binary(cg::BinaryOp::kSub, it_field("rank"), cg::int_literal(1));
    path.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "inner", cg::index(it_field("shape"), last)));
    for (int j = 0; j < output_operand_ + output_count(); ++j) {
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
    task.push_back(cg::decl(cg::pointer_type(cg::CType::kChar, false), "row_base", nullptr, output_operand_ + output_count()));
    task.push_back(cg::expr_stmt(cg::call(cg::Callee::kIterRow, {cg::unary(cg::UnaryOp::kAddressOf, cg::var("it")), cg::var("row"), cg::var("row_base")})));
    auto element = [](int operand, cg::CType type) {
      cg::ExprPtr byte_address = cg::binary(cg::BinaryOp::kAdd, cg::index(cg::var("row_base"), cg::int_literal(operand)),
                                            cg::binary(cg::BinaryOp::kMul, cg::var("i"), cg::var(absl::StrCat("step", operand))));
      return cg::unary(cg::UnaryOp::kDeref, cg::cast(cg::pointer_type(type, false), byte_address));
    };
    task.push_back(cg::for_loop("i", cg::var("begin"), cg::var("end"), element_body(element)));
    path.push_back(cg::for_loop("task", cg::int_literal(0), cg::var("tasks"), task, parallel_for(false, 0)));
    return path;
  }

  const ElementwiseIr &ir_;
  const ElementwisePlan &plan_;
  std::vector<int> array_params_;
  std::map<int, int> operand_of_param_;
  int output_operand_ = 0;
};

}  // namespace

cg::TranslationUnit lower_elementwise(const ElementwiseIr &ir, const ElementwisePlan &plan, std::vector<std::string> &notes) {
  return ElementwiseLowering(ir, plan).run(notes);
}

}  // namespace sejits::specializers::elementwise
