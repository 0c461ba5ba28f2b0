// The element-wise domain IR: the value one output element gets, as a
// scalar expression over the parameters' elements.
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

class ElementwiseIr : public DomainIr {
 public:
  std::vector<Parameter> parameters;
  NodeRef value;          // of type `result`
  ScalarType result;      // strong
  std::string describe() const override;
};

}  // namespace sejits::specializers::elementwise
