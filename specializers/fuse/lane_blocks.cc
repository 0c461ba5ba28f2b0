#include "specializers/fuse/lane_blocks.h"

#include <map>
#include <set>
#include <utility>

namespace sejits::specializers::fuse {
namespace {

using Names = std::set<std::string>;

constexpr char kLane[] = "lane";
constexpr char kLaneBase[] = "lane_base";
constexpr char kLaneCount[] = "lane_count";
constexpr char kLaneBlock[] = "lane_block";

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

void add_references(const cg::ExprPtr &expr, Names &names) {
  if (!expr) return;
  std::visit(Overloaded{[&](const cg::Variable &node) { names.insert(node.name); },
                        [&](const cg::Unary &node) { add_references(node.operand, names); },
                        [&](const cg::Binary &node) {
                          add_references(node.left, names);
                          add_references(node.right, names);
                        },
                        [&](const cg::Ternary &node) {
                          add_references(node.condition, names);
                          add_references(node.if_true, names);
                          add_references(node.if_false, names);
                        },
                        [&](const cg::CallExpr &node) {
                          for (const cg::ExprPtr &arg : node.args) add_references(arg, names);
                        },
                        [&](const cg::Cast &node) { add_references(node.operand, names); },
                        [&](const cg::IndexExpr &node) {
                          add_references(node.base, names);
                          add_references(node.index, names);
                        },
                        [&](const cg::Member &node) { add_references(node.base, names); },
                        [](const auto &) {}},
             expr->node);
}

Names references(const cg::ExprPtr &expr) {
  Names names;
  add_references(expr, names);
  return names;
}

bool mentions_any(const cg::ExprPtr &expr, const Names &names) {
  for (const std::string &name : references(expr)) {
    if (names.count(name)) return true;
  }
  return false;
}

// A loop bound's spelling, to test two for the same (names, integers, arithmetic; other forms spelled apart).
std::string spelling(const cg::ExprPtr &expr) {
  if (!expr) return "";
  return std::visit(Overloaded{[](const cg::Variable &node) { return node.name; },
                               [](const cg::Literal &node) {
                                 const auto *value = std::get_if<int64_t>(&node.value);
                                 return value ? std::to_string(*value) : std::string("?");
                               },
                               [](const cg::Binary &node) {
                                 return "(" + spelling(node.left) + " " + std::to_string(static_cast<int>(node.op)) + " " +
                                        spelling(node.right) + ")";
                               },
                               [&](const auto &) { return "@" + std::to_string(reinterpret_cast<uintptr_t>(expr.get())); }},
                    expr->node);
}

// Whether evaluating `expr` again could differ or act: a call other than min and max.
bool has_effects(const cg::ExprPtr &expr) {
  if (!expr) return false;
  return std::visit(Overloaded{[](const cg::CallExpr &node) {
                                 if (node.callee != cg::Callee::kMin && node.callee != cg::Callee::kMax) return true;
                                 for (const cg::ExprPtr &arg : node.args) {
                                   if (has_effects(arg)) return true;
                                 }
                                 return false;
                               },
                               [](const cg::Unary &node) { return has_effects(node.operand); },
                               [](const cg::Binary &node) { return has_effects(node.left) || has_effects(node.right); },
                               [](const cg::Ternary &node) {
                                 return has_effects(node.condition) || has_effects(node.if_true) || has_effects(node.if_false);
                               },
                               [](const cg::Cast &node) { return has_effects(node.operand); },
                               [](const cg::IndexExpr &node) { return has_effects(node.base) || has_effects(node.index); },
                               [](const cg::Member &node) { return has_effects(node.base); },
                               [](const auto &) { return false; }},
                    expr->node);
}

// `expr` with each variable of `arrays` read at the lane: v -> v[lane].
cg::ExprPtr at_lane(const cg::ExprPtr &expr, const Names &arrays) {
  if (!expr) return expr;
  return std::visit(
      Overloaded{[&](const cg::Variable &node) {
                   return arrays.count(node.name) ? cg::index(expr, cg::var(kLane)) : expr;
                 },
                 [&](const cg::Unary &node) { return cg::unary(node.op, at_lane(node.operand, arrays)); },
                 [&](const cg::Binary &node) {
                   return cg::binary(node.op, at_lane(node.left, arrays), at_lane(node.right, arrays));
                 },
                 [&](const cg::Ternary &node) {
                   return cg::ternary(at_lane(node.condition, arrays), at_lane(node.if_true, arrays),
                                      at_lane(node.if_false, arrays));
                 },
                 [&](const cg::CallExpr &node) {
                   cg::CallExpr call = node;
                   for (cg::ExprPtr &arg : call.args) arg = at_lane(arg, arrays);
                   return std::make_shared<const cg::Expr>(cg::Expr{std::move(call)});
                 },
                 [&](const cg::Cast &node) { return cg::cast(node.type, at_lane(node.operand, arrays)); },
                 [&](const cg::IndexExpr &node) {
                   return cg::index(at_lane(node.base, arrays), at_lane(node.index, arrays));
                 },
                 [&](const cg::Member &node) {
                   return cg::member(at_lane(node.base, arrays), node.field, node.via_pointer);
                 },
                 [&](const auto &) { return expr; }},
      expr->node);
}

// The body as lanes run it: runs of lane statements between the statements
// every lane runs alike (loops, conditions that do not vary, declarations
// of what does not vary), which keep their places.
struct Segment {
  std::vector<cg::StmtPtr> run;  // lane statements; empty for a shared statement
  cg::StmtPtr shared;            // a shared statement, with its parts below where it is a loop, condition or block
  std::vector<Segment> body, else_body;
  int run_id = -1;
};

class LaneBlocks {
 public:
  LaneBlocks(std::string index, int64_t short_loop) : index_(std::move(index)), short_loop_(short_loop) {}

  std::optional<cg::StmtPtr> build(const cg::ExprPtr &begin, const cg::ExprPtr &end, const std::vector<cg::StmtPtr> &body,
                                   const LoopAnnotation &annotation) {
    walk(body, false, [&](const cg::Stmt &statement, bool) { declare(statement); });
    if (!fits_ || loops_ == 0) return std::nullopt;
    find_varying(body);
    walk(body, false, [&](const cg::Stmt &statement, bool under_varying) { check(statement, under_varying); });
    if (!fits_ || !short_loops_) return std::nullopt;
    find_recomputed();
    std::vector<Segment> segments = segment(body);
    int runs = 0;
    number_runs(segments, runs);
    find_arrays(segments);

    std::vector<cg::StmtPtr> block = {
        cg::decl(cg::scalar_type(cg::CType::kInt64, true), kLaneBase,
                 cg::binary(cg::BinaryOp::kAdd, begin, cg::binary(cg::BinaryOp::kMul, cg::var(kLaneBlock), cg::int_literal(kLanes)))),
        cg::decl(cg::scalar_type(cg::CType::kInt64, true), kLaneCount,
                 cg::call(cg::Callee::kMin, {cg::int_literal(kLanes), cg::binary(cg::BinaryOp::kSub, end, cg::var(kLaneBase))}))};
    for (const std::string &name : arrays_) {
      cg::Type type = types_.at(name);
      type.is_const = false;
      // bool arrays do not vectorize beside double ones ("no vectype"): flags are kept as 64-bit integers
      if (type.scalar == cg::CType::kBool && type.pointer_depth == 0) {
        type.scalar = cg::CType::kInt64;
        flag_arrays_.insert(name);
      }
      block.push_back(cg::decl(type, name, nullptr, kLanes, 64));
    }
    for (const cg::StmtPtr &statement : emit(segments)) block.push_back(statement);
    cg::ExprPtr blocks = cg::binary(
        cg::BinaryOp::kDiv,
        cg::binary(cg::BinaryOp::kAdd, cg::binary(cg::BinaryOp::kSub, end, begin), cg::int_literal(kLanes - 1)),
        cg::int_literal(kLanes));
    LoopAnnotation outer;
    if (const auto *parallel = std::get_if<cg::OmpParallelFor>(&annotation)) {
      cg::OmpParallelFor threads = *parallel;
      threads.simd = false;
      outer = threads;
    } else if (const auto *shared = std::get_if<cg::OmpFor>(&annotation)) {
      outer = *shared;
    }
    cg::StmtPtr lanes = cg::for_loop(kLaneBlock, cg::int_literal(0), blocks, block, outer);
    return cg::if_stmt(short_loops_, {lanes}, {cg::for_loop(index_, begin, end, body, annotation)});
  }

 private:
  // ---- what the body declares, and whether lanes can run it -----------------
  // visit(statement, under_varying) on each statement of `statements` and of
  // the bodies below it (loops, conditions, blocks), parents first, with
  // whether a condition that varies between lanes encloses it.
  template <class Visit>
  void walk(const std::vector<cg::StmtPtr> &statements, bool under_varying, const Visit &visit) const {
    for (const cg::StmtPtr &statement : statements) {
      visit(*statement, under_varying);
      std::visit(Overloaded{[&](const cg::ForStmt &node) { walk(node.body, under_varying, visit); },
                            [&](const cg::IfStmt &node) {
                              const bool varies = under_varying || mentions_any(node.condition, varying_);
                              walk(node.then_body, varies, visit);
                              walk(node.else_body, varies, visit);
                            },
                            [&](const cg::Block &node) { walk(node.body, under_varying, visit); },
                            [](const auto &) {}},
                 statement->node);
    }
  }

  bool runs_loop(const std::vector<cg::StmtPtr> &statements) const {
    bool found = false;
    walk(statements, false,
         [&](const cg::Stmt &statement, bool) { found = found || std::holds_alternative<cg::ForStmt>(statement.node); });
    return found;
  }

  // (walked: the bodies below are declare()d by walk)
  void declare(const cg::Stmt &statement) {
    std::visit(Overloaded{[&](const cg::Decl &node) {
                            if (node.array_length > 0) fits_ = false;
                            auto [it, fresh] = types_.emplace(node.name, node.type);
                            if (!fresh && (it->second.scalar != node.type.scalar ||
                                           it->second.pointer_depth != node.type.pointer_depth)) {
                              fits_ = false;
                            }
                            ++declarations_[node.name];
                            if (fresh) order_.push_back(node.name);
                            decls_[node.name] = node;
                          },
                          [&](const cg::AssignStmt &node) {
                            if (const auto *target = std::get_if<cg::Variable>(&node.target->node)) {
                              assigned_.insert(target->name);
                            } else if (!std::holds_alternative<cg::IndexExpr>(node.target->node)) {
                              fits_ = false;
                            }
                          },
                          [&](const cg::ForStmt &node) {
                            ++loops_;
                            if (!std::holds_alternative<std::monostate>(node.annotation) &&
                                !std::holds_alternative<cg::OmpSimd>(node.annotation)) {
                              fits_ = false;
                            }
                            loop_indices_.insert(node.index);
                          },
                          [](const cg::IfStmt &) {},
                          [&](const cg::Block &node) {
                            if (node.parallel) fits_ = false;
                          },
                          [](const cg::Comment &) {}, [&](const auto &) { fits_ = false; }},
               statement.node);
  }

  bool declared(const std::string &name) const { return types_.count(name) || loop_indices_.count(name); }

  // The index, and what is computed from it or under a condition on it.
  void find_varying(const std::vector<cg::StmtPtr> &body) {
    varying_ = {index_};
    for (size_t before = 0; before != varying_.size();) {
      before = varying_.size();
      walk(body, false, [&](const cg::Stmt &statement, bool under_varying) { spread(statement, under_varying); });
    }
  }

  void spread(const cg::Stmt &statement, bool under_varying) {
    std::visit(Overloaded{[&](const cg::Decl &node) {
                            if (under_varying) guarded_.insert(node.name);
                            if (under_varying || mentions_any(node.init, varying_)) varying_.insert(node.name);
                          },
                          [&](const cg::AssignStmt &node) {
                            const auto *target = std::get_if<cg::Variable>(&node.target->node);
                            if (target && (under_varying || mentions_any(node.value, varying_))) varying_.insert(target->name);
                          },
                          [](const auto &) {}},
               statement.node);
  }

  // Loops and shared stores must not vary; the innermost loops' lengths
  // (outside names only) make the run-time choice. (Walked, as declare.)
  void check(const cg::Stmt &statement, bool under_varying) {
    std::visit(Overloaded{[&](const cg::AssignStmt &node) {
                            if (const auto *target = std::get_if<cg::Variable>(&node.target->node)) {
                              if (!types_.count(target->name)) fits_ = false;  // a loop index, or declared outside
                            } else if (!mentions_any(node.target, varying_)) {
                              fits_ = false;  // every lane would store to the same element
                            }
                          },
                          [&](const cg::ForStmt &node) {
                            if (under_varying || node.step || mentions_any(node.begin, varying_) ||
                                mentions_any(node.end, varying_) || assigned_.count(node.index)) {
                              fits_ = false;
                              return;
                            }
                            if (runs_loop(node.body)) return;
                            add_short_loop(node);
                            if (!reads_shared(node.body)) fits_ = false;
                          },
                          [](const auto &) {}},
               statement.node);
  }

  // Whether an element read in `expr` is the same for every lane.
  bool shared_element(const cg::ExprPtr &expr) const {
    if (!expr) return false;
    if (const auto *element = std::get_if<cg::IndexExpr>(&expr->node)) {
      if (!mentions_any(expr, varying_)) return true;
      return shared_element(element->base) || shared_element(element->index);
    }
    bool found = false;
    std::visit(Overloaded{[&](const cg::Unary &node) { found = shared_element(node.operand); },
                          [&](const cg::Binary &node) { found = shared_element(node.left) || shared_element(node.right); },
                          [&](const cg::Ternary &node) {
                            found = shared_element(node.condition) || shared_element(node.if_true) ||
                                    shared_element(node.if_false);
                          },
                          [&](const cg::CallExpr &node) {
                            for (const cg::ExprPtr &arg : node.args) found = found || shared_element(arg);
                          },
                          [&](const cg::Cast &node) { found = shared_element(node.operand); },
                          [](const auto &) {}},
               expr->node);
    return found;
  }

  // Lanes pay where an innermost loop combines each element with values all
  // lanes share (k-means' centroids, read once for 64 points), not where it
  // only streams each element's own row: a row sum read as gathers across
  // 64 rows took 7.2 ms where one row at a time took 1.5.
  bool reads_shared(const std::vector<cg::StmtPtr> &statements) const {
    bool found = false;
    walk(statements, false, [&](const cg::Stmt &statement, bool) {
      found = found || std::visit(Overloaded{[&](const cg::Decl &node) { return shared_element(node.init); },
                                             [&](const cg::AssignStmt &node) { return shared_element(node.value); },
                                             [&](const cg::IfStmt &node) { return shared_element(node.condition); },
                                             [](const auto &) { return false; }},
                                  statement.node);
    });
    return found;
  }

  void add_short_loop(const cg::ForStmt &loop) {
    for (const cg::ExprPtr &bound : {loop.begin, loop.end}) {
      for (const std::string &name : references(bound)) {
        if (declared(name)) fits_ = false;  // not known before the loop
      }
    }
    const std::string length = spelling(loop.end) + " - " + spelling(loop.begin);
    if (!lengths_.insert(length).second) return;
    cg::ExprPtr is_short = cg::binary(cg::BinaryOp::kLt, cg::binary(cg::BinaryOp::kSub, loop.end, loop.begin),
                                      cg::int_literal(short_loop_));
    short_loops_ = short_loops_ ? cg::binary(cg::BinaryOp::kLogicalAnd, short_loops_, is_short) : is_short;
  }

  // Varying values declared once, never assigned, from the index and what
  // does not vary: recomputed in each run that reads them.
  void find_recomputed() {
    for (const std::string &name : order_) {
      // (one under a condition that varies is not: its reads may be valid only where the condition holds)
      if (!varying_.count(name) || declarations_.at(name) != 1 || assigned_.count(name) || guarded_.count(name)) continue;
      const cg::Decl &decl = decls_.at(name);
      if (!decl.init || has_effects(decl.init)) continue;
      bool fixed = true;
      for (const std::string &used : references(decl.init)) {
        if (used == index_ || recomputed_.count(used) || loop_indices_.count(used)) continue;
        if (varying_.count(used) || assigned_.count(used)) fixed = false;
      }
      if (fixed) recomputed_.insert(name);
    }
  }

  // ---- segments ----------------------------------------------------------------
  bool lane_statement(const cg::Stmt &statement) const {
    return std::visit(Overloaded{[&](const cg::Decl &node) { return varying_.count(node.name) > 0; },
                                 [&](const cg::AssignStmt &node) {
                                   const auto *target = std::get_if<cg::Variable>(&node.target->node);
                                   return !target || varying_.count(target->name) > 0;
                                 },
                                 [&](const cg::IfStmt &node) { return mentions_any(node.condition, varying_); },
                                 [](const auto &) { return false; }},
                      statement.node);
  }

  std::vector<Segment> segment(const std::vector<cg::StmtPtr> &statements) const {
    std::vector<Segment> segments;
    for (const cg::StmtPtr &statement : statements) {
      const bool comment_in_run =
          std::holds_alternative<cg::Comment>(statement->node) && !segments.empty() && !segments.back().run.empty();
      if (comment_in_run || lane_statement(*statement)) {
        if (segments.empty() || segments.back().run.empty()) segments.emplace_back();
        segments.back().run.push_back(statement);
        continue;
      }
      Segment shared;
      shared.shared = statement;
      if (const auto *loop = std::get_if<cg::ForStmt>(&statement->node)) {
        shared.body = segment(loop->body);
      } else if (const auto *condition = std::get_if<cg::IfStmt>(&statement->node)) {
        shared.body = segment(condition->then_body);
        shared.else_body = segment(condition->else_body);
      } else if (const auto *block = std::get_if<cg::Block>(&statement->node)) {
        shared.body = segment(block->body);
      }
      segments.push_back(std::move(shared));
    }
    return segments;
  }

  void number_runs(std::vector<Segment> &segments, int &runs) {
    for (Segment &segment : segments) {
      if (!segment.run.empty()) segment.run_id = runs++;
      number_runs(segment.body, runs);
      number_runs(segment.else_body, runs);
    }
  }

  // The names a run's statements declare or read.
  Names names_in(const std::vector<cg::StmtPtr> &run) const {
    Names names;
    walk(run, false, [&](const cg::Stmt &statement, bool) {
      std::visit(Overloaded{[&](const cg::Decl &node) {
                              names.insert(node.name);
                              add_references(node.init, names);
                            },
                            [&](const cg::AssignStmt &node) {
                              add_references(node.target, names);
                              add_references(node.value, names);
                            },
                            [&](const cg::IfStmt &node) { add_references(node.condition, names); },
                            [](const auto &) {}},
                 statement.node);
    });
    return names;
  }

  // Varying values that more than one run names live in per-lane arrays.
  void find_arrays(const std::vector<Segment> &segments) {
    std::map<std::string, std::set<int>> runs_naming;
    collect_runs(segments, runs_naming);
    for (const auto &[name, runs] : runs_naming) {
      if (runs.size() > 1 && name != index_ && varying_.count(name) && !recomputed_.count(name)) arrays_.insert(name);
    }
  }

  // name -> the ids of the runs that name it
  void collect_runs(const std::vector<Segment> &segments, std::map<std::string, std::set<int>> &runs_naming) const {
    for (const Segment &segment : segments) {
      for (const std::string &name : names_in(segment.run)) runs_naming[name].insert(segment.run_id);
      collect_runs(segment.body, runs_naming);
      collect_runs(segment.else_body, runs_naming);
    }
  }

  // ---- emission ----------------------------------------------------------------
  // A value stored into `name`'s lane: a bool's as 0 or 1 in its 64-bit flag array, as the bool would hold it.
  cg::ExprPtr as_stored(const std::string &name, cg::ExprPtr value) const {
    return flag_arrays_.count(name) ? cg::cast(cg::scalar_type(cg::CType::kBool), std::move(value)) : value;
  }

  cg::StmtPtr in_lane(const cg::StmtPtr &statement) const {
    return std::visit(
        Overloaded{[&](const cg::Decl &node) -> cg::StmtPtr {
                     if (!arrays_.count(node.name)) return cg::decl(node.type, node.name, at_lane(node.init, arrays_));
                     if (!node.init) return cg::comment(node.name + " per lane");
                     return cg::assign(cg::index(cg::var(node.name), cg::var(kLane)), as_stored(node.name, at_lane(node.init, arrays_)));
                   },
                   [&](const cg::AssignStmt &node) -> cg::StmtPtr {
                     const auto *target = std::get_if<cg::Variable>(&node.target->node);
                     cg::ExprPtr value = at_lane(node.value, arrays_);
                     return cg::assign(at_lane(node.target, arrays_), target ? as_stored(target->name, value) : value);
                   },
                   [&](const cg::IfStmt &node) -> cg::StmtPtr {
                     std::vector<cg::StmtPtr> then_body, else_body;
                     for (const cg::StmtPtr &inner : node.then_body) then_body.push_back(in_lane(inner));
                     for (const cg::StmtPtr &inner : node.else_body) else_body.push_back(in_lane(inner));
                     return cg::if_stmt(at_lane(node.condition, arrays_), then_body, else_body);
                   },
                   [&](const auto &) { return statement; }},
        statement->node);
  }

  // One run: a simd loop over the lanes, each with its element's index and
  // the recomputed values the run reads but does not declare.
  std::vector<cg::StmtPtr> emit_run(const std::vector<cg::StmtPtr> &run) const {
    Names named = names_in(run), declared_here;
    for (const cg::StmtPtr &statement : run) {
      if (const auto *decl = std::get_if<cg::Decl>(&statement->node)) declared_here.insert(decl->name);
    }
    bool only_recomputed = true;
    for (const cg::StmtPtr &statement : run) {
      const auto *decl = std::get_if<cg::Decl>(&statement->node);
      if (!decl || !recomputed_.count(decl->name)) only_recomputed = false;
    }
    if (only_recomputed) return {};  // each reader recomputes them
    Names needed;
    for (size_t before = 1; before != needed.size();) {
      before = needed.size();
      for (const std::string &name : named) {
        if (recomputed_.count(name) && !declared_here.count(name) && needed.insert(name).second) {
          add_references(decls_.at(name).init, named);
        }
      }
    }
    std::vector<cg::StmtPtr> body = {cg::decl(cg::scalar_type(cg::CType::kInt64, true), index_,
                                              cg::binary(cg::BinaryOp::kAdd, cg::var(kLaneBase), cg::var(kLane)))};
    for (const std::string &name : order_) {
      if (needed.count(name)) body.push_back(cg::decl(decls_.at(name).type, name, decls_.at(name).init));
    }
    for (const cg::StmtPtr &statement : run) body.push_back(in_lane(statement));
    return {cg::for_loop(kLane, cg::int_literal(0), cg::var(kLaneCount), body, cg::OmpSimd{})};
  }

  std::vector<cg::StmtPtr> emit(const std::vector<Segment> &segments) const {
    std::vector<cg::StmtPtr> statements;
    for (const Segment &segment : segments) {
      if (!segment.run.empty()) {
        for (const cg::StmtPtr &statement : emit_run(segment.run)) statements.push_back(statement);
        continue;
      }
      const cg::Stmt &shared = *segment.shared;
      if (const auto *loop = std::get_if<cg::ForStmt>(&shared.node)) {
        statements.push_back(cg::for_loop(loop->index, loop->begin, loop->end, emit(segment.body)));  // its simd clause is the lanes'
      } else if (const auto *condition = std::get_if<cg::IfStmt>(&shared.node)) {
        statements.push_back(cg::if_stmt(condition->condition, emit(segment.body), emit(segment.else_body)));
      } else if (std::holds_alternative<cg::Block>(shared.node)) {
        statements.push_back(cg::block(emit(segment.body)));
      } else {
        statements.push_back(segment.shared);
      }
    }
    return statements;
  }

  const std::string index_;
  const int64_t short_loop_;
  bool fits_ = true;
  int loops_ = 0;
  cg::ExprPtr short_loops_;
  std::map<std::string, cg::Type> types_;
  std::map<std::string, cg::Decl> decls_;  // the last declaration of each name
  std::map<std::string, int> declarations_;
  std::vector<std::string> order_;  // names in the order first declared
  Names loop_indices_, assigned_, varying_, recomputed_, arrays_;
  Names guarded_;      // declared under a condition that varies between lanes
  Names flag_arrays_;  // bool values kept per lane as 64-bit integers
  Names lengths_;  // the innermost loops' lengths already in short_loops_, as spelled
};

}  // namespace

std::optional<cg::StmtPtr> lane_blocked_loop(const std::string &index, const cg::ExprPtr &begin, const cg::ExprPtr &end,
                                             const std::vector<cg::StmtPtr> &body, const LoopAnnotation &annotation,
                                             int64_t short_loop) {
  return LaneBlocks(index, short_loop).build(begin, end, body, annotation);
}

}  // namespace sejits::specializers::fuse
