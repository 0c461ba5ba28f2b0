#include "specializers/fuse/optimize.h"

#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "specializers/common/eliminate_common_subexpressions.h"
#include "specializers/common/fold_constants.h"
#include "specializers/common/lower_scalar.h"
#include "specializers/fuse/views.h"

namespace sejits::specializers::fuse {
namespace {

// Offset and strides of `view` broadcast to `dims`: equal keys, the same element at every point.
std::string pointwise_key(const View &view, const std::vector<SizeRef> &dims) {
  const View broadcast = broadcast_view(view, dims);
  std::string key = absl::StrCat(broadcast.param, "@", broadcast.offset->key);
  for (const SizeRef &stride : broadcast.strides) absl::StrAppend(&key, "/", stride->key);
  return key;
}

class StoreFusion {
 public:
  explicit StoreFusion(const FuseIr &ir) : ir_(ir) {}

  // Why `next` cannot join the nest of `earlier` stores, or "" if it can.
  std::string obstacle(const std::vector<int> &earlier, int next) const {
    const Write &second = ir_.writes[next];
    for (int index : earlier) {
      const Write &first = ir_.writes[index];
      if (first.dims.size() != second.dims.size()) return "it covers a different number of dimensions";
      for (size_t d = 0; d < first.dims.size(); ++d) {
        if (!same_size(first.dims[d], second.dims[d])) return "its points are not the same (different extents)";
      }
      if (first.guard != second.guard) return "it runs under another condition";
      if (first.loop != second.loop) return "one of them runs in a loop over a run-time range, once per iteration";
      if (std::string why = conflict(first, second); !why.empty()) return why;
    }
    return "";
  }

 private:
  int storage(int arg) const { return ir_.storage.at(arg); }

  // A dependence between `first` and the later `second` that one pass over
  // their points would break.
  std::string conflict(const Write &first, const Write &second) const {
    const auto &dims = first.dims;
    const int first_target = storage(first.view.param), second_target = storage(second.view.param);
    if (first_target == second_target && pointwise_key(first.view, dims) != pointwise_key(second.view, dims)) {
      return "both store into one array through different views";
    }
    if (reads_elsewhere(second, first_target, pointwise_key(first.view, dims), /*before_loops_ok=*/false)) {
      return "it reads what the store before it writes, at other points";
    }
    if (reads_elsewhere(first, second_target, pointwise_key(second.view, dims), /*before_loops_ok=*/true)) {
      return "the store before it reads, at other points, what it writes";
    }
    return "";
  }

  // Whether `write` reads array `target_storage` anywhere but at the point
  // `target_key` stores; reductions computed before the loops may when
  // `before_loops_ok` (they run before any store of the nest).
  bool reads_elsewhere(const Write &write, int target_storage, const std::string &target_key, bool before_loops_ok) const {
    for (const NodeRef &node : topological_order(write.value)) {
      if (node->op != ScalarOp::kParam) continue;
      const Leaf &leaf = ir_.leaves[node->param_index];
      if (leaf.kind == Leaf::Kind::kView && storage(leaf.view.param) == target_storage &&
          pointwise_key(leaf.view, write.dims) != target_key) {
        return true;
      }
      if (leaf.kind == Leaf::Kind::kReduction && reduction_reads(ir_.reductions[leaf.reduction], target_storage)) {
        bool before_loops = true;
        for (const SizeRef &dim : ir_.reductions[leaf.reduction].dims) before_loops = before_loops && constant_value(dim) == 1;
        if (!(before_loops && before_loops_ok)) return true;
      }
    }
    return false;
  }

  bool reduction_reads(const Reduction &reduction, int target_storage) const {
    for (const NodeRef &node : topological_order(reduction.body)) {
      if (node->op != ScalarOp::kParam) continue;
      const Leaf &leaf = ir_.leaves[node->param_index];
      if (leaf.kind == Leaf::Kind::kView && storage(leaf.view.param) == target_storage) return true;
      if (leaf.kind == Leaf::Kind::kReduction && reduction_reads(ir_.reductions[leaf.reduction], target_storage)) return true;
    }
    return false;
  }

 public:
  // Whether reduction leaf `leaf`, used by the nest after `nest`, can be
  // accumulated during `nest`'s pass: a full reduction over exactly its
  // points, of an op with an identity, reading nothing the nest stores
  // except at the point it stores.
  bool can_ride(const std::vector<int> &nest, int leaf, const NodeRef &guard, int reduction_loop) const {
    const Reduction &reduction = ir_.reductions[ir_.leaves[leaf].reduction];
    const Write &first = ir_.writes[nest.front()];
    if (reduction.op == ReduceOp::kArgMin || reduction.op == ReduceOp::kArgMax || first.guard != guard) return false;
    if (first.loop != reduction_loop) return false;  // the pass and the user run in the same iterations
    if (first.dims.empty() || reduction.body_dims.size() != first.dims.size()) return false;
    for (size_t d = 0; d < first.dims.size(); ++d) {
      if (!reduction.reduced[d] || !same_size(reduction.body_dims[d], first.dims[d])) return false;
    }
    for (const SizeRef &dim : reduction.dims) {
      if (constant_value(dim) != 1) return false;
    }
    for (const NodeRef &node : topological_order(reduction.body)) {
      if (node->op == ScalarOp::kParam && ir_.leaves[node->param_index].kind == Leaf::Kind::kReduction) return false;
    }
    for (int w : nest) {  // it would read memory before the pass's store to it
      if (reduction_reads(reduction, storage(ir_.writes[w].view.param))) return false;
    }
    return true;
  }

 private:
  const FuseIr &ir_;
};

std::string describe_store(const Write &write) { return absl::StrCat(write.what, " (line ", write.line, ")"); }

}  // namespace

void add_storages_read(const FuseIr &ir, const NodeRef &value, std::set<int> &storages) {
  if (!value) return;
  for (const NodeRef &node : topological_order(value)) {
    if (node->op != ScalarOp::kParam) continue;
    const Leaf &leaf = ir.leaves[node->param_index];
    if (leaf.kind == Leaf::Kind::kView) storages.insert(ir.storage.at(leaf.view.param));
    if (leaf.kind == Leaf::Kind::kReduction) add_storages_read(ir, ir.reductions[leaf.reduction].body, storages);
  }
}

void eliminate_dead_stores(FuseIr &ir, std::vector<std::string> &notes) {
  const int nparams = static_cast<int>(ir.parameters.size());
  std::set<int> live;  // storages read after the store being looked at, or returned
  for (size_t o = 0; o < ir.outputs.size(); ++o) {
    if (ir.outputs[o].returned) live.insert(ir.storage.at(nparams + static_cast<int>(o)));
  }
  // A store in a loop is read by every store of the loop (the next iteration's).
  std::map<int, std::set<int>> read_in_loop;
  for (const Write &write : ir.writes) {
    if (write.loop < 0) continue;
    add_storages_read(ir, write.value, read_in_loop[write.loop]);
    add_storages_read(ir, write.guard, read_in_loop[write.loop]);
  }
  std::vector<bool> dead(ir.writes.size(), false);
  std::vector<std::string> removed;
  for (int w = static_cast<int>(ir.writes.size()) - 1; w >= 0; --w) {
    const Write &write = ir.writes[w];
    const int target = ir.storage.at(write.view.param);
    const bool local = write.view.param >= nparams;
    const bool read_later = live.count(target) || (write.loop >= 0 && read_in_loop[write.loop].count(target));
    if (local && !read_later && !may_set_error_flag(write.value)) {  // NumPy's errors (int ** -1) still raised
      dead[w] = true;
      removed.insert(removed.begin(), absl::StrCat("removed: ", write.what, " (line ", write.line, "): nothing reads or returns it afterwards"));
      continue;
    }
    add_storages_read(ir, write.value, live);
    add_storages_read(ir, write.guard, live);
  }
  notes.insert(notes.end(), removed.begin(), removed.end());
  std::vector<Write> kept;
  for (size_t w = 0; w < ir.writes.size(); ++w) {
    if (!dead[w]) kept.push_back(std::move(ir.writes[w]));
  }
  ir.writes = std::move(kept);
}

void fuse_stores(FuseIr &ir, std::vector<std::string> &notes) {
  StoreFusion fusion(ir);
  ir.nests.clear();
  for (int w = 0; w < static_cast<int>(ir.writes.size()); ++w) {
    if (!ir.nests.empty()) {
      std::string why = fusion.obstacle(ir.nests.back(), w);
      if (why.empty()) {
        ir.nests.back().push_back(w);
        continue;
      }
      notes.push_back(
          absl::StrCat("not fused: ", describe_store(ir.writes[w]), " starts loop nest ", ir.nests.size() + 1, ": ", why));
    }
    ir.nests.push_back({w});
  }
  for (size_t n = 0; n < ir.nests.size(); ++n) {
    const int loop = ir.writes[ir.nests[n].front()].loop;
    if (loop >= 0 && (n == 0 || ir.writes[ir.nests[n - 1].front()].loop != loop)) {
      size_t last = n;
      while (last + 1 < ir.nests.size() && ir.writes[ir.nests[last + 1].front()].loop == loop) ++last;
      notes.push_back(absl::StrCat(last > n ? absl::StrCat("loop nests ", n + 1, "-", last + 1, " run") : absl::StrCat("loop nest ", n + 1, " runs"),
                                   " once per iteration of the loop of line ", ir.loops[loop].line, " (kept as a loop, not unrolled)"));
    }
    std::vector<std::string> stores;
    for (int w : ir.nests[n]) stores.push_back(describe_store(ir.writes[w]));
    notes.push_back(absl::StrCat("loop nest ", n + 1, " (", ir.writes[ir.nests[n].front()].dims.size(),
                                 "-D): ", absl::StrJoin(stores, "; "), ir.nests[n].size() > 1 ? ", fused into one pass" : ""));
  }
  // Map->reduce across nests: a full reduction the next nest needs before
  // its loops is accumulated in this nest's pass over the same points.
  ir.riders.clear();
  for (size_t n = 0; n + 1 < ir.nests.size(); ++n) {
    const NodeRef &guard = ir.writes[ir.nests[n + 1].front()].guard;
    const int loop = ir.writes[ir.nests[n + 1].front()].loop;
    for (int w : ir.nests[n + 1]) {
      for (const NodeRef &node : topological_order(ir.writes[w].value)) {
        if (ir.riders.count(n) || node->op != ScalarOp::kParam || ir.leaves[node->param_index].kind != Leaf::Kind::kReduction)
          continue;
        if (!fusion.can_ride(ir.nests[n], node->param_index, guard, loop)) continue;
        ir.riders[n] = node->param_index;
        const Reduction &reduction = ir.reductions[ir.leaves[node->param_index].reduction];
        notes.push_back(absl::StrCat("fused: the ", reduce_op_name(reduction.op), " of line ", reduction.line,
                                     " (needed by loop nest ", n + 2, ") is accumulated in loop nest ", n + 1,
                                     "'s pass over the same points"));
      }
    }
  }
  for (const std::string &buffer : ir.fused) notes.push_back(buffer);
}

void forward_stored_values(FuseIr &ir) {
  for (const std::vector<int> &nest : ir.nests) {
    for (size_t k = 1; k < nest.size(); ++k) {
      Write &reader = ir.writes[nest[k]];
      reader.value = substitute(reader.value, [&](const NodeRef &node) {
        NodeRef replacement;
        if (node->op == ScalarOp::kParam && ir.leaves[node->param_index].kind == Leaf::Kind::kView) {
          const View &view = ir.leaves[node->param_index].view;
          for (size_t j = 0; j < k; ++j) {  // the latest earlier store to this very element wins
            const Write &store = ir.writes[nest[j]];
            if (pointwise_key(view, reader.dims) == pointwise_key(store.view, reader.dims))
              replacement = cast_to(store.value, node->type);
          }
        }
        return replacement;
      });
    }
  }
}

void fold_constant_values(FuseIr &ir) {
  for (Write &write : ir.writes) write.value = fold_constants(write.value);
  for (Reduction &reduction : ir.reductions) reduction.body = fold_constants(reduction.body);
}

void merge_common_subexpressions(FuseIr &ir) {
  for (const std::vector<int> &nest : ir.nests) {
    std::vector<NodeRef> values;
    for (int w : nest) values.push_back(ir.writes[w].value);
    values = eliminate_common_subexpressions(values);
    for (size_t k = 0; k < nest.size(); ++k) ir.writes[nest[k]].value = values[k];
  }
  for (Reduction &reduction : ir.reductions) reduction.body = eliminate_common_subexpressions(reduction.body);
}

}  // namespace sejits::specializers::fuse
