#include "specializers/fuse/frontend.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "specializers/fuse/frontend_walker.h"

namespace sejits::specializers::fuse {

std::string FuseIr::describe() const {
  return absl::StrCat(parameters.size(), " parameters, ", leaves.size(), " leaves, ", writes.size(), " stores, ", outputs.size(),
                      " outputs");
}

namespace {

// NumPy's same_kind rule for in-place operators (`a += b`).
bool same_kind_castable(DType from, DType to) {
  if (from == to || can_cast_safely(from, to)) return true;
  const Kind a = kind_of(from), b = kind_of(to);
  return a == b || (a == Kind::kUnsigned && b == Kind::kSigned) || static_cast<int>(a) < static_cast<int>(b);
}

}  // namespace

absl::StatusOr<std::unique_ptr<FuseIr>> FuseFrontend::run() {
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
  // NumPy's passes: each array operation, each copy, and each reduction (one read of its operand)
  ir_->numpy_passes = static_cast<int>(numpy_operations_.size() + ir_->reductions.size()) + copies_;
  ir_->checks = std::move(empty_checks_);
  ir_->storage = storage_;
  return std::move(ir_);
}

// Every name `message` (a statement or expression) mentions.
void FuseFrontend::names_read(const google::protobuf::Message &message, std::set<std::string> &names) {
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
      for (int k = 0; k < reflection->FieldSize(message, field); ++k)
        names_read(reflection->GetRepeatedMessage(message, field, k), names);
    } else {
      names_read(reflection->GetMessage(message, field), names);
    }
  }
}

absl::Status FuseFrontend::read_aliases() {
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

absl::Status FuseFrontend::describe_parameters() {
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

absl::Status FuseFrontend::apply(const v1::Stmt &stmt) {
  const int line = stmt.pos().line();
  switch (stmt.node_case()) {
    case v1::Stmt::kAssign:
      return assign(stmt.assign(), line);
    case v1::Stmt::kAugAssign:
      return aug_assign(stmt.aug_assign(), line);
    case v1::Stmt::kReturnStmt:
      return return_values(stmt.return_stmt(), line);
    case v1::Stmt::kPassStmt:
      return absl::OkStatus();
    case v1::Stmt::kExpr:
      if (stmt.expr().value().has_constant()) return absl::OkStatus();  // a docstring
      return error(line, "an expression statement is not supported by sejits.fuse");
    case v1::Stmt::kIfStmt:
      return if_statement(stmt.if_stmt(), line);
    case v1::Stmt::kForStmt:
      return for_statement(stmt.for_stmt(), line);
    case v1::Stmt::kWhileStmt:
      return error(line, "'while' loops are not supported by sejits.fuse");
    case v1::Stmt::kUnsupported:
      return error(line, absl::StrCat(stmt.unsupported().what(), " is not supported by sejits.fuse"));
    default:
      return error(line, "this statement is not supported by sejits.fuse");
  }
}

absl::Status FuseFrontend::assign(const v1::Assign &assign, int line) {
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
      note_view_binding(target.tuple().elts(k).name().id(), assign.value().tuple().elts(k));
      environment_[target.tuple().elts(k).name().id()] = values[k];
    }
    return absl::OkStatus();
  }
  auto value = evaluate(assign.value());
  if (!value.ok()) return value.status();
  if (target.has_name()) {
    note_view_binding(target.name().id(), assign.value());
    environment_[target.name().id()] = *value;
    return absl::OkStatus();
  }
  if (!target.has_subscript()) return error(line, "assignment to this target is not supported by sejits.fuse");
  auto view = target_view(target, line);
  if (!view.ok()) return view.status();
  ++copies_;
  return store(*view, *value, line, "slice assignment");
}

absl::Status FuseFrontend::aug_assign(const v1::AugAssign &aug, int line) {
  const v1::Expr &target = aug.target();
  v1::Expr combined;
  *combined.mutable_pos() = target.pos();
  *combined.mutable_bin_op()->mutable_left() = target;
  combined.mutable_bin_op()->set_op(aug.op());
  *combined.mutable_bin_op()->mutable_right() = aug.value();
  if (target.has_name()) {
    auto found = environment_.find(target.name().id());
    if (found == environment_.end()) return error(line, absl::StrCat("name '", target.name().id(), "' is not defined"));
    if (absl::Status shared = check_no_shared_view(target.name().id(), line); !shared.ok()) return shared;
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
absl::StatusOr<View> FuseFrontend::target_view(const v1::Expr &target, int line) {
  const v1::Expr *base = &target;
  while (base->has_subscript()) base = &base->subscript().value();
  if (base->has_name()) {
    if (absl::Status shared = check_no_shared_view(base->name().id(), line); !shared.ok()) return shared;
    auto found = environment_.find(base->name().id());
    if (found != environment_.end() && view_leaf(found->second) == nullptr && !dims_of(found->second).empty()) {
      const NodeRef computed = found->second;
      NodeRef buffer = materialize(computed, line, absl::StrCat("'", base->name().id(), "' (assigned into)"));
      for (auto &[name, bound] : environment_) {
        if (bound == computed) bound = buffer;
      }
    }
  }
  evaluating_target_ = true;
  auto value = evaluate(target);
  evaluating_target_ = false;
  if (!value.ok()) return value.status();
  const Leaf *leaf = view_leaf(*value);
  if (leaf == nullptr) {
    return error(line, "assignment into an array the function computed (not an argument) is not supported by sejits.fuse yet");
  }
  return leaf->view;
}

void FuseFrontend::note_view_binding(const std::string &name, const v1::Expr &value) {
  views_of_computed_.erase(name);
  const v1::Expr *base = &value;
  while (base->has_subscript() || (base->has_attribute() && base->attribute().attr() == "T")) {
    base = base->has_subscript() ? &base->subscript().value() : &base->attribute().value();
  }
  if (base == &value || !base->has_name()) return;
  if (auto viewed = views_of_computed_.find(base->name().id()); viewed != views_of_computed_.end()) {
    views_of_computed_[name] = viewed->second;  // a view of a view
    return;
  }
  auto found = environment_.find(base->name().id());
  if (found != environment_.end() && view_leaf(found->second) == nullptr && !dims_of(found->second).empty()) {
    views_of_computed_[name] = found->second;
  }
}

absl::Status FuseFrontend::check_no_shared_view(const std::string &name, int line) const {
  auto bound = environment_.find(name);
  if (bound == environment_.end()) return absl::OkStatus();
  if (auto viewed = views_of_computed_.find(name); viewed != views_of_computed_.end() && view_leaf(bound->second) == nullptr) {
    return error(line, absl::StrCat("'", name, "' is a view of an array the function computed, and is changed in place "
                                    "(NumPy changes that array too): not supported by sejits.fuse yet"));
  }
  for (const auto &[other, base] : views_of_computed_) {
    auto other_bound = environment_.find(other);
    if (other != name && base == bound->second && other_bound != environment_.end() && view_leaf(other_bound->second) == nullptr) {
      return error(line, absl::StrCat("'", name, "' is changed in place while '", other, "' is a view of it "
                                      "(NumPy changes both): not supported by sejits.fuse yet"));
    }
  }
  return absl::OkStatus();
}

absl::Status FuseFrontend::return_values(const v1::Return &stmt, int line) {
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
  std::map<const ScalarNode *, Returned> arrays_returned;  // `return y, y`: one array, twice, as in NumPy
  for (const v1::Expr *expr : values) {
    auto value = evaluate(*expr);
    if (!value.ok()) return value.status();
    if (auto again = arrays_returned.find(value->get()); again != arrays_returned.end()) {
      ir_->returns.push_back(again->second);
      continue;
    }
    if (absl::Status returned = return_value(*value, line); !returned.ok()) return returned;
    if (!dims_of(*value).empty()) {
      kept_alive_.push_back(*value);  // keeps its address its own while it is a key
      arrays_returned[value->get()] = ir_->returns.back();
    }
  }
  return absl::OkStatus();
}

// One returned value: an argument or a local array as it is, or a new array.
absl::Status FuseFrontend::return_value(const NodeRef &value, int line) {
  const Leaf *leaf = view_leaf(value);
  if (leaf == nullptr) return return_new_array(value, line);
  const int arg = leaf->view.param;
  const bool whole = arg < nparams() ? is_whole_argument(leaf->view) : is_whole_buffer(leaf->view);
  if (!whole && arg < nparams()) {
    return error(line, "returning a view of an argument is not supported by sejits.fuse (it returns new arrays)");
  }
  if (!whole) return return_new_array(value, line);  // a view of a local array no one else sees: a copy (same values, dtype, shape)
  if (arg < nparams()) {
    ir_->returns.push_back({-1, arg, false});
  } else {
    ir_->outputs[arg - nparams()].returned = true;
    ir_->returns.push_back({arg - nparams(), -1, false});
  }
  return absl::OkStatus();
}

// `value` returned as a new array (an output of "call").
absl::Status FuseFrontend::return_new_array(const NodeRef &value, int line) {
  if (absl::Status status = check_fresh(value, line); !status.ok()) return status;
  const bool python_scalar = value->type.weak;
  NodeRef stored = materialize(value, line, absl::StrCat("returned value ", ir_->returns.size() + 1));
  const int output = ir_->leaves[stored->param_index].view.param - nparams();
  ir_->outputs[output].returned = true;
  ir_->fused.pop_back();
  ir_->returns.push_back({output, -1, python_scalar});
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FuseIr>> build_fuse_ir(const SpecializationRequest &request) {
  if (!request.function) return absl::InvalidArgumentError("a fuse request needs the function's AST");
  return FuseFrontend(request, source_context(*request.function, "fused function")).run();
}

}  // namespace sejits::specializers::fuse
