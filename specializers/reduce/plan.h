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
  // C++/OpenMP row mode: columns per task. Each row of a tile is then at
  // least one 4 KiB page of each float64 operand (hardware prefetchers stream
  // within a page: 256 columns of 32 KiB rows ran at half the bandwidth), and
  // its 8 accumulator rows (64 KiB of float64) stay in any server's L2.
  int64_t tile = 1024;
  OpenClPlan opencl;   // OpenCL: the work-group size (wg_x)
  int rank = 0;        // OpenCL: of the broadcast arguments, which the kernels are generated for
  std::string describe() const override;
};

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const SpecializationRequest &request, Platform platform);

tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class);

}  // namespace sejits::specializers::reduce
