// Column reductions: a store of a reduction over a matrix's first axis
// (a.sum(axis=0), a.max(axis=0)) reads the matrix row by row, each row
// folded into a block of per-column accumulators, instead of walking each
// column down the rows (one cache line per element). Each column is folded
// in the same order, rows first to last, so the results equal the column
// walk's bit for bit.
#include "specializers/fuse/lower_nest.h"

namespace sejits::specializers::fuse {

// Columns per block: one block's accumulators (and NaN flags) on a thread's stack.
inline constexpr int64_t kColumnBlock = 512;

const Reduction *FuseLowering::column_reduction(const std::vector<const Write *> &stores) const {
  if (stores.size() != 1) return nullptr;
  const Write &store = *stores.front();
  const NodeRef &value = store.value->op == ScalarOp::kCast ? store.value->operands[0] : store.value;
  if (value->op != ScalarOp::kParam || ir_.leaves[value->param_index].kind != Leaf::Kind::kReduction) return nullptr;
  const Reduction &reduction = ir_.reductions[ir_.leaves[value->param_index].reduction];
  if (is_arg(reduction.op) || reduction.body_dims.size() != 2 || !reduction.reduced[0] || reduction.reduced[1]) return nullptr;
  if (!reductions_in(reduction.body).empty() || store.dims.empty()) return nullptr;
  for (size_t d = 0; d + 1 < store.dims.size(); ++d) {
    if (constant_value(store.dims[d]) != 1) return nullptr;  // keepdims' leading 1
  }
  return &reduction;
}

std::vector<cg::StmtPtr> FuseLowering::column_reduction_nest(const Write &store, const Reduction &reduction) {
  const std::vector<SizeRef> &body_dims = reduction.body_dims;
  const cg::CType acc_c = ctype_of(accumulator_type(reduction).dtype);
  const std::string rows = fresh("rows"), columns = fresh("columns"), accs = fresh("column_acc"), nans = fresh("column_nan");
  std::vector<cg::StmtPtr> nest = {constant_decl(rows, size(body_dims[0])), constant_decl(columns, size(body_dims[1]))};
  // The body's views at row r: typed row pointers, read at column j (or at 0 where broadcast along the columns).
  std::map<int, std::pair<std::string, bool>> row_of;  // leaf -> (row pointer, broadcast along the columns)
  std::vector<cg::StmtPtr> pointers;
  for (const NodeRef &node : topological_order(reduction.body)) {
    if (node->op != ScalarOp::kParam || ir_.leaves[node->param_index].kind != Leaf::Kind::kView || row_of.count(node->param_index))
      continue;
    const View view = broadcast_view(ir_.leaves[node->param_index].view, body_dims);
    const cg::CType type = ctype_of(array_dtype(view.param));
    const std::string row = fresh("column_row");
    cg::ExprPtr bytes = add(size(view.offset), mul(cg::var("r"), size(view.strides[0])));
    cg::ExprPtr base = cg::cast(cg::pointer_type(cg::CType::kChar, true), arg_field(view.param, "data"));
    pointers.push_back(cg::decl(cg::pointer_type(type, true), row, cg::cast(cg::pointer_type(type, true), add(base, bytes))));
    row_of[node->param_index] = {row, constant_value(view.strides[1]) == 0};
  }
  auto view_element = [&](int leaf) {
    const auto &[row, broadcast] = row_of.at(leaf);
    return cg::index(cg::var(row), broadcast ? i64(0) : cg::var("j"));
  };
  // Column j's entry of a block's array; its accumulator and NaN flag read into locals.
  auto slot = [](const std::string &array) {
    return cg::index(cg::var(array), cg::binary(cg::BinaryOp::kSub, cg::var("j"), cg::var("block_begin")));
  };
  Accumulator names = new_accumulator();
  auto read_slots = [&] {
    std::vector<cg::StmtPtr> locals = {cg::decl(cg::scalar_type(acc_c), names.acc, slot(accs))};
    if (tracks_nan(reduction)) locals.push_back(cg::decl(cg::scalar_type(cg::CType::kInt32), names.nan, slot(nans)));
    return locals;
  };
  // Per column: folded, stored back.
  std::vector<cg::StmtPtr> fold = read_slots();
  scopes_.push_back({});
  LoweredScalar element = lower_value(reduction.body, view_element, body_dims, {"r", "j"});
  scopes_.pop_back();
  append(fold, element.statements);
  append(fold, combine(reduction, names, element.value, reduction.body->type));
  fold.push_back(cg::assign(slot(accs), cg::var(names.acc)));
  if (tracks_nan(reduction)) fold.push_back(cg::assign(slot(nans), cg::var(names.nan)));
  // A block: its accumulators start at the identity, every row is folded in, then the results are stored.
  std::vector<cg::StmtPtr> block = {
      constant_decl("block_begin", mul(cg::var("block"), i64(kColumnBlock))),
      constant_decl("block_end", cg::call(cg::Callee::kMin, {add(cg::var("block_begin"), i64(kColumnBlock)), cg::var(columns)})),
      cg::decl(cg::scalar_type(acc_c), accs, nullptr, kColumnBlock, 64)};
  if (tracks_nan(reduction)) block.push_back(cg::decl(cg::scalar_type(cg::CType::kInt32), nans, nullptr, kColumnBlock, 64));
  std::vector<cg::StmtPtr> start = {cg::assign(cg::index(cg::var(accs), cg::var("k")), identity_value(reduction))};
  if (tracks_nan(reduction)) start.push_back(cg::assign(cg::index(cg::var(nans), cg::var("k")), i64(0)));
  block.push_back(cg::for_loop("k", i64(0), i64(kColumnBlock), start));
  std::vector<cg::StmtPtr> row_body = pointers;
  row_body.push_back(cg::for_loop("j", cg::var("block_begin"), cg::var("block_end"), fold, cg::OmpSimd{}));
  block.push_back(cg::for_loop("r", i64(0), cg::var(rows), row_body));
  // The results, through the store's own cast, into the target.
  const View target = broadcast_view(store.view, store.dims);
  const cg::CType target_c = ctype_of(array_dtype(target.param));
  const std::string out = fresh("column_out");
  block.push_back(cg::decl(cg::pointer_type(target_c, false), out,
                           cg::cast(cg::pointer_type(target_c, false),
                                    add(cg::cast(cg::pointer_type(cg::CType::kChar, false), arg_field(target.param, "data")), size(target.offset)))));
  const size_t last = store.dims.size() - 1;
  const std::string step = fresh("column_step");
  nest.push_back(constant_decl(step, div(size(target.strides[last]), i64(itemsize(array_dtype(target.param))))));
  std::vector<cg::StmtPtr> finish = read_slots();
  cg::ExprPtr result = cg::cast(cg::scalar_type(ctype_of(reduction.result.dtype)), accumulated(reduction, names));
  finish.push_back(cg::assign(cg::index(cg::var(out), mul(cg::var("j"), cg::var(step))), cg::cast(cg::scalar_type(target_c), result)));
  block.push_back(cg::for_loop("j", cg::var("block_begin"), cg::var("block_end"), finish));
  cg::ExprPtr blocks = div(add(cg::var(columns), i64(kColumnBlock - 1)), i64(kColumnBlock));
  nest.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "parallel",
                          both(cg::binary(cg::BinaryOp::kGe, mul(cg::var(rows), cg::var(columns)), i64(kFuseParallelThreshold)),
                               negate(cg::var("serial")))));
  nest.push_back(cg::for_loop("block", i64(0), blocks, block, cg::OmpParallelFor{false, "parallel", kThreadCountVar, 0}));
  return nest;
}

// Where every view the body reads moves by one element along the columns (or not at all).
cg::ExprPtr FuseLowering::columns_contiguous(const Reduction &reduction) const {
  cg::ExprPtr unit = cg::literal(cg::CType::kBool, true);
  for (const NodeRef &node : topological_order(reduction.body)) {
    if (node->op != ScalarOp::kParam || ir_.leaves[node->param_index].kind != Leaf::Kind::kView) continue;
    const View view = broadcast_view(ir_.leaves[node->param_index].view, reduction.body_dims);
    if (constant_value(view.strides[1]) == 0) continue;
    unit = both(unit, eq(size(view.strides[1]), i64(itemsize(array_dtype(view.param)))));
  }
  return unit;
}

}  // namespace sejits::specializers::fuse
