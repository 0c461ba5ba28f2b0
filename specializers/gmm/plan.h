// The code variant of a gmm kernel: choices that change speed, never
// results beyond rounding: the order of the per-thread (per-work-group)
// sums, and the online log-sum-exp's rescaling (a few ulps). Requests
// select one with "variant.<name>" params; tuning_space() is what the tuner
// searches. C++/OpenMP: threads, tile, mstep, passes, estep; OpenCL: wg_x,
// rows, model.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "specializers/common/variant_params.h"
#include "specializers/gmm/ir.h"
#include "specializers/request.h"
#include "specializers/specializer.h"
#include "tuner-db/variant.h"

namespace sejits::specializers::gmm {

struct GmmPlan final : LoweringPlan {
  Platform platform = Platform::kCpuOpenMp;
  ThreadCount threads = ThreadCount::kAll;
  // Rows of X per tile (sejits/gmm_tile.h): the E-step's and M-step's
  // working set of one thread is about tile_rows * (3 D + M) doubles.
  int64_t tile_rows = 64;
  // How the pass that gathers the M-step's sums splits them between threads
  // (sejits_gmm::MStepSplit): per thread over its rows (added in thread
  // order), or per thread over its components (every row, in row order: the
  // same sums whatever the number of threads).
  bool mstep_over_components = false;
  // Whether an iteration is one fused pass over X (E-step and statistics a
  // tile at a time) or two (the E-step over all of X keeping its N x M
  // responsibilities, then the statistics): sejits_gmm::Passes.
  bool separate_passes = false;
  // Whether the EM iteration's E-step takes each row's log-sum-exp in two
  // passes over every component's terms, or online, a block of components
  // at a time (sejits_gmm::EStep).
  bool online_log_sum_exp = false;
  // OpenCL (sejits/gmm_opencl.cl): work items per group, each the E-step of
  // one row of the group's tile, then a share of the statistics over it.
  int64_t work_group = 256;
  // OpenCL: rows of X per work-group (each group keeps its own partial
  // statistics, added in group order); fewer groups where their scratch
  // would pass 256 MiB (sejits_gmm_cl::group_count).
  int64_t group_rows = 1024;
  // OpenCL: whether each work-group first copies the model's means and
  // precision factors into local memory or reads them from global memory.
  // Local by default where they fit in kDefaultLocalModelBytes: on an H200
  // it took 3% to 21% off an EM iteration of every covariance type, with
  // the same bits.
  bool local_model = false;
  std::string describe() const override;
};

// The local memory every full-profile OpenCL device has (the
// specification's minimum): the most variant.model=local may ask for. The
// default asks for less, leaving room for what a device keeps for itself.
inline constexpr int64_t kLocalModelBytes = int64_t{32} << 10;
inline constexpr int64_t kDefaultLocalModelBytes = int64_t{24} << 10;

// Bytes of the model the OpenCL E-step reads for every row: means,
// precision factors, the center of the means, tied's (mu_k - c) P.
int64_t device_model_bytes(const GmmIr &ir);

absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const GmmIr &ir, const SpecializationRequest &request,
                                                           Platform platform);

tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class);

}  // namespace sejits::specializers::gmm
