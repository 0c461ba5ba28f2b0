// The front end's control flow: `if` on numbers, `for` over constant ranges.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "specializers/fuse/frontend_walker.h"

namespace sejits::specializers::fuse {

absl::Status FuseFrontend::apply_block(const google::protobuf::RepeatedPtrField<v1::Stmt> &body) {
  for (const v1::Stmt &stmt : body) {
    if (stmt.has_return_stmt()) return error(stmt.pos().line(), "'return' inside 'if' or 'for' is not supported by sejits.fuse");
    if (absl::Status applied = apply(stmt); !applied.ok()) return applied;
  }
  return absl::OkStatus();
}

// `if` on numbers (not on array values): both branches are compiled, their
// stores guarded by the condition, and each name they bind differently
// becomes np.where(condition, then, else) (the same dtype either way).
absl::Status FuseFrontend::if_statement(const v1::If &stmt, int line) {
  auto test = evaluate(stmt.test());
  if (!test.ok()) return test.status();
  for (const ScalarNode *node : leaves_of(*test)) {
    const Leaf::Kind kind = ir_->leaves[node->param_index].kind;
    if (kind == Leaf::Kind::kView || kind == Leaf::Kind::kReduction) {
      return error(line, "an 'if' on array values is not supported by sejits.fuse (only on numbers: arguments, sizes)");
    }
  }
  NodeRef condition =
      (*test)->type.dtype == DType::kBool ? *test : make_node(ScalarOp::kTruth, {DType::kBool, false}, {*test}, line);
  const NodeRef outer = guard_;
  const Environment before = environment_;
  // Each branch starts from the state before the `if` (the other's stores
  // do not run); after it, an array either branch stored into is as the
  // later of the two left it.
  const std::map<int, int> versions_before = version_;
  std::map<int, int> versions_after = version_;
  auto branch = [&](NodeRef taken, const google::protobuf::RepeatedPtrField<v1::Stmt> &body) -> absl::StatusOr<Environment> {
    guard_ = outer ? make_node(ScalarOp::kLogicalAnd, {DType::kBool, false}, {outer, taken}, line) : taken;
    environment_ = before;
    version_ = versions_before;
    absl::Status applied = apply_block(body);
    guard_ = outer;
    for (const auto &[storage, version] : version_) versions_after[storage] = std::max(versions_after[storage], version);
    if (!applied.ok()) return applied;
    return environment_;
  };
  auto then_names = branch(condition, stmt.body());
  if (!then_names.ok()) return then_names.status();
  auto else_names = branch(make_node(ScalarOp::kNot, {DType::kBool, false}, {condition}, line), stmt.orelse());
  if (!else_names.ok()) return else_names.status();
  version_ = versions_after;
  environment_.clear();
  for (const auto &[name, then_value] : *then_names) {
    auto other = else_names->find(name);
    if (other == else_names->end()) continue;  // bound on one path only: a later use is refused as undefined
    const NodeRef &else_value = other->second;
    if (then_value == else_value) {
      environment_[name] = then_value;
      continue;
    }
    const Leaf *then_view = view_leaf(then_value), *else_view = view_leaf(else_value);
    if (then_view != nullptr && else_view != nullptr && then_view->view.key() == else_view->view.key()) {
      environment_[name] = new_leaf(*then_view, then_value->type, line);  // the same array either way, as it is now
      continue;
    }
    if (!(then_value->type == else_value->type)) {
      return error(line, absl::StrCat("'", name, "' has dtype ", type_name(then_value->type), " after one branch and ",
                                      type_name(else_value->type), " after the other: not supported by sejits.fuse"));
    }
    environment_[name] = make_node(ScalarOp::kSelect, then_value->type, {condition, then_value, else_value}, line);
  }
  return absl::OkStatus();
}

// `for name in range(...)` with constant bounds: unrolled, each iteration's
// statements fused like any others.
absl::Status FuseFrontend::for_statement(const v1::For &stmt, int line) {
  constexpr int64_t kMaxIterations = 64;
  if (!stmt.target().has_name()) return error(line, "a 'for' loop's target must be a name for sejits.fuse");
  if (stmt.orelse_size() > 0) return error(line, "'for ... else' is not supported by sejits.fuse");
  auto callee = stmt.iter().has_call() ? callee_name(stmt.iter().call().func()) : std::nullopt;
  if (callee != "builtins.range" || stmt.iter().call().keywords_size() > 0 || stmt.iter().call().args_size() < 1 ||
      stmt.iter().call().args_size() > 3) {
    return error(line, "sejits.fuse runs 'for' loops over range(...) only");
  }
  std::vector<int64_t> bounds;
  for (const v1::Expr &arg : stmt.iter().call().args()) {
    auto bound = integer_value(arg, "a range bound");
    if (!bound.ok()) return bound.status();
    bounds.push_back(*bound);
  }
  const int64_t start = bounds.size() > 1 ? bounds[0] : 0, stop = bounds.size() > 1 ? bounds[1] : bounds[0];
  const int64_t step = bounds.size() > 2 ? bounds[2] : 1;
  if (step == 0) return error(line, "range() arg 3 must not be zero");
  const int64_t count =
      step > 0 ? std::max<int64_t>(0, (stop - start + step - 1) / step) : std::max<int64_t>(0, (start - stop - step - 1) / -step);
  if (count > kMaxIterations) {
    return error(line, absl::StrCat("a 'for' loop of ", count, " iterations: sejits.fuse unrolls at most ", kMaxIterations));
  }
  for (int64_t k = 0; k < count; ++k) {
    environment_[stmt.target().name().id()] = make_constant(start + k * step, {DType::kInt64, true}, line);
    if (absl::Status applied = apply_block(stmt.body()); !applied.ok()) return applied;
  }
  return absl::OkStatus();
}
}  // namespace sejits::specializers::fuse
