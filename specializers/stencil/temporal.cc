#include "specializers/stencil/temporal.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "specializers/common/lower_entry.h"
#include "specializers/common/lower_scalar.h"

namespace sejits::specializers::stencil {
namespace cg = codegen;

namespace {

// Points a work item should compute at least, so a wave's barrier is cheap
// next to its work.
constexpr int64_t kItemPoints = 16384;
// A rank-1 work item: this many points of the axis.
constexpr int64_t kRank1ItemLength = 4096;

cg::ExprPtr add(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kAdd, std::move(a), std::move(b)); }
cg::ExprPtr mul(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kMul, std::move(a), std::move(b)); }
cg::ExprPtr sub(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kSub, std::move(a), std::move(b)); }
cg::ExprPtr div(cg::ExprPtr a, cg::ExprPtr b) { return cg::binary(cg::BinaryOp::kDiv, std::move(a), std::move(b)); }
cg::ExprPtr ceil_div(cg::ExprPtr a, cg::ExprPtr b) { return div(add(a, sub(b, cg::int_literal(1))), b); }
cg::ExprPtr max(cg::ExprPtr a, cg::ExprPtr b) { return cg::call(cg::Callee::kMax, {std::move(a), std::move(b)}); }
cg::ExprPtr min(cg::ExprPtr a, cg::ExprPtr b) { return cg::call(cg::Callee::kMin, {std::move(a), std::move(b)}); }
cg::ExprPtr v(const std::string &name) { return cg::var(name); }
cg::StmtPtr let(const std::string &name, cg::ExprPtr init) { return cg::decl(cg::scalar_type(cg::CType::kInt64, true), name, std::move(init)); }

class IterateLowering {
 public:
  IterateLowering(const StencilIr &ir, const StencilPlan &plan) : ir_(ir), plan_(plan), sweep_(ir) {}

  std::vector<cg::StmtPtr> run() {
    std::vector<cg::StmtPtr> body;
    const int out = sweep_.output(), spare_arg = out, steps_arg = out + 1, out_arg = out + 2;
    check_arguments(body, spare_arg, steps_arg, out_arg);
    sweep_.declare_extents(out_arg, body);
    for (int k = 0; k < out; ++k) {
      if (sweep_.is_array(k)) sweep_.declare_array(k, k, absl::StrCat("q", k), body);
      else sweep_.declare_scalar(k, body);
    }
    sweep_.declare_array(spare_arg, out, "qspare", body);
    sweep_.declare_array(out_arg, out, "qout", body);
    body.push_back(let("steps", cg::member(arg_field(steps_arg, "scalar"), "i")));
    body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kLt, v("steps"), cg::int_literal(1)), {fail_statement("steps must be at least 1")}));
    sweep_.declare_work(out_arg, plan_.threads, body);
    if (ir_.boundary == Boundary::kSkip) {
      body.push_back(cg::comment("boundary skip: both buffers keep the grid's border in every sweep"));
      for (const char *buffer : {"qout", "qspare"}) {
        for (cg::StmtPtr &copy : sweep_.copy_border("q0", buffer)) body.push_back(copy);
      }
    }
    std::vector<std::string> arrays = {"q0"};
    for (const std::string &name : sweep_.extra_arrays()) arrays.push_back(name);
    arrays.insert(arrays.end(), {"qspare", "qout"});
    body.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "unit", sweep_.unit_inner(arrays)));
    std::vector<cg::StmtPtr> waves;
    plan_wavefront(waves);
    waves.push_back(cg::for_loop("group", cg::int_literal(0), ceil_div(v("steps"), v("depth_cap")), group_body()));
    if (plan_.temporal_depth > 0) {  // the variant asks for the wavefront
      for (cg::StmtPtr &statement : waves) body.push_back(statement);
    } else {
      // Both buffers fit in the cache: sweeps read them from there anyway, and
      // a wavefront would only add its ramp; one parallel sweep after another.
      body.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "in_cache",
                              cg::binary(cg::BinaryOp::kLe, mul(cg::int_literal(4), v("grid_bytes")), cg::call(cg::Callee::kCacheBytes, {}))));
      body.push_back(cg::if_stmt(v("in_cache"), {cg::for_loop("level0", cg::int_literal(0), v("steps"), sweep_after_sweep())}, waves));
    }
    append_error_flag_checks(ir_.value, body);
    body.push_back(cg::return_stmt(cg::int_literal(0)));
    return body;
  }

 private:
  void check_arguments(std::vector<cg::StmtPtr> &body, int spare_arg, int steps_arg, int out_arg) const {
    const int out = sweep_.output();
    body.push_back(cg::if_stmt(cg::binary(cg::BinaryOp::kNe, v("nargs"), cg::int_literal(out_arg + 1)),
                               {fail_statement(absl::StrCat("expected ", out_arg + 1, " arguments (inputs, spare buffer, steps, output)"))}));
    for (int k = 0; k < out; ++k) sweep_.check_operand(k, k, body);
    sweep_.check_operand(spare_arg, out, body);
    sweep_.check_operand(out_arg, out, body);
    cg::ExprPtr steps_wrong = cg::binary(
        cg::BinaryOp::kLogicalOr, cg::binary(cg::BinaryOp::kNe, arg_field(steps_arg, "kind"), cg::int_literal(static_cast<int>(ArgKind::kScalar))),
        cg::binary(cg::BinaryOp::kNe, arg_field(steps_arg, "dtype"), cg::int_literal(static_cast<int>(DType::kInt64))));
    body.push_back(cg::if_stmt(steps_wrong, {fail_statement(absl::StrCat("argument ", steps_arg, " (steps) must be an int64 scalar"))}));
    for (int k = 0; k < out; ++k) {
      if (sweep_.is_array(k)) sweep_.check_shape(k, out_arg, body);
    }
    sweep_.check_shape(spare_arg, out_arg, body);
  }

  // The wavefront's shape, at run time: the outer axis goes in items of
  // `item_length` indices, blocks of `block_items` items; `depth_cap` sweeps
  // advance together, as many as keep their blocks within half the cache this
  // process can count on (sejits/stencil_wavefront.h, sejits/cache_share.h).
  void plan_wavefront(std::vector<cg::StmtPtr> &body) const {
    const int64_t reach = std::max<int64_t>({ir_.low[0], ir_.high[0], 1});
    const bool rank1 = ir_.rank == 1;
    cg::ExprPtr item_points = rank1 ? cg::int_literal(kRank1ItemLength) : v("n1");
    for (int d = 2; d < ir_.rank; ++d) item_points = mul(item_points, v(absl::StrCat("n", d)));
    body.push_back(let("item_length", cg::int_literal(rank1 ? kRank1ItemLength : 1)));
    body.push_back(let("item_points", max(item_points, cg::int_literal(1))));
    body.push_back(let("reach_items", cg::int_literal(rank1 ? (reach + kRank1ItemLength - 1) / kRank1ItemLength : reach)));
    body.push_back(let("work_items", max(v("reach_items"), ceil_div(cg::int_literal(kItemPoints), v("item_points")))));
    body.push_back(let("item_bytes", mul(v("item_points"), cg::int_literal(itemsize(ir_.result.dtype)))));
    cg::ExprPtr depth = plan_.temporal_depth > 0
                            ? min(cg::int_literal(plan_.temporal_depth), v("steps"))
                            : cg::call(cg::Callee::kWavefrontDepth, {cg::call(cg::Callee::kCacheBytes, {}), v("item_bytes"), v("work_items"),
                                                                     v(kThreadCountVar), v("steps")});
    body.push_back(let("depth_cap", depth));
    body.push_back(let("block_items", cg::call(cg::Callee::kWavefrontBlockItems, {v("depth_cap"), v("work_items"), v(kThreadCountVar)})));
    body.push_back(let("block", mul(v("block_items"), v("item_length"))));
    body.push_back(let("blocks", ceil_div(v("n0"), v("block"))));
  }

  // One group of up to depth_cap sweeps, levels t0+1 .. t0+depth.
  std::vector<cg::StmtPtr> group_body() {
    std::vector<cg::StmtPtr> group;
    group.push_back(let("t0", mul(v("group"), v("depth_cap"))));
    group.push_back(let("depth", min(v("depth_cap"), sub(v("steps"), v("t0")))));
    group.push_back(let("waves", add(v("blocks"), mul(cg::int_literal(2), sub(v("depth"), cg::int_literal(1))))));
    cg::StmtPtr items = cg::for_loop("item", cg::int_literal(0), mul(v("depth"), v("block_items")), item_body(), cg::OmpFor{false});
    group.push_back(cg::parallel_region("parallel", {cg::for_loop("wave", cg::int_literal(0), v("waves"), {items})}, kThreadCountVar));
    return group;
  }

  // One whole sweep per level, each parallel over the outer axis.
  std::vector<cg::StmtPtr> sweep_after_sweep() {
    std::vector<cg::StmtPtr> level = {let("level", add(v("level0"), cg::int_literal(1)))};
    select_buffers(level);
    for (cg::StmtPtr &statement : sweep_.sweep({}, v("unit"), true)) level.push_back(statement);
    return level;
  }

  // Sweep s (of the group) on its item of the wave: block wave - 2s.
  std::vector<cg::StmtPtr> item_body() {
    std::vector<cg::StmtPtr> item;
    item.push_back(let("s", div(v("item"), v("block_items"))));
    item.push_back(let("lo", add(mul(sub(v("wave"), mul(cg::int_literal(2), v("s"))), v("block")),
                                 mul(sub(v("item"), mul(v("s"), v("block_items"))), v("item_length")))));
    std::vector<cg::StmtPtr> compute;
    compute.push_back(let("level", add(add(v("t0"), v("s")), cg::int_literal(1))));
    select_buffers(compute);
    for (cg::StmtPtr &statement : sweep_.sweep({v("lo"), min(add(v("lo"), v("item_length")), v("n0"))}, v("unit"), false)) {
      compute.push_back(statement);
    }
    cg::ExprPtr inside = cg::binary(cg::BinaryOp::kLogicalAnd, cg::binary(cg::BinaryOp::kGe, v("lo"), cg::int_literal(0)),
                                    cg::binary(cg::BinaryOp::kLt, v("lo"), v("n0")));
    item.push_back(cg::if_stmt(inside, compute));
    return item;
  }

  // src/dst (and their strides): where sweep `level` reads and writes.
  void select_buffers(std::vector<cg::StmtPtr> &compute) {
    // The last sweep writes qout: level l lives in qout when steps - l is even.
    compute.push_back(cg::decl(cg::scalar_type(cg::CType::kBool, true), "from_out",
                               cg::binary(cg::BinaryOp::kEq, cg::binary(cg::BinaryOp::kMod, sub(add(v("steps"), cg::int_literal(1)), v("level")), cg::int_literal(2)),
                                          cg::int_literal(0))));
    cg::ExprPtr first = cg::binary(cg::BinaryOp::kEq, v("level"), cg::int_literal(1));
    cg::CType type = ctype_of(ir_.result.dtype);
    for (int d = 0; d < ir_.rank; ++d) {
      std::string s = absl::StrCat("_s", d);
      compute.push_back(let("src" + s, cg::ternary(first, v("q0" + s), cg::ternary(v("from_out"), v("qout" + s), v("qspare" + s)))));
      compute.push_back(let("dst" + s, cg::ternary(v("from_out"), v("qspare" + s), v("qout" + s))));
    }
    compute.push_back(cg::decl(cg::pointer_type(type, true, true), "src", cg::ternary(first, v("q0"), cg::ternary(v("from_out"), v("qout"), v("qspare")))));
    compute.push_back(cg::decl(cg::pointer_type(type, false, true), "dst", cg::ternary(v("from_out"), v("qspare"), v("qout"))));
    sweep_.set_grid_names("src", "dst");
  }

  const StencilIr &ir_;
  const StencilPlan &plan_;
  SweepLowering sweep_;
};

}  // namespace

std::string temporal_blocking_obstacle(const StencilIr &ir) {
  if (ir.result.dtype != ir.parameters[0].type.dtype) {
    return absl::StrCat("the result (", dtype_name(ir.result.dtype), ") is not of the grid's dtype (",
                        dtype_name(ir.parameters[0].type.dtype), "), so sweeps after the first are a different kernel");
  }
  if (ir.boundary == Boundary::kWrap) return "boundary \"wrap\" reads the far end of the outer axis";
  if (ir.border) return "the border has a value of its own (a border_points() loop)";
  return "";
}

cg::Function iterate_entry(const StencilIr &ir, const StencilPlan &plan) {
  return entry_point(kIterateSymbol, IterateLowering(ir, plan).run());
}

}  // namespace sejits::specializers::stencil
