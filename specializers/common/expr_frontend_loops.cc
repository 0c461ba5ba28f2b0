// Loops in a kernel body. A `for` over a small constant range() is unrolled
// (its variable a constant in each copy, as stencil offsets need); other
// `for ... in range()` loops and `while` loops become a kLoop node that
// carries every variable the body assigns. `break`, `continue` and `return`
// inside a loop set hidden flags; the statements after one are guarded by
// selects on the flags, and the loop's condition stops on break or return.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "google/protobuf/message.h"
#include "specializers/common/expr_frontend.h"
#include "specializers/common/type_rules.h"

namespace sejits::specializers {
namespace {

// Hidden variables: not Python identifiers, so no kernel can name them.
constexpr char kBreakFlag[] = "#break";
constexpr char kContinueFlag[] = "#continue";
constexpr char kReturnFlag[] = "#return";
constexpr char kReturnValue[] = "#return_value";

constexpr int kMaxLoopNesting = 64;
constexpr int64_t kMaxUnrolledIterations = 4096;
// Constant ranges of up to this many iterations are unrolled: straight-line
// code the compiler schedules freely. Longer ones (without indexing, which
// needs constant offsets) become loops, so code size stays bounded.
constexpr int64_t kUnrolledWithoutIndexing = 64;
// A carried variable's type may widen this many times (each widening is a
// NumPy promotion, so a few suffice) before the loop is refused.
constexpr int kMaxTypeRounds = 8;

bool is_hidden(const std::string &name) { return !name.empty() && name[0] == '#'; }

enum class Jump { kBreak, kContinue, kReturn };

// Whether `body` has a jump of `kind` that leaves this loop's iteration:
// break and continue of nested loops are theirs; a return leaves them all.
bool has_jump(const google::protobuf::RepeatedPtrField<v1::Stmt> &body, Jump kind) {
  for (const auto &stmt : body) {
    switch (stmt.node_case()) {
      case v1::Stmt::kBreakStmt:
        if (kind == Jump::kBreak) return true;
        break;
      case v1::Stmt::kContinueStmt:
        if (kind == Jump::kContinue) return true;
        break;
      case v1::Stmt::kReturnStmt:
        if (kind == Jump::kReturn) return true;
        break;
      case v1::Stmt::kIfStmt:
        if (has_jump(stmt.if_stmt().body(), kind) || has_jump(stmt.if_stmt().orelse(), kind)) return true;
        break;
      case v1::Stmt::kForStmt:
        if (kind == Jump::kReturn && has_jump(stmt.for_stmt().body(), kind)) return true;
        break;
      case v1::Stmt::kWhileStmt:
        if (kind == Jump::kReturn && has_jump(stmt.while_stmt().body(), kind)) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

void add_target_names(const v1::Expr &target, std::set<std::string> &names) {
  if (target.has_name()) names.insert(target.name().id());
  if (target.has_tuple()) {
    for (const auto &element : target.tuple().elts()) add_target_names(element, names);
  }
}

// Every name the statements may assign, in nested blocks too.
void assigned_names(const google::protobuf::RepeatedPtrField<v1::Stmt> &body, std::set<std::string> &names) {
  for (const auto &stmt : body) {
    switch (stmt.node_case()) {
      case v1::Stmt::kAssign:
        for (const auto &target : stmt.assign().targets()) add_target_names(target, names);
        break;
      case v1::Stmt::kAugAssign:
        add_target_names(stmt.aug_assign().target(), names);
        break;
      case v1::Stmt::kIfStmt:
        assigned_names(stmt.if_stmt().body(), names);
        assigned_names(stmt.if_stmt().orelse(), names);
        break;
      case v1::Stmt::kForStmt:
        add_target_names(stmt.for_stmt().target(), names);
        assigned_names(stmt.for_stmt().body(), names);
        assigned_names(stmt.for_stmt().orelse(), names);
        break;
      case v1::Stmt::kWhileStmt:
        assigned_names(stmt.while_stmt().body(), names);
        assigned_names(stmt.while_stmt().orelse(), names);
        break;
      default:
        break;
    }
  }
}

// Whether the message holds a Subscript anywhere (stencil reads need their
// offsets as constants, so such loops are unrolled).
bool contains_subscript(const google::protobuf::Message &message) {
  if (message.GetDescriptor() == v1::Subscript::descriptor()) return true;
  const google::protobuf::Reflection *reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor *> fields;
  reflection->ListFields(message, &fields);
  for (const auto *field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int k = 0; k < reflection->FieldSize(message, field); ++k) {
        if (contains_subscript(reflection->GetRepeatedMessage(message, field, k))) return true;
      }
    } else if (contains_subscript(reflection->GetMessage(message, field))) {
      return true;
    }
  }
  return false;
}

bool is_constant_true(const NodeRef &node) {
  if (node->op == ScalarOp::kTruth) return is_constant_true(node->operands[0]);
  return node->op == ScalarOp::kConstant && std::visit([](auto v) { return v != 0; }, node->value);
}

bool is_constant_false(const NodeRef &node) {
  return node->op == ScalarOp::kConstant && std::visit([](auto v) { return v == 0; }, node->value);
}

bool reads_loop_variables(const NodeRef &root, int loop_id) {
  for (const NodeRef &node : topological_order(root)) {
    if (node->op == ScalarOp::kLoopVariable && node->loop_id == loop_id) return true;
  }
  return false;
}

NodeRef zero_of(ScalarType type, int line) {
  if (type.dtype == DType::kBool) return make_constant(false, type, line);
  if (is_float(type.dtype)) return make_constant(0.0, type, line);
  if (type.dtype == DType::kUInt64) return make_constant(uint64_t{0}, type, line);
  return make_constant(int64_t{0}, type, line);
}

NodeRef bool_constant(bool value, int line) { return make_constant(value, ScalarType{DType::kBool, false}, line); }

// The hidden jump state of the enclosing loop, set aside while a nested
// loop runs (the enclosing statements run it only where nothing jumped).
Environment take_hidden(Environment &environment) {
  Environment hidden;
  for (auto it = environment.begin(); it != environment.end();) {
    if (is_hidden(it->first)) {
      hidden.insert(*it);
      it = environment.erase(it);
    } else {
      ++it;
    }
  }
  return hidden;
}

}  // namespace

// What a loop statement is, whatever its syntax.
struct ExprFrontend::LoopShape {
  const google::protobuf::RepeatedPtrField<v1::Stmt> *body = nullptr;
  const v1::Expr *test = nullptr;  // while: the condition
  std::string target;              // for: the loop variable
  NodeRef start, stop;             // for: int64 bounds
  int64_t step = 1;
  std::string what;                // "this 'while' loop", for messages
};

// Statements in order; once a break, continue or return may have happened,
// each later statement takes effect only where none did.
absl::Status ExprFrontend::apply_statements(const google::protobuf::RepeatedPtrField<v1::Stmt> &stmts, Environment &environment,
                                            int depth) {
  for (const auto &stmt : stmts) {
    const int line = stmt.pos().line();
    NodeRef stopped;
    for (const char *flag : {kBreakFlag, kContinueFlag, kReturnFlag}) {
      auto it = environment.find(flag);
      if (it == environment.end() || is_constant_false(it->second)) continue;
      if (absl::Status size = check_size(line); !size.ok()) return size;
      stopped = stopped ? make_node(ScalarOp::kLogicalOr, it->second->type, {stopped, it->second}, line) : it->second;
    }
    if (!stopped) {
      if (absl::Status applied = apply_statement(stmt, environment, depth); !applied.ok()) return applied;
      continue;
    }
    if (is_constant_true(stopped)) return absl::OkStatus();  // the rest cannot run
    Environment after = environment;
    if (absl::Status applied = apply_statement(stmt, after, depth); !applied.ok()) return applied;
    for (auto &[name, value] : after) {
      auto before = environment.find(name);
      if (before == environment.end() || before->second == value) continue;
      auto guarded = select(stopped, before->second, value, line);
      if (!guarded.ok()) return guarded.status();
      value = *guarded;
    }
    environment = std::move(after);
  }
  return absl::OkStatus();
}

absl::StatusOr<NodeRef> ExprFrontend::merge_hidden(const NodeRef &condition, const NodeRef &then_value, const NodeRef &else_value,
                                                   int line) {
  // The branch that did not set it holds its cleared value: no jump.
  NodeRef cleared = zero_of((then_value ? then_value : else_value)->type, line);
  return select(condition, then_value ? then_value : cleared, else_value ? else_value : cleared, line);
}

absl::Status ExprFrontend::apply_jump(const v1::Stmt &stmt, Environment &environment, int line) {
  if (loop_depth_ == 0) {
    if (stmt.has_return_stmt()) return error(line, "internal: return reached apply_statement");
    return error(line, absl::StrCat("'", stmt.has_break_stmt() ? "break" : "continue", "' outside a loop"));
  }
  if (stmt.has_break_stmt()) {
    environment[kBreakFlag] = bool_constant(true, line);
  } else if (stmt.has_continue_stmt()) {
    environment[kContinueFlag] = bool_constant(true, line);
  } else {
    if (!stmt.return_stmt().has_value()) return error(line, "a kernel must return a value");
    auto value = translate_expr(stmt.return_stmt().value(), environment);
    if (!value.ok()) return value.status();
    environment[kReturnFlag] = bool_constant(true, line);
    environment[kReturnValue] = *value;
  }
  return absl::OkStatus();
}

absl::StatusOr<Values> ExprFrontend::continue_after_loop_return(const std::vector<const v1::Stmt *> &stmts, size_t next,
                                                                Environment &environment, int depth, int line) {
  auto flag = environment.find(kReturnFlag), value_it = environment.find(kReturnValue);
  if (flag == environment.end()) return Values{};
  NodeRef returned = flag->second, value = value_it == environment.end() ? NodeRef() : value_it->second;
  environment.erase(kReturnFlag);
  environment.erase(kReturnValue);
  if (!value) return Values{};  // every return in the loops was unreachable
  if (is_constant_true(returned)) return Values{value};
  std::vector<const v1::Stmt *> rest(stmts.begin() + static_cast<std::ptrdiff_t>(next), stmts.end());
  auto rest_values = translate_block(rest, environment, depth + 1, line);
  if (!rest_values.ok()) return rest_values.status();
  if (is_constant_false(returned)) return *rest_values;
  if (rest_values->size() != 1) {
    return error(line, absl::StrCat("a 'return' inside this loop gives one value and the return after it ", rest_values->size(),
                                    "; every return must give as many"));
  }
  auto merged = select(returned, value, rest_values->front(), line);
  if (!merged.ok()) return merged.status();
  return Values{*merged};
}

absl::Status ExprFrontend::translate_while(const v1::While &loop, Environment &environment, int depth, int line) {
  if (loop.orelse_size() > 0) return error(line, "an 'else' clause on a 'while' loop is not supported");
  LoopShape shape;
  shape.body = &loop.body();
  shape.test = &loop.test();
  shape.what = "this 'while' loop";
  return build_loop(shape, environment, depth, line);
}

// `for name in range(...)`: unrolled when the range is constant and short
// (or the body indexes arrays), else a loop.
absl::Status ExprFrontend::translate_for(const v1::For &loop, Environment &environment, int depth, int line) {
  const v1::Expr &iter = loop.iter();
  bool is_range = iter.has_call() && iter.call().func().has_global_ref() &&
                  iter.call().func().global_ref().qualified_name() == "builtins.range" &&
                  iter.call().args_size() >= 1 && iter.call().args_size() <= 3 && iter.call().keywords_size() == 0;
  if (!is_range || !loop.target().has_name()) return error(line, "only 'for name in range(...)' loops are supported");
  if (loop.orelse_size() > 0) return error(line, "an 'else' clause on a 'for' loop is not supported");
  std::vector<NodeRef> bounds;
  bool constant = true;
  for (const auto &arg : iter.call().args()) {
    auto value = translate_expr(arg, environment);
    if (!value.ok()) return value.status();
    const DType dtype = (*value)->type.dtype;
    if (!is_integer(dtype) && dtype != DType::kBool) {
      return error(line, absl::StrCat("range() takes integers, not ", type_name((*value)->type)));
    }
    constant = constant && (*value)->op == ScalarOp::kConstant && std::holds_alternative<int64_t>((*value)->value);
    bounds.push_back(*value);
  }
  LoopShape shape;
  shape.body = &loop.body();
  shape.target = loop.target().name().id();
  shape.what = "this 'for' loop";
  if (bounds.size() > 2) {
    const NodeRef &step = bounds[2];
    if (step->op != ScalarOp::kConstant || !std::holds_alternative<int64_t>(step->value)) {
      return error(line, "range() step must be a constant integer in a kernel");
    }
    shape.step = std::get<int64_t>(step->value);
    if (shape.step == 0) return error(line, "range() arg 3 must not be zero");
  }
  if (constant) {
    int64_t start = bounds.size() > 1 ? std::get<int64_t>(bounds[0]->value) : 0;
    int64_t stop = std::get<int64_t>(bounds[bounds.size() > 1 ? 1 : 0]->value);
    __int128 trips = shape.step > 0 ? (static_cast<__int128>(stop) - start + shape.step - 1) / shape.step
                                    : (static_cast<__int128>(start) - stop - shape.step - 1) / -shape.step;
    if (trips <= kUnrolledWithoutIndexing || (trips <= kMaxUnrolledIterations && contains_subscript(loop))) {
      return unroll_range(shape, start, stop, shape.step, environment, depth, line);
    }
  }
  const ScalarType index{DType::kInt64, false};
  shape.start = bounds.size() > 1 ? cast_to(bounds[0], index) : make_constant(int64_t{0}, index, line);
  shape.stop = cast_to(bounds[bounds.size() > 1 ? 1 : 0], index);
  return build_loop(shape, environment, depth, line);
}

// The body once per value, the loop variable a Python int constant in each.
absl::Status ExprFrontend::unroll_range(const LoopShape &shape, int64_t start, int64_t stop, int64_t step, Environment &environment,
                                        int depth, int line) {
  if (depth > kMaxLoopNesting) return error(line, absl::StrCat(context_.kernel_name, " nests statements too deeply"));
  const bool breaks = has_jump(*shape.body, Jump::kBreak), returns = has_jump(*shape.body, Jump::kReturn);
  Environment outer = take_hidden(environment);
  if (breaks) environment[kBreakFlag] = bool_constant(false, line);
  if (returns) environment[kReturnFlag] = bool_constant(false, line);
  ++loop_depth_;
  absl::Status status = absl::OkStatus();
  for (int64_t value = start, count = 0; status.ok() && (step > 0 ? value < stop : value > stop); value += step) {
    if (++count > kMaxUnrolledIterations) {
      status = error(line, absl::StrCat("the loop runs more than ", kMaxUnrolledIterations, " times; sejits unrolls loops that index arrays"));
      break;
    }
    // An iteration after a break or return changes nothing, its loop variable included.
    NodeRef stopped;
    for (const char *flag : {kBreakFlag, kReturnFlag}) {
      auto it = environment.find(flag);
      if (it == environment.end() || is_constant_false(it->second)) continue;
      if (absl::Status size = check_size(line); !size.ok()) status = size;
      stopped = stopped ? make_node(ScalarOp::kLogicalOr, it->second->type, {stopped, it->second}, line) : it->second;
    }
    if (!status.ok() || (stopped && is_constant_true(stopped))) break;
    Environment iteration = environment;
    iteration[shape.target] = make_constant(value, ScalarType{DType::kInt64, true}, line);
    iteration.erase(kContinueFlag);
    if (has_jump(*shape.body, Jump::kContinue)) iteration[kContinueFlag] = bool_constant(false, line);
    status = apply_statements(*shape.body, iteration, depth + 1);
    if (!status.ok()) break;
    if (stopped) {
      for (auto &[name, value_after] : iteration) {
        auto before = environment.find(name);
        if (before == environment.end() || before->second == value_after) continue;
        auto guarded = select(stopped, before->second, value_after, line);
        if (!guarded.ok()) {
          status = guarded.status();
          break;
        }
        value_after = *guarded;
      }
    }
    environment = std::move(iteration);
  }
  --loop_depth_;
  if (!status.ok()) return status;
  environment.erase(kBreakFlag);
  environment.erase(kContinueFlag);
  if (returns && is_constant_false(environment.at(kReturnFlag))) {
    environment.erase(kReturnFlag);
    environment.erase(kReturnValue);
  }
  for (const auto &[name, value] : outer) {
    if (environment.count(name) && (name == kReturnFlag || name == kReturnValue)) continue;  // this loop's return
    environment[name] = value;
  }
  return absl::OkStatus();
}

// A kLoop node carrying the variables the body assigns (those defined
// before the loop; the others are local to an iteration), the range's
// counter and the jump flags. A carried variable whose type changes in the
// body starts the loop in the promoted type (NumPy's, as an if-statement
// merges its branches), and the body is translated again.
absl::Status ExprFrontend::build_loop(const LoopShape &shape, Environment &environment, int depth, int line) {
  if (depth > kMaxLoopNesting) return error(line, absl::StrCat(context_.kernel_name, " nests statements too deeply"));
  const bool breaks = has_jump(*shape.body, Jump::kBreak), continues = has_jump(*shape.body, Jump::kContinue),
             returns = has_jump(*shape.body, Jump::kReturn);
  const bool counted = shape.test == nullptr;
  Environment outer = take_hidden(environment);

  std::set<std::string> assigned;
  assigned_names(*shape.body, assigned);
  if (counted) assigned.insert(shape.target);
  std::vector<std::string> names;  // carried, in order: user variables, then the hidden ones
  std::vector<NodeRef> initial;
  for (const std::string &name : assigned) {
    auto it = environment.find(name);
    if (it == environment.end()) continue;
    names.push_back(name);
    initial.push_back(it->second);
  }
  const std::string kCounter = "#counter";
  if (counted) {
    names.push_back(kCounter);
    initial.push_back(shape.start);
  }
  if (breaks) {
    names.push_back(kBreakFlag);
    initial.push_back(bool_constant(false, line));
  }
  if (returns) {
    names.push_back(kReturnFlag);
    initial.push_back(bool_constant(false, line));
  }
  std::vector<ScalarType> types;
  for (const NodeRef &value : initial) types.push_back(value->type);

  for (int round = 0; round < kMaxTypeRounds; ++round) {
    const int loop_id = new_loop_id();
    Environment head = environment;
    for (size_t k = 0; k < names.size(); ++k) head[names[k]] = make_loop_variable(loop_id, static_cast<int>(k), types[k], line);
    auto variable = [&](const std::string &name) { return head.at(name); };
    // The condition, at the head of each iteration.
    NodeRef condition;
    bool test_always_true = false;
    if (counted) {
      condition = make_node(shape.step > 0 ? ScalarOp::kLt : ScalarOp::kGt, ScalarType{DType::kBool, false},
                            {variable(kCounter), shape.stop}, line);
    } else {
      auto test = translate_expr(*shape.test, head);
      if (!test.ok()) return test.status();
      condition = truth(*test, line);
      test_always_true = is_constant_true(condition);
    }
    for (const char *flag : {kBreakFlag, kReturnFlag}) {
      if (!head.count(flag)) continue;
      NodeRef go_on = make_node(ScalarOp::kNot, ScalarType{DType::kBool, false}, {variable(flag)}, line);
      condition = make_node(ScalarOp::kLogicalAnd, ScalarType{DType::kBool, false}, {go_on, condition}, line);
    }
    if (absl::Status size = check_size(line); !size.ok()) return size;
    // One iteration: jumps start cleared (the condition stopped on them).
    Environment body = head;
    if (counted) {
      body.erase(kCounter);
      body[shape.target] = cast_to(variable(kCounter), ScalarType{DType::kInt64, true});  // Python ints
    }
    if (breaks) body[kBreakFlag] = bool_constant(false, line);
    if (continues) body[kContinueFlag] = bool_constant(false, line);
    if (returns) body[kReturnFlag] = bool_constant(false, line);
    ++loop_depth_;
    absl::Status applied = apply_statements(*shape.body, body, depth + 1);
    --loop_depth_;
    if (!applied.ok()) return applied;
    std::vector<NodeRef> next;
    bool widened = false;
    for (size_t k = 0; k < names.size(); ++k) {
      NodeRef value;
      if (names[k] == kCounter) {
        value = make_node(ScalarOp::kAdd, types[k], {variable(kCounter), make_constant(shape.step, types[k], line)}, line);
      } else {
        value = body.at(names[k]);
      }
      if (value->type != types[k]) {
        auto joined = resolve_operator(ScalarOp::kSelect, {types[k], value->type});
        if (!joined.ok()) return error(line, absl::StrCat("'", names[k], "' changes type in the loop: ", joined.status().message()));
        if (joined->result != types[k]) {
          if (round + 1 == kMaxTypeRounds) {
            return error(line, absl::StrCat("the type of '", names[k], "' keeps changing in ", shape.what, " (", type_name(types[k]), " to ",
                                            type_name(value->type), "); give it its final type before the loop"));
          }
          types[k] = joined->result;
          widened = true;
        }
        value = cast_to(value, types[k]);
      }
      next.push_back(value);
    }
    if (returns && body.count(kReturnValue) && !head.count(kReturnValue)) {
      // The value a return in the body gives: carried from the next round on.
      names.push_back(kReturnValue);
      types.push_back(body.at(kReturnValue)->type);
      initial.push_back(zero_of(types.back(), line));
      widened = true;
    }
    if (widened) continue;
    auto restore_outer = [&] {
      for (const auto &[name, value] : outer) {
        if (environment.count(name) && (name == kReturnFlag || name == kReturnValue)) continue;  // this loop's return
        environment[name] = value;
      }
    };
    if (!reads_loop_variables(condition, loop_id)) {
      if (is_constant_false(condition)) {  // never runs
        restore_outer();
        return absl::OkStatus();
      }
      return error(line, absl::StrCat(test_always_true ? "the condition of " : "nothing the condition of ", shape.what,
                                      test_always_true ? " is always true" : " reads changes in the loop",
                                      ", and it has no 'break' or 'return': once started it would never end"));
    }
    for (size_t k = 0; k < initial.size(); ++k) {
      auto converted = convert(initial[k], types[k], line);
      if (!converted.ok()) return converted.status();
      initial[k] = *converted;
    }
    NodeRef loop = make_loop(loop_id, initial, condition, next, line);
    const bool may_return = std::find(names.begin(), names.end(), kReturnValue) != names.end();
    for (size_t k = 0; k < names.size(); ++k) {
      if (names[k] == kCounter || names[k] == kBreakFlag || (names[k] == kReturnFlag && !may_return)) continue;
      environment[names[k]] = make_loop_result(loop, static_cast<int>(k), line);
    }
    if (may_return && !breaks && test_always_true) {
      environment[kReturnFlag] = bool_constant(true, line);  // `while True` ends only by returning
    }
    restore_outer();
    return check_size(line);
  }
  return error(line, absl::StrCat("the types of the variables of ", shape.what, " do not settle"));
}

}  // namespace sejits::specializers
