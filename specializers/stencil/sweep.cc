#include "specializers/stencil/sweep.h"

#include "absl/strings/str_cat.h"
#include "specializers/common/lower_entry.h"
#include "specializers/common/lower_scalar.h"
#include "specializers/stencil/lower.h"

namespace sejits::specializers::stencil {
namespace cg = codegen;

namespace {

// Bytes of output a streaming chunk computes in L1 scratch before it is
// written out with non-temporal stores.
constexpr int64_t kStreamingChunkBytes = 4096;

cg::ExprPtr add(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kAdd, std::move(a), std::move(b)); }
cg::ExprPtr mul(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kMul, std::move(a), std::move(b)); }
cg::ExprPtr sub(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kSub, std::move(a), std::move(b)); }
cg::ExprPtr axis_var(const char *prefix, int d) { return cg::var(absl::StrCat(prefix, d)); }
cg::ExprPtr stride_var(const std::string &array, int d) { return cg::var(absl::StrCat(array, "_s", d)); }

int boundary_mode_code(Boundary boundary) {
  switch (boundary) {
    case Boundary::kNearest: return 1;
    case Boundary::kReflect: return 2;
    case Boundary::kMirror: return 3;
    default: return 4;  // wrap
  }
}

}  // namespace

void SweepLowering::check_operand(int arg, int operand, std::vector<cg::StmtPtr> &body) const {
  ArgKind kind = is_array(operand) ? ArgKind::kArray : ArgKind::kScalar;
  cg::ExprPtr wrong = cg::binary(cg::BinaryOp::kLogicalOr,
                                 cg::binary(cg::BinaryOp::kNe, arg_field(arg, "kind"), cg::int_literal(static_cast<int>(kind))),
                                 cg::binary(cg::BinaryOp::kNe, arg_field(arg, "dtype"), cg::int_literal(static_cast<int>(dtype_of(operand)))));
  if (kind == ArgKind::kArray) {
    wrong = cg::binary(cg::BinaryOp::kLogicalOr, wrong, cg::binary(cg::BinaryOp::kNe, arg_field(arg, "rank"), cg::int_literal(ir_.rank)));
  }
  body.push_back(cg::if_stmt(wrong, {fail_statement(absl::StrCat("argument ", arg, " does not match the specialized signature"))}));
}

void SweepLowering::check_shape(int arg, int shape_arg, std::vector<cg::StmtPtr> &body) const {
  for (int d = 0; d < ir_.rank; ++d) {
    cg::ExprPtr extent = cg::index(arg_field(arg, "shape"), cg::int_literal(d));
    body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kNe, extent, cg::index(arg_field(shape_arg, "shape"), cg::int_literal(d))),
                               {fail_statement(absl::StrCat("argument ", arg, " does not have the grid's shape"))}));
  }
}

void SweepLowering::declare_array(int arg, int operand, const std::string &name, std::vector<cg::StmtPtr> &body) const {
  cg::CType type = ctype_of(dtype_of(operand));
  cg::ExprPtr item = cg::size_of(cg::scalar_type(type));
  for (int d = 0; d < ir_.rank; ++d) {
    cg::ExprPtr stride = cg::index(arg_field(arg, "strides"), cg::int_literal(d));
    body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kNe, cg::binary(cg::BinaryOp::kMod, stride, item), cg::int_literal(0)),
                               {fail_statement(absl::StrCat("argument ", arg, " is not aligned to its element size"))}));
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), absl::StrCat(name, "_s", d), cg::binary(cg::BinaryOp::kDiv, stride, item)));
  }
  bool input = operand != out_;
  body.push_back(cg::decl(cg::pointer_type(type, input, input), name, cg::cast(cg::pointer_type(type, input), arg_field(arg, "data"))));
}

void SweepLowering::declare_scalar(int arg, std::vector<cg::StmtPtr> &body) const {
  body.push_back(declare_scalar_arg(arg, dtype_of(arg)));
}

void SweepLowering::declare_extents(int arg, std::vector<cg::StmtPtr> &body) const {
  for (int d = 0; d < ir_.rank; ++d) {
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), absl::StrCat("n", d), cg::index(arg_field(arg, "shape"), cg::int_literal(d))));
  }
  // Axis d splits into [0, a_d) [a_d, b_d) [b_d, n_d): low border, interior, high border.
  for (int d = 0; d < ir_.rank; ++d) {
    cg::ExprPtr n = axis_var("n", d);
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), absl::StrCat("a", d), cg::call(cg::Callee::kMin, {cg::int_literal(ir_.low[d]), n})));
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), absl::StrCat("b", d),
                            cg::call(cg::Callee::kMax, {sub(n, cg::int_literal(ir_.high[d])), axis_var("a", d)})));
  }
}

void SweepLowering::declare_work(int out_arg, ThreadCount threads, std::vector<cg::StmtPtr> &body) const {
  cg::ExprPtr points = axis_var("n", 0);
  for (int d = 1; d < ir_.rank; ++d) points = mul(points, axis_var("n", d));
  body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "grid_bytes", mul(points, cg::int_literal(itemsize(ir_.result.dtype)))));
  cg::ExprPtr parallel = cg::binary(cg::BinaryOp::kLogicalAnd, cg::binary(cg::BinaryOp::kGe, points, cg::int_literal(kParallelThreshold)),
                                    cg::unary(cg::UnaryOp::kNot, serial_call(out_arg)));
  if (threads == ThreadCount::kOne) parallel = cg::literal(cg::CType::kBool, false);
  body.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "parallel", parallel));
  body.push_back(declare_thread_count(threads));
  body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt), "error_flag", cg::int_literal(0)));
}

cg::ExprPtr SweepLowering::unit_inner(const std::vector<std::string> &arrays) const {
  cg::ExprPtr all;
  for (const std::string &array : arrays) {
    cg::ExprPtr unit = cg::binary(cg::BinaryOp::kEq, stride_var(array, ir_.rank - 1), cg::int_literal(1));
    all = all ? cg::binary(cg::BinaryOp::kLogicalAnd, all, unit) : unit;
  }
  return all;
}

std::vector<std::string> SweepLowering::extra_arrays() const {
  std::vector<std::string> names;
  for (int k = 1; k < out_; ++k) {
    if (is_array(k)) names.push_back(name_of(k));
  }
  return names;
}

void SweepLowering::set_grid_names(std::string source, std::string target) {
  source_ = std::move(source);
  target_ = std::move(target);
}

std::string SweepLowering::name_of(int operand) const {
  if (operand == out_) return target_;
  return operand == 0 ? source_ : absl::StrCat("q", operand);
}

// The offset of the current point plus `offsets` in `array`; on the border,
// each moved axis index goes through the boundary mode.
cg::ExprPtr SweepLowering::flat_index(const std::string &array, const std::vector<int64_t> &offsets, Region region) const {
  if (region == Region::kInteriorCentered) {
    cg::ExprPtr flat = cg::var(center_name(array));
    for (int d = 0; d < ir_.rank; ++d) {
      if (offsets.empty() || offsets[d] == 0) continue;
      cg::ExprPtr stride = stride_var(array, d);
      flat = offsets[d] == 1    ? add(flat, stride)
             : offsets[d] == -1 ? sub(flat, stride)
                                : add(flat, mul(cg::int_literal(offsets[d]), stride));
    }
    return flat;
  }
  cg::ExprPtr flat;
  for (int d = 0; d < ir_.rank; ++d) {
    cg::ExprPtr i = axis_var("i", d);
    bool moved = !offsets.empty() && offsets[d] != 0;
    if (moved) i = add(i, cg::int_literal(offsets[d]));
    if (region == Region::kBorder && moved) {
      i = cg::call(cg::Callee::kBoundaryIndex, {i, axis_var("n", d), cg::int_literal(boundary_mode_code(ir_.boundary))});
    }
    bool unit = region == Region::kInteriorUnitStride && d == ir_.rank - 1;
    cg::ExprPtr term = unit ? i : mul(i, stride_var(array, d));
    flat = flat ? add(flat, term) : term;
  }
  return flat;
}

std::string SweepLowering::center_name(const std::string &array) { return array + "_at"; }

std::vector<cg::StmtPtr> SweepLowering::declare_centers(cg::CType index_type) const {
  std::vector<cg::StmtPtr> centers;
  for (int k = 0; k <= out_; ++k) {
    if (!is_array(k)) continue;
    std::string name = name_of(k);
    centers.push_back(cg::decl(cg::scalar_type(index_type, true), center_name(name), flat_index(name, {}, Region::kInterior)));
  }
  return centers;
}

cg::ExprPtr SweepLowering::element(int operand, const std::vector<int64_t> &offsets, Region region) const {
  std::string name = name_of(operand);
  return cg::index(cg::var(name), flat_index(name, offsets, region));
}

std::vector<cg::StmtPtr> SweepLowering::point_body(Region region, cg::ExprPtr target) const {
  if (region == Region::kBorder && ir_.boundary == Boundary::kConstant) {
    DType dtype = ir_.result.dtype;
    cg::ExprPtr cval = is_float(dtype) ? cg::literal(ctype_of(dtype), ir_.cval)
                                       : cg::cast(cg::scalar_type(ctype_of(dtype)), cg::literal(cg::CType::kFloat64, ir_.cval));
    return {cg::assign(target, cval)};
  }
  ScalarLoweringContext context;
  context.error_flag = "error_flag";
  context.param = [&](int index, const std::vector<int64_t> &offsets) -> cg::ExprPtr {
    if (!is_array(index)) return cg::var(absl::StrCat("s", index));
    return element(index, offsets, region);
  };
  // A class kernel's border_points() loop: its own value, read at the point itself.
  const NodeRef &value = region == Region::kBorder && ir_.border ? ir_.border : ir_.value;
  LoweredScalar lowered = lower_scalar(value, context);
  std::vector<cg::StmtPtr> statements = lowered.statements;
  statements.push_back(cg::assign(target, lowered.value));
  return statements;
}

std::vector<AxisRange> SweepLowering::interior(const AxisRange &window) const {
  std::vector<AxisRange> ranges;
  for (int d = 0; d < ir_.rank; ++d) ranges.push_back({axis_var("a", d), axis_var("b", d)});
  if (window.begin) {
    ranges[0] = {cg::call(cg::Callee::kMax, {axis_var("a", 0), window.begin}), cg::call(cg::Callee::kMin, {axis_var("b", 0), window.end})};
  }
  return ranges;
}

// Per axis d, a low and a high slab: axes before d over the interior, axis d
// over its border, axes after d whole. Together with the interior they cover
// the window once.
std::vector<std::vector<AxisRange>> SweepLowering::border_slabs(const AxisRange &window) const {
  std::vector<AxisRange> inner = interior(window);
  std::vector<std::vector<AxisRange>> slabs;
  for (int d = 0; d < ir_.rank; ++d) {
    for (bool low_side : {true, false}) {
      std::vector<AxisRange> slab;
      for (int e = 0; e < ir_.rank; ++e) {
        if (e < d) {
          slab.push_back(inner[e]);
        } else if (e > d) {
          slab.push_back({cg::int_literal(0), axis_var("n", e)});
        } else if (e == 0 && window.begin) {
          slab.push_back(low_side ? AxisRange{window.begin, cg::call(cg::Callee::kMin, {axis_var("a", 0), window.end})}
                                  : AxisRange{cg::call(cg::Callee::kMax, {axis_var("b", 0), window.begin}), window.end});
        } else {
          slab.push_back(low_side ? AxisRange{cg::int_literal(0), axis_var("a", e)} : AxisRange{axis_var("b", e), axis_var("n", e)});
        }
      }
      slabs.push_back(std::move(slab));
    }
  }
  return slabs;
}

// Loops over axes [0, first) of `ranges` around `body`: threads over axis 0
// when `parallel`. With tiles (see Tiling), axis 1 goes in tiles of `rows`
// and the last axis in tiles of `cols` (the caller's inner loop reads the
// tile's column range from `tile_c`): the threads share the tiles and walk
// axis 0 within each, so the planes a point reads stay in the core's own
// cache (spatial blocking).
cg::StmtPtr SweepLowering::outer_loops(const std::vector<AxisRange> &ranges, int first, std::vector<cg::StmtPtr> body, bool parallel,
                                       Tiling tiling) const {
  const bool row_tiles = tiling.rows > 0 && first >= 2;
  const bool col_tiles = tiling.cols > 0 && first >= 1;
  cg::ExprPtr rows = cg::int_literal(tiling.rows);
  for (int d = first - 1; d >= 0; --d) {
    AxisRange range = ranges[d];
    if (row_tiles && d == 1) {
      cg::ExprPtr begin = add(ranges[1].begin, mul(cg::var("tile_r"), rows));
      range = {begin, cg::call(cg::Callee::kMin, {add(begin, rows), ranges[1].end})};
    }
    std::variant<std::monostate, cg::OmpParallelFor, cg::OmpSimd, cg::OmpFor> annotation;
    if (d == 0 && parallel && !row_tiles && !col_tiles) annotation = cg::OmpParallelFor{false, "parallel", kThreadCountVar};
    body = {cg::for_loop(absl::StrCat("i", d), range.begin, range.end, std::move(body), annotation)};
  }
  if (row_tiles || col_tiles) {
    auto count = [](const AxisRange &range, int64_t size) {
      return cg::binary(cg::BinaryOp::kDiv, add(sub(range.end, range.begin), cg::int_literal(size - 1)), cg::int_literal(size));
    };
    cg::ExprPtr across = col_tiles ? count(ranges[first], tiling.cols) : cg::int_literal(1);
    std::vector<cg::StmtPtr> tile = {
        cg::decl(cg::scalar_type(cg::CType::kInt64, true), "tile_r", cg::binary(cg::BinaryOp::kDiv, cg::var("tile"), across)),
        cg::decl(cg::scalar_type(cg::CType::kInt64, true), "tile_c", cg::binary(cg::BinaryOp::kMod, cg::var("tile"), across))};
    tile.insert(tile.end(), body.begin(), body.end());
    cg::ExprPtr tiles = mul(row_tiles ? count(ranges[1], tiling.rows) : cg::int_literal(1), across);
    std::variant<std::monostate, cg::OmpParallelFor, cg::OmpSimd, cg::OmpFor> annotation;
    if (parallel) annotation = cg::OmpParallelFor{false, "parallel", kThreadCountVar};
    body = {cg::for_loop("tile", cg::int_literal(0), tiles, std::move(tile), annotation)};
  }
  return cg::block(std::move(body));
}

// Nested loops over `ranges` (outermost first), simd over the inner axis.
cg::StmtPtr SweepLowering::loop_nest(const std::vector<AxisRange> &ranges, std::vector<cg::StmtPtr> body, bool parallel,
                                     Tiling tiling) const {
  const int last = static_cast<int>(ranges.size()) - 1;
  if (last == 0) tiling.cols = 0;  // rank 1: nothing to walk within a tile
  AxisRange inner_range = ranges[last];
  if (tiling.cols > 0) {
    cg::ExprPtr cols = cg::int_literal(tiling.cols);
    cg::ExprPtr begin = add(ranges[last].begin, mul(cg::var("tile_c"), cols));
    inner_range = {begin, cg::call(cg::Callee::kMin, {add(begin, cols), ranges[last].end})};
  }
  std::variant<std::monostate, cg::OmpParallelFor, cg::OmpSimd, cg::OmpFor> annotation = cg::OmpSimd{};
  if (last == 0 && parallel) annotation = cg::OmpParallelFor{true, "parallel", kThreadCountVar};
  cg::StmtPtr inner = cg::for_loop(absl::StrCat("i", last), inner_range.begin, inner_range.end, std::move(body), annotation);
  return outer_loops(ranges, last, {inner}, parallel, tiling);
}

// The unit-stride interior with each row computed in chunks into L1 scratch
// and copied out with non-temporal stores: the output's cache lines are not
// read before they are written, and do not push the grid out of the cache.
cg::StmtPtr SweepLowering::streaming_nest(const std::vector<AxisRange> &ranges, bool parallel, Tiling tiling) const {
  const int last = ir_.rank - 1;
  const cg::CType type = ctype_of(ir_.result.dtype);
  const int64_t chunk = kStreamingChunkBytes / itemsize(ir_.result.dtype);
  cg::ExprPtr i_last = axis_var("i", last);
  cg::ExprPtr scratch_slot = cg::index(cg::var("scratch"), sub(i_last, cg::var("c0")));
  std::vector<cg::StmtPtr> chunk_body;
  chunk_body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "c0", add(ranges[last].begin, mul(cg::var("chunk"), cg::int_literal(chunk)))));
  chunk_body.push_back(cg::decl(cg::scalar_type(cg::CType::kInt64, true), "c1",
                                cg::call(cg::Callee::kMin, {add(cg::var("c0"), cg::int_literal(chunk)), ranges[last].end})));
  chunk_body.push_back(cg::decl(cg::scalar_type(type), "scratch", nullptr, chunk, 64));
  chunk_body.push_back(cg::for_loop(absl::StrCat("i", last), cg::var("c0"), cg::var("c1"),
                                    point_body(Region::kInteriorUnitStride, scratch_slot), cg::OmpSimd{}));
  cg::ExprPtr row = cg::var("c0");
  for (int d = 0; d < last; ++d) row = add(mul(axis_var("i", d), stride_var(target_, d)), row);
  cg::ExprPtr bytes = mul(sub(cg::var("c1"), cg::var("c0")), cg::size_of(cg::scalar_type(type)));
  chunk_body.push_back(cg::expr_stmt(cg::call(cg::Callee::kStreamCopy, {cg::unary(cg::UnaryOp::kAddressOf, cg::index(cg::var(target_), row)),
                                                                        cg::var("scratch"), bytes})));
  chunk_body.push_back(cg::expr_stmt(cg::call(cg::Callee::kStreamFence, {})));

  cg::ExprPtr chunks = cg::binary(cg::BinaryOp::kDiv, add(sub(ranges[last].end, ranges[last].begin), cg::int_literal(chunk - 1)),
                                  cg::int_literal(chunk));
  std::variant<std::monostate, cg::OmpParallelFor, cg::OmpSimd, cg::OmpFor> chunk_annotation;
  if (last == 0 && parallel) chunk_annotation = cg::OmpParallelFor{false, "parallel", kThreadCountVar};
  cg::StmtPtr chunk_loop = cg::for_loop("chunk", cg::int_literal(0), chunks, std::move(chunk_body), chunk_annotation);
  tiling.cols = 0;  // rows are already written chunk by chunk
  return outer_loops(ranges, last, {chunk_loop}, parallel, tiling);
}

std::vector<cg::StmtPtr> SweepLowering::sweep(const AxisRange &window, cg::ExprPtr unit, bool parallel, cg::ExprPtr streaming,
                                              Tiling tiling) const {
  std::vector<cg::StmtPtr> body;
  std::vector<AxisRange> inner = interior(window);
  body.push_back(cg::comment("interior: every read inside the grid"));
  cg::StmtPtr unit_nest =
      loop_nest(inner, point_body(Region::kInteriorUnitStride, element(out_, {}, Region::kInteriorUnitStride)), parallel, tiling);
  if (streaming) unit_nest = cg::if_stmt(streaming, {streaming_nest(inner, parallel, tiling)}, {unit_nest});
  body.push_back(cg::if_stmt(unit, {unit_nest},
                             {loop_nest(inner, point_body(Region::kInterior, element(out_, {}, Region::kInterior)), parallel, tiling)}));
  if (ir_.boundary == Boundary::kSkip && !ir_.border) return body;
  std::vector<std::vector<AxisRange>> slabs = border_slabs(window);
  for (size_t s = 0; s < slabs.size(); ++s) {
    body.push_back(cg::comment(absl::StrCat("border: axis ", s / 2, s % 2 == 0 ? ", low side" : ", high side")));
    body.push_back(loop_nest(slabs[s], point_body(Region::kBorder, element(out_, {}, Region::kBorder)), parallel));
  }
  return body;
}

std::vector<cg::StmtPtr> SweepLowering::copy_border(const std::string &from, const std::string &to) const {
  std::vector<cg::StmtPtr> body;
  for (const std::vector<AxisRange> &slab : border_slabs(AxisRange{})) {
    cg::ExprPtr target = cg::index(cg::var(to), flat_index(to, {}, Region::kInterior));
    body.push_back(loop_nest(slab, {cg::assign(target, cg::index(cg::var(from), flat_index(from, {}, Region::kInterior)))}, true));
  }
  return body;
}

}  // namespace sejits::specializers::stencil
