// The code variant of a reduction: choices that change speed, never results
// (the order of combination is fixed by sejits/reduce_runtime.h). Requests
// select one with "variant.<name>" params; tuning_space() is what the tuner
// searches.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "specializers/common/opencl_lowering.h"
#include "specializers/common/variant_params.h"
#include "specializers/request.h"
#include "specializers/specializer.h"
#include "tuner-db/variant.h"

namespace sejits::specializers::reduce {

struct ReducePlan final : LoweringPlan {
  Platform platform = Platform::kCpuOpenMp;
  ThreadCount threads = ThreadCount::kAll;  // C++/OpenMP
  int64_t tile = 256;  // C++/OpenMP row mode: columns per task (each with 8 accumulator rows in L1)
  OpenClPlan opencl;   // OpenCL: the work-group size (wg_x)
  int rank = 0;        // OpenCL: of the broadcast arguments, which the kernels are generated for
  std::string describe() const override;
};

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SpecializationRequest &request, Platform platform);

tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class);

}  // namespace sejits::specializers::reduce
