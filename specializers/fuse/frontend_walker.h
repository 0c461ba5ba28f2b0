// The fusion front end while it walks one function: the environment of
// lazy values, the arguments' versions, the IR being built. Internal to
// the frontend*.cc files, one per part of the walk: statements
// (frontend.cc), values and indexing (frontend_values.cc), calls that are
// not element-wise (frontend_calls.cc), if and for (frontend_control.cc),
// stores and buffers (frontend_stores.cc).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "specializers/common/expr_frontend.h"
#include "specializers/fuse/ir.h"
#include "specializers/fuse/reductions.h"
#include "specializers/fuse/views.h"

namespace sejits::specializers::fuse {

class FuseFrontend {
 public:
  FuseFrontend(const SpecializationRequest &request, SourceContext context)
      : request_(request), function_(*request.function), context_(std::move(context)), ir_(std::make_unique<FuseIr>()) {}
  absl::StatusOr<std::unique_ptr<FuseIr>> run();

 private:
  absl::Status error(int line, const std::string &message) const { return user_error(context_, line, message); }
  // Every name `message` (a statement or expression) mentions.
  static void names_read(const google::protobuf::Message &message, std::set<std::string> &names);

  // ---- parameters and aliasing -----------------------------------------------
  absl::Status read_aliases();
  absl::Status describe_parameters();

  // ---- leaves and values ------------------------------------------------------
  // A leaf reading the current contents of what it reads.
  NodeRef new_leaf(Leaf leaf, ScalarType type, int line);
  // The same read twice is one leaf, so that equal expressions over it are
  // computed once (common subexpressions are merged by optimize).
  NodeRef intern_leaf(Leaf leaf, ScalarType type, int line);
  // The leaf `value` is, if it is one view of an argument (an alias, not a computed value).
  const Leaf *view_leaf(const NodeRef &value) const;
  // `value` as a value of its own where it is a view leaf: NumPy copies
  // there (an element read by integers is a scalar; astype and unary '+'
  // make new arrays), so later stores into what it reads must not reach it.
  NodeRef copied(const NodeRef &value, int line) const;
  std::vector<const ScalarNode *> leaves_of(const NodeRef &value) const;
  const std::vector<SizeRef> *dims_of_leaf(const Leaf &leaf) const;
  // Every view `value` reads, reductions' bodies included.
  void views_read(const NodeRef &value, std::vector<const Leaf *> &views) const;
  bool has_reduction(const NodeRef &value) const;
  // NumPy's broadcast of every array the value reads (right-aligned).
  std::vector<SizeRef> dims_of(const NodeRef &value) const;
  // `value` with every view it reads first broadcast to the value's shape,
  // then transformed by `transform` (an indexing, a transpose).
  absl::StatusOr<NodeRef> transform_views(NodeRef value, const std::function<absl::StatusOr<View>(const View &)> &transform,
                                          int line);

  // ---- expressions -------------------------------------------------------------
  absl::StatusOr<NodeRef> evaluate(const v1::Expr &expr);
  // Replaces what the scalar front end cannot translate (indexing, `.T`)
  // with placeholder names bound to their values, and refuses what NumPy
  // would not compute element by element (`and`, `if` expressions on arrays).
  absl::Status hoist_array_operations(v1::Expr &expr, Environment &placeholders);
  NodeRef size_leaf(const SizeRef &size, int line);

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
  static std::optional<CallOperands> call_operands(const v1::Call &call);
  // The value of a call that the scalar front end cannot translate, or
  // nullopt for an element-wise function (np.exp, np.where, ...).
  std::optional<absl::StatusOr<NodeRef>> evaluate_array_call(const v1::Call &call, int line);
  absl::StatusOr<DType> dtype_argument(const v1::Expr &expr) const;
  // np.empty_like/zeros_like/ones_like/full_like(a[, fill], dtype=...), np.copy(a), a.copy(): a buffer.
  absl::StatusOr<NodeRef> new_array(const CallOperands &operands, const NodeRef &like, int line);
  // np.zeros/ones/empty/full(shape[, fill], dtype=...): shape a.shape, a
  // number, or a tuple of numbers and sizes (a.shape[k], len(a), n - 2).
  absl::StatusOr<NodeRef> shaped_array(const CallOperands &operands, int line);
  absl::StatusOr<std::vector<SizeRef>> shape_argument(const v1::Expr &expr, int line);
  absl::StatusOr<AxisSpec> axis_argument(const v1::Expr &expr) const;
  absl::StatusOr<bool> bool_constant(const v1::Expr &expr, const char *what) const;
  // np.sum(a, axis, keepdims=...) and its cousins, methods included; mean,
  // std and var divide sums as NumPy does (std and var by the two-pass formula).
  absl::StatusOr<NodeRef> reduce(const CallOperands &operands, const NodeRef &body, int line);
  // sum(values, axis) / (count - ddof), in the values' (floating) type.
  absl::StatusOr<NodeRef> average(const NodeRef &values, const AxisSpec &axis, bool keepdims, int64_t ddof, int line);
  absl::StatusOr<NodeRef> reduction_leaf(ReduceOp op, const NodeRef &body, const AxisSpec &axis, bool keepdims, int line);
  absl::StatusOr<int64_t> integer_constant(const v1::Expr &expr, const char *what) const;
  absl::StatusOr<IndexingItem> indexing_item(const v1::Expr &item) const;
  absl::StatusOr<NodeRef> evaluate_subscript(const v1::Subscript &subscript, int line);

  // ---- statements --------------------------------------------------------------
  absl::Status apply(const v1::Stmt &stmt);
  absl::Status apply_block(const google::protobuf::RepeatedPtrField<v1::Stmt> &body);
  // `if` on numbers (not on array values): both branches are compiled, their
  // stores guarded by the condition, and each name they bind differently
  // becomes np.where(condition, then, else) (the same dtype either way).
  absl::Status if_statement(const v1::If &stmt, int line);
  // `for name in range(...)`: unrolled where the bounds are constants and
  // the iterations few (each iteration's statements fused like any others,
  // the index usable in slices); else a run-time loop around the nests.
  absl::Status for_statement(const v1::For &stmt, int line);
  // A run-time loop: the body's stores run once per iteration. Only arrays'
  // contents carry over between iterations (no name is rebound, the index
  // is not read); values named before the loop that read arrays are
  // stored before it.
  absl::Status runtime_loop(const v1::For &stmt, int line);
  static std::set<std::string> names_assigned(const google::protobuf::RepeatedPtrField<v1::Stmt> &body);
  // An integer known when compiling: a literal, or a name bound to one (a loop index).
  absl::StatusOr<int64_t> integer_value(const v1::Expr &expr, const char *what) const;
  absl::Status assign(const v1::Assign &assign, int line);
  absl::Status aug_assign(const v1::AugAssign &aug, int line);
  // Views of computed arrays (`b = a * 2; v = b[1:]`): in NumPy v shares b's
  // memory, so a store through either changes the other. Fused values are
  // lazy, so such a store is refused (the function runs as written).
  void note_view_binding(const std::string &name, const v1::Expr &value);
  absl::Status check_no_shared_view(const std::string &name, int line) const;
  // Where an assignment's target lies: a view of an argument or buffer. A
  // computed local indexed on the left (`x = a * 2; x[0] = 1`) is a new array
  // in NumPy: it is stored in a buffer first, which its names then share.
  absl::StatusOr<View> target_view(const v1::Expr &target, int line);
  bool fresh(const Leaf &leaf) const;
  // Stale reads are stored before the store that would change them (see
  // store()), so this is a check of that rule, not a refusal users meet.
  absl::Status check_fresh(const NodeRef &value, int line) const;
  std::string array_name(int arg) const;
  int nparams() const { return static_cast<int>(ir_->parameters.size()); }
  DType array_dtype(int arg) const;
  static bool same_elements(const View &a, const View &b);
  void add_write(Write write);
  // `value` with the reductions it would compute once per outer index stored first, once (see add_write).
  NodeRef hoist_reductions(const NodeRef &value, const std::vector<SizeRef> &dims, int line);
  // A new array the caller allocates (an output of "call"), as a view leaf.
  bool is_whole_buffer(const View &view) const;
  NodeRef new_buffer(ScalarType type, const std::vector<SizeRef> &dims, int line);
  // `value` computed into a new buffer, whose view stands for it from now on.
  NodeRef materialize(const NodeRef &value, int line, const std::string &what);
  bool reads_storage(const NodeRef &value, int storage) const;
  // Whether a reduction leaf of a store's value is computed before the store's
  // loops (its result is the same for every point): its reads precede every write.
  bool computed_before_loops(const ScalarNode *node) const;
  // Whether evaluating `value` point by point while storing into `target`
  // reads only the point being stored (or reads done before the stores).
  bool reads_pointwise(const NodeRef &value, const View &target) const;
  absl::Status store(const View &target, NodeRef value, int line, const std::string &what);
  // A Python number stored into an integer array: NumPy converts it as int()
  // does and raises where the dtype cannot hold it (OverflowError) or it is
  // NaN (ValueError); such a store is refused, so that NumPy raises.
  absl::Status check_python_number_fits(const NodeRef &value, DType dtype, int line) const;
  absl::Status return_value(const NodeRef &value, int line);
  absl::Status return_new_array(const NodeRef &value, int line);
  absl::Status return_values(const v1::Return &stmt, int line);
  const SpecializationRequest &request_;
  const v1::FunctionAst &function_;
  SourceContext context_;
  std::unique_ptr<FuseIr> ir_;
  Environment environment_;
  std::map<int, int> storage_;  // argument -> the first argument it may share memory with
  std::map<int, int> version_;  // storage -> stores into it so far
  int placeholders_ = 0;
  bool returned_ = false;
  bool evaluating_target_ = false;  // an assignment's target: a[i] is where to store, not a scalar read
  std::set<std::string> live_after_;               // names read by the statements after the current one
  std::set<const ScalarNode *> numpy_operations_;  // array operations NumPy would run, each a pass
  std::vector<NodeRef> kept_alive_;                // keeps the nodes above from being reused at another address
  int copies_ = 0;                                 // slice assignments: one more pass each in NumPy
  std::map<std::string, NodeRef> views_of_computed_;  // name -> the computed array (not in a buffer) it is a view of
  std::map<std::string, int> leaf_index_;          // a leaf's key -> its index (intern_leaf)
  NodeRef guard_;                                  // inside `if` branches: when the stores run (null: always)
  int loop_ = -1;                                  // inside a loop over a run-time range: its FuseIr::loops index
  std::vector<SizeRef> empty_checks_;              // reductions that NumPy refuses over nothing
};

}  // namespace sejits::specializers::fuse
