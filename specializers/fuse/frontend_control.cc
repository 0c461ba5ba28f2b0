// The front end's control flow: `if` on numbers, `for` over ranges (unrolled,
// or a run-time loop).
#include <algorithm>
#include <set>

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
    if (!bound.ok()) return runtime_loop(stmt, line);
    bounds.push_back(*bound);
  }
  const int64_t start = bounds.size() > 1 ? bounds[0] : 0, stop = bounds.size() > 1 ? bounds[1] : bounds[0];
  const int64_t step = bounds.size() > 2 ? bounds[2] : 1;
  if (step == 0) return error(line, "range() arg 3 must not be zero");
  const int64_t count =
      step > 0 ? std::max<int64_t>(0, (stop - start + step - 1) / step) : std::max<int64_t>(0, (start - stop - step - 1) / -step);
  if (count > kMaxIterations) return runtime_loop(stmt, line);
  for (int64_t k = 0; k < count; ++k) {
    environment_[stmt.target().name().id()] = make_constant(start + k * step, {DType::kInt64, true}, line);
    if (absl::Status applied = apply_block(stmt.body()); !applied.ok()) return applied;
  }
  return absl::OkStatus();
}

// The names `body` binds with `name = ...` (in `if` and `for` bodies too).
std::set<std::string> FuseFrontend::names_assigned(const google::protobuf::RepeatedPtrField<v1::Stmt> &body) {
  std::set<std::string> names;
  for (const v1::Stmt &stmt : body) {
    if (stmt.has_assign()) {
      for (const v1::Expr &target : stmt.assign().targets()) {
        if (target.has_name()) names.insert(target.name().id());
        if (target.has_tuple()) {
          for (const v1::Expr &element : target.tuple().elts()) {
            if (element.has_name()) names.insert(element.name().id());
          }
        }
      }
    }
    if (stmt.has_if_stmt()) {
      for (const auto &block : {&stmt.if_stmt().body(), &stmt.if_stmt().orelse()}) {
        std::set<std::string> inner = names_assigned(*block);
        names.insert(inner.begin(), inner.end());
      }
    }
    if (stmt.has_for_stmt()) {
      std::set<std::string> inner = names_assigned(stmt.for_stmt().body());
      names.insert(inner.begin(), inner.end());
    }
  }
  return names;
}

absl::Status FuseFrontend::runtime_loop(const v1::For &stmt, int line) {
  const std::string &index = stmt.target().name().id();
  if (loop_ >= 0) return error(line, "a loop over a run-time range inside another is not supported by sejits.fuse");
  std::set<std::string> read_in_body;
  for (const v1::Stmt &statement : stmt.body()) names_read(statement, read_in_body);
  if (read_in_body.count(index)) {
    return error(line, absl::StrCat("the index '", index, "' of a loop over a run-time range (or of more than 64 iterations) is read "
                                    "in its body: sejits.fuse unrolls only loops of constant bounds, up to 64 iterations"));
  }
  RuntimeLoop loop;
  loop.line = line;
  std::vector<NodeRef> bounds;
  for (const v1::Expr &arg : stmt.iter().call().args()) {
    auto bound = evaluate(arg);
    if (!bound.ok()) return bound.status();
    bool numbers = dims_of(*bound).empty() && kind_of((*bound)->type.dtype) != Kind::kFloat;
    for (const ScalarNode *node : leaves_of(*bound)) {
      const Leaf::Kind kind = ir_->leaves[node->param_index].kind;
      numbers = numbers && kind != Leaf::Kind::kView && kind != Leaf::Kind::kReduction;
    }
    if (!numbers) {
      return error(line, "a range bound must be an integer number for sejits.fuse (an argument, a size such as len(a), a constant)");
    }
    bounds.push_back(cast_to(*bound, {DType::kInt64, false}));
  }
  loop.start = bounds.size() > 1 ? bounds[0] : make_constant(int64_t{0}, {DType::kInt64, false}, line);
  loop.stop = bounds.size() > 1 ? bounds[1] : bounds[0];
  loop.step = bounds.size() > 2 ? bounds[2] : make_constant(int64_t{1}, {DType::kInt64, false}, line);
  // Arrays the body names anew (x = f(x)) live in a buffer of their own,
  // which each iteration's last value is stored back into.
  std::map<std::string, NodeRef> carried;  // name -> its buffer's leaf
  for (const std::string &name : names_assigned(stmt.body())) {
    auto bound = environment_.find(name);
    if (bound == environment_.end()) continue;  // first bound in the loop: its own each iteration
    if (dims_of(bound->second).empty()) {
      return error(line, absl::StrCat("the number '", name, "' is assigned inside a loop over a run-time range: sejits.fuse carries ",
                                      "only arrays from one iteration to the next"));
    }
    const ScalarType type = strengthen(bound->second->type);
    NodeRef buffer = new_buffer(type, dims_of(bound->second), line);
    const View view = ir_->leaves[buffer->param_index].view;
    if (absl::Status stored = store(view, bound->second, line, absl::StrCat("'", name, "' (carried through the loop of line ", line, ")"));
        !stored.ok()) {
      return stored;
    }
    bound->second = new_leaf(ir_->leaves[buffer->param_index], type, line);
    carried[name] = bound->second;
  }
  // Every iteration reads these as they were before the loop: stored now.
  for (auto &[name, bound] : environment_) {
    if (!read_in_body.count(name) || view_leaf(bound) != nullptr) continue;
    bool reads_arrays = false;
    for (const ScalarNode *node : leaves_of(bound)) {
      const Leaf::Kind kind = ir_->leaves[node->param_index].kind;
      reads_arrays = reads_arrays || kind == Leaf::Kind::kView || kind == Leaf::Kind::kReduction;
    }
    if (reads_arrays) bound = materialize(bound, line, absl::StrCat("'", name, "' (read in the loop of line ", line, ")"));
  }
  const Environment before = environment_;
  ir_->loops.push_back(loop);
  loop_ = static_cast<int>(ir_->loops.size()) - 1;
  absl::Status applied = apply_block(stmt.body());
  // Names first bound in the body are its own each iteration: none is read
  // before it is bound again, and none is defined after the loop here.
  for (auto it = environment_.begin(); it != environment_.end();) {
    it = before.count(it->first) ? std::next(it) : environment_.erase(it);
  }
  for (const auto &[name, buffer] : carried) {
    if (!applied.ok()) break;
    const NodeRef value = environment_.at(name);
    environment_[name] = buffer;  // not a value read later: the store below is its last use
    const Leaf leaf = ir_->leaves[buffer->param_index];  // a copy: storing adds leaves
    const Leaf *now = view_leaf(value);
    if (now != nullptr && now->view.key() == leaf.view.key()) continue;  // stored into in place
    const std::vector<SizeRef> dims = dims_of(value);
    if (!(strengthen(value->type) == buffer->type)) {
      applied = error(line, absl::StrCat("'", name, "' changes dtype inside a loop over a run-time range (", type_name(buffer->type),
                                         " to ", type_name(strengthen(value->type)), "): not supported by sejits.fuse"));
      break;
    }
    if (dims.size() != leaf.view.dims.size()) {
      applied = error(line, absl::StrCat("'", name, "' changes its number of dimensions inside a loop over a run-time range: ",
                                         "not supported by sejits.fuse"));
      break;
    }
    // The same shape at run time, not only one that broadcasts into it (the function runs as written where not).
    for (size_t d = 0; d < dims.size(); ++d) {
      if (!same_size(dims[d], leaf.view.dims[d])) empty_checks_.push_back(fits_into(leaf.view.dims[d], dims[d]));
    }
    applied = store(leaf.view, value, line, absl::StrCat("'", name, "' (carried to the next iteration)"));
    environment_[name] = new_leaf(leaf, buffer->type, line);
  }
  loop_ = -1;
  if (!applied.ok()) return applied;
  Environment after;
  for (const auto &[name, value] : environment_) {
    auto old = before.find(name);
    const Leaf *was = view_leaf(old->second), *is = view_leaf(value);
    const bool same_array = was != nullptr && is != nullptr && was->view.key() == is->view.key();  // newer after a store
    if (old->second != value && !same_array) {
      return error(line, absl::StrCat("'", name, "' is bound anew inside a loop over a run-time range in a way sejits.fuse ",
                                      "cannot carry to the next iteration"));
    }
    after[name] = value;
  }
  environment_ = std::move(after);
  return absl::OkStatus();
}
}  // namespace sejits::specializers::fuse
