// Fusion IR -> C++ while one kernel is lowered: the loop nests, their
// reductions and sizes. Internal to the lower*.cc files: entries and the
// prologue (lower.cc), sizes and NumPy's checks (lower_sizes.cc),
// reductions (lower_reductions.cc), loop nests and what they reuse
// (lower_nests.cc).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codegen/target_ast.h"
#include "specializers/common/lower_entry.h"
#include "specializers/common/lower_scalar.h"
#include "specializers/common/variant_params.h"
#include "specializers/fuse/ir.h"
#include "specializers/fuse/lower.h"

namespace sejits::specializers::fuse {
namespace cg = codegen;


// "sejits-fallback:" asks the client to run the function as written, where
// NumPy raises its own error (a broadcast mismatch, an index out of range).
inline constexpr char kFallbackPrefix[] = "sejits-fallback: ";
// Threads of a reduction that no loop around it parallelizes: at most this many partial results.
inline constexpr int64_t kMaxPartials = 64;
// Reduced rows shorter than this run without an OpenMP simd reduction (its lanes cost more than they save).
inline constexpr int64_t kSimdReductionMinimum = 32;
// The cost rule: an expensive value (a math function) that a row's reduction
// and the row's store both compute is kept in a row of this many elements
// (on each thread's stack) by the reduction and read back by the store.
inline constexpr int64_t kRowScratch = 4096;
// kParam indices at and above this stand for row scratch (scratch_rows_), not leaves.
inline constexpr int kScratchLeafBase = 1 << 28;
// Outputs of a nest this large are written with streaming stores, in blocks of kStreamBlock elements.
inline constexpr int64_t kStreamingBytes = int64_t{16} << 20;
inline constexpr int64_t kStreamBlock = 512;

inline cg::ExprPtr i64(int64_t value) { return cg::int_literal(value); }
inline cg::ExprPtr add(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kAdd, std::move(a), std::move(b)); }
inline cg::ExprPtr mul(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kMul, std::move(a), std::move(b)); }
inline cg::ExprPtr div(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kDiv, std::move(a), std::move(b)); }
inline cg::ExprPtr ne(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kNe, std::move(a), std::move(b)); }
inline cg::ExprPtr eq(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kEq, std::move(a), std::move(b)); }
inline cg::ExprPtr both(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kLogicalAnd, std::move(a), std::move(b)); }
inline cg::ExprPtr either(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kLogicalOr, std::move(a), std::move(b)); }
inline cg::ExprPtr negate(cg::ExprPtr a) { return cg::unary(cg::UnaryOp::kNot, std::move(a)); }
inline cg::StmtPtr constant_decl(const std::string &name, cg::ExprPtr value) {
  return cg::decl(cg::scalar_type(cg::CType::kInt64, true), name, std::move(value));
}
inline void append(std::vector<cg::StmtPtr> &to, const std::vector<cg::StmtPtr> &statements) {
  to.insert(to.end(), statements.begin(), statements.end());
}

// Which loop variable runs along each axis of a value ("" where none does:
// a statically 1-long axis, broadcast).
using Binding = std::vector<std::string>;

class FuseLowering {
 public:
  explicit FuseLowering(const FuseIr &ir) : ir_(ir) {}
  cg::TranslationUnit run(std::vector<std::string> &notes);

 private:
  static void add_view_sizes(const View &view, std::vector<SizeRef> &roots);
  int nparams() const { return static_cast<int>(ir_.parameters.size()); }
  int call_shapes_arg() const { return nparams() + static_cast<int>(ir_.outputs.size()); }
  DType array_dtype(int arg) const;
  std::string fresh(const std::string &stem) { return absl::StrCat(stem, names_++); }

  // ---- sizes -----------------------------------------------------------------
  // A size: its prologue variable, a literal, or (for sizes made while
  // lowering, which never carry checks) its expression.
  cg::ExprPtr size(const SizeRef &node) const;
  cg::ExprPtr size_expression(const SizeNode &node) const;
  // Python's slice.indices for a constant lower:upper:step on a length.
  static std::pair<cg::ExprPtr, cg::ExprPtr> slice_bounds(const SizeNode &node, const cg::ExprPtr &length);
  static cg::StmtPtr fall_back_unless(cg::ExprPtr fine, const std::string &why);
  // `const int64_t z<k> = ...;` for every size, in order, each after NumPy's check.
  void compute_sizes(std::vector<cg::StmtPtr> &body);

  // ---- the prologue: arguments checked, scalars read, sizes computed ---------
  void check_arguments(std::vector<cg::StmtPtr> &body, int nargs);
  std::vector<cg::StmtPtr> prologue(int nargs);

  // ---- shapes ----------------------------------------------------------------
  std::vector<cg::StmtPtr> shapes_body();

  // ---- call ------------------------------------------------------------------
  std::vector<cg::StmtPtr> call_body();

  // ---- reading arrays and reductions' results --------------------------------
  // How a reduction used in a value of `dims` (bound by `binding`) is bound:
  // its result's axes, right-aligned.
  Binding result_binding(const Reduction &reduction, const std::vector<SizeRef> &dims, const Binding &binding) const;
  static std::string reduction_key(int leaf, const Binding &binding);
  const std::string *computed(const std::string &key) const;
  std::vector<int> reductions_in(const NodeRef &value) const;
  // The scalar form of a leaf that is not an array element.
  cg::ExprPtr other_leaf(int index, const std::vector<SizeRef> &dims, const Binding &binding) const;
  LoweredScalar lower_value(const NodeRef &value, const std::function<cg::ExprPtr(int leaf)> &view_element,
                            const std::vector<SizeRef> &dims, const Binding &binding);
  LoweredScalars lower_values(const std::vector<NodeRef> &values, const std::function<cg::ExprPtr(int leaf)> &view_element,
                              const std::vector<SizeRef> &dims, const Binding &binding);

  // ---- reductions ------------------------------------------------------------
  // The C type a reduction accumulates in: float32 sums in double (more
  // accurate than NumPy's pairwise float32 sum, not bitwise the same).
  static ScalarType accumulator_type(const Reduction &reduction);
  static bool is_arg(ReduceOp op) { return op == ReduceOp::kArgMin || op == ReduceOp::kArgMax; }
  static ConstantValue identity(const Reduction &reduction, ScalarType type);
  // The identity as the accumulator's C value (its start).
  static cg::ExprPtr identity_value(const Reduction &reduction);
  struct Accumulator {
    std::string acc, best, index, first;  // acc, or (best, index, first) for argmin/argmax
    std::string nan;                      // float min/max: whether a NaN was seen (see tracks_nan)
  };
  Accumulator new_accumulator() { return {fresh("acc"), fresh("best"), fresh("at"), fresh("first"), fresh("nan")}; }
  std::vector<cg::StmtPtr> declare_accumulator(const Reduction &reduction, const Accumulator &names);
  // Float min and max keep NaN apart from the accumulator: a flag ORed per
  // element and a plain compare-and-select, both of which vectorize (a
  // NaN-propagating select in the loop does not); `accumulated` gives NaN
  // where the flag is set, as NumPy's min and max do.
  static bool tracks_nan(const Reduction &reduction);
  cg::ExprPtr accumulated(const Reduction &reduction, const Accumulator &names);
  // acc = combine(acc, x), as NumPy's ufunc for the op computes it.
  std::vector<cg::StmtPtr> combine(const Reduction &reduction, const Accumulator &names, cg::ExprPtr x, ScalarType x_type);
  // argmin/argmax: the first best element, or the first NaN.
  std::vector<cg::StmtPtr> combine_arg(const Reduction &reduction, const std::string &best, const std::string &index,
                                       const std::string &first, cg::ExprPtr x, cg::ExprPtr flat);
  // The innermost reduced loop as an OpenMP simd reduction, where the op is
  // one OpenMP knows with NumPy's meaning: sums and products (lanes change
  // the order of a float sum, as threads do), min and max (of floats with
  // the NaN flag beside them).
  static std::variant<std::monostate, cg::OmpParallelFor, cg::OmpSimd, cg::OmpFor> simd_reduction(const Reduction &reduction,
                                                                                                  const Accumulator &names);
  // Computes reduction leaf `leaf` for the loop variables of `binding` (its
  // result's axes) into a new variable, registered in the innermost scope.
  // `parallel`: no loop surrounds it, so its first reduced axis is split
  // among the threads (partial results combined in order).
  std::vector<cg::StmtPtr> compute_reduction(int leaf, const Binding &binding, bool parallel);
  // The first reduced axis split into up to kMaxPartials parts, one per
  // thread, each reduced on its own; the parts are then combined in order.
  template <typename Loops>
  std::vector<cg::StmtPtr> parallel_reduction(const Reduction &reduction, const Accumulator &names,
                                              const std::vector<SizeRef> &loop_dims, Loops &loops);

  // ---- one store's loop nest -------------------------------------------------
  // The loop level a reduction of a store's value is computed at: after the
  // loop of its innermost bound axis (0: before the loops).
  static int level_of(const Binding &binding, const Binding &loops);
  // `rider`: a reduction leaf of the next nest accumulated in this nest's
  // pass (-1: none): the outer loop is then split into per-thread parts,
  // each with its partial result, combined in order after the loops.
  // A nest's code in parts, for a band's loop over rows (rank >= 2).
  struct BandMember {
    std::vector<cg::StmtPtr> before;  // the reductions no loop of the nest feeds
    std::vector<cg::StmtPtr> row;     // its flags and steps, then its loops for its row i0
    const Reduction *riding = nullptr;
    int rider = -1;
    Accumulator rider_names;
    bool streams = false;
  };
  // With `member`, the nest's parts are left there and nothing is returned.
  std::vector<cg::StmtPtr> loop_nest(const std::vector<const Write *> &stores, int rider = -1, BandMember *member = nullptr);
  // range(start, stop, step)'s length into a new variable (appended to `counts`).
  std::vector<cg::StmtPtr> iteration_count(const RuntimeLoop &loop, std::vector<std::string> &counts);
  // A store of a reduction over a matrix's first axis (lower_columns.cc): the reduction, else null.
  const Reduction *column_reduction(const std::vector<const Write *> &stores) const;
  // Its nest: rows folded into blocks of per-column accumulators, in parallel over the blocks.
  std::vector<cg::StmtPtr> column_reduction_nest(const Write &store, const Reduction &reduction);
  // Whether the body's views are contiguous along the columns (run time).
  cg::ExprPtr columns_contiguous(const Reduction &reduction) const;
  // loop_nest, over the axes in the order of the first target's memory (element-wise nests only).
  std::vector<cg::StmtPtr> loop_nest_in_memory_order(const std::vector<const Write *> &stores, int rider);
  // The nests of one band (ir.row_offsets) in one loop over rows; `rider`: the last nest's.
  std::vector<cg::StmtPtr> band_loop(const std::vector<int> &nests, int rider);
  // Loop i<d>'s body, and the loops inside it down to i(rank-2), each
  // opening with the reductions its index feeds; the innermost from `inner`.
  template <typename ReductionsAt, typename Inner>
  std::vector<cg::StmtPtr> outer_loops(int d, int rank, const std::vector<SizeRef> &dims, const Binding &loops,
                                       ReductionsAt &reductions_at, Inner &inner);
  // A row's code twice: where the row fits the scratch, its reduction keeps
  // the reused values and the store reads them; else both compute them.
  template <typename ReductionsAt, typename Inner>
  std::vector<cg::StmtPtr> reusing_rows(const std::vector<SizeRef> &dims, ReductionsAt &reductions_at, Inner &inner);
  // The cost rule's plan for a nest: the expensive values (math functions)
  // that a row's reduction (over the last axis only, bound to every outer
  // loop) and a store both compute.
  void plan_row_reuse(const std::vector<const Write *> &stores, const std::vector<SizeRef> &dims,
                      const std::vector<std::pair<int, Binding>> &row_reductions, std::vector<std::string> &reasons);
  // `values` with the values kept in row scratch read from it (while a row
  // that reuses them is being lowered).
  std::vector<NodeRef> reading_scratch(const std::vector<NodeRef> &values) const;
  static bool expensive(const NodeRef &node);
  // The nest's loops (`part_body`, over part `part`'s share of the outer
  // axis) run once per part in parallel, each accumulating the rider into
  // its own partial; the partials are then combined in order into the
  // rider's result variable (declared before the nest).
  // `shared` in a parallel region, each thread fencing its streaming stores once after its share.
  static std::vector<cg::StmtPtr> streaming_share(cg::StmtPtr shared);
  std::vector<cg::StmtPtr> ride(std::vector<cg::StmtPtr> nest, const Reduction &riding, int rider, const Accumulator &names,
                                const std::string &parts, const std::string &part, std::vector<cg::StmtPtr> part_body);
  const FuseIr &ir_;
  bool reversed_ = false;  // loop_nest: over the axes last to first
  int scratch_leaf_ = -1;  // the reduction that fills scratch_rows_ as it runs
  std::vector<NodeRef> row_plan_;  // the current nest's reused values (plan_row_reuse)
  std::vector<std::string> reuse_notes_;  // what the cost rule decided, for explain()
  std::set<std::string> lane_notes_;  // the nests whose elements run in lanes (lane_blocks.h), for explain()
  int row_plan_leaf_ = -1;
  std::vector<std::pair<NodeRef, std::string>> scratch_rows_;  // reused values and their row arrays
  std::map<std::string, std::string> rider_results_;  // reductions computed by the nest before their user's
  std::vector<SizeRef> sizes_;
  std::map<std::string, std::string> size_names_;
  std::vector<std::map<std::string, std::string>> scopes_;  // reductions computed so far, innermost last
  int names_ = 0;
};

}  // namespace sejits::specializers::fuse
