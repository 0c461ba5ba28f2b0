#include "specializers/fuse/row_bands.h"

#include <optional>
#include <set>
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "specializers/fuse/optimize.h"

namespace sejits::specializers::fuse {
namespace {

// One array access of a nest, at the nest's points.
struct Access {
  View view;
  bool write = false;
};

// What a nest touches: its stores' targets and the views its values read
// at its points, and the storages its reductions read (anywhere).
struct Footprint {
  std::vector<Access> accesses;
  std::set<int> reduced_storages;
  std::set<int> written_storages;
};

bool mentions(const SizeRef &size, const std::string &key) {
  if (size->key == key) return true;
  for (const SizeRef &operand : size->operands) {
    if (mentions(operand, key)) return true;
  }
  return false;
}

void add_terms(const SizeRef &size, std::vector<SizeRef> &terms) {
  if (size->op == SizeOp::kAdd) {
    for (const SizeRef &operand : size->operands) add_terms(operand, terms);
  } else {
    terms.push_back(size);
  }
}

// `size` as far as which elements it reaches: a stride that is 0 on an
// axis of length 1 reaches the same (only index 0) as the stride itself; a
// length checked to fit a target's is the target's.
const SizeRef &reach(const SizeRef &size) {
  if (size->op == SizeOp::kStrideUnlessOne || size->op == SizeOp::kFitsInto) return size->operands[1];
  return size;
}

// The row of its argument (axis 0) that row 0 of `view` is, where the view
// walks that axis with step 1 as the nest's outer axis and its other axes
// stay within one row; otherwise why not (a transposed or broadcast view,
// a step, an integer index on axis 0).
std::variant<SizeRef, std::string> first_row(const View &view, const std::vector<SizeRef> &dims) {
  const std::string not_rows = "they share an array through views that are not whole rows of it";
  if (view.dims.size() != dims.size()) return not_rows;
  // A length that is only known to fit the nest's could be 1: the view would be broadcast along the rows.
  if (!same_size(reach(view.dims[0]), reach(dims[0]))) return std::string("an array they share might be broadcast along the rows");
  const std::string outer = size_stride(view.param, 0)->key;
  if (reach(view.strides[0])->key != outer) return not_rows;
  for (size_t d = 1; d < view.strides.size(); ++d) {
    if (mentions(view.strides[d], outer)) return not_rows;
  }
  std::vector<SizeRef> terms;
  add_terms(view.offset, terms);
  SizeRef row = size_constant(0);
  for (const SizeRef &term : terms) {
    if (term->op == SizeOp::kMul && term->operands.size() == 2 &&
        (reach(term->operands[0])->key == outer || reach(term->operands[1])->key == outer)) {
      const SizeRef &index = reach(term->operands[0])->key == outer ? term->operands[1] : term->operands[0];
      if (mentions(index, outer)) return not_rows;
      row = size_add(row, index);
    } else if (mentions(term, outer)) {
      return not_rows;
    }
  }
  return row;
}

class BandAnalysis {
 public:
  explicit BandAnalysis(const FuseIr &ir) : ir_(ir) {}

  Footprint footprint(int nest) const {
    Footprint print;
    auto read = [&](const NodeRef &value) {
      for (const NodeRef &node : topological_order(value)) {
        if (node->op != ScalarOp::kParam) continue;
        const Leaf &leaf = ir_.leaves[node->param_index];
        if (leaf.kind == Leaf::Kind::kView) print.accesses.push_back({leaf.view, false});
        if (leaf.kind == Leaf::Kind::kReduction) add_storages_read(ir_, ir_.reductions[leaf.reduction].body, print.reduced_storages);
      }
    };
    for (int w : ir_.nests[nest]) {
      print.accesses.push_back({ir_.writes[w].view, true});
      print.written_storages.insert(storage(ir_.writes[w].view.param));
      read(ir_.writes[w].value);
    }
    // The rider's element is read at this nest's points.
    if (auto rider = ir_.riders.find(nest); rider != ir_.riders.end()) {
      read(ir_.reductions[ir_.leaves[rider->second].reduction].body);
    }
    return print;
  }

  // The offset of `next`'s rows from the band's, given the band's nests so
  // far (`offsets`, by nest), or why it cannot join.
  std::variant<SizeRef, std::string> offset_of(const std::map<int, SizeRef> &offsets, int next) const {
    const std::vector<SizeRef> &next_dims = dims(next);
    const Footprint second = footprint(next);
    std::optional<SizeRef> offset;
    for (const auto &[nest, nest_offset] : offsets) {
      if (dims(nest).size() != next_dims.size()) return std::string("it covers a different number of dimensions");
      if (ir_.writes[ir_.nests[nest].front()].guard != ir_.writes[ir_.nests[next].front()].guard) {
        return std::string("it runs under another condition");
      }
      if (ir_.writes[ir_.nests[nest].front()].loop != ir_.writes[ir_.nests[next].front()].loop) {
        return std::string("one of them runs in a loop over a run-time range");
      }
      const Footprint first = footprint(nest);
      for (int s : first.written_storages) {
        if (second.reduced_storages.count(s)) return std::string("a reduction of it reads what the nest before it writes");
      }
      for (int s : second.written_storages) {
        if (first.reduced_storages.count(s)) return std::string("a reduction before it reads what it writes");
      }
      for (const Access &x : first.accesses) {
        for (const Access &y : second.accesses) {
          if (!(x.write || y.write) || storage(x.view.param) != storage(y.view.param)) continue;
          const auto x_row = first_row(x.view, dims(nest)), y_row = first_row(y.view, next_dims);
          if (const auto *why = std::get_if<std::string>(&x_row)) return *why;
          if (const auto *why = std::get_if<std::string>(&y_row)) return *why;
          // Row i of `nest` and row j of `next` run at band row i + nest_offset = j + offset;
          // they touch the same argument row where x_row + i = y_row + j.
          SizeRef candidate =
              size_add(size_add(nest_offset, std::get<SizeRef>(y_row)), size_mul(std::get<SizeRef>(x_row), size_constant(-1)));
          if (offset && !same_size(*offset, candidate)) return std::string("they share an array at rows that differ between views");
          offset = candidate;
        }
      }
    }
    if (!offset) return std::string("it shares no written array with the nests before it");
    return *offset;
  }

  const std::vector<SizeRef> &dims(int nest) const { return ir_.writes[ir_.nests[nest].front()].dims; }

 private:
  int storage(int param) const { return ir_.storage.at(param); }

  const FuseIr &ir_;
};

}  // namespace

void band_rows(FuseIr &ir, std::vector<std::string> &notes) {
  BandAnalysis analysis(ir);
  ir.row_offsets.clear();
  std::map<int, SizeRef> band;  // the current band's nests and their row offsets
  for (int n = 0; n < static_cast<int>(ir.nests.size()); ++n) {
    const bool rows = analysis.dims(n).size() >= 2;
    // A rider of the nest before is a reduction this nest needs before its loops.
    if (n > 0 && rows && !band.empty() && !ir.riders.count(n - 1)) {
      auto offset = analysis.offset_of(band, n);
      if (const auto *joined = std::get_if<SizeRef>(&offset)) {
        band[n] = *joined;
        ir.row_offsets[n] = *joined;
        notes.push_back(absl::StrCat("fused: loop nest ", n + 1, " runs in the pass over rows of loop nest ", band.begin()->first + 1,
                                     ", each of its rows right after the rows before it that write what it reads"));
        continue;
      }
      notes.push_back(absl::StrCat("not banded: loop nest ", n + 1, " runs in a pass of its own: ", std::get<std::string>(offset)));
    }
    band.clear();
    if (rows) band[n] = size_constant(0);
  }
}

int passes_over_memory(const FuseIr &ir) {
  int passes = 0;
  for (int n = 0; n < static_cast<int>(ir.nests.size()); ++n) {
    if (ir.row_offsets.count(n)) continue;  // in the pass of the band it joined
    if (!ir.writes[ir.nests[n].front()].dims.empty()) {
      ++passes;
      continue;
    }
    // A 0-D nest (numbers) passes over memory only for a reduction the nest before did not carry.
    bool reduces = false;
    for (int w : ir.nests[n]) {
      for (const NodeRef &node : topological_order(ir.writes[w].value)) {
        reduces = reduces || (node->op == ScalarOp::kParam && ir.leaves[node->param_index].kind == Leaf::Kind::kReduction);
      }
    }
    passes += reduces && !ir.riders.count(n - 1);
  }
  return passes;
}

}  // namespace sejits::specializers::fuse
