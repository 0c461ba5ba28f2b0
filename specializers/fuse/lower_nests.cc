// Loop nests: reads through row pointers, reductions placed at the loop
// that binds them, the cost rule's row reuse, riders, streaming stores.
#include "absl/strings/str_join.h"
#include "specializers/fuse/lane_blocks.h"
#include "specializers/fuse/lower_nest.h"
#include "specializers/fuse/views.h"

namespace sejits::specializers::fuse {

// How a reduction used in a value of `dims` (bound by `binding`) is bound:
// its result's axes, right-aligned.
Binding FuseLowering::result_binding(const Reduction &reduction, const std::vector<SizeRef> &dims, const Binding &binding) const {
  Binding bound;
  const size_t lead = dims.size() - reduction.dims.size();
  for (size_t j = 0; j < reduction.dims.size(); ++j) {
    bound.push_back(constant_value(reduction.dims[j]) == 1 ? "" : binding[lead + j]);
  }
  return bound;
}

std::string FuseLowering::reduction_key(int leaf, const Binding &binding) {
  return absl::StrCat(leaf, ":", absl::StrJoin(binding, ","));
}

const std::string *FuseLowering::computed(const std::string &key) const {
  for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
    auto found = scope->find(key);
    if (found != scope->end()) return &found->second;
  }
  auto rode = rider_results_.find(key);
  return rode == rider_results_.end() ? nullptr : &rode->second;
}

std::vector<int> FuseLowering::reductions_in(const NodeRef &value) const {
  std::vector<int> leaves;
  for (const NodeRef &node : topological_order(value)) {
    if (node->op == ScalarOp::kParam && ir_.leaves[node->param_index].kind == Leaf::Kind::kReduction)
      leaves.push_back(node->param_index);
  }
  return leaves;
}

// The scalar form of a leaf that is not an array element.
cg::ExprPtr FuseLowering::other_leaf(int index, const std::vector<SizeRef> &dims, const Binding &binding) const {
  const Leaf &leaf = ir_.leaves[index];
  if (leaf.kind == Leaf::Kind::kScalar) return cg::var(absl::StrCat("s", leaf.param));
  if (leaf.kind == Leaf::Kind::kSize) return size(leaf.size);
  const Reduction &reduction = ir_.reductions[leaf.reduction];
  return cg::var(*computed(reduction_key(index, result_binding(reduction, dims, binding))));
}

LoweredScalar FuseLowering::lower_value(const NodeRef &value, const std::function<cg::ExprPtr(int leaf)> &view_element,
                          const std::vector<SizeRef> &dims, const Binding &binding) {
  LoweredScalars lowered = lower_values({value}, view_element, dims, binding);
  return {std::move(lowered.statements), lowered.values.front()};
}

LoweredScalars FuseLowering::lower_values(const std::vector<NodeRef> &values, const std::function<cg::ExprPtr(int leaf)> &view_element,
                            const std::vector<SizeRef> &dims, const Binding &binding) {
  ScalarLoweringContext context;
  context.error_flag = "error_flag";
  context.temporary_prefix = fresh("t") + "_";
  context.param = [&](int index, const std::vector<int64_t> &) -> cg::ExprPtr {
    if (index >= kScratchLeafBase) return cg::index(cg::var(scratch_rows_[index - kScratchLeafBase].second), cg::var("i"));
    if (ir_.leaves[index].kind == Leaf::Kind::kView) return view_element(index);
    return other_leaf(index, dims, binding);
  };
  return lower_scalars(values, context);
}

// The loop level a reduction of a store's value is computed at: after the
// loop of its innermost bound axis (0: before the loops).
int FuseLowering::level_of(const Binding &binding, const Binding &loops) {
  int level = 0;
  for (const std::string &var : binding) {
    for (size_t d = 0; d < loops.size(); ++d) {
      if (!var.empty() && loops[d] == var) level = std::max(level, static_cast<int>(d) + 1);
    }
  }
  return level;
}

// `rider`: a reduction leaf of the next nest accumulated in this nest's
// pass (-1: none): the outer loop is then split into per-thread parts,
// each with its partial result, combined in order after the loops.
std::vector<cg::StmtPtr> FuseLowering::loop_nest(const std::vector<const Write *> &stores, int rider, BandMember *member) {
  const std::vector<SizeRef> &given = stores.front()->dims;
  // Reversed: the loops run over the axes last to first (Fortran order); every view turns with them.
  const std::vector<SizeRef> dims = reversed_ ? std::vector<SizeRef>(given.rbegin(), given.rend()) : given;
  auto oriented = [&](const View &view) { return reversed_ ? transpose_view(broadcast_view(view, given)) : broadcast_view(view, given); };
  const int rank = static_cast<int>(dims.size());
  const Reduction *riding = rider >= 0 ? &ir_.reductions[ir_.leaves[rider].reduction] : nullptr;
  const Accumulator rider_names = new_accumulator();
  Binding loops;
  for (int d = 0; d < rank; ++d) loops.push_back(d + 1 == rank ? "i" : absl::StrCat("i", d));
  std::map<int, std::vector<std::pair<int, Binding>>> by_level;
  std::set<std::string> seen;
  for (const Write *store : stores) {
    for (int leaf : reductions_in(store->value)) {
      Binding binding = result_binding(ir_.reductions[ir_.leaves[leaf].reduction], dims, loops);
      if (seen.insert(reduction_key(leaf, binding)).second) by_level[level_of(binding, loops)].push_back({leaf, binding});
    }
  }
  plan_row_reuse(stores, dims, by_level[rank - 1], reuse_notes_);
  auto reductions_at = [&](int level, bool parallel) {
    std::vector<cg::StmtPtr> statements;
    for (const auto &[leaf, binding] : by_level[level]) {
      if (computed(reduction_key(leaf, binding)) == nullptr) append(statements, compute_reduction(leaf, binding, parallel));
    }
    return statements;
  };

  // Pointers to each array's row at the outer loops' indices: the stores'
  // targets (keyed -1, -2, ...), then the views read (keyed by leaf).
  std::vector<std::pair<int, View>> arrays;
  std::vector<NodeRef> values;
  for (size_t k = 0; k < stores.size(); ++k) {
    arrays.push_back({-1 - static_cast<int>(k), oriented(stores[k]->view)});
    values.push_back(stores[k]->value);
  }
  std::set<int> listed;
  if (riding != nullptr) values.push_back(riding->body);  // its element, lowered with the stores' (shared reads once)
  for (const NodeRef &value : values) {
    for (const NodeRef &node : topological_order(value)) {
      if (node->op == ScalarOp::kParam && ir_.leaves[node->param_index].kind == Leaf::Kind::kView &&
          listed.insert(node->param_index).second) {
        arrays.push_back({node->param_index, oriented(ir_.leaves[node->param_index].view)});
      }
    }
  }
  std::map<int, std::string> row_names;
  for (const auto &[leaf, view] : arrays) row_names[leaf] = fresh(leaf < 0 ? "out" : "in");
  auto rows = [&]() {
    std::vector<cg::StmtPtr> pointers;
    for (const auto &[leaf, view] : arrays) {
      const bool writes = leaf < 0;  // a store's target
      const cg::CType type = ctype_of(array_dtype(view.param));
      cg::ExprPtr bytes = size(view.offset);
      for (int d = 0; d + 1 < rank; ++d) bytes = add(bytes, mul(cg::var(loops[d]), size(view.strides[d])));
      cg::ExprPtr base = cg::cast(cg::pointer_type(cg::CType::kChar, !writes), arg_field(view.param, "data"));
      pointers.push_back(cg::decl(cg::pointer_type(type, !writes), row_names[leaf],
                                  cg::cast(cg::pointer_type(type, !writes), add(base, bytes))));
    }
    return pointers;
  };
  auto broadcast_last = [&](const View &view) { return rank == 0 || constant_value(view.strides[rank - 1]) == 0; };
  // Targets all fresh outputs that the nest does not read: large ones are
  // written with streaming stores (blocks computed into scratch, then
  // streamed: no read of the lines before they are written).
  bool streamable = rank >= 1;
  for (const auto &[leaf, view] : arrays) {
    if (leaf < 0 && view.param < nparams()) streamable = false;
  }
  for (const auto &[leaf, view] : arrays) {
    if (leaf < 0) continue;
    for (const auto &[target, target_view] : arrays) {
      if (target < 0 && ir_.storage.at(view.param) == ir_.storage.at(target_view.param)) streamable = false;
    }
  }
  bool blocked = false;  // element(): targets are the scratch blocks, indexed from `block_begin`
  auto element = [&](bool dense) {
    std::vector<cg::StmtPtr> statements;
    auto at = [&](int leaf, const View &view) -> cg::ExprPtr {
      const std::string &row = row_names[leaf];
      if (blocked && leaf < 0) return cg::index(cg::var("block_" + row), cg::binary(cg::BinaryOp::kSub, cg::var("i"), cg::var("block_begin")));
      if (broadcast_last(view)) return cg::index(cg::var(row), i64(0));
      if (dense) return cg::index(cg::var(row), cg::var("i"));
      return cg::index(cg::var(row), mul(cg::var("i"), cg::var("step_" + row)));
    };
    std::map<int, View> views(arrays.begin(), arrays.end());
    LoweredScalars lowered = lower_values(
        reading_scratch(values), [&](int leaf) { return at(leaf, views.at(leaf)); }, dims, loops);
    append(statements, lowered.statements);
    for (size_t k = 0; k < stores.size(); ++k) {
      const int target = -1 - static_cast<int>(k);
      statements.push_back(cg::assign(at(target, views.at(target)), lowered.values[k]));
    }
    if (riding != nullptr) append(statements, combine(*riding, rider_names, lowered.values.back(), riding->body->type));
    return statements;
  };

  std::vector<cg::StmtPtr> nest = reductions_at(0, true);
  const size_t before_loops = nest.size();
  if (rank == 0) {
    append(nest, rows());
    append(nest, element(true));
    return nest;
  }
  cg::ExprPtr dense;
  for (const auto &[leaf, view] : arrays) {
    const std::string step = "step_" + row_names[leaf];
    nest.push_back(constant_decl(step, div(size(view.strides[rank - 1]), i64(itemsize(array_dtype(view.param))))));
    if (broadcast_last(view)) continue;
    cg::ExprPtr unit = eq(cg::var(step), i64(1));
    dense = dense ? both(dense, unit) : unit;
  }
  nest.push_back(
      cg::decl(cg::scalar_type(cg::CType::kBool, true), "dense", dense ? dense : cg::literal(cg::CType::kBool, true)));
  cg::ExprPtr total = size(dims[0]);
  for (int d = 1; d < rank; ++d) total = mul(total, size(dims[d]));
  nest.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "parallel",
                          both(cg::binary(cg::BinaryOp::kGe, total, i64(kFuseParallelThreshold)), negate(cg::var("serial")))));
  if (streamable) {
    int64_t target_bytes = 0;
    for (const auto &[leaf, view] : arrays) target_bytes += leaf < 0 ? itemsize(array_dtype(view.param)) : 0;
    nest.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "streaming",
                            cg::binary(cg::BinaryOp::kGe, mul(total, i64(target_bytes)), i64(kStreamingBytes))));
  }
  const bool innermost_reductions = !by_level[rank].empty();
  // With a rider, the outer axis runs in parts: [begin, end) of part `part`.
  const std::string parts = fresh("parts"), part = fresh("part");
  cg::ExprPtr part_begin = div(mul(size(dims[0]), cg::var(part)), cg::var(parts));
  cg::ExprPtr part_end = div(mul(size(dims[0]), add(cg::var(part), i64(1))), cg::var(parts));
  auto inner = [&](bool parallel) {
    std::vector<cg::StmtPtr> body = rows();
    auto annotation = [&](bool simd) -> LoopAnnotation {
      simd = simd && !innermost_reductions;
      if (riding != nullptr) {  // the parts loop is the parallel one
        auto clause = simd_reduction(*riding, rider_names);
        return simd && std::holds_alternative<cg::OmpSimd>(clause) ? clause : LoopAnnotation{};
      }
      if (parallel) return cg::OmpParallelFor{simd, "parallel", kThreadCountVar, 0};
      if (simd) return cg::OmpSimd{};
      return {};
    };
    auto loop_body = [&](bool dense_path) {
      scopes_.push_back({});
      std::vector<cg::StmtPtr> statements = reductions_at(rank, false);
      append(statements, element(dense_path));
      scopes_.pop_back();
      return statements;
    };
    // The element loop; where its elements run reductions of their own, in lanes (lane_blocks.h).
    auto element_loop = [&](const cg::ExprPtr &from, const cg::ExprPtr &to, std::vector<cg::StmtPtr> element_body,
                            const LoopAnnotation &clause) {
      if (innermost_reductions) {
        if (auto lanes = lane_blocked_loop("i", from, to, element_body, clause, kSimdReductionMinimum)) {
          lane_notes_.insert(absl::StrCat("lanes: ", stores.front()->what, " (line ", stores.front()->line, ") runs ", kLanes,
                                          " elements at a time through its reductions' loops, where their innermost loops "
                                          "are shorter than ", kSimdReductionMinimum, " (else one element at a time)"));
          return *lanes;
        }
      }
      return cg::for_loop("i", from, to, std::move(element_body), clause);
    };
    // [begin, last) in blocks of kStreamBlock: each computed into a scratch
    // block per target, then streamed to its row; parallel over blocks for
    // a 1-D nest.
    auto streamed = [&](cg::ExprPtr begin, cg::ExprPtr last, bool parallel_blocks) {
      std::vector<cg::StmtPtr> block = {
          constant_decl("block_begin", add(begin, mul(cg::var("block"), i64(kStreamBlock)))),
          constant_decl("block_end", cg::call(cg::Callee::kMin, {add(cg::var("block_begin"), i64(kStreamBlock)), last}))};
      for (const auto &[leaf, view] : arrays) {
        if (leaf < 0) block.push_back(cg::decl(cg::scalar_type(ctype_of(array_dtype(view.param))), "block_" + row_names[leaf], nullptr, kStreamBlock, 64));
      }
      blocked = true;
      // the block's own loop: simd, never a parallel region of its own (the blocks are the parallel loop)
      LoopAnnotation lanes;
      if (!innermost_reductions) lanes = riding != nullptr ? simd_reduction(*riding, rider_names) : cg::OmpSimd{};
      block.push_back(element_loop(cg::var("block_begin"), cg::var("block_end"), loop_body(true), lanes));
      blocked = false;
      for (const auto &[leaf, view] : arrays) {
        if (leaf >= 0) continue;
        const cg::Type type = cg::scalar_type(ctype_of(array_dtype(view.param)));
        block.push_back(cg::expr_stmt(cg::call(
            cg::Callee::kStreamCopy,
            {cg::unary(cg::UnaryOp::kAddressOf, cg::index(cg::var(row_names[leaf]), cg::var("block_begin"))), cg::var("block_" + row_names[leaf]),
             mul(cg::binary(cg::BinaryOp::kSub, cg::var("block_end"), cg::var("block_begin")), cg::size_of(type))})));
      }
      cg::ExprPtr blocks = div(add(cg::binary(cg::BinaryOp::kSub, last, begin), i64(kStreamBlock - 1)), i64(kStreamBlock));
      if (!parallel_blocks) return std::vector<cg::StmtPtr>{cg::for_loop("block", i64(0), blocks, block)};  // fenced by the caller's loop
      return streaming_share(cg::for_loop("block", i64(0), blocks, block, cg::OmpFor{true, 0}));
    };
    const bool split = riding != nullptr && rank == 1;
    const cg::ExprPtr begin = split ? part_begin : i64(0);
    const cg::ExprPtr last = split ? part_end : size(dims[rank - 1]);
    std::vector<cg::StmtPtr> dense_path = {element_loop(begin, last, loop_body(true), annotation(true))};
    if (streamable) dense_path = {cg::if_stmt(cg::var("streaming"), streamed(begin, last, parallel && !split), dense_path)};
    body.push_back(cg::if_stmt(cg::var("dense"), dense_path, {element_loop(begin, last, loop_body(false), annotation(false))}));
    return body;
  };
  if (member != nullptr) {  // a band's loop over rows runs the rest, for its row i0
    member->before.assign(nest.begin(), nest.begin() + static_cast<std::ptrdiff_t>(before_loops));
    member->row.assign(nest.begin() + static_cast<std::ptrdiff_t>(before_loops), nest.end());
    append(member->row, outer_loops(0, rank, dims, loops, reductions_at, inner));
    member->riding = riding;
    member->rider = rider;
    member->rider_names = rider_names;
    member->streams = streamable;
    return {};
  }
  if (riding != nullptr)
    return ride(
        nest, *riding, rider, rider_names, parts, part, rank == 1 ? inner(false) : [&] {
          std::vector<cg::StmtPtr> body = {
              cg::for_loop("i0", part_begin, part_end, outer_loops(0, rank, dims, loops, reductions_at, inner))};
          return body;
        }());
  if (rank == 1) {
    append(nest, inner(true));
    return nest;
  }
  std::vector<cg::StmtPtr> body = outer_loops(0, rank, dims, loops, reductions_at, inner);
  if (streamable) {
    append(nest, streaming_share(cg::for_loop("i0", i64(0), size(dims[0]), body, cg::OmpFor{true, 0})));
  } else {
    nest.push_back(cg::for_loop("i0", i64(0), size(dims[0]), body, cg::OmpParallelFor{false, "parallel", kThreadCountVar, 0}));
  }
  return nest;
}

// A nest of element-wise stores (no reductions, no rider) over 2 or more
// axes runs in the order of its first target's memory: over the axes last
// to first where that axis moves least (a Fortran-ordered output), else
// first to last. Either way the innermost loop walks memory contiguously.
std::vector<cg::StmtPtr> FuseLowering::loop_nest_in_memory_order(const std::vector<const Write *> &stores, int rider) {
  const std::vector<SizeRef> &dims = stores.front()->dims;
  if (const Reduction *columns = rider < 0 ? column_reduction(stores) : nullptr) {
    return {cg::if_stmt(columns_contiguous(*columns), column_reduction_nest(*stores.front(), *columns), loop_nest(stores, rider))};
  }
  bool reducing = rider >= 0;
  for (const Write *store : stores) reducing = reducing || !reductions_in(store->value).empty();
  if (dims.size() < 2 || reducing) return loop_nest(stores, rider);
  const View target = broadcast_view(stores.front()->view, dims);
  auto magnitude = [&](size_t d) {
    cg::ExprPtr stride = size(target.strides[d]);
    return cg::ternary(cg::binary(cg::BinaryOp::kLt, stride, i64(0)), cg::unary(cg::UnaryOp::kNeg, stride), stride);
  };
  const size_t last = dims.size() - 1;
  cg::ExprPtr fortran = both(both(cg::binary(cg::BinaryOp::kGt, size(dims[0]), i64(1)), cg::binary(cg::BinaryOp::kGt, size(dims[last]), i64(1))),
                             cg::binary(cg::BinaryOp::kLt, magnitude(0), magnitude(last)));
  reversed_ = true;
  std::vector<cg::StmtPtr> reversed = loop_nest(stores, rider);
  reversed_ = false;
  return {cg::if_stmt(fortran, reversed, loop_nest(stores, rider))};
}

// The nests of a band (`nests`, consecutive, rank >= 2) in one loop over
// the band's rows: at row r each runs its own row r - offset, in order, where
// it has one. The loop is parallel (rows depend on nothing but the rows of
// the same band row), in parts when the last nest carries a rider.
std::vector<cg::StmtPtr> FuseLowering::band_loop(const std::vector<int> &nests, int rider) {
  std::vector<BandMember> members(nests.size());
  std::vector<cg::StmtPtr> band;
  for (size_t k = 0; k < nests.size(); ++k) {
    std::vector<const Write *> stores;
    for (int w : ir_.nests[nests[k]]) stores.push_back(&ir_.writes[w]);
    loop_nest(stores, k + 1 == nests.size() ? rider : -1, &members[k]);
    append(band, members[k].before);
  }
  cg::ExprPtr first, last, points = i64(0);
  bool streams = false;
  auto offset_of = [&](size_t k) { return k == 0 ? i64(0) : size(ir_.row_offsets.at(nests[k])); };
  auto row_body = [&](const std::string &r) {
    std::vector<cg::StmtPtr> body;
    for (size_t k = 0; k < nests.size(); ++k) {
      const std::vector<SizeRef> &dims = ir_.writes[ir_.nests[nests[k]].front()].dims;
      std::vector<cg::StmtPtr> own = {constant_decl("i0", cg::binary(cg::BinaryOp::kSub, cg::var(r), offset_of(k)))};
      own.push_back(cg::if_stmt(both(cg::binary(cg::BinaryOp::kGe, cg::var("i0"), i64(0)),
                                     cg::binary(cg::BinaryOp::kLt, cg::var("i0"), size(dims[0]))),
                                members[k].row));
      body.push_back(cg::block(own));
    }
    return body;
  };
  for (size_t k = 0; k < nests.size(); ++k) {
    const std::vector<SizeRef> &dims = ir_.writes[ir_.nests[nests[k]].front()].dims;
    cg::ExprPtr begin = offset_of(k), end = add(offset_of(k), size(dims[0]));
    first = first ? cg::call(cg::Callee::kMin, {first, begin}) : begin;
    last = last ? cg::call(cg::Callee::kMax, {last, end}) : end;
    cg::ExprPtr total = size(dims[0]);
    for (size_t d = 1; d < dims.size(); ++d) total = mul(total, size(dims[d]));
    points = add(points, total);
    streams = streams || members[k].streams;
  }
  const std::string begin = fresh("band_begin"), end = fresh("band_end"), r = fresh("r");
  band.push_back(constant_decl(begin, first));
  band.push_back(constant_decl(end, last));
  band.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "parallel",
                          both(cg::binary(cg::BinaryOp::kGe, points, i64(kFuseParallelThreshold)), negate(cg::var("serial")))));
  const BandMember &carrier = members.back();
  if (carrier.riding != nullptr) {
    const std::string parts = fresh("parts"), part = fresh("part");
    cg::ExprPtr rows = cg::binary(cg::BinaryOp::kSub, cg::var(end), cg::var(begin));
    cg::ExprPtr part_begin = add(cg::var(begin), div(mul(rows, cg::var(part)), cg::var(parts)));
    cg::ExprPtr part_end = add(cg::var(begin), div(mul(rows, add(cg::var(part), i64(1))), cg::var(parts)));
    return ride(band, *carrier.riding, carrier.rider, carrier.rider_names, parts, part,
                {cg::for_loop(r, part_begin, part_end, row_body(r))});
  }
  if (streams) {
    append(band, streaming_share(cg::for_loop(r, cg::var(begin), cg::var(end), row_body(r), cg::OmpFor{true, 0})));
  } else {
    band.push_back(cg::for_loop(r, cg::var(begin), cg::var(end), row_body(r), cg::OmpParallelFor{false, "parallel", kThreadCountVar, 0}));
  }
  return band;
}

// A loop shared among the threads (`shared`: an OmpFor without a barrier)
// whose streaming stores each thread fences once, after its share: a fence
// per block cost a fifth of a streamed pass.
std::vector<cg::StmtPtr> FuseLowering::streaming_share(cg::StmtPtr shared) {
  return {cg::parallel_region("parallel", {std::move(shared), cg::expr_stmt(cg::call(cg::Callee::kStreamFence, {}))},
                              kThreadCountVar)};
}

// Loop i<d>'s body, and the loops inside it down to i(rank-2), each
// opening with the reductions its index feeds; the innermost from `inner`.
template <typename ReductionsAt, typename Inner>
std::vector<cg::StmtPtr> FuseLowering::outer_loops(int d, int rank, const std::vector<SizeRef> &dims, const Binding &loops,
                                     ReductionsAt &reductions_at, Inner &inner) {
  if (d + 2 == rank && !row_plan_.empty()) return reusing_rows(dims, reductions_at, inner);
  scopes_.push_back({});
  std::vector<cg::StmtPtr> body = reductions_at(d + 1, false);
  if (d + 2 == rank) {
    append(body, inner(false));
  } else {
    body.push_back(
        cg::for_loop(loops[d + 1], i64(0), size(dims[d + 1]), outer_loops(d + 1, rank, dims, loops, reductions_at, inner)));
  }
  scopes_.pop_back();
  return body;
}

// A row's code twice: where the row fits the scratch, its reduction keeps
// the reused values and the store reads them; else both compute them.
template <typename ReductionsAt, typename Inner>
std::vector<cg::StmtPtr> FuseLowering::reusing_rows(const std::vector<SizeRef> &dims, ReductionsAt &reductions_at, Inner &inner) {
  const int rank = static_cast<int>(dims.size());
  std::vector<cg::StmtPtr> reused;
  scratch_rows_.clear();
  for (const NodeRef &node : row_plan_) {
    const std::string name = fresh("row_values");
    reused.push_back(cg::decl(cg::scalar_type(ctype_of(node->type.dtype)), name, nullptr, kRowScratch));
    scratch_rows_.push_back({node, name});
  }
  scratch_leaf_ = row_plan_leaf_;
  scopes_.push_back({});
  append(reused, reductions_at(rank - 1, false));
  append(reused, inner(false));
  scopes_.pop_back();
  scratch_leaf_ = -1;
  const auto saved_plan = std::move(row_plan_);
  row_plan_.clear();
  scratch_rows_.clear();
  scopes_.push_back({});
  std::vector<cg::StmtPtr> recomputed = reductions_at(rank - 1, false);
  append(recomputed, inner(false));
  scopes_.pop_back();
  row_plan_ = saved_plan;
  return {cg::if_stmt(cg::binary(cg::BinaryOp::kLe, size(dims[rank - 1]), i64(kRowScratch)), reused, recomputed)};
}

// The cost rule's plan for a nest: the expensive values (math functions)
// that a row's reduction (over the last axis only, bound to every outer
// loop) and a store both compute.
void FuseLowering::plan_row_reuse(const std::vector<const Write *> &stores, const std::vector<SizeRef> &dims,
                    const std::vector<std::pair<int, Binding>> &row_reductions, std::vector<std::string> &reasons) {
  row_plan_.clear();
  row_plan_leaf_ = -1;
  const int rank = static_cast<int>(dims.size());
  if (rank < 2) return;
  for (const auto &[leaf, binding] : row_reductions) {
    const Reduction &reduction = ir_.reductions[ir_.leaves[leaf].reduction];
    if (reduction.body_dims.size() != dims.size() || !reduction.reduced.back()) continue;
    bool aligned = true;
    for (int d = 0; d < rank; ++d) aligned = aligned && same_size(reduction.body_dims[d], dims[d]) && reduction.reduced[d] == (d + 1 == rank);
    if (!aligned) continue;
    std::set<const ScalarNode *> in_body;
    for (const NodeRef &node : topological_order(reduction.body)) in_body.insert(node.get());
    std::vector<NodeRef> common;
    for (const Write *store : stores) {
      for (const NodeRef &node : topological_order(store->value)) {
        if (!in_body.count(node.get()) || !expensive(node)) continue;
        // keep the largest: drop those this one contains
        std::set<const ScalarNode *> inside;
        for (const NodeRef &part : topological_order(node)) inside.insert(part.get());
        std::erase_if(common, [&](const NodeRef &kept) { return inside.count(kept.get()) > 0; });
        common.push_back(node);
      }
    }
    if (common.empty()) continue;
    row_plan_ = common;
    row_plan_leaf_ = leaf;
    reasons.push_back(absl::StrCat("reused: ", common.size(), " value(s) with a math function, computed once per element by the ",
                                   reduce_op_name(reduction.op), " of line ", reduction.line,
                                   " and read back by the store (rows of up to ", kRowScratch, " elements)"));
    return;
  }
}

// `values` with the values kept in row scratch read from it (while a row
// that reuses them is being lowered).
std::vector<NodeRef> FuseLowering::reading_scratch(const std::vector<NodeRef> &values) const {
  if (scratch_rows_.empty()) return values;
  NodeRewrites rewritten;
  for (size_t k = 0; k < scratch_rows_.size(); ++k) {
    const NodeRef &node = scratch_rows_[k].first;
    rewritten[node.get()] = make_param(kScratchLeafBase + static_cast<int>(k), node->type, node->line);
  }
  std::vector<NodeRef> result;
  for (const NodeRef &value : values) result.push_back(substitute(value, [](const NodeRef &) { return NodeRef(); }, &rewritten));
  return result;
}

bool FuseLowering::expensive(const NodeRef &node) {
  for (const NodeRef &part : topological_order(node)) {
    if (part->op == ScalarOp::kMath || part->op == ScalarOp::kPow) return true;
  }
  return false;
}

// The nest's loops (`part_body`, over part `part`'s share of the outer
// axis) run once per part in parallel, each accumulating the rider into
// its own partial; the partials are then combined in order into the
// rider's result variable (declared before the nest).
std::vector<cg::StmtPtr> FuseLowering::ride(std::vector<cg::StmtPtr> nest, const Reduction &riding, int rider, const Accumulator &names,
                              const std::string &parts, const std::string &part, std::vector<cg::StmtPtr> part_body) {
  const ScalarType type = accumulator_type(riding);
  const std::string partials = fresh("partial"), total = fresh("acc");
  nest.push_back(constant_decl(
      parts,
      cg::ternary(cg::var("parallel"), cg::call(cg::Callee::kMin, {cg::var(kThreadCountVar), i64(kMaxPartials)}), i64(1))));
  nest.push_back(cg::decl(cg::scalar_type(ctype_of(type.dtype)), partials, nullptr, kMaxPartials));
  std::vector<cg::StmtPtr> task = declare_accumulator(riding, names);
  append(task, part_body);
  task.push_back(cg::expr_stmt(cg::call(cg::Callee::kStreamFence, {})));  // the part's streaming stores, if any
  task.push_back(cg::assign(cg::index(cg::var(partials), cg::var(part)), accumulated(riding, names)));
  nest.push_back(cg::for_loop(part, i64(0), cg::var(parts), task, cg::OmpParallelFor{false, "parallel", kThreadCountVar, 1}));
  const Accumulator merged{total, "", "", "", fresh("nan")};
  append(nest, declare_accumulator(riding, merged));
  nest.push_back(
      cg::for_loop(part, i64(0), cg::var(parts), combine(riding, merged, cg::index(cg::var(partials), cg::var(part)), type)));
  const std::string &result = rider_results_.at(reduction_key(rider, Binding(riding.dims.size())));
  nest.push_back(cg::assign(cg::var(result), cg::cast(cg::scalar_type(ctype_of(riding.result.dtype)), accumulated(riding, merged))));
  return nest;
}
}  // namespace sejits::specializers::fuse
