#include "specializers/fuse/frontend.h"

#include <functional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "specializers/common/expr_frontend.h"
#include "specializers/fuse/views.h"

namespace sejits::specializers::fuse {

std::string FuseIr::describe() const {
  return absl::StrCat(parameters.size(), " parameters, ", leaves.size(), " leaves, ", writes.size(), " loop nests, ",
                      outputs.size(), " outputs");
}

namespace {

constexpr char kPlaceholder[] = "__sejits_fuse_";

// NumPy's same_kind rule for in-place operators (`a += b`).
bool same_kind_castable(DType from, DType to) {
  if (from == to || can_cast_safely(from, to)) return true;
  const Kind a = kind_of(from), b = kind_of(to);
  return a == b || (a == Kind::kUnsigned && b == Kind::kSigned) || static_cast<int>(a) < static_cast<int>(b);
}

class FuseFrontend {
 public:
  FuseFrontend(const SpecializationRequest &request, SourceContext context)
      : request_(request), function_(*request.function), context_(std::move(context)), ir_(std::make_unique<FuseIr>()) {}

  absl::StatusOr<std::unique_ptr<FuseIr>> run() {
    if (function_.args_size() != static_cast<int>(request_.args.size())) {
      return error(function_.pos().line(), absl::StrCat(context_.kernel_name, " takes ", function_.args_size(),
                                                        " arguments, called with ", request_.args.size()));
    }
    if (absl::Status names = check_parameter_names(context_, function_); !names.ok()) return names;
    if (absl::Status aliases = read_aliases(); !aliases.ok()) return aliases;
    if (absl::Status parameters = describe_parameters(); !parameters.ok()) return parameters;
    const auto &body = function_.body();
    for (int k = 0; k < body.size(); ++k) {
      if (returned_) return error(body[k].pos().line(), "statements after 'return' are not supported");
      if (absl::Status applied = apply(body[k]); !applied.ok()) return applied;
    }
    ir_->numpy_passes = static_cast<int>(numpy_operations_.size()) + copies_;
    return std::move(ir_);
  }

 private:
  absl::Status error(int line, const std::string &message) const { return user_error(context_, line, message); }

  // ---- parameters and aliasing -----------------------------------------------

  absl::Status read_aliases() {
    for (int k = 0; k < static_cast<int>(request_.args.size()); ++k) storage_[k] = k;
    auto it = request_.params.find(kAliasesParam);
    if (it == request_.params.end() || it->second.empty()) return absl::OkStatus();
    for (absl::string_view group : absl::StrSplit(it->second, ';')) {
      int first = -1;
      for (absl::string_view member : absl::StrSplit(group, ',')) {
        int index = 0;
        if (!absl::SimpleAtoi(member, &index) || index < 0 || index >= static_cast<int>(request_.args.size())) {
          return absl::InvalidArgumentError(absl::StrCat("fuse: bad '", kAliasesParam, "' param: ", it->second));
        }
        if (first < 0) first = index;
        storage_[index] = first;
      }
    }
    return absl::OkStatus();
  }

  absl::Status describe_parameters() {
    for (int k = 0; k < function_.args_size(); ++k) {
      const v1::Argument &argument = function_.args(k);
      const ArgSpec &spec = request_.args[k];
      const int line = argument.pos().line();
      if (!is_supported_dtype(spec.dtype_code)) {
        return error(line, absl::StrCat("argument '", argument.name(),
                                        "' has a dtype sejits does not support; supported: bool, int8..int64, "
                                        "uint8..uint64, float32, float64"));
      }
      const DType dtype = static_cast<DType>(spec.dtype_code);
      Parameter parameter{spec.kind, ScalarType{dtype, spec.kind == ArgKind::kScalar && spec.weak}, argument.name(), spec.rank};
      if (spec.kind == ArgKind::kArray && (spec.rank < 0 || spec.rank > SEJITS_MAX_RANK)) {
        return error(line, absl::StrCat("argument '", argument.name(), "' has rank ", spec.rank, "; at most ", SEJITS_MAX_RANK));
      }
      ir_->parameters.push_back(parameter);
      Leaf leaf;
      if (spec.kind == ArgKind::kArray) {
        leaf.view = argument_view(k, spec.rank);
      } else {
        leaf.kind = Leaf::Kind::kScalar;
        leaf.param = k;
      }
      environment_[argument.name()] = new_leaf(leaf, parameter.type, line);
    }
    return absl::OkStatus();
  }

  // ---- leaves and values ------------------------------------------------------

  NodeRef new_leaf(Leaf leaf, ScalarType type, int line) {
    if (leaf.kind == Leaf::Kind::kView) leaf.version = version_[storage_[leaf.view.param]];
    ir_->leaves.push_back(std::move(leaf));
    return make_param(static_cast<int>(ir_->leaves.size()) - 1, type, line);
  }

  // The leaf `value` is, if it is one view of an argument (an alias, not a computed value).
  const Leaf *view_leaf(const NodeRef &value) const {
    if (value->op != ScalarOp::kParam) return nullptr;
    const Leaf &leaf = ir_->leaves[value->param_index];
    return leaf.kind == Leaf::Kind::kView ? &leaf : nullptr;
  }

  std::vector<const ScalarNode *> leaves_of(const NodeRef &value) const {
    std::vector<const ScalarNode *> leaves;
    for (const NodeRef &node : topological_order(value)) {
      if (node->op == ScalarOp::kParam) leaves.push_back(node.get());
    }
    return leaves;
  }

  // NumPy's broadcast of every array the value reads (right-aligned).
  std::vector<SizeRef> dims_of(const NodeRef &value) const {
    std::vector<SizeRef> dims;
    for (const ScalarNode *node : leaves_of(value)) {
      const Leaf &leaf = ir_->leaves[node->param_index];
      if (leaf.kind != Leaf::Kind::kView) continue;
      const std::vector<SizeRef> &other = leaf.view.dims;
      if (other.size() > dims.size()) dims.insert(dims.begin(), other.size() - dims.size(), size_constant(1));
      const size_t lead = dims.size() - other.size();
      for (size_t d = 0; d < other.size(); ++d) dims[lead + d] = broadcast_length(dims[lead + d], other[d]);
    }
    return dims;
  }

  // `value` with every view it reads first broadcast to the value's shape,
  // then transformed by `transform` (an indexing, a transpose).
  absl::StatusOr<NodeRef> transform_views(const NodeRef &value, const std::function<absl::StatusOr<View>(const View &)> &transform,
                                          int line) {
    const std::vector<SizeRef> dims = dims_of(value);
    std::map<const ScalarNode *, NodeRef> rewritten;
    bool any_view = false;
    for (const NodeRef &node : topological_order(value)) {
      if (node->op == ScalarOp::kParam) {
        const Leaf &leaf = ir_->leaves[node->param_index];
        if (leaf.kind == Leaf::Kind::kView) {
          any_view = true;
          auto view = transform(broadcast_view(leaf.view, dims));
          if (!view.ok()) return error(line, std::string(view.status().message()));
          Leaf moved = leaf;
          moved.view = std::move(*view);
          int version = leaf.version;
          NodeRef fresh = new_leaf(std::move(moved), node->type, node->line);
          ir_->leaves.back().version = version;  // the same read, elsewhere: as stale or fresh as it was
          rewritten[node.get()] = fresh;
        } else {
          rewritten[node.get()] = node;
        }
        continue;
      }
      std::vector<NodeRef> operands;
      for (const NodeRef &operand : node->operands) operands.push_back(rewritten.at(operand.get()));
      rewritten[node.get()] = with_operands(node, std::move(operands));
    }
    if (!any_view) return error(line, "indexing a scalar value (0-dimensional) is not supported");
    return rewritten.at(value.get());
  }

  // ---- expressions -------------------------------------------------------------

  absl::StatusOr<NodeRef> evaluate(const v1::Expr &expr) {
    v1::Expr copy = expr;
    Environment placeholders;
    if (absl::Status hoisted = hoist_array_operations(copy, placeholders); !hoisted.ok()) return hoisted;
    Environment environment = environment_;
    for (auto &[name, value] : placeholders) environment[name] = value;
    ExprFrontend frontend(context_);
    auto value = frontend.translate_expr(copy, environment);
    if (!value.ok()) return value.status();
    for (const NodeRef &node : topological_order(*value)) {
      if (node->op != ScalarOp::kParam && node->op != ScalarOp::kConstant && !dims_of(node).empty()) {
        numpy_operations_.insert(node.get());
        kept_alive_.push_back(node);
      }
    }
    return value;
  }

  // Replaces what the scalar front end cannot translate (indexing, `.T`)
  // with placeholder names bound to their values, and refuses what NumPy
  // would not compute element by element (`and`, `if` expressions on arrays).
  absl::Status hoist_array_operations(v1::Expr &expr, Environment &placeholders) {
    const int line = expr.pos().line();
    auto bind = [&](absl::StatusOr<NodeRef> value) -> absl::Status {
      if (!value.ok()) return value.status();
      std::string name = absl::StrCat(kPlaceholder, placeholders_++);
      placeholders[name] = *value;
      v1::Position position = expr.pos();
      expr.Clear();
      *expr.mutable_pos() = position;
      expr.mutable_name()->set_id(name);
      return absl::OkStatus();
    };
    switch (expr.node_case()) {
      case v1::Expr::kSubscript:
        return bind(evaluate_subscript(expr.subscript(), line));
      case v1::Expr::kAttribute: {
        if (expr.attribute().value().has_global_ref()) return absl::OkStatus();  // np.pi
        if (expr.attribute().attr() == "T") {
          auto value = evaluate(expr.attribute().value());
          if (!value.ok()) return value.status();
          return bind(transform_views(*value, [](const View &view) -> absl::StatusOr<View> { return transpose_view(view); }, line));
        }
        return error(line, absl::StrCat("the attribute '.", expr.attribute().attr(), "' is not supported by sejits.fuse yet"));
      }
      case v1::Expr::kCall: {
        auto callee = callee_name(expr.call().func());
        if (!callee) {
          const v1::Expr &func = expr.call().func();
          std::string what = func.has_attribute() ? absl::StrCat("the method '.", func.attribute().attr(), "()'") : "this call";
          return error(line, absl::StrCat(what, " is not supported by sejits.fuse yet"));
        }
        if (!callee->starts_with("numpy.") && *callee != "builtins.abs") {
          return error(line, absl::StrCat("'", *callee, "' is not supported by sejits.fuse (on arrays, call NumPy's)"));
        }
        for (v1::Expr &arg : *expr.mutable_call()->mutable_args()) {
          if (absl::Status status = hoist_array_operations(arg, placeholders); !status.ok()) return status;
        }
        for (v1::Keyword &keyword : *expr.mutable_call()->mutable_keywords()) {
          if (absl::Status status = hoist_array_operations(*keyword.mutable_value(), placeholders); !status.ok()) return status;
        }
        return absl::OkStatus();
      }
      case v1::Expr::kBinOp: {
        if (absl::Status status = hoist_array_operations(*expr.mutable_bin_op()->mutable_left(), placeholders); !status.ok()) return status;
        return hoist_array_operations(*expr.mutable_bin_op()->mutable_right(), placeholders);
      }
      case v1::Expr::kUnaryOp:
        if (expr.unary_op().op() == v1::NOT) return error(line, "'not' on arrays is ambiguous in NumPy; use np.logical_not");
        return hoist_array_operations(*expr.mutable_unary_op()->mutable_operand(), placeholders);
      case v1::Expr::kCompare: {
        if (expr.compare().ops_size() != 1) return error(line, "chained comparisons (a < b < c) on arrays are ambiguous in NumPy");
        if (absl::Status status = hoist_array_operations(*expr.mutable_compare()->mutable_left(), placeholders); !status.ok()) return status;
        return hoist_array_operations(*expr.mutable_compare()->mutable_comparators(0), placeholders);
      }
      case v1::Expr::kBoolOp:
        return error(line, "'and'/'or' on arrays are ambiguous in NumPy; use & and |, or np.logical_and");
      case v1::Expr::kIfExp:
        return error(line, "'x if c else y' is not supported by sejits.fuse; use np.where");
      default:
        return absl::OkStatus();
    }
  }

  absl::StatusOr<int64_t> integer_constant(const v1::Expr &expr, const char *what) const {
    const int line = expr.pos().line();
    if (expr.has_constant() && expr.constant().value_case() == v1::Constant::kIntValue) return expr.constant().int_value();
    if (expr.has_unary_op() && expr.unary_op().op() == v1::USUB && expr.unary_op().operand().has_constant() &&
        expr.unary_op().operand().constant().value_case() == v1::Constant::kIntValue) {
      return -expr.unary_op().operand().constant().int_value();
    }
    return error(line, absl::StrCat(what, " must be an integer constant for sejits.fuse"));
  }

  absl::StatusOr<IndexingItem> indexing_item(const v1::Expr &item) const {
    if (item.has_slice()) {
      SliceItem slice;
      if (item.slice().has_step()) {
        auto step = integer_constant(item.slice().step(), "a slice step");
        if (!step.ok()) return step.status();
        if (*step == 0) return error(item.pos().line(), "slice step cannot be zero");
        slice.step = *step;
      }
      if (item.slice().has_lower()) {
        auto lower = integer_constant(item.slice().lower(), "a slice bound");
        if (!lower.ok()) return lower.status();
        slice.lower = *lower;
      }
      if (item.slice().has_upper()) {
        auto upper = integer_constant(item.slice().upper(), "a slice bound");
        if (!upper.ok()) return upper.status();
        slice.upper = *upper;
      }
      return slice;
    }
    if (item.has_constant() && item.constant().value_case() == v1::Constant::kNoneValue) return NewAxisItem{};
    auto index = integer_constant(item, "an index");
    if (!index.ok()) return index.status();
    return IndexItem{*index};
  }

  absl::StatusOr<NodeRef> evaluate_subscript(const v1::Subscript &subscript, int line) {
    auto base = evaluate(subscript.value());
    if (!base.ok()) return base.status();
    std::vector<IndexingItem> items;
    if (subscript.slice().has_tuple()) {
      for (const v1::Expr &element : subscript.slice().tuple().elts()) {
        auto item = indexing_item(element);
        if (!item.ok()) return item.status();
        items.push_back(*item);
      }
    } else {
      auto item = indexing_item(subscript.slice());
      if (!item.ok()) return item.status();
      items.push_back(*item);
    }
    return transform_views(*base, [&items](const View &view) { return index_view(view, items); }, line);
  }

  // ---- statements --------------------------------------------------------------

  absl::Status apply(const v1::Stmt &stmt) {
    const int line = stmt.pos().line();
    switch (stmt.node_case()) {
      case v1::Stmt::kAssign: return assign(stmt.assign(), line);
      case v1::Stmt::kAugAssign: return aug_assign(stmt.aug_assign(), line);
      case v1::Stmt::kReturnStmt: return return_values(stmt.return_stmt(), line);
      case v1::Stmt::kPassStmt: return absl::OkStatus();
      case v1::Stmt::kExpr:
        if (stmt.expr().value().has_constant()) return absl::OkStatus();  // a docstring
        return error(line, "an expression statement is not supported by sejits.fuse");
      case v1::Stmt::kIfStmt: return error(line, "'if' statements are not supported by sejits.fuse yet");
      case v1::Stmt::kForStmt: return error(line, "'for' loops are not supported by sejits.fuse yet");
      case v1::Stmt::kWhileStmt: return error(line, "'while' loops are not supported by sejits.fuse");
      case v1::Stmt::kUnsupported: return error(line, absl::StrCat(stmt.unsupported().what(), " is not supported by sejits.fuse"));
      default: return error(line, "this statement is not supported by sejits.fuse");
    }
  }

  absl::Status assign(const v1::Assign &assign, int line) {
    if (assign.targets_size() != 1) return error(line, "chained assignment (a = b = ...) is not supported by sejits.fuse");
    const v1::Expr &target = assign.targets(0);
    if (target.has_tuple()) {
      if (!assign.value().has_tuple() || assign.value().tuple().elts_size() != target.tuple().elts_size()) {
        return error(line, "tuple assignment needs a tuple of as many values on the right");
      }
      std::vector<NodeRef> values;
      for (const v1::Expr &element : assign.value().tuple().elts()) {
        auto value = evaluate(element);
        if (!value.ok()) return value.status();
        values.push_back(*value);
      }
      for (int k = 0; k < target.tuple().elts_size(); ++k) {
        if (!target.tuple().elts(k).has_name()) return error(line, "tuple assignment to anything but names is not supported");
        environment_[target.tuple().elts(k).name().id()] = values[k];
      }
      return absl::OkStatus();
    }
    auto value = evaluate(assign.value());
    if (!value.ok()) return value.status();
    if (target.has_name()) {
      environment_[target.name().id()] = *value;
      return absl::OkStatus();
    }
    if (!target.has_subscript()) return error(line, "assignment to this target is not supported by sejits.fuse");
    auto view = target_view(target, line);
    if (!view.ok()) return view.status();
    ++copies_;
    return store(*view, *value, line, "slice assignment");
  }

  absl::Status aug_assign(const v1::AugAssign &aug, int line) {
    const v1::Expr &target = aug.target();
    v1::Expr combined;
    *combined.mutable_pos() = target.pos();
    *combined.mutable_bin_op()->mutable_left() = target;
    combined.mutable_bin_op()->set_op(aug.op());
    *combined.mutable_bin_op()->mutable_right() = aug.value();
    if (target.has_name()) {
      auto found = environment_.find(target.name().id());
      if (found == environment_.end()) return error(line, absl::StrCat("name '", target.name().id(), "' is not defined"));
      const Leaf *alias = view_leaf(found->second);
      if (alias == nullptr) {  // a number, or a computed array nobody else names: a new value in its place
        for (const auto &[name, value] : environment_) {
          if (name != target.name().id() && value == found->second && !dims_of(value).empty()) {
            return error(line, absl::StrCat("'", target.name().id(), "' is updated in place while '", name,
                                            "' names the same array: not supported by sejits.fuse yet"));
          }
        }
        auto value = evaluate(combined);
        if (!value.ok()) return value.status();
        if (!dims_of(found->second).empty()) {
          const DType dtype = strengthen(found->second->type).dtype;
          if (!same_kind_castable(strengthen((*value)->type).dtype, dtype)) {
            return error(line, absl::StrCat("NumPy cannot cast the result of the in-place operation from ",
                                            type_name((*value)->type), " to ", dtype_name(dtype), " (casting='same_kind')"));
          }
          *value = cast_to(*value, ScalarType{dtype, false});
        }
        environment_[target.name().id()] = *value;
        return absl::OkStatus();
      }
    } else if (!target.has_subscript()) {
      return error(line, "augmented assignment to this target is not supported by sejits.fuse");
    }
    auto view = target_view(target, line);
    if (!view.ok()) return view.status();
    auto value = evaluate(combined);
    if (!value.ok()) return value.status();
    const DType dtype = ir_->parameters[view->param].type.dtype;
    if (!same_kind_castable(strengthen((*value)->type).dtype, dtype)) {
      return error(line, absl::StrCat("NumPy cannot cast the in-place result from ", type_name((*value)->type), " to ",
                                      dtype_name(dtype), " (casting='same_kind')"));
    }
    return store(*view, *value, line, "in-place update");
  }

  // Where an assignment's target lies: a view of an argument.
  absl::StatusOr<View> target_view(const v1::Expr &target, int line) {
    auto value = evaluate(target);
    if (!value.ok()) return value.status();
    const Leaf *leaf = view_leaf(*value);
    if (leaf == nullptr) {
      return error(line, "assignment into an array the function computed (not an argument) is not supported by sejits.fuse yet");
    }
    return leaf->view;
  }

  bool fresh(const Leaf &leaf) const {
    return leaf.kind != Leaf::Kind::kView || leaf.version == version_.at(storage_.at(leaf.view.param));
  }

  absl::Status check_fresh(const NodeRef &value, int line) const {
    for (const ScalarNode *node : leaves_of(value)) {
      const Leaf &leaf = ir_->leaves[node->param_index];
      if (!fresh(leaf)) {
        return error(line, absl::StrCat("a value read from '", ir_->parameters[leaf.view.param].name,
                                        "' before it was updated in place is used after the update (it would need a "
                                        "temporary): not supported by sejits.fuse yet"));
      }
    }
    return absl::OkStatus();
  }

  static bool same_elements(const View &a, const View &b) {
    if (a.param != b.param || a.offset->key != b.offset->key || a.dims.size() != b.dims.size()) return false;
    for (size_t d = 0; d < a.dims.size(); ++d) {
      if (!same_size(a.dims[d], b.dims[d]) || !same_size(a.strides[d], b.strides[d])) return false;
    }
    return true;
  }

  absl::Status store(const View &target, const NodeRef &value, int line, const std::string &what) {
    if (absl::Status status = check_fresh(value, line); !status.ok()) return status;
    const std::vector<SizeRef> value_dims = dims_of(value);
    if (value_dims.size() > target.dims.size()) {
      return error(line, absl::StrCat("a ", value_dims.size(), "-dimensional value is assigned into a ", target.dims.size(),
                                      "-dimensional view: not supported by sejits.fuse"));
    }
    Write write;
    write.target = Write::Target::kArgument;
    write.index = target.param;
    write.view = target;
    write.line = line;
    write.what = what;
    const size_t lead = target.dims.size() - value_dims.size();
    for (size_t d = 0; d < target.dims.size(); ++d) {
      write.dims.push_back(d < lead ? target.dims[d] : fits_into(value_dims[d - lead], target.dims[d]));
    }
    const int storage = storage_[target.param];
    for (const ScalarNode *node : leaves_of(value)) {
      const Leaf &leaf = ir_->leaves[node->param_index];
      if (leaf.kind == Leaf::Kind::kView && storage_[leaf.view.param] == storage && !same_elements(leaf.view, target)) {
        return error(line, absl::StrCat("the right side reads '", ir_->parameters[leaf.view.param].name,
                                        "' through another view than the one assigned (NumPy reads it whole first): a "
                                        "buffered assignment, not supported by sejits.fuse yet"));
      }
    }
    write.value = cast_to(value, ScalarType{ir_->parameters[target.param].type.dtype, false});
    ir_->writes.push_back(std::move(write));
    ++version_[storage];
    for (auto &[name, bound] : environment_) {  // aliases see the new contents
      const Leaf *leaf = view_leaf(bound);
      if (leaf != nullptr && storage_[leaf->view.param] == storage) bound = new_leaf(*leaf, bound->type, bound->line);
    }
    return absl::OkStatus();
  }

  absl::Status return_values(const v1::Return &stmt, int line) {
    returned_ = true;
    if (!stmt.has_value() || (stmt.value().has_constant() && stmt.value().constant().value_case() == v1::Constant::kNoneValue)) {
      return absl::OkStatus();
    }
    std::vector<const v1::Expr *> values;
    if (stmt.value().has_tuple()) {
      ir_->returns_tuple = true;
      for (const v1::Expr &element : stmt.value().tuple().elts()) values.push_back(&element);
    } else {
      values.push_back(&stmt.value());
    }
    for (const v1::Expr *expr : values) {
      auto value = evaluate(*expr);
      if (!value.ok()) return value.status();
      if (const Leaf *leaf = view_leaf(*value)) {
        if (!is_whole_argument(leaf->view)) {
          return error(line, "returning a view of an argument is not supported by sejits.fuse (it returns new arrays)");
        }
        ir_->returns.push_back({-1, leaf->view.param, false});
        continue;
      }
      if (absl::Status status = check_fresh(*value, line); !status.ok()) return status;
      Output output{strengthen((*value)->type), dims_of(*value)};
      Write write;
      write.target = Write::Target::kOutput;
      write.index = static_cast<int>(ir_->outputs.size());
      write.dims = output.dims;
      write.value = cast_to(*value, output.type);
      write.line = line;
      write.what = absl::StrCat("returned value ", ir_->returns.size() + 1);
      ir_->returns.push_back({write.index, -1, (*value)->type.weak});
      ir_->outputs.push_back(std::move(output));
      ir_->writes.push_back(std::move(write));
    }
    return absl::OkStatus();
  }

  const SpecializationRequest &request_;
  const v1::FunctionAst &function_;
  SourceContext context_;
  std::unique_ptr<FuseIr> ir_;
  Environment environment_;
  std::map<int, int> storage_;  // argument -> the first argument it may share memory with
  std::map<int, int> version_;  // storage -> stores into it so far
  int placeholders_ = 0;
  bool returned_ = false;
  std::set<const ScalarNode *> numpy_operations_;  // array operations NumPy would run, each a pass
  std::vector<NodeRef> kept_alive_;  // keeps the nodes above from being reused at another address
  int copies_ = 0;  // slice assignments: one more pass each in NumPy
};

}  // namespace

absl::StatusOr<std::unique_ptr<FuseIr>> build_fuse_ir(const SpecializationRequest &request) {
  if (!request.function) return absl::InvalidArgumentError("a fuse request needs the function's AST");
  return FuseFrontend(request, source_context(*request.function, "fused function")).run();
}

}  // namespace sejits::specializers::fuse
