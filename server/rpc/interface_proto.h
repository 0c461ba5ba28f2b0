// The artifact interface (specializers/interface.h) and its wire form.
#pragma once

#include "absl/status/statusor.h"
#include "sejits/v1/specializer.pb.h"
#include "specializers/interface.h"

namespace sejits::server::rpc {

void to_proto(const specializers::KernelInterface &interface, v1::KernelInterface &out);
// INVALID_ARGUMENT for a role or dtype this daemon does not know.
absl::StatusOr<specializers::KernelInterface> from_proto(const v1::KernelInterface &interface);

}  // namespace sejits::server::rpc
