// Python AST (proto) -> the fusion IR: the function's statements evaluated
// over lazy array values (see ir.h). Anything outside the subset is
// rejected with the construct and the line, and the function runs as written.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "specializers/fuse/ir.h"
#include "specializers/request.h"

namespace sejits::specializers::fuse {

// The request param listing the arguments that may share memory ("0,2;1,3"):
// the client finds them, the daemon treats each group as one array.
inline constexpr char kAliasesParam[] = "aliases";

absl::StatusOr<std::unique_ptr<FuseIr>> build_fuse_ir(const SpecializationRequest &request);

}  // namespace sejits::specializers::fuse
