// The front end's stores and buffers, and the rules that keep NumPy's
// semantics while values stay lazy: stale reads, overlapping views,
// right sides read whole before they are stored.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "absl/strings/str_cat.h"

#include "specializers/fuse/frontend_walker.h"

namespace sejits::specializers::fuse {

bool FuseFrontend::fresh(const Leaf &leaf) const {
  return leaf.kind != Leaf::Kind::kView || leaf.version == version_.at(storage_.at(leaf.view.param));
}

// Stale reads are stored before the store that would change them (see
// store()), so this is a check of that rule, not a refusal users meet.
absl::Status FuseFrontend::check_fresh(const NodeRef &value, int line) const {
  std::vector<const Leaf *> views;
  views_read(value, views);
  for (const Leaf *leaf : views) {
    if (!fresh(*leaf)) {
      return error(line,
                   absl::StrCat("a value read from '", array_name(leaf->view.param),
                                "' before it was updated in place is used after the update: not supported by sejits.fuse yet"));
    }
  }
  return absl::OkStatus();
}

std::string FuseFrontend::array_name(int arg) const {
  return arg < nparams() ? ir_->parameters[arg].name : absl::StrCat("a local array (buffer ", arg - nparams(), ")");
}

DType FuseFrontend::array_dtype(int arg) const {
  return arg < nparams() ? ir_->parameters[arg].type.dtype : ir_->outputs[arg - nparams()].type.dtype;
}

bool FuseFrontend::same_elements(const View &a, const View &b) {
  if (a.param != b.param || a.offset->key != b.offset->key || a.dims.size() != b.dims.size()) return false;
  for (size_t d = 0; d < a.dims.size(); ++d) {
    if (!same_size(a.dims[d], b.dims[d]) || !same_size(a.strides[d], b.strides[d])) return false;
  }
  return true;
}

void FuseFrontend::add_write(Write write) {
  write.value = hoist_reductions(write.value, write.dims, write.line);
  write.guard = guard_;
  write.loop = loop_;
  ir_->writes.push_back(std::move(write));
}

// A reduction is computed in the loop that binds the last of the store's
// axes it varies along: where it does not vary along an outer one as well
// (a.sum(axis=0) in a - a.sum(axis=0)), it would be computed again for each
// value of that axis. Such reductions are stored in a buffer first, once.
NodeRef FuseFrontend::hoist_reductions(const NodeRef &value, const std::vector<SizeRef> &dims, int line) {
  std::unordered_map<const ScalarNode *, NodeRef> hoisted;
  if (value->op == ScalarOp::kParam) return value;  // a reduction stored as it is: computed once per point already
  for (const ScalarNode *leaf : leaves_of(value)) {
    if (ir_->leaves[leaf->param_index].kind != Leaf::Kind::kReduction || hoisted.count(leaf)) continue;
    const std::vector<SizeRef> &result = *dims_of_leaf(ir_->leaves[leaf->param_index]);
    const size_t lead = dims.size() - std::min(dims.size(), result.size());
    bool varies_inside = false, recomputed = false;  // walking the store's axes from the innermost out
    for (size_t d = dims.size(); d-- > 0;) {
      if (constant_value(dims[d]) == 1) continue;  // one index: nothing is computed again
      const bool varies = d >= lead && constant_value(result[d - lead]) != 1;
      recomputed = recomputed || (varies_inside && !varies);
      varies_inside = varies_inside || varies;
    }
    if (!recomputed) continue;
    NodeRef node;
    for (const NodeRef &candidate : topological_order(value)) {
      if (candidate.get() == leaf) node = candidate;
    }
    hoisted[leaf] = materialize(node, line, absl::StrCat("the ", reduce_op_name(ir_->reductions[ir_->leaves[leaf->param_index].reduction].op),
                                                          " of line ", node->line, " (computed once, not once per outer index)"));
  }
  if (hoisted.empty()) return value;
  return substitute(value, [&](const NodeRef &node) {
    auto replacement = hoisted.find(node.get());
    return replacement == hoisted.end() ? NodeRef() : replacement->second;
  });
}

// Whether `view` is all of a buffer as allocated (not a transpose, slice or broadcast of it).
bool FuseFrontend::is_whole_buffer(const View &view) const {
  const Output &output = ir_->outputs[view.param - nparams()];
  if (view.offset->key != "0" || view.dims.size() != output.dims.size()) return false;
  for (size_t d = 0; d < view.dims.size(); ++d) {
    if (!same_size(view.dims[d], output.dims[d]) || view.strides[d]->key != size_stride(view.param, static_cast<int>(d))->key) return false;
  }
  return true;
}

// A new array the caller allocates (an output of "call"), as a view leaf.
NodeRef FuseFrontend::new_buffer(ScalarType type, const std::vector<SizeRef> &dims, int line) {
  const int arg = nparams() + static_cast<int>(ir_->outputs.size());
  ir_->outputs.push_back({ScalarType{type.dtype, false}, dims, false});
  storage_[arg] = arg;
  View view{arg, size_constant(0), dims, {}};
  for (size_t d = 0; d < dims.size(); ++d) view.strides.push_back(size_stride(arg, static_cast<int>(d)));
  return new_leaf(Leaf{Leaf::Kind::kView, view}, ScalarType{type.dtype, false}, line);
}

// `value` computed into a new buffer, whose view stands for it from now on.
NodeRef FuseFrontend::materialize(const NodeRef &value, int line, const std::string &what) {
  const ScalarType type = strengthen(value->type);
  NodeRef buffer = new_buffer(type, dims_of(value), line);
  const View &view = ir_->leaves[buffer->param_index].view;
  Write write{view, view.dims, cast_to(value, type), line, what};
  add_write(std::move(write));
  ir_->fused.push_back(absl::StrCat("line ", line, ": ", what, " stored in a buffer"));
  return buffer;
}

bool FuseFrontend::reads_storage(const NodeRef &value, int storage) const {
  std::vector<const Leaf *> views;
  views_read(value, views);
  return std::any_of(views.begin(), views.end(), [&](const Leaf *leaf) { return storage_.at(leaf->view.param) == storage; });
}

// Whether a reduction leaf of a store's value is computed before the store's
// loops (its result is the same for every point): its reads precede every write.
bool FuseFrontend::computed_before_loops(const ScalarNode *node) const {
  const Leaf &leaf = ir_->leaves[node->param_index];
  if (leaf.kind != Leaf::Kind::kReduction) return false;
  for (const SizeRef &dim : ir_->reductions[leaf.reduction].dims) {
    if (constant_value(dim) != 1) return false;
  }
  return true;
}

// Whether evaluating `value` point by point while storing into `target`
// reads only the point being stored (or reads done before the stores).
bool FuseFrontend::reads_pointwise(const NodeRef &value, const View &target) const {
  const int storage = storage_.at(target.param);
  for (const ScalarNode *node : leaves_of(value)) {
    const Leaf &leaf = ir_->leaves[node->param_index];
    if (computed_before_loops(node)) continue;
    if (leaf.kind == Leaf::Kind::kView && storage_.at(leaf.view.param) == storage && !same_elements(leaf.view, target))
      return false;
    if (leaf.kind == Leaf::Kind::kReduction && reads_storage(ir_->reductions[leaf.reduction].body, storage)) return false;
  }
  return true;
}

absl::Status FuseFrontend::store(const View &target, NodeRef value, int line, const std::string &what) {
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
  if (absl::Status fits = check_python_number_fits(value, array_dtype(target.param), line); !fits.ok()) return fits;
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

absl::Status FuseFrontend::check_python_number_fits(const NodeRef &value, DType dtype, int line) const {
  if (!value->type.weak || !is_integer(dtype) || value->type.dtype == DType::kBool) return absl::OkStatus();
  const std::string refused = absl::StrCat("storing this Python number into an array of ", dtype_name(dtype), ": NumPy ");
  if (value->op != ScalarOp::kConstant) {
    if (is_float(value->type.dtype)) return error(line, refused + "converts a Python float as int() does, and checks it");
    return absl::OkStatus();  // a Python int argument: the kernel checks it fits (lower_entry.cc)
  }
  if (const double *number = std::get_if<double>(&value->value)) {
    if (std::isnan(*number)) return error(line, refused + "raises ValueError (NaN)");
    const double whole = std::trunc(*number);
    const bool fits = std::isfinite(whole) && whole >= -9.2e18 && whole <= 1.8e19 &&
                      (whole < 0 ? int_fits(dtype, static_cast<int64_t>(whole)) : uint_fits(dtype, static_cast<uint64_t>(whole)));
    if (!fits) return error(line, refused + "raises OverflowError (out of bounds)");
    return absl::OkStatus();
  }
  const bool fits = std::holds_alternative<int64_t>(value->value) ? int_fits(dtype, std::get<int64_t>(value->value))
                    : std::holds_alternative<uint64_t>(value->value) ? uint_fits(dtype, std::get<uint64_t>(value->value))
                                                                     : true;
  if (!fits) return error(line, refused + "raises OverflowError (out of bounds)");
  return absl::OkStatus();
}

}  // namespace sejits::specializers::fuse
