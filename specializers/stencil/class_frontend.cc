#include "specializers/stencil/class_frontend.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "specializers/common/expr_frontend.h"

namespace sejits::specializers::stencil {
namespace {

using Offsets = std::vector<int64_t>;

// The translation of one kernel method: grid reads at point variables, the
// output point's running value, unrolled neighbour loops.
class ClassKernelTranslator {
 public:
  ClassKernelTranslator(const SourceContext &context, StencilIr &ir, std::map<std::string, int> grids, std::string output,
                        std::map<std::string, std::vector<std::vector<Offsets>>> neighbor_sets)
      : context_(context),
        ir_(ir),
        grids_(std::move(grids)),
        output_(std::move(output)),
        neighbor_sets_(std::move(neighbor_sets)),
        frontend_(context, [this](ExprFrontend &, const v1::Subscript &s, const Environment &e, int line) {
          return read(s, e, line);
        }) {}

  absl::Status translate(const v1::FunctionAst &function) {
    for (const auto &stmt : function.body()) {
      if (stmt.has_pass_stmt() || (stmt.has_expr() && stmt.expr().value().has_constant())) continue;
      if (!stmt.has_for_stmt()) return error(stmt.pos().line(), "a stencil kernel method holds one loop over out_grid.interior_points()");
      if (value_) return error(stmt.pos().line(), "only one loop over interior_points() is supported");
      const auto &loop = stmt.for_stmt();
      auto grid = iterated_grid(loop.iter(), "interior_points", 0);
      if (!grid.ok()) return grid.status();
      if (!loop.target().has_name()) return error(stmt.pos().line(), "loop over points with a single name: for x in ...");
      points_[loop.target().name().id()] = Offsets(ir_.rank, 0);
      if (absl::Status body = block(loop.body()); !body.ok()) return body;
    }
    if (!value_) return error(function.pos().line(), absl::StrCat("the kernel never assigns ", output_, "[x]"));
    return absl::OkStatus();
  }

  NodeRef value() const { return value_; }

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
    if (!grids_.count(grid) && grid != output_) return error(line, absl::StrCat("'", grid, "' is not a grid argument"));
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
    if (stmt.has_for_stmt()) return neighbor_loop(stmt.for_stmt(), line);
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
        target.subscript().value().name().id() != output_ || !is_current_point(target.subscript().slice())) {
      return error(line, absl::StrCat("only ", output_, "[x], the current point of the output grid, can be assigned"));
    }
    value_ = value;
    return absl::OkStatus();
  }

  bool is_current_point(const v1::Expr &index) const {
    if (!index.has_name()) return false;
    auto it = points_.find(index.name().id());
    return it != points_.end() && it->second == Offsets(ir_.rank, 0);
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

  // grid[p]: the output's running value at the current point, or a read.
  absl::StatusOr<NodeRef> read(const v1::Subscript &subscript, const Environment &, int line) const {
    if (!subscript.value().has_name() ||
        (!grids_.count(subscript.value().name().id()) && subscript.value().name().id() != output_)) {
      return error(line, "only grid arguments can be indexed, with a point variable: grid[x]");
    }
    const std::string &grid = subscript.value().name().id();
    if (!subscript.slice().has_name() || !points_.count(subscript.slice().name().id())) {
      return error(line, absl::StrCat(grid, " must be indexed with a point variable of an interior_points() or neighbors() loop"));
    }
    const Offsets &offsets = points_.at(subscript.slice().name().id());
    if (grid == output_) {
      if (!is_current_point(subscript.slice()) || !value_) {
        return error(line, absl::StrCat("the output grid can be read only at x, after it was assigned"));
      }
      return value_;
    }
    for (int d = 0; d < ir_.rank; ++d) {
      if (std::abs(offsets[d]) > ir_.low[d]) {
        return error(line, absl::StrCat("a neighbour at offset ", offsets[d], " along axis ", d,
                                        " reaches past the ghost cells (ghost_depth ", ir_.low[d], ")"));
      }
    }
    int index = grids_.at(grid);
    return make_relative_read(index, ir_.parameters[index].type, offsets, line);
  }

  const SourceContext &context_;
  StencilIr &ir_;
  std::map<std::string, int> grids_;  // input grid name -> parameter index
  std::string output_;
  std::map<std::string, std::vector<std::vector<Offsets>>> neighbor_sets_;  // per grid name
  ExprFrontend frontend_;
  Environment environment_;
  std::map<std::string, Offsets> points_;  // point variables -> offset from the current point
  NodeRef value_;                          // the output point's value so far
};

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
  SourceContext context{function.filename(), absl::StrCat("stencil kernel '", function.name().substr(0, 64), "'")};
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

  std::map<std::string, int> grids;
  for (int k = 0; k < static_cast<int>(request.args.size()); ++k) {
    const ArgSpec &spec = request.args[k];
    if (spec.kind != ArgKind::kArray || !is_supported_dtype(spec.dtype_code) || spec.rank != ir->rank ||
        spec.shape != request.args[output].shape) {
      return user_error(context, line, absl::StrCat("argument '", function.args(k + 1).name(), "' must be a grid like the output"));
    }
    if (k != output) grids[function.args(k + 1).name()] = static_cast<int>(ir->parameters.size());
    if (k != output) ir->parameters.push_back({ArgKind::kArray, ScalarType{static_cast<DType>(spec.dtype_code), false}});
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
  ClassKernelTranslator translator(context, *ir, grids, function.args(output + 1).name(), neighbor_sets);
  if (absl::Status translated = translator.translate(function); !translated.ok()) return translated;
  DType output_dtype = static_cast<DType>(request.args[output].dtype_code);
  ir->result = ScalarType{output_dtype, false};
  ir->value = cast_to(translator.value(), ir->result);  // assigning into the output grid converts, as NumPy does
  return ir;
}

}  // namespace sejits::specializers::stencil
