// The shapes a caller allocates for an entry point's outputs and workspaces,
// from the interface a Specialize answer carries (its shape rules) and the
// shapes of the arrays it passes. The rules mean what
// specializers/interface.h's output_shape computes in the daemon; a unit
// test (test_column_stats_test.cc) checks that the two agree.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sejits/v1/specializer.pb.h"

namespace sejits::client {

using Shape = std::vector<int64_t>;

// The shape of parameter `index` of `entry` (an output or workspace), given
// every parameter's shape so far (`shapes[k]`; empty for scalars and for
// outputs not yet known) and the request's params. INVALID_ARGUMENT when the
// shapes do not broadcast, a rule names a missing parameter, axis or param,
// or the shape must come from calling another entry (shape_entry).
absl::StatusOr<Shape> output_shape(const v1::EntryPoint &entry, int index, const std::vector<Shape> &shapes,
                                   const std::map<std::string, std::string> &params = {});

// Every parameter's shape for a call of `entry`: the inputs', in-outs' and
// scalars' from `input_shapes` (one per parameter that is not an output or a
// workspace, in order), the outputs' and workspaces' from their rules.
absl::StatusOr<std::vector<Shape>> call_shapes(const v1::EntryPoint &entry, const std::vector<Shape> &input_shapes,
                                               const std::map<std::string, std::string> &params = {});

}  // namespace sejits::client
