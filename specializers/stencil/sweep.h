// One sweep of a stencil as target-AST statements, shared by the entry
// points (a single sweep, and `iterate`'s temporally blocked sweeps): the
// operands' declarations, the value of one point, and the loop nests over a
// window of the outer axis -- a branch-free interior and the border slabs.
#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/stencil/ir.h"
#include "specializers/stencil/plan.h"

namespace sejits::specializers::stencil {

// [begin, end) along one axis.
struct AxisRange {
  codegen::ExprPtr begin, end;
};

// Spatial blocking of a sweep's interior: tiles of `rows` along axis 1 (rank
// 3 and up) by `cols` along the last axis (rank 2 and up); 0: that axis whole.
struct Tiling {
  int64_t rows = 0;
  int64_t cols = 0;
};

class SweepLowering {
 public:
  explicit SweepLowering(const StencilIr &ir) : ir_(ir), out_(static_cast<int>(ir.parameters.size())) {}

  // The output's operand number: after the parameters.
  int output() const { return out_; }
  bool is_array(int operand) const { return operand == out_ || ir_.parameters[operand].kind == ArgKind::kArray; }
  DType dtype_of(int operand) const { return operand == out_ ? ir_.result.dtype : ir_.parameters[operand].type.dtype; }

  // Fails unless args[arg] is an operand of this kind, dtype and rank.
  void check_operand(int arg, int operand, std::vector<codegen::StmtPtr> &body) const;
  // Fails unless args[arg] has the output's (args[shape_arg]'s) shape.
  void check_shape(int arg, int shape_arg, std::vector<codegen::StmtPtr> &body) const;
  // `name` points at args[arg]'s data; `name_s<d>` are its strides in elements.
  void declare_array(int arg, int operand, const std::string &name, std::vector<codegen::StmtPtr> &body) const;
  // s<arg>: the value of scalar parameter `arg` (passed as args[arg]).
  void declare_scalar(int arg, std::vector<codegen::StmtPtr> &body) const;
  // n<d>: the grid's extents, from args[arg]; a<d>, b<d>: where the interior
  // (every read inside the grid) starts and ends.
  void declare_extents(int arg, std::vector<codegen::StmtPtr> &body) const;
  // grid_bytes: the output's size; parallel: worth threads (large enough, and
  // the caller, args[out_arg], did not ask for a serial call); nthreads: the
  // team size of the variant; error_flag.
  void declare_work(int out_arg, ThreadCount threads, std::vector<codegen::StmtPtr> &body) const;
  // True when every named array is contiguous along the last axis.
  codegen::ExprPtr unit_inner(const std::vector<std::string> &arrays) const;
  // The pointer names of the array parameters other than the grid.
  std::vector<std::string> extra_arrays() const;

  // The grid is read through `source`, the output written through `target`.
  void set_grid_names(std::string source, std::string target);

  // The output on [window.begin, window.end) of the outer axis: the interior,
  // unit-stride when `unit` holds, then the border slabs. `parallel`: threads
  // over the outer axis (false inside a parallel region). `streaming`: when
  // non-null, the interior writes rows through scratch and non-temporal
  // stores while it holds. `tiling`: spatial blocking of the interior
  // (see Tiling and outer_loops).
  std::vector<codegen::StmtPtr> sweep(const AxisRange &window, codegen::ExprPtr unit, bool parallel,
                                      codegen::ExprPtr streaming = nullptr, Tiling tiling = {}) const;
  // Copies the border (every point outside the interior) from `from` to `to`.
  std::vector<codegen::StmtPtr> copy_border(const std::string &from, const std::string &to) const;

  // Where a point lies: reads of the interior stay inside the grid; border
  // reads go through the boundary mode.
  // kInteriorCentered: reads at `<array>_at` (declare_centers) plus each
  // offset times its stride, one add per read instead of a product per axis.
  enum class Region { kInterior, kInteriorUnitStride, kInteriorCentered, kBorder };
  // The statements that compute the point (i0, ..., i<rank-1>) and assign it
  // to `target`; element(output(), {}, region) is the output's point.
  std::vector<codegen::StmtPtr> point_body(Region region, codegen::ExprPtr target) const;
  codegen::ExprPtr element(int operand, const std::vector<int64_t> &offsets, Region region) const;
  // `<array>_at`: the current point's offset in each array, for kInteriorCentered.
  std::vector<codegen::StmtPtr> declare_centers(codegen::CType index_type = codegen::CType::kInt64) const;
  static std::string center_name(const std::string &array);

 private:
  std::string name_of(int operand) const;
  codegen::ExprPtr flat_index(const std::string &array, const std::vector<int64_t> &offsets, Region region) const;
  std::vector<AxisRange> interior(const AxisRange &window) const;
  codegen::StmtPtr outer_loops(const std::vector<AxisRange> &ranges, int first, std::vector<codegen::StmtPtr> body,
                               bool parallel, Tiling tiling) const;
  codegen::StmtPtr loop_nest(const std::vector<AxisRange> &ranges, std::vector<codegen::StmtPtr> body, bool parallel,
                             Tiling tiling = {}) const;
  codegen::StmtPtr streaming_nest(const std::vector<AxisRange> &ranges, bool parallel, Tiling tiling) const;
  std::vector<std::vector<AxisRange>> border_slabs(const AxisRange &window) const;

  const StencilIr &ir_;
  int out_;
  std::string source_ = "q0", target_ = "qout";
};

}  // namespace sejits::specializers::stencil
