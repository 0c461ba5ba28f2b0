// The fusion domain IR. The front end evaluates the function's statements
// over lazy array values: each value is a scalar expression per element
// (the shared scalar IR) whose kParam leaves are strided views of the
// arguments (or scalar arguments), with its dimensions as run-time sizes.
// Values are never stored unless a statement needs them in memory: a
// slice assignment or in-place update of an argument, or a returned array.
// Each such store is one loop nest (a Write) that computes its whole
// expression, producers fused in.
#pragma once

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

// What a kParam leaf of a value's expression reads.
struct Leaf {
  enum class Kind { kView, kScalar };
  Kind kind = Kind::kView;
  View view;      // kView
  int param = -1;  // kScalar: the scalar argument
  int version = 0;  // how many stores into the argument preceded the read
};

struct Parameter {
  ArgKind kind = ArgKind::kArray;
  ScalarType type;
  std::string name;
  int rank = 0;
};

// One loop nest: target[...] = value over the target's dimensions.
struct Write {
  enum class Target { kArgument, kOutput };
  Target target = Target::kOutput;
  int index = 0;   // the argument, or the output
  View view;       // kArgument: where in it; kOutput: unused (outputs are C-contiguous)
  std::vector<SizeRef> dims;  // the loop nest's (the target's) dimensions
  NodeRef value;   // already of the target's dtype
  bool buffered = false;  // the value reads the target's memory through another view: computed whole first
  int line = 0;
  std::string what;  // "v[1:-1, 1:-1] += ...", for explain()
};

// A returned value: a new array (an output the caller allocates), or an argument as it is.
struct Returned {
  int output = -1;
  int argument = -1;
  bool python_scalar = false;  // a Python number, not a NumPy scalar
};

struct Output {
  ScalarType type;
  std::vector<SizeRef> dims;
};

class FuseIr : public DomainIr {
 public:
  std::vector<Parameter> parameters;
  std::vector<Leaf> leaves;  // by the kParam index of every expression below
  std::vector<Write> writes;  // in program order
  std::vector<Output> outputs;
  std::vector<Returned> returns;
  bool returns_tuple = false;
  int numpy_passes = 0;  // the passes over memory NumPy makes for the same statements (temporaries included)
  std::vector<std::string> fused;  // what was fused, for explain()
  std::string describe() const override;
};

// The dimensions a view of rank `rank` broadcast to `dims` takes (right-aligned).
View broadcast_view(const View &view, const std::vector<SizeRef> &dims);

}  // namespace sejits::specializers::fuse
