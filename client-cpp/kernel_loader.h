// Loads an artifact and calls its entry points through the kernel ABI, as the
// Python extension does.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sejits/kernel_abi.h"
#include "sejits/v1/specializer.pb.h"

namespace sejits::client {

class LoadedKernel {
 public:
  // dlopens `path` (checking the ABI version) and finds `entry_symbol`.
  static absl::StatusOr<LoadedKernel> load(const std::string &path, const std::string &entry_symbol);
  // The entry point playing `role` ("call", "iterate", ...) of the artifact a
  // Specialize answer describes; NOT_FOUND names the roles it has.
  static absl::StatusOr<LoadedKernel> load(const v1::SpecializeResponse &response, const std::string &role);
  // Calls the entry point; the kernel's error message becomes the status.
  absl::Status call(const std::vector<sejits_arg> &args) const;

 private:
  explicit LoadedKernel(sejits_entry_fn entry) : entry_(entry) {}
  sejits_entry_fn entry_;
};

// Descriptors for contiguous arrays and scalars.
sejits_arg array_arg(void *data, int32_t dtype, const std::vector<int64_t> &shape, int64_t itemsize);
sejits_arg float_scalar_arg(double value);

}  // namespace sejits::client
