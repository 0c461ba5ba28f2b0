#pragma once

#include "absl/status/statusor.h"
#include "specializers/interface.h"
#include "specializers/request.h"

namespace sejits::specializers {

// What the pipeline produces: source and the interface of what it defines.
struct GeneratedKernel {
  std::string source;
  KernelInterface interface;
  std::string specializer_version;
  std::vector<std::string> libraries;  // linked beyond the defaults, e.g. "-lOpenCL"
  std::vector<std::string> notes;  // what the pipeline decided, for explain()
};

// Runs every phase of a request, in order, and returns the generated source.
absl::StatusOr<GeneratedKernel> run_pipeline(const SpecializationRequest &request);

}  // namespace sejits::specializers
