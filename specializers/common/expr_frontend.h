// Translates a Python function body (the proto AST) into the scalar IR:
// locals are substituted, `if` statements become selects, operators and
// functions are typed by NumPy's rules. Anything outside the accepted
// subset is rejected with a message that names the construct and the line.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sejits/v1/ast.pb.h"
#include "specializers/common/scalar_ir.h"

namespace sejits::specializers {

struct SourceContext {
  std::string filename;
  std::string kernel_name;  // e.g. "element-wise kernel 'blend'"
  int64_t max_nodes = 100000;
  // The plain Python functions the kernel may call (FunctionAst.helpers), by
  // the name its calls use: they are inlined.
  std::map<std::string, const v1::FunctionAst *> helpers;
};

// The context of `function`, a "<kind> '<name>'" (e.g. "stencil kernel"), with its helpers.
SourceContext source_context(const v1::FunctionAst &function, const std::string &kind);

// name -> value, for parameters and locals.
using Environment = std::map<std::string, NodeRef>;
// What an expression or a body gives: one value, or a tuple's elements.
using Values = std::vector<NodeRef>;

// An INVALID_ARGUMENT status "file:line: message".
absl::Status user_error(const SourceContext &context, int line, const std::string &message);

// The qualified name a call's callee refers to: GlobalRef("numpy.sin") or
// Attribute(GlobalRef("numpy"), "sin"); nullopt for anything else.
std::optional<std::string> callee_name(const v1::Expr &func);

// The qualified names of the ufuncs the front end writes out in other
// operations ("numpy.clip", "math.erf", ...).
std::vector<std::string> expanded_ufunc_names();

// Python's own rules for a parameter list: every name present and distinct.
absl::Status check_parameter_names(const SourceContext &context, const v1::FunctionAst &function);

class ExprFrontend {
 public:
  // Translates `a[...]`; without one, indexing is rejected.
  using SubscriptHandler = std::function<absl::StatusOr<NodeRef>(ExprFrontend &frontend, const v1::Subscript &subscript,
                                                                  const Environment &environment, int line)>;

  explicit ExprFrontend(SourceContext context, SubscriptHandler subscript_handler = nullptr)
      : context_(std::move(context)), subscript_handler_(std::move(subscript_handler)) {}

  // The value the statements return, given the parameters in `environment`.
  absl::StatusOr<NodeRef> translate_body(const google::protobuf::RepeatedPtrField<v1::Stmt> &body,
                                         const Environment &environment, int function_line);
  // The same for a body that may return a tuple (`return q, r`): its elements.
  absl::StatusOr<Values> translate_body_values(const google::protobuf::RepeatedPtrField<v1::Stmt> &body,
                                               const Environment &environment, int function_line);
  absl::StatusOr<NodeRef> translate_expr(const v1::Expr &expr, const Environment &environment);
  // `value` converted as a NumPy scalar type (or Python's float/int/bool)
  // converts it: truth for bool; OverflowError's message for a Python int
  // constant the integer type cannot hold.
  absl::StatusOr<NodeRef> convert(const NodeRef &value, ScalarType target, int line);

 private:
  absl::StatusOr<Values> translate_block(const std::vector<const v1::Stmt *> &stmts, Environment environment,
                                         int depth, int function_line);
  // A tuple's elements, a tuple-valued call's (np.divmod, np.modf), or one value.
  absl::StatusOr<Values> translate_values(const v1::Expr &expr, const Environment &environment);
  // expr_frontend_tuples.cc: the functions that return a tuple.
  static bool is_tuple_function(const std::string &qualified);
  absl::StatusOr<Values> translate_tuple_call(const std::string &qualified, const v1::Call &call,
                                              const Environment &environment, int line);
  // expr_frontend_helpers.cc: a call of one of the kernel's helper functions, inlined.
  const v1::FunctionAst *find_helper(const std::string &qualified) const;
  absl::StatusOr<Values> inline_helper(const v1::FunctionAst &helper, const v1::Call &call, const Environment &environment,
                                       int line);
  absl::Status apply_statement(const v1::Stmt &stmt, Environment &environment, int depth);
  absl::Status apply_assignment(const v1::Assign &assign, Environment &environment, int line);
  // Loops (expr_frontend_loops.cc): `for` over range() unrolled or as a
  // loop node, `while`, and break/continue/return in them as hidden flags.
  struct LoopShape;
  absl::Status apply_statements(const google::protobuf::RepeatedPtrField<v1::Stmt> &stmts, Environment &environment, int depth);
  // A hidden loop variable set in one branch of an if-statement only.
  absl::StatusOr<NodeRef> merge_hidden(const NodeRef &condition, const NodeRef &then_value, const NodeRef &else_value, int line);
  absl::Status apply_jump(const v1::Stmt &stmt, Environment &environment, int line);
  absl::Status translate_for(const v1::For &loop, Environment &environment, int depth, int line);
  absl::Status translate_while(const v1::While &loop, Environment &environment, int depth, int line);
  absl::Status unroll_range(const LoopShape &shape, int64_t start, int64_t stop, int64_t step, Environment &environment,
                            int depth, int line);
  absl::Status build_loop(const LoopShape &shape, Environment &environment, int depth, int line);
  // After a statement whose loops may have returned: the returned value, or
  // the values of the block's statements from `next` on when they did not
  // return (none when no loop may have returned).
  absl::StatusOr<Values> continue_after_loop_return(const std::vector<const v1::Stmt *> &stmts, size_t next,
                                                     Environment &environment, int depth, int line);
  absl::StatusOr<Environment> merge_branches(const NodeRef &condition, const v1::If &if_stmt,
                                            const Environment &before, int depth, int line);
  absl::StatusOr<NodeRef> translate_binop(const v1::BinOp &binop, const Environment &environment, int line);
  absl::StatusOr<NodeRef> translate_compare(const v1::Compare &compare, const Environment &environment, int line);
  static bool is_expanded_ufunc(const std::string &qualified);
  absl::StatusOr<NodeRef> translate_ufunc(const std::string &qualified, const v1::Call &call, const Environment &environment, int line);
  absl::StatusOr<NodeRef> translate_call(const v1::Call &call, const Environment &environment, int line);
  absl::StatusOr<NodeRef> translate_constant(const v1::Constant &constant, int line);
  absl::StatusOr<NodeRef> fold_python_ints(ScalarOp op, const NodeRef &left, const NodeRef &right, int line);
  absl::StatusOr<NodeRef> binary(ScalarOp op, NodeRef left, NodeRef right, int line, bool numpy_function = false);
  NodeRef truth(const NodeRef &value, int line);
  absl::StatusOr<NodeRef> invert(const NodeRef &operand, int line, bool numpy_function);
  absl::StatusOr<NodeRef> select(NodeRef condition, NodeRef if_true, NodeRef if_false, int line, bool numpy_function = false);
  // np.clip's bounds and np.where's branches: a Python int argument beside an
  // integer array it may not fit. NumPy accepts it there (no OverflowError),
  // so one the dtype cannot hold runs the Python code (see lower_entry.cc).
  static NodeRef python_int_beside(const NodeRef &value, const NodeRef &array);
  absl::Status error(int line, const std::string &message) const { return user_error(context_, line, message); }
  absl::Status check_size(int line);

  SourceContext context_;
  SubscriptHandler subscript_handler_;
  int64_t nodes_built_ = 0;
  int loop_depth_ = 0;  // loops around the statement being translated
  struct InlinedCall {
    std::string helper;
    std::string filename;
    int line;  // of the call
  };
  std::vector<InlinedCall> inlining_;  // the helper calls being inlined, outermost first
};

}  // namespace sejits::specializers
