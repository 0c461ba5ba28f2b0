// The fusion domain IR. The front end evaluates the function's statements
// over lazy array values: each value is a scalar expression per element
// (the shared scalar IR) whose kParam leaves are strided views of the
// arguments (or scalar arguments), with its dimensions as run-time sizes.
// Values are never stored unless a statement needs them in memory: a
// slice assignment or in-place update of an argument, or a returned array.
// Each such store is one loop nest (a Write) that computes its whole
// expression, producers fused in.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "specializers/common/scalar_ir.h"
#include "specializers/fuse/sizes.h"
#include "specializers/request.h"
#include "specializers/specializer.h"

namespace sejits::specializers::fuse {

// A strided view of argument `param`'s memory (offset and strides in bytes),
// as NumPy's basic indexing makes them.
struct View {
  int param = -1;
  SizeRef offset;
  std::vector<SizeRef> dims, strides;
  std::string key() const;  // equal keys: the same elements in the same order
};

// NumPy's reductions (mean, std and var are written with sum).
enum class ReduceOp { kSum, kProd, kMin, kMax, kArgMin, kArgMax, kAny, kAll };
const char *reduce_op_name(ReduceOp op);

// A reduction of a value along some of its axes: its result is a leaf of
// the expressions that use it, computed where the loops that feed its kept
// axes are bound (hoisted out of the others).
struct Reduction {
  ReduceOp op = ReduceOp::kSum;
  NodeRef body;  // the reduced value, over its own leaves
  std::vector<SizeRef> body_dims;
  std::vector<bool> reduced;  // per body axis
  bool keepdims = false;
  ScalarType accumulator;     // what elements are combined in (argmin/argmax: compared in)
  ScalarType result;          // the leaf's type
  std::vector<SizeRef> dims;  // the result's
  int line = 0;
};

// What a kParam leaf of a value's expression reads.
struct Leaf {
  enum class Kind { kView, kScalar, kReduction, kSize };
  Kind kind = Kind::kView;
  View view;           // kView
  int param = -1;      // kScalar: the scalar argument
  int reduction = -1;  // kReduction: ir.reductions[reduction]
  SizeRef size;        // kSize: a run-time size (a.size, a.shape[k]) as a number
  int version = 0;     // kView: how many stores into the argument preceded the read
};

struct Parameter {
  ArgKind kind = ArgKind::kArray;
  ScalarType type;
  std::string name;
  int rank = 0;
};

// One loop nest: target[...] = value over the target's dimensions.
// Arrays are addressed as "call"'s arguments: the function's own, then the outputs.
struct Write {
  View view;                  // where: a view of an argument or of an output
  std::vector<SizeRef> dims;  // the loop nest's dimensions (the target's)
  NodeRef value;              // already of the target's dtype
  int line = 0;
  std::string what;  // "in-place update", for explain() and the generated comments
  NodeRef guard;     // a bool over numbers only: the store runs when it holds (inside `if`); null: always
  int loop = -1;     // the FuseIr::loops entry the store runs in, once per iteration; -1: none
};

// A `for` over a run-time range (or one too long to unroll): the writes
// that name it (consecutive) run once per iteration. The bounds are integer
// numbers (arguments, sizes, constants), as range(start, stop, step).
struct RuntimeLoop {
  NodeRef start, stop, step;
  int line = 0;
};

// A returned value: a new array (an output the caller allocates), or an argument as it is.
struct Returned {
  int output = -1;
  int argument = -1;
  bool python_scalar = false;  // a Python number, not a NumPy scalar
};

// An array the caller allocates for the call: a returned value, or a
// buffer (a local array the function fills, or a value stored before the
// arrays it reads are overwritten). Argument nparams + k of "call".
struct Output {
  ScalarType type;
  std::vector<SizeRef> dims;
  bool returned = false;
};

class FuseIr : public DomainIr {
 public:
  std::vector<Parameter> parameters;
  std::vector<Leaf> leaves;  // by the kParam index of every expression below
  std::vector<Reduction> reductions;
  std::vector<Write> writes;            // in program order
  std::vector<RuntimeLoop> loops;
  std::vector<std::vector<int>> nests;  // optimize: the writes each loop nest performs (consecutive, same points)
  std::map<int, int> riders;            // optimize: nest -> a reduction leaf of the next nest computed in this nest's pass
  // optimize (row_bands): for each nest that runs in the previous nest's
  // pass over rows, where its rows start against the band's first nest's:
  // at the band's row r it runs its own row r - offset.
  std::map<int, SizeRef> row_offsets;
  std::map<int, int> storage;           // "call" argument -> the first argument it may share memory with
  std::vector<Output> outputs;
  std::vector<Returned> returns;
  bool returns_tuple = false;
  std::vector<SizeRef> checks;     // run-time conditions beyond the sizes' own (non-empty reductions)
  int numpy_passes = 0;            // the passes over memory NumPy makes for the same statements (temporaries included)
  std::vector<std::string> fused;  // what was fused, for explain()
  std::string describe() const override;
};

// The dimensions a view of rank `rank` broadcast to `dims` takes (right-aligned).
View broadcast_view(const View &view, const std::vector<SizeRef> &dims);

}  // namespace sejits::specializers::fuse
