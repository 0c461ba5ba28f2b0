// Lowers a scalar IR DAG to vectorized NumPy statements (the "numpy"
// platform): each node one whole-array operation in the node's own dtype
// (NumPy ufuncs on arrays and NumPy scalars, Python arithmetic on Python
// scalars), conditionals as np.where, casts as astype. Single-use temporaries
// are overwritten in place (ufunc out=) and the value's chain of operations
// writes straight into the destination (which the caller allocates fresh:
// nothing the kernel reads aliases it), so a kernel costs what hand-written
// NumPy does, or less. Nothing is evaluated per element in Python.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "specializers/common/python_module.h"
#include "specializers/common/scalar_ir.h"

namespace sejits::specializers {

// What a domain tells the printer about the kernel's parameters.
struct NumpyOperands {
  std::function<bool(int index)> is_array;
  // The Python name (declared by the domain's printer) of array parameter
  // `index` read at `offsets` from the current point: an array or a view.
  std::function<std::string(int index, const std::vector<int64_t> &offsets)> array_read;
  // Reads of one shape class have one shape at run time: each element-wise
  // argument is its own class; every read of a stencil has the interior's shape.
  std::function<int(int index)> shape_class;
  // Whether the buffer of a temporary computed over reads of
  // `buffer_classes` can take the value of an operation over `classes` in
  // place (np.add(t, b, out=t)): nullopt when never, else a Python condition
  // on the buffer (the `{}` in it), checked at run time; empty when always.
  std::function<std::optional<std::string>(const std::set<int> &buffer_classes, const std::set<int> &classes)> reuse_condition;
};

// Appends, at `indent`, the statements that compute `root` (of the
// destination's dtype) into the writable ndarray named `destination`, whose
// shape every read broadcasts to. Scalar arguments are read from `args`
// where first used. FAILED_PRECONDITION ("no vectorized NumPy
// form: ...") for what NumPy cannot do without per-element Python.
absl::Status print_numpy_value(const NodeRef &root, const NumpyOperands &operands, const std::string &destination,
                               int indent, PythonModule &module);

}  // namespace sejits::specializers
