#include "specializers/fuse/frontend.h"

#include <functional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "specializers/common/expr_frontend.h"
#include "specializers/fuse/reductions.h"
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
      live_after_.clear();
      for (int later = k + 1; later < body.size(); ++later) names_read(body[later], live_after_);
      if (body[k].has_for_stmt() || body[k].has_if_stmt()) names_read(body[k], live_after_);  // read again in later iterations
      if (absl::Status applied = apply(body[k]); !applied.ok()) return applied;
    }
    ir_->numpy_passes = static_cast<int>(numpy_operations_.size()) + copies_;
    ir_->checks = std::move(empty_checks_);
    ir_->storage = storage_;
    return std::move(ir_);
  }

 private:
  absl::Status error(int line, const std::string &message) const { return user_error(context_, line, message); }

  // Every name `message` (a statement or expression) mentions.
  static void names_read(const google::protobuf::Message &message, std::set<std::string> &names) {
    if (const auto *expr = dynamic_cast<const v1::Expr *>(&message); expr != nullptr && expr->has_name()) {
      names.insert(expr->name().id());
      return;
    }
    const google::protobuf::Reflection *reflection = message.GetReflection();
    std::vector<const google::protobuf::FieldDescriptor *> fields;
    reflection->ListFields(message, &fields);
    for (const google::protobuf::FieldDescriptor *field : fields) {
      if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
      if (field->is_repeated()) {
        for (int k = 0; k < reflection->FieldSize(message, field); ++k) names_read(reflection->GetRepeatedMessage(message, field, k), names);
      } else {
        names_read(reflection->GetMessage(message, field), names);
      }
    }
  }

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

  // A leaf reading the current contents of what it reads.
  NodeRef new_leaf(Leaf leaf, ScalarType type, int line) {
    if (leaf.kind == Leaf::Kind::kView) leaf.version = version_[storage_[leaf.view.param]];
    return intern_leaf(std::move(leaf), type, line);
  }

  // The same read twice is one leaf, so that equal expressions over it are
  // computed once (common subexpressions are merged by optimize).
  NodeRef intern_leaf(Leaf leaf, ScalarType type, int line) {
    std::string key;
    switch (leaf.kind) {
      case Leaf::Kind::kView: key = absl::StrCat("v", leaf.view.key(), "#", leaf.version); break;
      case Leaf::Kind::kScalar: key = absl::StrCat("s", leaf.param); break;
      case Leaf::Kind::kSize: key = absl::StrCat("n", leaf.size->key, type.weak); break;
      case Leaf::Kind::kReduction: key = absl::StrCat("r", leaf.reduction); break;
    }
    auto [it, inserted] = leaf_index_.try_emplace(key, static_cast<int>(ir_->leaves.size()));
    if (inserted) ir_->leaves.push_back(std::move(leaf));
    return make_param(it->second, type, line);
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

  const std::vector<SizeRef> *dims_of_leaf(const Leaf &leaf) const {
    if (leaf.kind == Leaf::Kind::kView) return &leaf.view.dims;
    if (leaf.kind == Leaf::Kind::kReduction) return &ir_->reductions[leaf.reduction].dims;
    return nullptr;
  }

  // Every view `value` reads, reductions' bodies included.
  void views_read(const NodeRef &value, std::vector<const Leaf *> &views) const {
    for (const ScalarNode *node : leaves_of(value)) {
      const Leaf &leaf = ir_->leaves[node->param_index];
      if (leaf.kind == Leaf::Kind::kView) views.push_back(&leaf);
      if (leaf.kind == Leaf::Kind::kReduction) views_read(ir_->reductions[leaf.reduction].body, views);
    }
  }

  bool has_reduction(const NodeRef &value) const {
    for (const ScalarNode *node : leaves_of(value)) {
      if (ir_->leaves[node->param_index].kind == Leaf::Kind::kReduction) return true;
    }
    return false;
  }

  // NumPy's broadcast of every array the value reads (right-aligned).
  std::vector<SizeRef> dims_of(const NodeRef &value) const {
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
  absl::StatusOr<NodeRef> transform_views(NodeRef value, const std::function<absl::StatusOr<View>(const View &)> &transform,
                                          int line) {
    if (has_reduction(value)) value = materialize(value, line, "a reduction's result, indexed");  // rare: stored, then indexed
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
          Leaf moved = leaf;  // the same read, elsewhere: as stale or fresh as it was
          moved.view = std::move(*view);
          NodeRef fresh = intern_leaf(std::move(moved), node->type, node->line);
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
        const v1::Attribute &attribute = expr.attribute();
        if (attribute.value().has_global_ref()) return absl::OkStatus();  // np.pi
        auto value = evaluate(attribute.value());
        if (!value.ok()) return value.status();
        if (attribute.attr() == "T") {
          return bind(transform_views(*value, [](const View &view) -> absl::StatusOr<View> { return transpose_view(view); }, line));
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
        auto array_call = evaluate_array_call(expr.call(), line);
        if (array_call) return bind(std::move(*array_call));
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

  NodeRef size_leaf(const SizeRef &size, int line) {
    Leaf leaf;
    leaf.kind = Leaf::Kind::kSize;
    leaf.size = size;
    return new_leaf(std::move(leaf), ScalarType{DType::kInt64, true}, line);  // a Python int, as a.size is
  }

  // ---- calls that are not element-wise: reductions, new arrays, casts ----------

  // A call's operands: `a` (the array: the first argument, or the method's
  // object), the other positional arguments and the keywords.
  struct CallOperands {
    std::string name;  // "sum", "zeros_like", ...
    bool method = false;
    const v1::Expr *array = nullptr;
    std::vector<const v1::Expr *> positional;
    std::map<std::string, const v1::Expr *> keywords;
  };

  static std::optional<CallOperands> call_operands(const v1::Call &call) {
    CallOperands operands;
    const v1::Expr &func = call.func();
    if (func.has_attribute() && !func.attribute().value().has_global_ref()) {
      operands.name = func.attribute().attr();
      operands.method = true;
      operands.array = &func.attribute().value();
    } else {
      auto callee = callee_name(func);
      static const std::set<std::string> kBuiltins = {"builtins.len", "builtins.float", "builtins.int", "builtins.bool"};
      if (!callee || !(callee->starts_with("numpy.") || kBuiltins.count(*callee))) return std::nullopt;
      operands.name = callee->substr(callee->find('.') + 1);
      if (call.args_size() > 0) operands.array = &call.args(0);
    }
    for (int k = operands.method ? 0 : 1; k < call.args_size(); ++k) operands.positional.push_back(&call.args(k));
    for (const v1::Keyword &keyword : call.keywords()) operands.keywords[keyword.arg()] = &keyword.value();
    return operands;
  }

  // The value of a call that the scalar front end cannot translate, or
  // nullopt for an element-wise function (np.exp, np.where, ...).
  std::optional<absl::StatusOr<NodeRef>> evaluate_array_call(const v1::Call &call, int line) {
    auto operands = call_operands(call);
    if (!operands) return std::nullopt;
    const std::string &name = operands->name;
    static const std::set<std::string> kNewArrays = {"empty_like", "zeros_like", "ones_like", "full_like", "copy"};
    static const std::set<std::string> kShaped = {"empty", "zeros", "ones", "full"};
    if (kShaped.count(name) && !operands->method) return shaped_array(*operands, line);
    static const std::map<std::string, DType> kPythonNumbers = {{"float", DType::kFloat64}, {"int", DType::kInt64}, {"bool", DType::kBool}};
    if (!reduction_named(name) && !kNewArrays.count(name) && !kPythonNumbers.count(name) && name != "astype" && name != "len") {
      if (operands->method) return error(line, absl::StrCat("the method '.", name, "()' is not supported by sejits.fuse yet"));
      return std::nullopt;
    }
    if (operands->array == nullptr) return error(line, absl::StrCat("'", name, "' needs an array argument"));
    auto value = evaluate(*operands->array);
    if (!value.ok()) return value.status();
    if (name == "len") {
      const std::vector<SizeRef> dims = dims_of(*value);
      if (dims.empty()) return error(line, "len() of an unsized (0-dimensional) value");
      return size_leaf(dims[0], line);
    }
    if (kPythonNumbers.count(name) && !operands->method) {  // float(x) of a number: a Python number
      if (!dims_of(*value).empty()) return error(line, absl::StrCat(name, "() of an array is not supported by sejits.fuse"));
      if (!operands->positional.empty() || !operands->keywords.empty()) return error(line, absl::StrCat(name, "() takes one number here"));
      const ScalarType type{kPythonNumbers.at(name), true};
      if (name == "bool") return make_node(ScalarOp::kTruth, type, {*value}, line);
      return make_node(ScalarOp::kCast, type, {*value}, line);
    }
    if (name == "astype") {
      if (operands->positional.size() != 1) return error(line, "astype(dtype) takes the dtype only, in sejits.fuse");
      auto dtype = dtype_argument(*operands->positional[0]);
      if (!dtype.ok()) return dtype.status();
      return cast_to(*value, ScalarType{*dtype, false});
    }
    if (kNewArrays.count(name)) return new_array(*operands, *value, line);
    return reduce(*operands, *value, line);
  }

  absl::StatusOr<DType> dtype_argument(const v1::Expr &expr) const {
    static const std::map<std::string, DType> kDtypes = {
        {"numpy.bool_", DType::kBool},    {"numpy.int8", DType::kInt8},       {"numpy.int16", DType::kInt16},
        {"numpy.int32", DType::kInt32},   {"numpy.int64", DType::kInt64},     {"numpy.uint8", DType::kUInt8},
        {"numpy.uint16", DType::kUInt16}, {"numpy.uint32", DType::kUInt32},   {"numpy.uint64", DType::kUInt64},
        {"numpy.float32", DType::kFloat32}, {"numpy.float64", DType::kFloat64}, {"builtins.float", DType::kFloat64},
        {"builtins.int", DType::kInt64},  {"builtins.bool", DType::kBool},    {"numpy.intp", DType::kInt64},
        {"numpy.double", DType::kFloat64}, {"numpy.single", DType::kFloat32},
    };
    auto name = callee_name(expr);
    if (name) {
      auto it = kDtypes.find(*name);
      if (it != kDtypes.end()) return it->second;
    }
    if (expr.has_constant() && expr.constant().value_case() == v1::Constant::kStrValue) {
      auto it = kDtypes.find("numpy." + expr.constant().str_value());
      if (it != kDtypes.end()) return it->second;
    }
    return error(expr.pos().line(), "a dtype sejits.fuse knows (np.float64, np.int32, ... or their names) is expected here");
  }

  // np.empty_like/zeros_like/ones_like/full_like(a[, fill], dtype=...), np.copy(a), a.copy(): a buffer.
  absl::StatusOr<NodeRef> new_array(const CallOperands &operands, const NodeRef &like, int line) {
    const std::string &name = operands.name;
    for (const auto &[keyword, value] : operands.keywords) {
      if (keyword != "dtype" && !(keyword == "fill_value" && name == "full_like")) {
        return error(line, absl::StrCat("the keyword '", keyword, "' of ", name, " is not supported by sejits.fuse yet"));
      }
    }
    if (name == "copy") {
      if (!operands.positional.empty() || !operands.keywords.empty()) return error(line, "copy() takes no options in sejits.fuse");
      return materialize(like, line, "a copy");
    }
    const v1::Expr *fill = nullptr;
    size_t next = 0;
    if (name == "full_like") {
      fill = next < operands.positional.size() ? operands.positional[next++]
             : operands.keywords.count("fill_value") ? operands.keywords.at("fill_value") : nullptr;
      if (fill == nullptr) return error(line, "full_like needs a fill value");
    }
    DType dtype = strengthen(like->type).dtype;
    const v1::Expr *dtype_expr = next < operands.positional.size() ? operands.positional[next++]
                                 : operands.keywords.count("dtype") ? operands.keywords.at("dtype") : nullptr;
    if (next < operands.positional.size()) return error(line, absl::StrCat("too many arguments to ", name, " for sejits.fuse"));
    if (dtype_expr != nullptr && !(dtype_expr->has_constant() && dtype_expr->constant().value_case() == v1::Constant::kNoneValue)) {
      auto parsed = dtype_argument(*dtype_expr);
      if (!parsed.ok()) return parsed.status();
      dtype = *parsed;
    }
    const ScalarType type{dtype, false};
    NodeRef buffer = new_buffer(type, dims_of(like), line);
    if (name == "empty_like") return buffer;
    NodeRef value;
    if (fill != nullptr) {
      auto filled = evaluate(*fill);
      if (!filled.ok()) return filled.status();
      if (!dims_of(*filled).empty()) return error(line, "full_like's fill value must be a number in sejits.fuse");
      value = *filled;
    } else {
      value = make_constant(int64_t{name == "ones_like" ? 1 : 0}, ScalarType{DType::kInt64, true}, line);
    }
    const View &view = ir_->leaves[buffer->param_index].view;
    add_write(Write{view, view.dims, cast_to(value, type), line, name});
    ++version_[view.param];
    return new_leaf(ir_->leaves[buffer->param_index], type, line);
  }

  // np.zeros/ones/empty/full(shape[, fill], dtype=...): shape a.shape, a
  // number, or a tuple of numbers and sizes (a.shape[k], len(a), n - 2).
  absl::StatusOr<NodeRef> shaped_array(const CallOperands &operands, int line) {
    const std::string &name = operands.name;
    if (operands.array == nullptr) return error(line, absl::StrCat("np.", name, " needs a shape"));
    auto dims = shape_argument(*operands.array, line);
    if (!dims.ok()) return dims.status();
    const v1::Expr *fill = nullptr;
    size_t next = 0;
    if (name == "full") {
      fill = next < operands.positional.size() ? operands.positional[next++]
             : operands.keywords.count("fill_value") ? operands.keywords.at("fill_value") : nullptr;
      if (fill == nullptr) return error(line, "np.full needs a fill value");
    }
    const v1::Expr *dtype_expr = next < operands.positional.size() ? operands.positional[next++]
                                 : operands.keywords.count("dtype") ? operands.keywords.at("dtype") : nullptr;
    for (const auto &[keyword, value] : operands.keywords) {
      if (keyword != "dtype" && !(keyword == "fill_value" && name == "full")) {
        return error(line, absl::StrCat("the keyword '", keyword, "' of np.", name, " is not supported by sejits.fuse yet"));
      }
    }
    if (next < operands.positional.size()) return error(line, absl::StrCat("too many arguments to np.", name, " for sejits.fuse"));
    NodeRef value;
    if (fill != nullptr) {
      auto filled = evaluate(*fill);
      if (!filled.ok()) return filled.status();
      if (!dims_of(*filled).empty()) return error(line, "np.full's fill value must be a number in sejits.fuse");
      value = *filled;
    } else if (name != "empty") {
      value = make_constant(int64_t{name == "ones" ? 1 : 0}, ScalarType{DType::kInt64, true}, line);
    }
    // NumPy's default: float64, or np.full's fill value's own type.
    DType dtype = value && fill != nullptr ? strengthen(value->type).dtype : DType::kFloat64;
    if (dtype_expr != nullptr && !(dtype_expr->has_constant() && dtype_expr->constant().value_case() == v1::Constant::kNoneValue)) {
      auto parsed = dtype_argument(*dtype_expr);
      if (!parsed.ok()) return parsed.status();
      dtype = *parsed;
    }
    const ScalarType type{dtype, false};
    NodeRef buffer = new_buffer(type, *dims, line);
    if (!value) return buffer;
    const View &view = ir_->leaves[buffer->param_index].view;
    add_write(Write{view, view.dims, cast_to(value, type), line, absl::StrCat("np.", name)});
    ++version_[view.param];
    return new_leaf(ir_->leaves[buffer->param_index], type, line);
  }

  absl::StatusOr<std::vector<SizeRef>> shape_argument(const v1::Expr &expr, int line) {
    if (expr.has_attribute() && expr.attribute().attr() == "shape") {
      auto array = evaluate(expr.attribute().value());
      if (!array.ok()) return array.status();
      return dims_of(*array);
    }
    std::vector<const v1::Expr *> parts;
    if (expr.has_tuple()) {
      for (const v1::Expr &element : expr.tuple().elts()) parts.push_back(&element);
    } else {
      parts.push_back(&expr);
    }
    std::vector<SizeRef> dims;
    for (const v1::Expr *part : parts) {
      auto constant = integer_value(*part, "a dimension");
      if (constant.ok()) {
        if (*constant < 0) return error(line, "negative dimensions are not allowed");
        dims.push_back(size_constant(*constant));
        continue;
      }
      auto value = evaluate(*part);
      if (!value.ok()) return value.status();
      const ScalarNode &node = **value;
      if (node.op != ScalarOp::kParam || ir_->leaves[node.param_index].kind != Leaf::Kind::kSize) {
        return error(line, "a shape must be made of constants and sizes (a.shape, a.shape[k], len(a)) for sejits.fuse");
      }
      dims.push_back(ir_->leaves[node.param_index].size);
    }
    return dims;
  }

  absl::StatusOr<AxisSpec> axis_argument(const v1::Expr &expr) const {
    AxisSpec spec;
    if (expr.has_constant() && expr.constant().value_case() == v1::Constant::kNoneValue) return spec;
    spec.axes.emplace();
    if (expr.has_tuple()) {
      for (const v1::Expr &element : expr.tuple().elts()) {
        auto axis = integer_constant(element, "an axis");
        if (!axis.ok()) return axis.status();
        spec.axes->push_back(*axis);
      }
      return spec;
    }
    auto axis = integer_constant(expr, "an axis");
    if (!axis.ok()) return axis.status();
    spec.axes->push_back(*axis);
    return spec;
  }

  absl::StatusOr<bool> bool_constant(const v1::Expr &expr, const char *what) const {
    if (expr.has_constant() && expr.constant().value_case() == v1::Constant::kBoolValue) return expr.constant().bool_value();
    return error(expr.pos().line(), absl::StrCat(what, " must be True or False for sejits.fuse"));
  }

  // np.sum(a, axis, keepdims=...) and its cousins, methods included; mean,
  // std and var divide sums as NumPy does (std and var by the two-pass formula).
  absl::StatusOr<NodeRef> reduce(const CallOperands &operands, const NodeRef &body, int line) {
    const std::string &name = operands.name;
    const bool moments = name == "std" || name == "var";
    AxisSpec axis;
    bool keepdims = false;
    int64_t ddof = 0;
    if (operands.positional.size() > 1) {
      return error(line, absl::StrCat(name, ": only the axis may be passed by position in sejits.fuse"));
    }
    if (!operands.positional.empty()) {
      auto parsed = axis_argument(*operands.positional[0]);
      if (!parsed.ok()) return parsed.status();
      axis = *parsed;
    }
    for (const auto &[keyword, value] : operands.keywords) {
      if (keyword == "axis") {
        auto parsed = axis_argument(*value);
        if (!parsed.ok()) return parsed.status();
        axis = *parsed;
      } else if (keyword == "keepdims") {
        auto parsed = bool_constant(*value, "keepdims");
        if (!parsed.ok()) return parsed.status();
        keepdims = *parsed;
      } else if (keyword == "ddof" && moments) {
        auto parsed = integer_constant(*value, "ddof");
        if (!parsed.ok()) return parsed.status();
        ddof = *parsed;
      } else {
        return error(line, absl::StrCat("the keyword '", keyword, "' of ", name, " is not supported by sejits.fuse yet"));
      }
    }
    const ReduceOp op = *reduction_named(name);
    if (name != "mean" && !moments) return reduction_leaf(op, body, axis, keepdims, line);
    // The mean's type: float64 for bool and integers, else the body's.
    const DType body_dtype = strengthen(body->type).dtype;
    const ScalarType real{is_float(body_dtype) ? body_dtype : DType::kFloat64, false};
    NodeRef values = cast_to(body, real);
    auto mean = average(values, axis, keepdims || moments, 0, line);
    if (!mean.ok() || !moments) return mean;
    NodeRef deviation = make_node(ScalarOp::kSub, real, {values, *mean}, line);
    NodeRef squared = make_node(ScalarOp::kMul, real, {deviation, deviation}, line);
    auto variance = average(squared, axis, keepdims, ddof, line);
    if (!variance.ok() || name == "var") return variance;
    return make_math(MathFn::kSqrt, real, {*variance}, line);
  }

  // sum(values, axis) / (count - ddof), in the values' (floating) type.
  absl::StatusOr<NodeRef> average(const NodeRef &values, const AxisSpec &axis, bool keepdims, int64_t ddof, int line) {
    auto sum = reduction_leaf(ReduceOp::kSum, values, axis, keepdims, line);
    if (!sum.ok()) return sum;
    const Reduction &reduction = ir_->reductions[ir_->leaves[(*sum)->param_index].reduction];
    NodeRef count = cast_to(size_leaf(size_add(reduced_count(reduction), size_constant(-ddof)), line), values->type);
    return make_node(ScalarOp::kTrueDiv, values->type, {*sum, count}, line);
  }

  absl::StatusOr<NodeRef> reduction_leaf(ReduceOp op, const NodeRef &body, const AxisSpec &axis, bool keepdims, int line) {
    auto reduction = make_reduction(op, body, dims_of(body), axis, keepdims, line);
    if (!reduction.ok()) return error(line, std::string(reduction.status().message()));
    if (op == ReduceOp::kMin || op == ReduceOp::kMax || op == ReduceOp::kArgMin || op == ReduceOp::kArgMax) {
      empty_checks_.push_back(non_empty(reduced_count(*reduction)));
    }
    Leaf leaf;
    leaf.kind = Leaf::Kind::kReduction;
    leaf.reduction = static_cast<int>(ir_->reductions.size());
    const ScalarType type = reduction->result;
    ir_->reductions.push_back(std::move(*reduction));
    return new_leaf(std::move(leaf), type, line);
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
    if (callee_name(item) == "numpy.newaxis") return NewAxisItem{};
    auto index = integer_value(item, "an index");
    if (!index.ok()) return index.status();
    return IndexItem{*index};
  }

  absl::StatusOr<NodeRef> evaluate_subscript(const v1::Subscript &subscript, int line) {
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
      case v1::Stmt::kIfStmt: return if_statement(stmt.if_stmt(), line);
      case v1::Stmt::kForStmt: return for_statement(stmt.for_stmt(), line);
      case v1::Stmt::kWhileStmt: return error(line, "'while' loops are not supported by sejits.fuse");
      case v1::Stmt::kUnsupported: return error(line, absl::StrCat(stmt.unsupported().what(), " is not supported by sejits.fuse"));
      default: return error(line, "this statement is not supported by sejits.fuse");
    }
  }

  absl::Status apply_block(const google::protobuf::RepeatedPtrField<v1::Stmt> &body) {
    for (const v1::Stmt &stmt : body) {
      if (stmt.has_return_stmt()) return error(stmt.pos().line(), "'return' inside 'if' or 'for' is not supported by sejits.fuse");
      if (absl::Status applied = apply(stmt); !applied.ok()) return applied;
    }
    return absl::OkStatus();
  }

  // `if` on numbers (not on array values): both branches are compiled, their
  // stores guarded by the condition, and each name they bind differently
  // becomes np.where(condition, then, else) (the same dtype either way).
  absl::Status if_statement(const v1::If &stmt, int line) {
    auto test = evaluate(stmt.test());
    if (!test.ok()) return test.status();
    for (const ScalarNode *node : leaves_of(*test)) {
      const Leaf::Kind kind = ir_->leaves[node->param_index].kind;
      if (kind == Leaf::Kind::kView || kind == Leaf::Kind::kReduction) {
        return error(line, "an 'if' on array values is not supported by sejits.fuse (only on numbers: arguments, sizes)");
      }
    }
    NodeRef condition = (*test)->type.dtype == DType::kBool ? *test : make_node(ScalarOp::kTruth, {DType::kBool, false}, {*test}, line);
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
  absl::Status for_statement(const v1::For &stmt, int line) {
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
    const int64_t count = step > 0 ? std::max<int64_t>(0, (stop - start + step - 1) / step) : std::max<int64_t>(0, (start - stop - step - 1) / -step);
    if (count > kMaxIterations) {
      return error(line, absl::StrCat("a 'for' loop of ", count, " iterations: sejits.fuse unrolls at most ", kMaxIterations));
    }
    for (int64_t k = 0; k < count; ++k) {
      environment_[stmt.target().name().id()] = make_constant(start + k * step, {DType::kInt64, true}, line);
      if (absl::Status applied = apply_block(stmt.body()); !applied.ok()) return applied;
    }
    return absl::OkStatus();
  }

  // An integer known when compiling: a literal, or a name bound to one (a loop index).
  absl::StatusOr<int64_t> integer_value(const v1::Expr &expr, const char *what) const {
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
    const DType dtype = array_dtype(view->param);
    if (!same_kind_castable(strengthen((*value)->type).dtype, dtype)) {
      return error(line, absl::StrCat("NumPy cannot cast the in-place result from ", type_name((*value)->type), " to ",
                                      dtype_name(dtype), " (casting='same_kind')"));
    }
    return store(*view, *value, line, "in-place update");
  }

  // Where an assignment's target lies: a view of an argument or buffer. A
  // computed local indexed on the left (`x = a * 2; x[0] = 1`) is a new array
  // in NumPy: it is stored in a buffer first, which its names then share.
  absl::StatusOr<View> target_view(const v1::Expr &target, int line) {
    const v1::Expr *base = &target;
    while (base->has_subscript()) base = &base->subscript().value();
    if (base->has_name()) {
      auto found = environment_.find(base->name().id());
      if (found != environment_.end() && view_leaf(found->second) == nullptr && !dims_of(found->second).empty()) {
        const NodeRef computed = found->second;
        NodeRef buffer = materialize(computed, line, absl::StrCat("'", base->name().id(), "' (assigned into)"));
        for (auto &[name, bound] : environment_) {
          if (bound == computed) bound = buffer;
        }
      }
    }
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

  // Stale reads are stored before the store that would change them (see
  // store()), so this is a check of that rule, not a refusal users meet.
  absl::Status check_fresh(const NodeRef &value, int line) const {
    std::vector<const Leaf *> views;
    views_read(value, views);
    for (const Leaf *leaf : views) {
      if (!fresh(*leaf)) {
        return error(line, absl::StrCat("a value read from '", array_name(leaf->view.param),
                                        "' before it was updated in place is used after the update: not supported by sejits.fuse yet"));
      }
    }
    return absl::OkStatus();
  }

  std::string array_name(int arg) const {
    return arg < nparams() ? ir_->parameters[arg].name : absl::StrCat("a local array (buffer ", arg - nparams(), ")");
  }

  int nparams() const { return static_cast<int>(ir_->parameters.size()); }

  DType array_dtype(int arg) const {
    return arg < nparams() ? ir_->parameters[arg].type.dtype : ir_->outputs[arg - nparams()].type.dtype;
  }

  static bool same_elements(const View &a, const View &b) {
    if (a.param != b.param || a.offset->key != b.offset->key || a.dims.size() != b.dims.size()) return false;
    for (size_t d = 0; d < a.dims.size(); ++d) {
      if (!same_size(a.dims[d], b.dims[d]) || !same_size(a.strides[d], b.strides[d])) return false;
    }
    return true;
  }

  void add_write(Write write) {
    write.guard = guard_;
    ir_->writes.push_back(std::move(write));
  }

  // A new array the caller allocates (an output of "call"), as a view leaf.
  NodeRef new_buffer(ScalarType type, const std::vector<SizeRef> &dims, int line) {
    const int arg = nparams() + static_cast<int>(ir_->outputs.size());
    ir_->outputs.push_back({ScalarType{type.dtype, false}, dims, false});
    storage_[arg] = arg;
    View view{arg, size_constant(0), dims, {}};
    for (size_t d = 0; d < dims.size(); ++d) view.strides.push_back(size_stride(arg, static_cast<int>(d)));
    return new_leaf(Leaf{Leaf::Kind::kView, view}, ScalarType{type.dtype, false}, line);
  }

  // `value` computed into a new buffer, whose view stands for it from now on.
  NodeRef materialize(const NodeRef &value, int line, const std::string &what) {
    const ScalarType type = strengthen(value->type);
    NodeRef buffer = new_buffer(type, dims_of(value), line);
    const View &view = ir_->leaves[buffer->param_index].view;
    Write write{view, view.dims, cast_to(value, type), line, what};
    add_write(std::move(write));
    ir_->fused.push_back(absl::StrCat("line ", line, ": ", what, " stored in a buffer"));
    return buffer;
  }

  bool reads_storage(const NodeRef &value, int storage) const {
    std::vector<const Leaf *> views;
    views_read(value, views);
    return std::any_of(views.begin(), views.end(), [&](const Leaf *leaf) { return storage_.at(leaf->view.param) == storage; });
  }

  // Whether a reduction leaf of a store's value is computed before the store's
  // loops (its result is the same for every point): its reads precede every write.
  bool computed_before_loops(const ScalarNode *node) const {
    const Leaf &leaf = ir_->leaves[node->param_index];
    if (leaf.kind != Leaf::Kind::kReduction) return false;
    for (const SizeRef &dim : ir_->reductions[leaf.reduction].dims) {
      if (constant_value(dim) != 1) return false;
    }
    return true;
  }

  // Whether evaluating `value` point by point while storing into `target`
  // reads only the point being stored (or reads done before the stores).
  bool reads_pointwise(const NodeRef &value, const View &target) const {
    const int storage = storage_.at(target.param);
    for (const ScalarNode *node : leaves_of(value)) {
      const Leaf &leaf = ir_->leaves[node->param_index];
      if (computed_before_loops(node)) continue;
      if (leaf.kind == Leaf::Kind::kView && storage_.at(leaf.view.param) == storage && !same_elements(leaf.view, target)) return false;
      if (leaf.kind == Leaf::Kind::kReduction && reads_storage(ir_->reductions[leaf.reduction].body, storage)) return false;
    }
    return true;
  }

  absl::Status store(const View &target, NodeRef value, int line, const std::string &what) {
    if (absl::Status status = check_fresh(value, line); !status.ok()) return status;
    const std::vector<SizeRef> value_dims = dims_of(value);
    if (value_dims.size() > target.dims.size()) {
      return error(line, absl::StrCat("a ", value_dims.size(), "-dimensional value is assigned into a ", target.dims.size(),
                                      "-dimensional view: not supported by sejits.fuse"));
    }
    const int storage = storage_[target.param];
    if (!reads_pointwise(value, target)) {  // NumPy computes the right side whole before writing
      value = materialize(value, line, absl::StrCat("the right side of ", what, " (it reads the target elsewhere)"));
    }
    Write write;
    write.view = target;
    write.line = line;
    write.what = what;
    const size_t lead = target.dims.size() - value_dims.size();
    for (size_t d = 0; d < target.dims.size(); ++d) {
      write.dims.push_back(d < lead ? target.dims[d] : fits_into(value_dims[d - lead], target.dims[d]));
    }
    write.value = cast_to(value, ScalarType{array_dtype(target.param), false});
    // Values named for later that read the target are stored first: they must
    // not see the new contents.
    for (auto &[name, bound] : environment_) {
      if (view_leaf(bound) == nullptr && live_after_.count(name) && reads_storage(bound, storage)) {
        bound = materialize(bound, line, absl::StrCat("'", name, "' (read after ", what, " changes what it reads)"));
      }
    }
    add_write(std::move(write));
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
        const int arg = leaf->view.param;
        const bool whole = arg < nparams() ? is_whole_argument(leaf->view)
                                           : leaf->view.offset->key == "0" && leaf->view.dims.size() == ir_->outputs[arg - nparams()].dims.size();
        if (!whole) return error(line, "returning a view of an array is not supported by sejits.fuse (it returns whole arrays)");
        if (arg < nparams()) {
          ir_->returns.push_back({-1, arg, false});
        } else {
          ir_->outputs[arg - nparams()].returned = true;
          ir_->returns.push_back({arg - nparams(), -1, false});
        }
        continue;
      }
      if (absl::Status status = check_fresh(*value, line); !status.ok()) return status;
      const bool python_scalar = (*value)->type.weak;
      NodeRef stored = materialize(*value, line, absl::StrCat("returned value ", ir_->returns.size() + 1));
      const int output = ir_->leaves[stored->param_index].view.param - nparams();
      ir_->outputs[output].returned = true;
      ir_->fused.pop_back();
      ir_->returns.push_back({output, -1, python_scalar});
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
  std::set<std::string> live_after_;  // names read by the statements after the current one
  std::set<const ScalarNode *> numpy_operations_;  // array operations NumPy would run, each a pass
  std::vector<NodeRef> kept_alive_;  // keeps the nodes above from being reused at another address
  int copies_ = 0;  // slice assignments: one more pass each in NumPy
  std::map<std::string, int> leaf_index_;  // a leaf's key -> its index (intern_leaf)
  NodeRef guard_;  // inside `if` branches: when the stores run (null: always)
  std::vector<SizeRef> empty_checks_;  // reductions that NumPy refuses over nothing
};

}  // namespace

absl::StatusOr<std::unique_ptr<FuseIr>> build_fuse_ir(const SpecializationRequest &request) {
  if (!request.function) return absl::InvalidArgumentError("a fuse request needs the function's AST");
  return FuseFrontend(request, source_context(*request.function, "fused function")).run();
}

}  // namespace sejits::specializers::fuse
