#include "codegen/target_ast.h"

#include <utility>

namespace sejits::codegen {

namespace {
ExprPtr make(auto node) { return std::make_shared<const Expr>(Expr{std::move(node)}); }
StmtPtr make_stmt(auto node) { return std::make_shared<const Stmt>(Stmt{std::move(node)}); }
}  // namespace

ExprPtr var(std::string name) { return make(Variable{std::move(name)}); }
ExprPtr literal(CType type, std::variant<bool, int64_t, uint64_t, double, std::string> value) {
  return make(Literal{type, std::move(value)});
}
ExprPtr int_literal(int64_t value) { return literal(CType::kInt64, value); }
ExprPtr unary(UnaryOp op, ExprPtr operand) { return make(Unary{op, std::move(operand)}); }
ExprPtr binary(BinaryOp op, ExprPtr left, ExprPtr right) {
  return make(Binary{op, std::move(left), std::move(right)});
}
ExprPtr ternary(ExprPtr condition, ExprPtr if_true, ExprPtr if_false) {
  return make(Ternary{std::move(condition), std::move(if_true), std::move(if_false)});
}
ExprPtr call(Callee callee, std::vector<ExprPtr> args) {
  return make(CallExpr{callee, {}, false, std::move(args)});
}
ExprPtr call_templated(Callee callee, Type template_type, std::vector<ExprPtr> args) {
  return make(CallExpr{callee, template_type, true, std::move(args)});
}
ExprPtr call_instantiated(Callee callee, Type template_type, std::vector<std::string> functions, std::vector<ExprPtr> args) {
  return make(CallExpr{callee, template_type, true, std::move(args), std::move(functions)});
}
ExprPtr call_specialized(Callee callee, Type template_type, std::vector<int64_t> values, std::vector<ExprPtr> args) {
  return make(CallExpr{callee, template_type, true, std::move(args), {}, std::move(values)});
}
ExprPtr cast(Type type, ExprPtr operand) { return make(Cast{type, std::move(operand)}); }
ExprPtr index(ExprPtr base, ExprPtr idx) { return make(IndexExpr{std::move(base), std::move(idx)}); }
ExprPtr member(ExprPtr base, std::string field, bool via_pointer) {
  return make(Member{std::move(base), std::move(field), via_pointer});
}
ExprPtr size_of(Type type) { return make(SizeOf{type}); }

StmtPtr decl(Type type, std::string name, ExprPtr init, int64_t array_length, int alignment) {
  return make_stmt(Decl{type, std::move(name), std::move(init), array_length, alignment});
}
StmtPtr assign(ExprPtr target, ExprPtr value) {
  return make_stmt(AssignStmt{std::move(target), std::move(value)});
}
StmtPtr for_loop(std::string index_name, ExprPtr begin, ExprPtr end, std::vector<StmtPtr> body,
                 std::variant<std::monostate, OmpParallelFor, OmpSimd, OmpFor> annotation) {
  return make_stmt(ForStmt{std::move(index_name), std::move(begin), std::move(end), nullptr,
                           std::move(body), std::move(annotation)});
}
StmtPtr for_loop_step(std::string index_name, ExprPtr begin, ExprPtr end, ExprPtr step, std::vector<StmtPtr> body,
                      CType index_type) {
  return make_stmt(ForStmt{std::move(index_name), std::move(begin), std::move(end), std::move(step), std::move(body), {}, index_type});
}
StmtPtr if_stmt(ExprPtr condition, std::vector<StmtPtr> then_body, std::vector<StmtPtr> else_body) {
  return make_stmt(IfStmt{std::move(condition), std::move(then_body), std::move(else_body)});
}
StmtPtr while_loop(ExprPtr condition, std::vector<StmtPtr> body) {
  return make_stmt(WhileStmt{std::move(condition), std::move(body)});
}
StmtPtr break_stmt() { return make_stmt(BreakStmt{}); }
StmtPtr return_stmt(ExprPtr value) { return make_stmt(ReturnStmt{std::move(value)}); }
StmtPtr expr_stmt(ExprPtr value) { return make_stmt(ExprStmt{std::move(value)}); }
StmtPtr comment(std::string text) { return make_stmt(Comment{std::move(text)}); }
StmtPtr block(std::vector<StmtPtr> body) { return make_stmt(Block{std::move(body), std::nullopt}); }
StmtPtr parallel_region(std::string if_threshold_var, std::vector<StmtPtr> body, std::string num_threads_var) {
  return make_stmt(Block{std::move(body), OmpParallelRegion{std::move(if_threshold_var), std::move(num_threads_var)}});
}

Type scalar_type(CType scalar, bool is_const) { return Type{scalar, 0, is_const, false}; }
Type pointer_type(CType scalar, bool to_const, bool restrict_pointer, int depth) {
  return Type{scalar, depth, to_const, restrict_pointer};
}
Type global_pointer_type(CType scalar, bool to_const) {
  return Type{scalar, 1, to_const, !to_const, AddressSpace::kGlobal};
}

}  // namespace sejits::codegen
