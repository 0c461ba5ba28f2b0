// Small builders for the proto AST (sejits/v1/ast.proto), so that a test
// reads like the Python kernel it stands for. Expressions carry no position;
// the statement that holds them stamps its line on every expression inside.
#pragma once

#include <string>
#include <vector>

#include "sejits/v1/ast.pb.h"
#include "specializers/request.h"

namespace sejits::testing {

// Sets `line` on every expression under `message` that has no position yet.
inline void stamp_line(google::protobuf::Message &message, int line) {
  if (message.GetDescriptor() == v1::Expr::descriptor()) {
    auto &expr = static_cast<v1::Expr &>(message);
    if (!expr.has_pos()) expr.mutable_pos()->set_line(line);
  }
  const auto *reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor *> fields;
  reflection->ListFields(message, &fields);
  for (const auto *field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        stamp_line(*reflection->MutableRepeatedMessage(&message, field, i), line);
      }
    } else {
      stamp_line(*reflection->MutableMessage(&message, field), line);
    }
  }
}

// ---- expressions ----

inline v1::Expr name(const std::string &id) {
  v1::Expr expr;
  expr.mutable_name()->set_id(id);
  return expr;
}

inline v1::Expr number(double value) {  // a Python float
  v1::Expr expr;
  expr.mutable_constant()->set_float_value(value);
  return expr;
}

inline v1::Expr integer(int64_t value) {  // a Python int
  v1::Expr expr;
  expr.mutable_constant()->set_int_value(value);
  return expr;
}

inline v1::Expr text(const std::string &value) {  // a Python str
  v1::Expr expr;
  expr.mutable_constant()->set_str_value(value);
  return expr;
}

inline v1::Expr bin_op(v1::BinaryOperator op, v1::Expr left, v1::Expr right) {
  v1::Expr expr;
  auto *bin = expr.mutable_bin_op();
  *bin->mutable_left() = std::move(left);
  bin->set_op(op);
  *bin->mutable_right() = std::move(right);
  return expr;
}
inline v1::Expr add(v1::Expr l, v1::Expr r) { return bin_op(v1::ADD, std::move(l), std::move(r)); }
inline v1::Expr sub(v1::Expr l, v1::Expr r) { return bin_op(v1::SUB, std::move(l), std::move(r)); }
inline v1::Expr mul(v1::Expr l, v1::Expr r) { return bin_op(v1::MULT, std::move(l), std::move(r)); }
inline v1::Expr true_div(v1::Expr l, v1::Expr r) { return bin_op(v1::DIV, std::move(l), std::move(r)); }

inline v1::Expr compare(v1::Expr left, v1::CompareOperator op, v1::Expr right) {
  v1::Expr expr;
  auto *cmp = expr.mutable_compare();
  *cmp->mutable_left() = std::move(left);
  cmp->add_ops(op);
  *cmp->add_comparators() = std::move(right);
  return expr;
}
inline v1::Expr greater(v1::Expr l, v1::Expr r) { return compare(std::move(l), v1::GT, std::move(r)); }
inline v1::Expr less(v1::Expr l, v1::Expr r) { return compare(std::move(l), v1::LT, std::move(r)); }

inline v1::Expr if_exp(v1::Expr test, v1::Expr body, v1::Expr orelse) {
  v1::Expr expr;
  auto *node = expr.mutable_if_exp();
  *node->mutable_test() = std::move(test);
  *node->mutable_body() = std::move(body);
  *node->mutable_orelse() = std::move(orelse);
  return expr;
}

inline v1::Expr global_ref(const std::string &qualified_name) {
  v1::Expr expr;
  expr.mutable_global_ref()->set_qualified_name(qualified_name);
  return expr;
}

inline v1::Expr attribute(v1::Expr value, const std::string &attr) {
  v1::Expr expr;
  *expr.mutable_attribute()->mutable_value() = std::move(value);
  expr.mutable_attribute()->set_attr(attr);
  return expr;
}

inline v1::Expr call(v1::Expr func, std::vector<v1::Expr> args) {
  v1::Expr expr;
  *expr.mutable_call()->mutable_func() = std::move(func);
  for (auto &arg : args) *expr.mutable_call()->add_args() = std::move(arg);
  return expr;
}

inline v1::Expr subscript(v1::Expr value, v1::Expr index) {
  v1::Expr expr;
  *expr.mutable_subscript()->mutable_value() = std::move(value);
  *expr.mutable_subscript()->mutable_slice() = std::move(index);
  return expr;
}

inline v1::Expr unsupported_expr(const std::string &what) {
  v1::Expr expr;
  expr.mutable_unsupported()->set_what(what);
  return expr;
}

// ---- statements (each at its source line) ----

inline v1::Stmt at_line(v1::Stmt stmt, int line) {
  stmt.mutable_pos()->set_line(line);
  stamp_line(stmt, line);
  return stmt;
}

inline v1::Stmt return_value(int line, v1::Expr value) {
  v1::Stmt stmt;
  *stmt.mutable_return_stmt()->mutable_value() = std::move(value);
  return at_line(std::move(stmt), line);
}

inline v1::Stmt bare_return(int line) {
  v1::Stmt stmt;
  stmt.mutable_return_stmt();
  return at_line(std::move(stmt), line);
}

inline v1::Stmt assign(int line, const std::string &target, v1::Expr value) {
  v1::Stmt stmt;
  *stmt.mutable_assign()->add_targets() = name(target);
  *stmt.mutable_assign()->mutable_value() = std::move(value);
  return at_line(std::move(stmt), line);
}

inline v1::Stmt if_stmt(int line, v1::Expr test, std::vector<v1::Stmt> body, std::vector<v1::Stmt> orelse = {}) {
  v1::Stmt stmt;
  auto *node = stmt.mutable_if_stmt();
  *node->mutable_test() = std::move(test);
  for (auto &s : body) *node->add_body() = std::move(s);
  for (auto &s : orelse) *node->add_orelse() = std::move(s);
  return at_line(std::move(stmt), line);
}

inline v1::Stmt for_stmt(int line, const std::string &target, v1::Expr iter, std::vector<v1::Stmt> body) {
  v1::Stmt stmt;
  auto *node = stmt.mutable_for_stmt();
  *node->mutable_target() = name(target);
  *node->mutable_iter() = std::move(iter);
  for (auto &s : body) *node->add_body() = std::move(s);
  return at_line(std::move(stmt), line);
}

inline v1::Stmt pass_stmt(int line) {
  v1::Stmt stmt;
  stmt.mutable_pass_stmt();
  return at_line(std::move(stmt), line);
}

inline v1::Stmt unsupported_stmt(int line, const std::string &what) {
  v1::Stmt stmt;
  stmt.mutable_unsupported()->set_what(what);
  return at_line(std::move(stmt), line);
}

// ---- functions and requests ----

inline constexpr char kKernelFile[] = "kernel.py";

// `def <function_name>(<args>):` on line 1 of kernel.py, the body below it.
inline v1::FunctionAst def(std::vector<std::string> args, std::vector<v1::Stmt> body,
                           const std::string &function_name = "kernel") {
  v1::FunctionAst function;
  function.set_name(function_name);
  function.set_filename(kKernelFile);
  function.mutable_pos()->set_line(1);
  for (const auto &arg : args) {
    auto *argument = function.add_args();
    argument->set_name(arg);
    argument->mutable_pos()->set_line(1);
  }
  for (auto &stmt : body) *function.add_body() = std::move(stmt);
  return function;
}

// `lambda <args>: <value>` on line 1.
inline v1::FunctionAst lambda(std::vector<std::string> args, v1::Expr value) {
  std::vector<v1::Stmt> body;
  body.push_back(return_value(1, std::move(value)));
  v1::FunctionAst function = def(std::move(args), std::move(body), "<lambda>");
  function.set_is_lambda(true);
  return function;
}

inline specializers::ArgSpec array_of(specializers::DType dtype, int32_t rank = 1) {
  specializers::ArgSpec spec;
  spec.kind = specializers::ArgKind::kArray;
  spec.dtype_code = static_cast<int32_t>(dtype);
  spec.rank = rank;
  return spec;
}

inline specializers::ArgSpec array_with_code(int32_t dtype_code) {
  specializers::ArgSpec spec = array_of(specializers::DType::kFloat64);
  spec.dtype_code = dtype_code;
  return spec;
}

inline specializers::ArgSpec python_scalar(specializers::DType dtype) {
  specializers::ArgSpec spec;
  spec.kind = specializers::ArgKind::kScalar;
  spec.dtype_code = static_cast<int32_t>(dtype);
  spec.weak = true;
  return spec;
}
inline specializers::ArgSpec python_float() { return python_scalar(specializers::DType::kFloat64); }
inline specializers::ArgSpec python_int() { return python_scalar(specializers::DType::kInt64); }

inline specializers::SpecializationRequest elementwise_request(v1::FunctionAst function,
                                                               std::vector<specializers::ArgSpec> args) {
  specializers::SpecializationRequest request;
  request.specializer = "elementwise";
  request.function = std::make_shared<const v1::FunctionAst>(std::move(function));
  request.args = std::move(args);
  return request;
}

}  // namespace sejits::testing
