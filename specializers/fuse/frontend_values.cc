// The front end's values: leaves, dimensions, views, expressions, indexing.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "specializers/fuse/frontend_walker.h"

namespace sejits::specializers::fuse {
namespace {

constexpr char kPlaceholder[] = "__sejits_fuse_";

// a.clip(lo, hi) and a.round(d): NumPy's np.clip(a, lo, hi) and np.round(a, d), written so.
void as_numpy_function(v1::Call &call) {
  static const std::set<std::string> kFunctionMethods = {"clip", "round"};
  v1::Expr &func = *call.mutable_func();
  if (!func.has_attribute() || func.attribute().value().has_global_ref() || !kFunctionMethods.count(func.attribute().attr())) return;
  v1::Expr array = func.attribute().value();
  const std::string name = absl::StrCat("numpy.", func.attribute().attr());
  func.mutable_global_ref()->set_qualified_name(name);
  auto *args = call.mutable_args();
  *args->Add() = std::move(array);
  for (int k = args->size() - 1; k > 0; --k) args->SwapElements(k, k - 1);
}

}  // namespace

// A leaf reading the current contents of what it reads.
NodeRef FuseFrontend::new_leaf(Leaf leaf, ScalarType type, int line) {
  if (leaf.kind == Leaf::Kind::kView) leaf.version = version_[storage_[leaf.view.param]];
  return intern_leaf(std::move(leaf), type, line);
}

// The same read twice is one leaf, so that equal expressions over it are
// computed once (common subexpressions are merged by optimize).
NodeRef FuseFrontend::intern_leaf(Leaf leaf, ScalarType type, int line) {
  std::string key;
  switch (leaf.kind) {
    case Leaf::Kind::kView:
      key = absl::StrCat("v", leaf.view.key(), "#", leaf.version);
      break;
    case Leaf::Kind::kScalar:
      key = absl::StrCat("s", leaf.param);
      break;
    case Leaf::Kind::kSize:
      key = absl::StrCat("n", leaf.size->key, type.weak);
      break;
    case Leaf::Kind::kReduction:
      key = absl::StrCat("r", leaf.reduction);
      break;
  }
  auto [it, inserted] = leaf_index_.try_emplace(key, static_cast<int>(ir_->leaves.size()));
  if (inserted) ir_->leaves.push_back(std::move(leaf));
  return make_param(it->second, type, line);
}

// The leaf `value` is, if it is one view of an argument (an alias, not a computed value).
const Leaf *FuseFrontend::view_leaf(const NodeRef &value) const {
  if (value->op != ScalarOp::kParam) return nullptr;
  const Leaf &leaf = ir_->leaves[value->param_index];
  return leaf.kind == Leaf::Kind::kView ? &leaf : nullptr;
}

NodeRef FuseFrontend::copied(const NodeRef &value, int line) const {
  if (view_leaf(value) == nullptr) return value;
  return make_node(ScalarOp::kCast, value->type, {value}, line);  // the same type: a read, not an alias
}

std::vector<const ScalarNode *> FuseFrontend::leaves_of(const NodeRef &value) const {
  std::vector<const ScalarNode *> leaves;
  for (const NodeRef &node : topological_order(value)) {
    if (node->op == ScalarOp::kParam) leaves.push_back(node.get());
  }
  return leaves;
}

const std::vector<SizeRef> *FuseFrontend::dims_of_leaf(const Leaf &leaf) const {
  if (leaf.kind == Leaf::Kind::kView) return &leaf.view.dims;
  if (leaf.kind == Leaf::Kind::kReduction) return &ir_->reductions[leaf.reduction].dims;
  return nullptr;
}

// Every view `value` reads, reductions' bodies included.
void FuseFrontend::views_read(const NodeRef &value, std::vector<const Leaf *> &views) const {
  for (const ScalarNode *node : leaves_of(value)) {
    const Leaf &leaf = ir_->leaves[node->param_index];
    if (leaf.kind == Leaf::Kind::kView) views.push_back(&leaf);
    if (leaf.kind == Leaf::Kind::kReduction) views_read(ir_->reductions[leaf.reduction].body, views);
  }
}

bool FuseFrontend::has_reduction(const NodeRef &value) const {
  for (const ScalarNode *node : leaves_of(value)) {
    if (ir_->leaves[node->param_index].kind == Leaf::Kind::kReduction) return true;
  }
  return false;
}

// NumPy's broadcast of every array the value reads (right-aligned).
std::vector<SizeRef> FuseFrontend::dims_of(const NodeRef &value) const {
  std::vector<SizeRef> dims;
  for (const ScalarNode *node : leaves_of(value)) {
    const std::vector<SizeRef> *leaf_dims = dims_of_leaf(ir_->leaves[node->param_index]);
    if (leaf_dims == nullptr) continue;
    const std::vector<SizeRef> &other = *leaf_dims;
    if (other.size() > dims.size()) dims.insert(dims.begin(), other.size() - dims.size(), size_constant(1));
    const size_t lead = dims.size() - other.size();
    for (size_t d = 0; d < other.size(); ++d) dims[lead + d] = broadcast_length(dims[lead + d], other[d]);
  }
  return dims;
}

// `value` with every view it reads first broadcast to the value's shape,
// then transformed by `transform` (an indexing, a transpose).
absl::StatusOr<NodeRef> FuseFrontend::transform_views(NodeRef value,
                                                      const std::function<absl::StatusOr<View>(const View &)> &transform,
                                                      int line) {
  if (has_reduction(value)) value = materialize(value, line, "a reduction's result, indexed");  // rare: stored, then indexed
  const std::vector<SizeRef> dims = dims_of(value);
  bool any_view = false;
  absl::Status failed;
  NodeRef moved_value = substitute(value, [&](const NodeRef &node) -> NodeRef {
    if (node->op != ScalarOp::kParam) return nullptr;
    const Leaf &leaf = ir_->leaves[node->param_index];
    if (leaf.kind != Leaf::Kind::kView) return node;
    any_view = true;
    auto view = transform(broadcast_view(leaf.view, dims));
    if (!view.ok()) {
      failed.Update(view.status());
      return node;
    }
    Leaf moved = leaf;  // the same read, elsewhere: as stale or fresh as it was
    moved.view = std::move(*view);
    return intern_leaf(std::move(moved), node->type, node->line);
  });
  if (!failed.ok()) return error(line, std::string(failed.message()));
  if (!any_view) return error(line, "indexing a scalar value (0-dimensional) is not supported");
  return moved_value;
}

absl::StatusOr<NodeRef> FuseFrontend::evaluate(const v1::Expr &expr) {
  v1::Expr copy = expr;
  Environment placeholders;
  if (absl::Status hoisted = hoist_array_operations(copy, placeholders); !hoisted.ok()) return hoisted;
  Environment environment = environment_;
  for (auto &[name, value] : placeholders) environment[name] = value;
  ExprFrontend frontend(context_);
  auto value = frontend.translate_expr(copy, environment);
  if (!value.ok()) return value.status();
  if (expr.has_unary_op() && expr.unary_op().op() == v1::UADD) *value = copied(*value, expr.pos().line());  // +a: a new array
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
absl::Status FuseFrontend::hoist_array_operations(v1::Expr &expr, Environment &placeholders) {
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
      const v1::Attribute &attribute = expr.attribute();
      if (attribute.value().has_global_ref()) return absl::OkStatus();  // np.pi
      auto value = evaluate(attribute.value());
      if (!value.ok()) return value.status();
      if (attribute.attr() == "T") {
        return bind(transform_views(
            *value, [](const View &view) -> absl::StatusOr<View> { return transpose_view(view); }, line));
      }
      const std::vector<SizeRef> dims = dims_of(*value);
      if (attribute.attr() == "size") {
        SizeRef count = size_constant(1);
        for (const SizeRef &dim : dims) count = size_mul(count, dim);
        return bind(size_leaf(count, line));
      }
      if (attribute.attr() == "ndim") return bind(make_constant(static_cast<int64_t>(dims.size()), {DType::kInt64, true}, line));
      return error(line, absl::StrCat("the attribute '.", attribute.attr(), "' is not supported by sejits.fuse yet"));
    }
    case v1::Expr::kCall: {
      as_numpy_function(*expr.mutable_call());
      auto array_call = evaluate_array_call(expr.call(), line);
      if (array_call) return bind(std::move(*array_call));
      auto callee = callee_name(expr.call().func());
      if (!callee) {
        const v1::Expr &func = expr.call().func();
        std::string what = func.has_attribute() ? absl::StrCat("the method '.", func.attribute().attr(), "()'") : "this call";
        return error(line, absl::StrCat(what, " is not supported by sejits.fuse yet"));
      }
      const bool on_numbers = callee->starts_with("math.");  // math.sqrt(dt): numbers only (NumPy arrays raise there)
      if (!callee->starts_with("numpy.") && *callee != "builtins.abs" && !on_numbers) {
        return error(line, absl::StrCat("'", *callee, "' is not supported by sejits.fuse (on arrays, call NumPy's)"));
      }
      for (v1::Expr &arg : *expr.mutable_call()->mutable_args()) {
        if (absl::Status status = hoist_array_operations(arg, placeholders); !status.ok()) return status;
      }
      for (v1::Keyword &keyword : *expr.mutable_call()->mutable_keywords()) {
        if (absl::Status status = hoist_array_operations(*keyword.mutable_value(), placeholders); !status.ok()) return status;
      }
      if (on_numbers) {
        std::set<std::string> names;
        names_read(expr.call(), names);
        for (const std::string &name : names) {
          const NodeRef *value = nullptr;
          if (auto found = placeholders.find(name); found != placeholders.end()) {
            value = &found->second;
          } else if (auto bound = environment_.find(name); bound != environment_.end()) {
            value = &bound->second;
          }
          if (value != nullptr && !dims_of(*value).empty()) {
            return error(line, absl::StrCat("'", *callee, "' of an array ('", name, "'): the math module takes numbers (NumPy raises TypeError)"));
          }
        }
      }
      return absl::OkStatus();
    }
    case v1::Expr::kBinOp: {
      if (absl::Status status = hoist_array_operations(*expr.mutable_bin_op()->mutable_left(), placeholders); !status.ok())
        return status;
      return hoist_array_operations(*expr.mutable_bin_op()->mutable_right(), placeholders);
    }
    case v1::Expr::kUnaryOp:
      if (expr.unary_op().op() == v1::NOT) return error(line, "'not' on arrays is ambiguous in NumPy; use np.logical_not");
      return hoist_array_operations(*expr.mutable_unary_op()->mutable_operand(), placeholders);
    case v1::Expr::kCompare: {
      if (expr.compare().ops_size() != 1) return error(line, "chained comparisons (a < b < c) on arrays are ambiguous in NumPy");
      if (absl::Status status = hoist_array_operations(*expr.mutable_compare()->mutable_left(), placeholders); !status.ok())
        return status;
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

NodeRef FuseFrontend::size_leaf(const SizeRef &size, int line) {
  Leaf leaf;
  leaf.kind = Leaf::Kind::kSize;
  leaf.size = size;
  return new_leaf(std::move(leaf), ScalarType{DType::kInt64, true}, line);  // a Python int, as a.size is
}

absl::StatusOr<int64_t> FuseFrontend::integer_constant(const v1::Expr &expr, const char *what) const {
  const int line = expr.pos().line();
  if (expr.has_constant() && expr.constant().value_case() == v1::Constant::kIntValue) return expr.constant().int_value();
  if (expr.has_unary_op() && expr.unary_op().op() == v1::USUB && expr.unary_op().operand().has_constant() &&
      expr.unary_op().operand().constant().value_case() == v1::Constant::kIntValue) {
    return -expr.unary_op().operand().constant().int_value();
  }
  return error(line, absl::StrCat(what, " must be an integer constant for sejits.fuse"));
}

absl::StatusOr<IndexingItem> FuseFrontend::indexing_item(const v1::Expr &item) const {
  if (item.has_slice()) {
    SliceItem slice;
    if (item.slice().has_step()) {
      auto step = integer_value(item.slice().step(), "a slice step");
      if (!step.ok()) return step.status();
      if (*step == 0) return error(item.pos().line(), "slice step cannot be zero");
      slice.step = *step;
    }
    if (item.slice().has_lower()) {
      auto lower = integer_value(item.slice().lower(), "a slice bound");
      if (!lower.ok()) return lower.status();
      slice.lower = *lower;
    }
    if (item.slice().has_upper()) {
      auto upper = integer_value(item.slice().upper(), "a slice bound");
      if (!upper.ok()) return upper.status();
      slice.upper = *upper;
    }
    return slice;
  }
  if (item.has_constant() && item.constant().value_case() == v1::Constant::kNoneValue) return NewAxisItem{};
  if (item.has_constant() && item.constant().value_case() == v1::Constant::kEllipsisValue) return EllipsisItem{};
  if (callee_name(item) == "numpy.newaxis") return NewAxisItem{};
  auto index = integer_value(item, "an index");
  if (!index.ok()) return index.status();
  return IndexItem{*index};
}

absl::StatusOr<NodeRef> FuseFrontend::evaluate_subscript(const v1::Subscript &subscript, int line) {
  if (subscript.value().has_attribute() && subscript.value().attribute().attr() == "shape") {  // a.shape[k]
    auto array = evaluate(subscript.value().attribute().value());
    if (!array.ok()) return array.status();
    auto axis = integer_value(subscript.slice(), "a.shape's index");
    if (!axis.ok()) return axis.status();
    const std::vector<SizeRef> dims = dims_of(*array);
    const int64_t rank = static_cast<int64_t>(dims.size());
    if (*axis < -rank || *axis >= rank) return error(line, "tuple index out of range");
    return size_leaf(dims[*axis < 0 ? *axis + rank : *axis], line);
  }
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
  auto indexed = transform_views(
      *base, [&items](const View &view) { return index_view(view, items); }, line);
  const bool element = std::all_of(items.begin(), items.end(),
                                   [](const IndexingItem &item) { return std::holds_alternative<IndexItem>(item); });
  if (!indexed.ok() || !element || !dims_of(*indexed).empty() || evaluating_target_) return indexed;
  return copied(*indexed, line);  // a[i, j]: a NumPy scalar, not a view
}

// An integer known when compiling: a literal, or a name bound to one (a loop index).
absl::StatusOr<int64_t> FuseFrontend::integer_value(const v1::Expr &expr, const char *what) const {
  if (expr.has_unary_op() && expr.unary_op().op() == v1::USUB) {  // -k
    auto operand = integer_value(expr.unary_op().operand(), what);
    if (!operand.ok()) return operand;
    return -*operand;
  }
  if (expr.has_bin_op() && (expr.bin_op().op() == v1::ADD || expr.bin_op().op() == v1::SUB || expr.bin_op().op() == v1::MULT)) {
    auto left = integer_value(expr.bin_op().left(), what);
    if (!left.ok()) return left;
    auto right = integer_value(expr.bin_op().right(), what);
    if (!right.ok()) return right;
    const v1::BinaryOperator op = expr.bin_op().op();
    return op == v1::ADD ? *left + *right : op == v1::SUB ? *left - *right : *left * *right;
  }
  if (expr.has_name()) {
    auto found = environment_.find(expr.name().id());
    if (found != environment_.end() && found->second->op == ScalarOp::kConstant && is_integer(found->second->type.dtype)) {
      if (const auto *value = std::get_if<int64_t>(&found->second->value)) return *value;
    }
  }
  return integer_constant(expr, what);
}
}  // namespace sejits::specializers::fuse
