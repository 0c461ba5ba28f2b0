// The element-wise domain IR: the value each output's element gets, as a
// scalar expression over the parameters' elements (one output, or several
// for a kernel that returns a tuple, as NumPy's divmod does).
#pragma once

#include <string>
#include <vector>

#include "specializers/common/scalar_ir.h"
#include "specializers/request.h"
#include "specializers/specializer.h"

namespace sejits::specializers::elementwise {

struct Parameter {
  ArgKind kind;
  ScalarType type;  // the element type (weak for Python scalars)
};

struct Output {
  NodeRef value;    // of type `type`
  ScalarType type;  // strong
};

class ElementwiseIr : public DomainIr {
 public:
  std::vector<Parameter> parameters;
  std::vector<Output> outputs;  // at least one; the entry point takes them after the parameters, in order
  std::string describe() const override;
};

}  // namespace sejits::specializers::elementwise
