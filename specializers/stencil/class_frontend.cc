#include "specializers/stencil/class_frontend.h"

#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "specializers/common/expr_frontend.h"
#include "specializers/stencil/constant_arrays.h"

namespace sejits::specializers::stencil {
namespace {

using Offsets = std::vector<int64_t>;

// Where a loop over points runs: interior_points() (every neighbour within
// the ghost cells) or border_points() (the ghost cells themselves).
enum class Region { kInterior, kBorder };

// The translation of one kernel method for one of its output grids: grid
// reads at point variables (x, a neighbour y, or x[0] + 1, ... per axis),
// each output's running value at the current point per region, unrolled
// neighbour loops.
class ClassKernelTranslator {
 public:
  ClassKernelTranslator(const SourceContext &context, StencilIr &ir, std::map<std::string, int> grids,
                        std::set<std::string> outputs, std::string output,
                        std::map<std::string, std::vector<std::vector<Offsets>>> neighbor_sets)
      : context_(context),
        ir_(ir),
        grids_(std::move(grids)),
        outputs_(std::move(outputs)),
        output_(std::move(output)),
        neighbor_sets_(std::move(neighbor_sets)),
        frontend_(context, [this](ExprFrontend &, const v1::Subscript &s, const Environment &e, int line) {
          return read(s, e, line);
        }) {}

  // Loops over interior_points() and border_points(), in any number and
  // order; each sees what the loops before it assigned at its point.
  absl::Status translate(const v1::FunctionAst &function) {
    for (const auto &stmt : function.body()) {
      if (stmt.has_pass_stmt() || (stmt.has_expr() && stmt.expr().value().has_constant())) continue;
      const int line = stmt.pos().line();
      if (!stmt.has_for_stmt()) {
        return error(line, "a stencil kernel method holds loops over grid.interior_points() or grid.border_points()");
      }
      const auto &loop = stmt.for_stmt();
      const bool border = loop.iter().has_call() && loop.iter().call().func().has_attribute() &&
                          loop.iter().call().func().attribute().attr() == "border_points";
      auto grid = iterated_grid(loop.iter(), border ? "border_points" : "interior_points", 0);
      if (!grid.ok()) return grid.status();
      if (!loop.target().has_name() || loop.orelse_size() > 0) {
        return error(line, "loop over points with a single name: for x in ...");
      }
      region_ = border ? Region::kBorder : Region::kInterior;
      points_.clear();
      environment_.clear();
      points_[loop.target().name().id()] = Offsets(ir_.rank, 0);
      if (absl::Status body = block(loop.body()); !body.ok()) return body;
    }
    if (!values_[static_cast<int>(Region::kInterior)].count(output_)) {
      return error(function.pos().line(), absl::StrCat("the kernel never assigns ", output_,
                                                       "[x] in a loop over interior_points() (a grid written only on "
                                                       "its border is not supported)"));
    }
    return absl::OkStatus();
  }

  NodeRef value() const { return values_[static_cast<int>(Region::kInterior)].at(output_); }
  // The output's value on its border, or null where no border_points() loop assigns it.
  NodeRef border_value() const {
    const auto &border = values_[static_cast<int>(Region::kBorder)];
    auto it = border.find(output_);
    return it == border.end() ? nullptr : it->second;
  }

 private:
  absl::Status error(int line, const std::string &message) const { return user_error(context_, line, message); }

  // `grid.method(...)` as a loop's iterable; returns the grid's name.
  absl::StatusOr<std::string> iterated_grid(const v1::Expr &iter, const std::string &method, int nargs) const {
    const int line = iter.pos().line();
    if (!iter.has_call() || !iter.call().func().has_attribute() || !iter.call().func().attribute().value().has_name() ||
        iter.call().func().attribute().attr() != method || iter.call().args_size() != nargs) {
      return error(line, absl::StrCat("expected a loop over grid.", method, "(", nargs ? "x, i" : "", ")"));
    }
    std::string grid = iter.call().func().attribute().value().name().id();
    if (!grids_.count(grid) && !outputs_.count(grid)) return error(line, absl::StrCat("'", grid, "' is not a grid argument"));
    return grid;
  }

  absl::Status block(const google::protobuf::RepeatedPtrField<v1::Stmt> &body) {
    for (const auto &stmt : body) {
      if (absl::Status status = statement(stmt); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

  absl::Status statement(const v1::Stmt &stmt) {
    const int line = stmt.pos().line();
    if (stmt.has_pass_stmt()) return absl::OkStatus();
    if (stmt.has_for_stmt()) {
      const v1::Expr &iter = stmt.for_stmt().iter();
      if (iter.has_call() && iter.call().func().has_global_ref() &&
          iter.call().func().global_ref().qualified_name() == "builtins.range") {
        return range_loop(stmt.for_stmt(), line);
      }
      return neighbor_loop(stmt.for_stmt(), line);
    }
    if (stmt.has_assign() && stmt.assign().targets_size() == 1) {
      const v1::Expr &target = stmt.assign().targets(0);
      auto value = frontend_.translate_expr(stmt.assign().value(), environment_);
      if (!value.ok()) return value.status();
      if (target.has_name()) {
        environment_[target.name().id()] = *value;
        return absl::OkStatus();
      }
      return assign_output(target, *value, line);
    }
    if (stmt.has_aug_assign()) {  // out[x] += v is out[x] = out[x] + v
      v1::Expr sum;
      *sum.mutable_pos() = stmt.pos();
      sum.mutable_bin_op()->set_op(stmt.aug_assign().op());
      *sum.mutable_bin_op()->mutable_left() = stmt.aug_assign().target();
      *sum.mutable_bin_op()->mutable_right() = stmt.aug_assign().value();
      auto value = frontend_.translate_expr(sum, environment_);
      if (!value.ok()) return value.status();
      if (stmt.aug_assign().target().has_name()) {
        environment_[stmt.aug_assign().target().name().id()] = *value;
        return absl::OkStatus();
      }
      return assign_output(stmt.aug_assign().target(), *value, line);
    }
    return error(line, "a stencil kernel body holds assignments to grid points and locals, and neighbour loops");
  }

  absl::Status assign_output(const v1::Expr &target, const NodeRef &value, int line) {
    if (!target.has_subscript() || !target.subscript().value().has_name() ||
        !outputs_.count(target.subscript().value().name().id())) {
      return error(line, "only an output grid's current point, out_grid[x], can be assigned");
    }
    const std::string &grid = target.subscript().value().name().id();
    auto offsets = point_offsets(target.subscript().slice(), line);
    if (!offsets.ok()) return offsets.status();
    if (*offsets != Offsets(ir_.rank, 0)) {
      return error(line, absl::StrCat("only ", grid, "[x], the current point of the output grid, can be assigned"));
    }
    // Assigning into the grid converts to its dtype, as NumPy does; later reads see the converted value.
    values_[static_cast<int>(region_)][grid] = cast_to(value, output_types_.count(grid) ? output_types_.at(grid) : value->type);
    return absl::OkStatus();
  }

  // The offsets from the current point that an index names: a point variable
  // (x, or y of a neighbour loop), or one expression per axis, each the
  // point's coordinate along that axis plus or minus a constant:
  // grid[x[0] + 1, x[1]].
  absl::StatusOr<Offsets> point_offsets(const v1::Expr &index, int line) {
    if (index.has_name()) {
      auto it = points_.find(index.name().id());
      if (it == points_.end()) {
        return error(line, "a grid is indexed with a point variable of an interior_points(), border_points() or "
                           "neighbors() loop (x), or per axis with x[d] plus or minus a constant");
      }
      return it->second;
    }
    if (!index.has_tuple() && ir_.rank == 1) {  // a rank-1 grid: grid[x[0] + 1]
      auto offset = axis_offset(index, 0, line);
      if (!offset.ok()) return offset.status();
      return Offsets{*offset};
    }
    if (!index.has_tuple() || index.tuple().elts_size() != ir_.rank) {
      return error(line, absl::StrCat("a grid point is indexed with a point variable, or with ", ir_.rank,
                                      " coordinates such as x[0] + 1 (one per axis)"));
    }
    Offsets offsets;
    for (int d = 0; d < ir_.rank; ++d) {
      auto offset = axis_offset(index.tuple().elts(d), d, line);
      if (!offset.ok()) return offset.status();
      offsets.push_back(*offset);
    }
    return offsets;
  }

  // p[axis] + c, c + p[axis], p[axis] - c: the offset along `axis`.
  absl::StatusOr<int64_t> axis_offset(const v1::Expr &expr, int axis, int line) {
    if (expr.has_subscript() && expr.subscript().value().has_name() && points_.count(expr.subscript().value().name().id())) {
      const v1::Expr &slice = expr.subscript().slice();
      if (!slice.has_constant() || slice.constant().value_case() != v1::Constant::kIntValue) {
        return error(line, "a point's coordinate is read with a constant axis, as x[0]");
      }
      int64_t d = slice.constant().int_value();
      if (d < 0) d += ir_.rank;
      if (d != axis) {
        return error(line, absl::StrCat("coordinate ", slice.constant().int_value(), " of the point is used along axis ",
                                        axis, "; each axis is indexed with its own coordinate, x[", axis, "]"));
      }
      return points_.at(expr.subscript().value().name().id())[axis];
    }
    if (expr.has_bin_op() && (expr.bin_op().op() == v1::ADD || expr.bin_op().op() == v1::SUB)) {
      const bool left_is_point = mentions_point(expr.bin_op().left());
      if (left_is_point == mentions_point(expr.bin_op().right()) || (!left_is_point && expr.bin_op().op() == v1::SUB)) {
        return error(line, "a grid index along an axis is x[d] plus or minus a constant");
      }
      auto base = axis_offset(left_is_point ? expr.bin_op().left() : expr.bin_op().right(), axis, line);
      if (!base.ok()) return base.status();
      auto shift = frontend_.translate_expr(left_is_point ? expr.bin_op().right() : expr.bin_op().left(), environment_);
      if (!shift.ok()) return shift.status();
      const int64_t *constant = std::get_if<int64_t>(&(*shift)->value);
      if ((*shift)->op != ScalarOp::kConstant || constant == nullptr || !is_integer((*shift)->type.dtype) ||
          *constant < -64 || *constant > 64) {
        return error(line, "a grid index along an axis is x[d] plus or minus an integer constant (within 64)");
      }
      return *base + (expr.bin_op().op() == v1::ADD ? *constant : -*constant);
    }
    return error(line, "a grid index along an axis is x[d] plus or minus a constant");
  }

  bool mentions_point(const v1::Expr &expr) const {
    if (expr.has_subscript()) return expr.subscript().value().has_name() && points_.count(expr.subscript().value().name().id());
    if (expr.has_bin_op()) return mentions_point(expr.bin_op().left()) || mentions_point(expr.bin_op().right());
    return false;
  }

  // for k in range(...) with constant bounds: the body once per value, k a
  // Python int constant (so grid[x[0] + k, x[1]] and self.w[k] are constant reads).
  absl::Status range_loop(const v1::For &loop, int line) {
    constexpr int64_t kMaxIterations = 4096;
    const auto &args = loop.iter().call().args();
    if (!loop.target().has_name() || loop.orelse_size() > 0 || args.empty() || args.size() > 3 ||
        loop.iter().call().keywords_size() > 0) {
      return error(line, "a loop over range() has one name and constant bounds: for k in range(-1, 2)");
    }
    std::vector<int64_t> bounds;
    for (const auto &arg : args) {
      auto value = frontend_.translate_expr(arg, environment_);
      if (!value.ok()) return value.status();
      const int64_t *constant = std::get_if<int64_t>(&(*value)->value);
      if ((*value)->op != ScalarOp::kConstant || constant == nullptr || !is_integer((*value)->type.dtype)) {
        return error(line, "range() bounds must be integer constants (the loop is unrolled)");
      }
      bounds.push_back(*constant);
    }
    const int64_t start = bounds.size() > 1 ? bounds[0] : 0, stop = bounds.size() > 1 ? bounds[1] : bounds[0];
    const int64_t step = bounds.size() > 2 ? bounds[2] : 1;
    if (step == 0) return error(line, "range() step must not be zero");
    const std::string &name = loop.target().name().id();
    int64_t count = 0;
    for (int64_t value = start; step > 0 ? value < stop : value > stop; value += step) {
      if (++count > kMaxIterations) return error(line, absl::StrCat("the loop runs more than ", kMaxIterations, " times; sejits unrolls loops"));
      environment_[name] = make_constant(value, ScalarType{DType::kInt64, true}, line);
      if (absl::Status body = block(loop.body()); !body.ok()) return body;
    }
    return absl::OkStatus();
  }

  // for y in grid.neighbors(x, i): the body once per offset of set i.
  absl::Status neighbor_loop(const v1::For &loop, int line) {
    auto grid = iterated_grid(loop.iter(), "neighbors", 2);
    if (!grid.ok()) return grid.status();
    const auto &args = loop.iter().call().args();
    if (!args[0].has_name() || !points_.count(args[0].name().id())) return error(line, "neighbors(x, i) needs the current point x");
    if (!args[1].has_constant() || args[1].constant().value_case() != v1::Constant::kIntValue) {
      return error(line, "the neighbour set index of neighbors(x, i) must be an integer constant");
    }
    int64_t set = args[1].constant().int_value();
    const auto &sets = neighbor_sets_[*grid];
    if (set < 0 || set >= static_cast<int64_t>(sets.size())) {
      return error(line, absl::StrCat("neighbour set ", set, " is not defined (", *grid, " has ", sets.size(), ")"));
    }
    if (!loop.target().has_name()) return error(line, "loop over neighbours with a single name: for y in ...");
    const Offsets base = points_.at(args[0].name().id());
    for (const Offsets &offset : sets[set]) {
      Offsets point = base;
      for (int d = 0; d < ir_.rank; ++d) point[d] += offset[d];
      points_[loop.target().name().id()] = point;
      if (absl::Status body = block(loop.body()); !body.ok()) return body;
    }
    points_.erase(loop.target().name().id());
    return absl::OkStatus();
  }

  // grid[p]: an output's value so far at the current point, or a read.
  absl::StatusOr<NodeRef> read(const v1::Subscript &subscript, const Environment &environment, int line) {
    if (is_constant_array_read(subscript)) {  // self.weights[k]: a constant array attribute
      return read_constant_array(frontend_, context_, subscript, environment, line);
    }
    if (!subscript.value().has_name() ||
        (!grids_.count(subscript.value().name().id()) && !outputs_.count(subscript.value().name().id()))) {
      return error(line, "only grid arguments can be indexed, with a point variable: grid[x]");
    }
    const std::string &grid = subscript.value().name().id();
    auto offsets = point_offsets(subscript.slice(), line);
    if (!offsets.ok()) return offsets.status();
    if (outputs_.count(grid)) {
      const auto &assigned = values_[static_cast<int>(region_)];
      auto it = assigned.find(grid);
      if (*offsets != Offsets(ir_.rank, 0) || it == assigned.end()) {
        return error(line, absl::StrCat("the output grid ", grid, " can be read only at x, after it was assigned at x"));
      }
      return it->second;
    }
    for (int d = 0; d < ir_.rank; ++d) {
      if (region_ == Region::kBorder && (*offsets)[d] != 0) {
        return error(line, absl::StrCat("a loop over border_points() reads grids at x only: the neighbours of a border "
                                        "point may lie outside the grid (offset ", (*offsets)[d], " along axis ", d, ")"));
      }
      if (std::abs((*offsets)[d]) > ir_.low[d]) {
        return error(line, absl::StrCat("a neighbour at offset ", (*offsets)[d], " along axis ", d,
                                        " reaches past the ghost cells (ghost_depth ", ir_.low[d], ")"));
      }
    }
    int index = grids_.at(grid);
    return make_relative_read(index, ir_.parameters[index].type, *offsets, line);
  }

 public:
  std::map<std::string, ScalarType> output_types_;  // each output grid's element type

 private:
  const SourceContext &context_;
  StencilIr &ir_;
  std::map<std::string, int> grids_;  // input grid name -> parameter index
  std::set<std::string> outputs_;     // the grids the method assigns to
  std::string output_;                // the one this IR computes
  std::map<std::string, std::vector<std::vector<Offsets>>> neighbor_sets_;  // per grid name
  ExprFrontend frontend_;
  Environment environment_;
  std::map<std::string, Offsets> points_;  // point variables -> offset from the current point
  Region region_ = Region::kInterior;
  std::map<std::string, NodeRef> values_[2];  // per region: each output's value so far at the current point
};

// The grids the method assigns to (grid[...] = ..., grid[...] += ...).
void collect_written_grids(const google::protobuf::RepeatedPtrField<v1::Stmt> &body, std::set<std::string> &written) {
  for (const auto &stmt : body) {
    const v1::Expr *target = nullptr;
    if (stmt.has_assign() && stmt.assign().targets_size() == 1) target = &stmt.assign().targets(0);
    if (stmt.has_aug_assign()) target = &stmt.aug_assign().target();
    if (target != nullptr && target->has_subscript() && target->subscript().value().has_name()) {
      written.insert(target->subscript().value().name().id());
    }
    if (stmt.has_for_stmt()) collect_written_grids(stmt.for_stmt().body(), written);
  }
}

absl::StatusOr<std::vector<Offsets>> parse_neighbor_set(const std::string &text, int rank) {
  std::vector<Offsets> set;
  for (absl::string_view point : absl::StrSplit(text, ';', absl::SkipEmpty())) {
    Offsets offsets;
    for (absl::string_view part : absl::StrSplit(point, ',')) {
      int64_t value = 0;
      if (!absl::SimpleAtoi(part, &value) || value < -64 || value > 64) {
        return absl::InvalidArgumentError(absl::StrCat("bad neighbour offset '", std::string(part).substr(0, 16), "'"));
      }
      offsets.push_back(value);
    }
    if (static_cast<int>(offsets.size()) != rank) return absl::InvalidArgumentError("a neighbour offset needs one value per axis");
    set.push_back(offsets);
  }
  return set;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StencilIr>> build_class_stencil_ir(const SpecializationRequest &request) {
  if (!request.function) return absl::InvalidArgumentError("a stencil request needs the kernel method's AST");
  const v1::FunctionAst &function = *request.function;
  SourceContext context = source_context(function, "stencil kernel");
  const int line = function.pos().line();
  // Parameters: self, then one per request argument.
  if (function.args_size() != static_cast<int>(request.args.size()) + 1) {
    return user_error(context, line, "the kernel method takes self and one grid per argument");
  }
  auto get = [&](const std::string &name) -> std::string {
    auto it = request.params.find(name);
    return it == request.params.end() ? "" : it->second;
  };
  int output = -1, ghost_depth = -1;
  if (!absl::SimpleAtoi(get("output"), &output) || output < 0 || output >= static_cast<int>(request.args.size())) {
    return user_error(context, line, "the request does not say which argument is the output grid");
  }
  if (!absl::SimpleAtoi(get("ghost_depth"), &ghost_depth) || ghost_depth < 0 || ghost_depth > 64) {
    return user_error(context, line, "ghost_depth must be 0 to 64");
  }
  auto ir = std::make_unique<StencilIr>();
  ir->rank = request.args[output].rank;
  if (ir->rank < 1 || ir->rank > kMaxStencilRank) return user_error(context, line, "grids have rank 1 to 6");
  ir->boundary = Boundary::kSkip;  // ghost cells of the output are the user's
  ir->low.assign(ir->rank, ghost_depth);
  ir->high.assign(ir->rank, ghost_depth);

  std::set<std::string> written;
  collect_written_grids(function.body(), written);
  if (!written.count(function.args(output + 1).name())) {
    return user_error(context, line, absl::StrCat("the method never assigns to ", function.args(output + 1).name(), "[x]"));
  }
  std::map<std::string, int> grids;
  std::map<std::string, ScalarType> output_types;
  for (int k = 0; k < static_cast<int>(request.args.size()); ++k) {
    const ArgSpec &spec = request.args[k];
    const std::string &name = function.args(k + 1).name();
    if (spec.kind != ArgKind::kArray || !is_supported_dtype(spec.dtype_code) || spec.rank != ir->rank ||
        spec.shape != request.args[output].shape) {
      return user_error(context, line, absl::StrCat("argument '", name, "' must be a grid like the output"));
    }
    const ScalarType type{static_cast<DType>(spec.dtype_code), false};
    if (written.count(name)) {
      output_types[name] = type;
      continue;
    }
    grids[name] = static_cast<int>(ir->parameters.size());
    ir->parameters.push_back({ArgKind::kArray, type});
  }
  // "neighbors.<k>.<i>": neighbour set i of the k-th grid argument.
  std::map<std::string, std::vector<std::vector<Offsets>>> neighbor_sets;
  for (int k = 0; k < static_cast<int>(request.args.size()); ++k) {
    for (int i = 0; request.params.count(absl::StrCat("neighbors.", k, ".", i)); ++i) {
      auto set = parse_neighbor_set(get(absl::StrCat("neighbors.", k, ".", i)), ir->rank);
      if (!set.ok()) return user_error(context, line, std::string(set.status().message()));
      neighbor_sets[function.args(k + 1).name()].push_back(*set);
    }
  }
  if (ir->parameters.empty()) return user_error(context, line, "the method reads no grid it does not also write");
  ClassKernelTranslator translator(context, *ir, grids, written, function.args(output + 1).name(), neighbor_sets);
  translator.output_types_ = output_types;
  if (absl::Status translated = translator.translate(function); !translated.ok()) return translated;
  DType output_dtype = static_cast<DType>(request.args[output].dtype_code);
  ir->result = ScalarType{output_dtype, false};
  ir->value = cast_to(translator.value(), ir->result);  // assigning into the output grid converts, as NumPy does
  if (NodeRef border = translator.border_value()) ir->border = cast_to(border, ir->result);
  return ir;
}

}  // namespace sejits::specializers::stencil
