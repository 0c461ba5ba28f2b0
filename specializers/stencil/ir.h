// The stencil domain IR: the value of one output point as a scalar
// expression over reads of the inputs at constant offsets from that point,
// and what happens where those reads leave the grid.
#pragma once

#include <string>
#include <vector>

#include "specializers/common/scalar_ir.h"
#include "specializers/request.h"
#include "specializers/specializer.h"

namespace sejits::specializers::stencil {

// scipy.ndimage's names, plus Numba's "constant" and a "skip" that leaves
// border points alone.
enum class Boundary { kConstant, kNearest, kReflect, kMirror, kWrap, kSkip };

inline constexpr int kMaxStencilRank = 6;

struct Parameter {
  ArgKind kind;
  ScalarType type;
};

class StencilIr : public DomainIr {
 public:
  std::vector<Parameter> parameters;  // parameters[0] is the grid
  int rank = 0;
  NodeRef value;        // of type `result`
  // Boundary kSkip only (class kernels' border_points() loops): the value of
  // the border points, reading the inputs at the point itself; null: the
  // border is left as it was.
  NodeRef border;
  ScalarType result;    // strong
  // Reads reach from i - low[d] to i + high[d] along axis d.
  std::vector<int64_t> low, high;
  Boundary boundary = Boundary::kConstant;
  double cval = 0;      // for kConstant: the value of border points
  std::string describe() const override;
};

std::string boundary_name(Boundary boundary);

}  // namespace sejits::specializers::stencil
