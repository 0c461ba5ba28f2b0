/* Gaussian-mixture EM on an OpenCL device: the host half of the gmm
 * specializer's OpenCL artifacts. sejits/gmm_opencl.cl, embedded in the
 * artifact after its #defines (T, covariance type, D, M, work-group size),
 * is the device half.
 *
 * Per EM iteration the host uploads the model as Model::prepare computes it;
 * the device runs the E-step and gathers the M-step's sufficient statistics
 * (gmm_gather: work-group g takes a contiguous range of rows and keeps its
 * own partial Stats; gmm_fold adds the partials in group order); the host
 * reads the totals back (O(M D^2) numbers) and finishes the M-step with
 * gmm_model.h's finish_m_step. The formulas are the C++ kernels', so results
 * differ from theirs only by the order of the sums, which depends on N and
 * the variant (work-group size, rows per group), never on the device, and
 * by one choice: every covariance type's sums are gathered around the means
 * (the C++ kernels gather diag and spherical ones around the center of the
 * means and move them with recenter_on_means; see gmm_opencl.cl), so there
 * is nothing to move here. The EM loop and its convergence test run here:
 * no Python per iteration.
 *
 * Entry points take the CPU entries' arguments (gmm_runtime.h) as device
 * arrays, plus the device as their last argument (kernel_abi.h). X and the
 * row-wise outputs may be strided; parameter arrays, which the host reads
 * and writes in one transfer, must be C-contiguous (the client's are). */
#ifndef SEJITS_GMM_OPENCL_RUNTIME_H
#define SEJITS_GMM_OPENCL_RUNTIME_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "sejits/gmm_runtime.h" /* Model, Stats, finish_m_step; the entries' argument specs and error texts */
#include "sejits/opencl_runtime.h"

namespace sejits_gmm_cl {

using sejits_gmm::ArgSpec;
using sejits_gmm::Model;
using sejits_gmm::Stats;

/* The flat arrays the device code shares with the host; keep in step with
 * the GMM_* layout macros of gmm_opencl.cl. */
template <int COV, int64_t D, int64_t M>
struct Layout {
  static constexpr int64_t kPrecisions = sejits_gmm::covariance_count<COV>(D, M);
  /* A Stats: S[M], s1[M][D], s2[kSecond], the log-likelihood, the rows. */
  static constexpr int64_t kAtS1 = M, kAtS2 = M + M * D, kAtLogLikelihood = kAtS2 + Stats<COV, D, M>::kSecond,
                           kAtRows = kAtLogLikelihood + 1, kStats = kAtRows + 1;
  /* The model in T: means, precision factors, the center of the means, tied's (mu_k - c) P. */
  static constexpr int64_t kModelT = M * D + kPrecisions + D + (COV == sejits_gmm::kTied ? M * D : 0);
  /* The model in the accumulator type: the constants, then the origin[M][D] and center[D] the statistics are gathered around. */
  static constexpr int64_t kModelAcc = M + M * D + D;
  /* A row of a group's tile: M responsibilities and the log-sum-exp. */
  static constexpr int64_t kTile = M + 1;
};

/* What gmm_gather does (GMM_E_STEP, GMM_GIVEN_FIRST, GMM_GIVEN_SECOND). */
enum Mode { kEStep = 0, kGivenFirst = 1, kGivenSecond = 2 };

/* The scratch all work-groups of a pass may hold together. */
constexpr int64_t kScratchBudgetBytes = int64_t(256) << 20;

/* Work-groups of a pass over `rows` rows: one per `rows_per_group` rows,
 * fewer where their scratch (a partial Stats and a tile each, `per_group`
 * values) would pass the budget. Counted in doubles whatever the device, so
 * that the grouping, hence the order of the sums, depends on N, the model's
 * shape and the variant only. */
inline int64_t group_count(int64_t rows, int64_t rows_per_group, int64_t per_group) {
  const int64_t wanted = (rows + rows_per_group - 1) / rows_per_group;
  const int64_t affordable = std::max<int64_t>(1, kScratchBudgetBytes / (8 * per_group));
  return std::max<int64_t>(1, std::min(wanted, affordable));
}

/* ---- one call: the device, its queue, transfers -------------------------- */

/* An entry call on the device. `launch` holds the artifact's lock and the
 * scratch buffers until the call returns. */
struct Call {
  const sejits_arg *device_arg = nullptr;
  cl_command_queue queue = nullptr;
  const char *source = nullptr, *digest = nullptr;
  char *error = nullptr;
  int64_t error_len = 0;
  bool wide = true; /* the device has cl_khr_fp64: statistics and log-probabilities in double, else float */
  sejits_cl_launch launch;

  Call(const sejits_arg *args, int32_t nargs, const char *program_source, const char *program_digest, char *error_text,
       int64_t error_text_len)
      : device_arg(&args[nargs - 1]), source(program_source), digest(program_digest), error(error_text),
        error_len(error_text_len) {
    const sejits_device *device = (const sejits_device *)device_arg->data;
    queue = (cl_command_queue)device->queue;
    char *extensions = sejits_cl_device_string((cl_device_id)device->device, CL_DEVICE_EXTENSIONS);
    wide = extensions && strstr(extensions, "cl_khr_fp64");  /* what `#ifdef cl_khr_fp64` sees in gmm_opencl.cl */
    free(extensions);
  }
  int64_t acc_bytes() const { return wide ? 8 : 4; }
  int32_t failed(const char *what, cl_int status) {
    snprintf(error, (size_t)error_len, "OpenCL: %s failed (%d)", what, (int)status);
    return 1;
  }
};

/* Like gmm_runtime.h's check_args, for device arrays and the device last. */
static inline int32_t check_device_entry(const sejits_arg *args, int32_t nargs, const ArgSpec *specs, int count,
                                         char *error, int64_t error_len) {
  char message[256];
  if (nargs != count + 1) {
    snprintf(message, sizeof message, "expected %d arguments and the device, got %d", count, (int)nargs - 1);
    return sejits_gmm::fail(error, error_len, message);
  }
  if (args[count].kind != SEJITS_ARG_DEVICE || !args[count].data) {
    return sejits_gmm::fail(error, error_len, "an OpenCL kernel takes the device as its last argument");
  }
  if (args[0].kind != SEJITS_ARG_DEVICE_ARRAY) return sejits_gmm::fail(error, error_len, "argument 0 (X) must be a device array");
  for (int a = 0; a < count; ++a) {
    const ArgSpec &spec = specs[a];
    const sejits_arg &arg = args[a];
    if (spec.scalar) {
      if (arg.kind != SEJITS_ARG_SCALAR) {
        snprintf(message, sizeof message, "argument %d (%s) must be a number", a, spec.name);
        return sejits_gmm::fail(error, error_len, message);
      }
      continue;
    }
    if (arg.kind != SEJITS_ARG_DEVICE_ARRAY || arg.dtype != spec.dtype || arg.rank != spec.rank) {
      snprintf(message, sizeof message, "argument %d (%s) must be a %d-D %s device array", a, spec.name, spec.rank,
               sejits_dtype_name(spec.dtype));
      return sejits_gmm::fail(error, error_len, message);
    }
    for (int d = 0; d < spec.rank; ++d) {
      const int64_t want = spec.dims[d] == sejits_gmm::kRows ? args[0].shape[0] : spec.dims[d];
      if (want != sejits_gmm::kAnyExtent && arg.shape[d] != want) {
        snprintf(message, sizeof message, "argument %d (%s) has extent %lld along axis %d, expected %lld", a, spec.name,
                 (long long)arg.shape[d], d, (long long)want);
        return sejits_gmm::fail(error, error_len, message);
      }
    }
  }
  return 0;
}

static inline bool c_contiguous(const sejits_arg &arg) {
  int64_t expected = sejits_cl_itemsize(arg.dtype);
  for (int d = arg.rank - 1; d >= 0; --d) {
    if (arg.shape[d] != 1 && arg.strides[d] != expected) return false;
    expected *= arg.shape[d];
  }
  return true;
}

/* `bytes` from the start of device array `arg` to `host` (read) or back (write), blocking. */
static inline int32_t transfer(Call &call, const sejits_arg &arg, const char *name, bool write, void *host, int64_t bytes) {
  if (!c_contiguous(arg)) {
    snprintf(call.error, (size_t)call.error_len, "argument %s must be a C-contiguous device array", name);
    return 1;
  }
  if (bytes == 0) return 0;
  const sejits_device_buffer *buffer = (const sejits_device_buffer *)arg.data;
  const cl_int status = write ? clEnqueueWriteBuffer(call.queue, (cl_mem)buffer->mem, CL_TRUE, (size_t)buffer->offset,
                                                     (size_t)bytes, host, 0, nullptr, nullptr)
                              : clEnqueueReadBuffer(call.queue, (cl_mem)buffer->mem, CL_TRUE, (size_t)buffer->offset,
                                                    (size_t)bytes, host, 0, nullptr, nullptr);
  return status == CL_SUCCESS ? 0 : call.failed(write ? "writing a parameter array" : "reading a parameter array", status);
}

/* The first `count` elements (of type E) of `arg`, as doubles. */
template <typename E>
int32_t read_values(Call &call, const sejits_arg &arg, const char *name, double *out, int64_t count) {
  std::vector<E> raw(count);
  if (transfer(call, arg, name, false, raw.data(), count * (int64_t)sizeof(E))) return 1;
  for (int64_t i = 0; i < count; ++i) out[i] = (double)raw[i];
  return 0;
}

template <typename E>
int32_t write_values(Call &call, const sejits_arg &arg, const char *name, const double *values, int64_t count) {
  std::vector<E> raw(values, values + count);
  return transfer(call, arg, name, true, raw.data(), count * (int64_t)sizeof(E));
}

/* ---- the device's passes --------------------------------------------------- */

/* The scratch buffers of a call and the kernels over them: the model (both
 * halves) for every entry; the groups' tiles and partial statistics for the
 * gathering passes. */
template <typename T, int COV, int64_t D, int64_t M, int64_t WG, int64_t ROWS>
class Device {
 public:
  using L = Layout<COV, D, M>;
  explicit Device(Call &call) : call_(call) {}

  int32_t allocate_model() {
    model_t_ = scratch(L::kModelT * (int64_t)sizeof(T));
    model_acc_ = model_t_ < 0 ? -1 : scratch(L::kModelAcc * call_.acc_bytes());
    return model_acc_ < 0;
  }

  int32_t allocate_gather(int64_t rows) {
    groups_ = group_count(rows, ROWS, L::kStats + WG * L::kTile);
    tiles_ = scratch(groups_ * WG * L::kTile * call_.acc_bytes());
    partials_ = tiles_ < 0 ? -1 : scratch((groups_ + 1) * L::kStats * call_.acc_bytes());  /* the totals follow */
    return partials_ < 0;
  }

  /* The model as the E-step reads it. */
  int32_t upload_model(const Model<T, COV, D, M> &model) {
    std::vector<T> values(model.mean_t);
    values.insert(values.end(), model.prec_t.begin(), model.prec_t.end());
    values.insert(values.end(), model.center.begin(), model.center.end());
    values.insert(values.end(), model.mean_p.begin(), model.mean_p.end());
    return write_scratch(model_t_, values.data(), (int64_t)(values.size() * sizeof(T)));
  }

  /* The E-step's constants (per component) and the points the statistics
   * are gathered around: origin[M][D] (the means) and center[D] (tied's A
   * and u). */
  int32_t upload_origin(const std::vector<double> &constant, const double *origin, const double *center) {
    std::vector<double> values(constant);
    values.insert(values.end(), origin, origin + M * D);
    values.insert(values.end(), center, center + D);
    if (call_.wide) return write_scratch(model_acc_, values.data(), L::kModelAcc * 8);
    std::vector<float> narrow(values.begin(), values.end());
    return write_scratch(model_acc_, narrow.data(), L::kModelAcc * 4);
  }

  /* One pass over X (with given responsibilities `resp` in modes
   * kGivenFirst and kGivenSecond), its statistics into `stats`. */
  int32_t gather(const sejits_arg &X, const sejits_arg *resp, Mode mode, Stats<COV, D, M> &stats) {
    sejits_cl_launch *launch = &call_.launch;
    if (begin("gmm_gather")) return 1;
    pass_rows(X);
    const sejits_arg &given = resp ? *resp : X; /* unread in kEStep, but an argument all the same */
    sejits_cl_arg_buffer(launch, &given);
    sejits_cl_arg_value<cl_long>(launch, resp ? sejits_cl_element_stride(resp, 0) : 0);
    sejits_cl_arg_value<cl_long>(launch, resp ? sejits_cl_element_stride(resp, 1) : 0);
    sejits_cl_arg_scratch(launch, model_t_);
    sejits_cl_arg_scratch(launch, model_acc_);
    sejits_cl_arg_scratch(launch, tiles_);
    sejits_cl_arg_scratch(launch, partials_);
    sejits_cl_arg_value<cl_long>(launch, groups_);
    sejits_cl_arg_value<cl_int>(launch, (cl_int)mode);
    if (sejits_cl_run(launch, 1, groups_ * WG, 1, 1, WG, 1, 1)) return 1;
    if (begin("gmm_fold")) return 1;
    sejits_cl_arg_scratch(launch, partials_);
    sejits_cl_arg_value<cl_long>(launch, groups_);
    if (sejits_cl_run(launch, 1, L::kStats, 1, 1, std::min<int64_t>(WG, 64), 1, 1)) return 1;
    std::vector<double> totals(L::kStats);
    if (read_scratch(partials_, groups_ * L::kStats, L::kStats, totals.data())) return 1;
    const double *at = totals.data();
    std::copy(at, at + M, stats.S.begin());
    std::copy(at + L::kAtS1, at + L::kAtS2, stats.s1.begin());
    std::copy(at + L::kAtS2, at + L::kAtLogLikelihood, stats.s2.begin());
    stats.log_likelihood = at[L::kAtLogLikelihood];
    stats.rows = at[L::kAtRows];
    return 0;
  }

  /* A row-wise kernel (gmm_score, gmm_predict, gmm_log_resp) over X into
   * `out` (and `norm`: gmm_log_resp's log_prob_norm). */
  int32_t per_row(const char *kernel, const sejits_arg &X, const sejits_arg &out, const sejits_arg *norm) {
    sejits_cl_launch *launch = &call_.launch;
    if (begin(kernel)) return 1;
    pass_rows(X);
    sejits_cl_arg_scratch(launch, model_t_);
    sejits_cl_arg_scratch(launch, model_acc_);
    for (const sejits_arg *array : {&out, norm}) {
      if (!array) continue;
      sejits_cl_arg_buffer(launch, array);
      for (int d = 0; d < array->rank; ++d) sejits_cl_arg_value<cl_long>(launch, sejits_cl_element_stride(array, d));
    }
    return sejits_cl_run(launch, 1, X.shape[0], 1, 1, WG, 1, 1);
  }

 private:
  int scratch(int64_t bytes) { return sejits_cl_scratch(&call_.launch, call_.device_arg, bytes, call_.error, call_.error_len); }

  int32_t begin(const char *kernel) {
    return sejits_cl_begin(&call_.launch, call_.device_arg, call_.source, call_.digest, kernel, sizeof(T) == 8, call_.error,
                           call_.error_len);
  }

  /* X as the kernels take it: buffer, offset, rows, row and column strides (elements). */
  void pass_rows(const sejits_arg &X) {
    sejits_cl_arg_buffer(&call_.launch, &X);
    sejits_cl_arg_value<cl_long>(&call_.launch, X.shape[0]);
    sejits_cl_arg_value<cl_long>(&call_.launch, sejits_cl_element_stride(&X, 0));
    sejits_cl_arg_value<cl_long>(&call_.launch, sejits_cl_element_stride(&X, 1));
  }

  int32_t write_scratch(int index, const void *host, int64_t bytes) {
    const cl_int status = clEnqueueWriteBuffer(call_.queue, call_.launch.scratch[index], CL_TRUE, 0, (size_t)bytes, host, 0,
                                               nullptr, nullptr);
    return status == CL_SUCCESS ? 0 : call_.failed("uploading the model", status);
  }

  /* `count` accumulator values from element `first` of scratch `index`, as doubles. */
  int32_t read_scratch(int index, int64_t first, int64_t count, double *out) {
    std::vector<float> narrow(call_.wide ? 0 : count);
    void *host = call_.wide ? (void *)out : (void *)narrow.data();
    const cl_int status = clEnqueueReadBuffer(call_.queue, call_.launch.scratch[index], CL_TRUE,
                                              (size_t)(first * call_.acc_bytes()), (size_t)(count * call_.acc_bytes()), host,
                                              0, nullptr, nullptr);
    if (status != CL_SUCCESS) return call_.failed("reading the statistics", status);
    for (int64_t i = 0; i < (int64_t)narrow.size(); ++i) out[i] = narrow[i];
    return 0;
  }

  Call &call_;
  int model_t_ = -1, model_acc_ = -1, tiles_ = -1, partials_ = -1;
  int64_t groups_ = 1;
};

/* ---- the model's arrays ---------------------------------------------------- */

/* (weights, means, precisions_cholesky) from args[first..first+2]. */
template <typename T, int COV, int64_t D, int64_t M>
int32_t load_model(Call &call, const sejits_arg *args, int first, Model<T, COV, D, M> &model) {
  if (read_values<T>(call, args[first], "weights", model.weights.data(), M) ||
      read_values<T>(call, args[first + 1], "means", model.means.data(), M * D) ||
      read_values<T>(call, args[first + 2], "precisions_cholesky", model.precisions_chol.data(), Model<T, COV, D, M>::kPrecisions)) {
    return 1;
  }
  model.prepare();
  return 0;
}

template <typename T, int COV, int64_t D, int64_t M>
int32_t store_model(Call &call, const Model<T, COV, D, M> &model, const std::vector<double> &covariances,
                    const sejits_arg *args, int first) {
  const int64_t count = sejits_gmm::covariance_count<COV>(D, M);
  return write_values<T>(call, args[first], "weights", model.weights.data(), M) ||
         write_values<T>(call, args[first + 1], "means", model.means.data(), M * D) ||
         write_values<T>(call, args[first + 2], "precisions_cholesky", model.precisions_chol.data(), count) ||
         write_values<T>(call, args[first + 3], "covariances", covariances.data(), count);
}

/* The center of the model's means (as T, as the E-step and the C++ kernels take it): tied's A and u are gathered around it. */
template <typename T, int COV, int64_t D, int64_t M>
std::vector<double> center_of(const Model<T, COV, D, M> &model) {
  return std::vector<double>(model.center.begin(), model.center.end());
}

enum class Step { kDone, kFailed, kIllDefined };

/* One EM iteration on `model` in place (gmm_runtime.h's em_step on the
 * device): the E-step's mean log-likelihood into *bound. */
template <typename T, int COV, int64_t D, int64_t M, int64_t WG, int64_t ROWS>
Step em_step(Device<T, COV, D, M, WG, ROWS> &device, Model<T, COV, D, M> &model, const sejits_arg &X, double reg_covar,
             std::vector<double> &covariances, double *bound) {
  Stats<COV, D, M> stats;
  std::vector<double> mu_o = model.means, center = center_of(model), nk(M);
  if (device.upload_model(model) || device.upload_origin(model.constant, mu_o.data(), center.data()) ||
      device.gather(X, nullptr, kEStep, stats)) {
    return Step::kFailed;
  }
  *bound = stats.log_likelihood / (double)X.shape[0];
  if (!sejits_gmm::finish_m_step<T, COV, D, M>(stats, mu_o.data(), center.data(), reg_covar, nk, model.weights, model.means,
                                               covariances, model.precisions_chol)) {
    return Step::kIllDefined;
  }
  model.prepare();
  return Step::kDone;
}

/* ---- entry points ------------------------------------------------------------ */

/* fit(X, reg_covar, tol, start_bound, weights, means, precisions_cholesky,
 *     covariances, lower_bounds, progress, device): gmm_runtime.h's fit. */
template <typename T, int COV, int64_t D, int64_t M, int64_t WG, int64_t ROWS>
int32_t fit(const sejits_arg *args, int32_t nargs, const char *source, const char *digest, char *error, int64_t error_len) {
  using S = sejits_gmm::Specs<T, COV, D, M>;
  const ArgSpec specs[] = {S::X, S::number("reg_covar"), S::number("tol"), S::number("start_bound"), S::weights,
                           S::means, S::covariance("precisions_cholesky"), S::covariance("covariances"),
                           ArgSpec{"lower_bounds", 0, SEJITS_FLOAT64, 1, {sejits_gmm::kAnyExtent, 0, 0}},
                           ArgSpec{"progress", 0, SEJITS_FLOAT64, 1, {2, 0, 0}}};
  if (check_device_entry(args, nargs, specs, 10, error, error_len)) return 1;
  if (args[0].shape[0] < 1) return sejits_gmm::fail(error, error_len, "X has no rows");
  const double reg_covar = sejits_gmm::scalar_of(args[1]), tol = sejits_gmm::scalar_of(args[2]);
  double previous = sejits_gmm::scalar_of(args[3]);
  const int64_t max_iter = args[8].shape[0];
  Call call(args, nargs, source, digest, error, error_len);
  Model<T, COV, D, M> model;
  std::vector<double> covariances(sejits_gmm::covariance_count<COV>(D, M));
  if (load_model(call, args, 4, model) ||
      read_values<T>(call, args[7], "covariances", covariances.data(), (int64_t)covariances.size())) {
    return 1;
  }
  Device<T, COV, D, M, WG, ROWS> device(call);
  if (device.allocate_model() || device.allocate_gather(args[0].shape[0])) return 1;
  std::vector<double> bounds;
  bool converged = false;
  for (int64_t iteration = 1; iteration <= max_iter && !converged; ++iteration) {
    double bound = 0;
    const Step step = em_step(device, model, args[0], reg_covar, covariances, &bound);
    if (step == Step::kIllDefined) return sejits_gmm::fail_ill_defined<T>(error, error_len);
    if (step == Step::kFailed) return 1;
    bounds.push_back(bound);
    converged = fabs(bound - previous) < tol;
    previous = bound;
  }
  const double progress[2] = {(double)bounds.size(), converged ? 1.0 : 0.0};
  if (store_model(call, model, covariances, args, 4) ||
      transfer(call, args[8], "lower_bounds", true, bounds.data(), (int64_t)(bounds.size() * sizeof(double))) ||
      transfer(call, args[9], "progress", true, (void *)progress, sizeof progress)) {
    return 1;
  }
  return 0;
}

/* em_iteration(X, reg_covar, weights, means, precisions_cholesky, covariances, lower_bound[1], device). */
template <typename T, int COV, int64_t D, int64_t M, int64_t WG, int64_t ROWS>
int32_t em_iteration(const sejits_arg *args, int32_t nargs, const char *source, const char *digest, char *error,
                     int64_t error_len) {
  using S = sejits_gmm::Specs<T, COV, D, M>;
  const ArgSpec specs[] = {S::X, S::number("reg_covar"), S::weights, S::means, S::covariance("precisions_cholesky"),
                           S::covariance("covariances"), ArgSpec{"lower_bound", 0, SEJITS_FLOAT64, 1, {1, 0, 0}}};
  if (check_device_entry(args, nargs, specs, 7, error, error_len)) return 1;
  if (args[0].shape[0] < 1) return sejits_gmm::fail(error, error_len, "X has no rows");
  Call call(args, nargs, source, digest, error, error_len);
  Model<T, COV, D, M> model;
  std::vector<double> covariances(sejits_gmm::covariance_count<COV>(D, M));
  if (load_model(call, args, 2, model)) return 1;
  Device<T, COV, D, M, WG, ROWS> device(call);
  if (device.allocate_model() || device.allocate_gather(args[0].shape[0])) return 1;
  double bound = 0;
  const Step step = em_step(device, model, args[0], sejits_gmm::scalar_of(args[1]), covariances, &bound);
  if (step == Step::kIllDefined) return sejits_gmm::fail_ill_defined<T>(error, error_len);
  if (step == Step::kFailed) return 1;
  if (store_model(call, model, covariances, args, 2) || transfer(call, args[6], "lower_bound", true, &bound, sizeof bound)) {
    return 1;
  }
  return 0;
}

/* e_step(X, weights, means, precisions_cholesky, log_resp[N, M], log_prob_norm[N], device);
 * score_samples(..., log_prob_norm[N], device); predict(..., labels[N] int64, device).
 * OUTPUT: gmm_runtime.h's RowOutput. */
template <typename T, int COV, int64_t D, int64_t M, int64_t WG, int64_t ROWS, int OUTPUT>
int32_t per_row(const sejits_arg *args, int32_t nargs, const char *source, const char *digest, char *error,
                int64_t error_len) {
  using S = sejits_gmm::Specs<T, COV, D, M>;
  using sejits_gmm::kRows;
  const ArgSpec log_resp{"log_resp", 0, S::kT, 2, {kRows, M, 0}}, norm{"log_prob_norm", 0, S::kT, 1, {kRows, 0, 0}},
      labels{"labels", 0, SEJITS_INT64, 1, {kRows, 0, 0}};
  const ArgSpec specs[] = {S::X, S::weights, S::means, S::covariance("precisions_cholesky"),
                           OUTPUT == sejits_gmm::kLogResp ? log_resp : OUTPUT == sejits_gmm::kScore ? norm : labels, norm};
  const int count = OUTPUT == sejits_gmm::kLogResp ? 6 : 5;
  if (check_device_entry(args, nargs, specs, count, error, error_len)) return 1;
  Call call(args, nargs, source, digest, error, error_len);
  Model<T, COV, D, M> model;
  if (load_model(call, args, 1, model)) return 1;
  Device<T, COV, D, M, WG, ROWS> device(call);
  const std::vector<double> center = center_of(model);
  if (device.allocate_model() || device.upload_model(model) ||
      device.upload_origin(model.constant, model.means.data(), center.data())) {
    return 1;
  }
  const char *kernel = OUTPUT == sejits_gmm::kLogResp ? "gmm_log_resp" : OUTPUT == sejits_gmm::kScore ? "gmm_score" : "gmm_predict";
  return device.per_row(kernel, args[0], args[4], OUTPUT == sejits_gmm::kLogResp ? &args[5] : nullptr);
}

/* m_step(X, resp[N, M], reg_covar, nk[M], means, covariances, precisions_cholesky, device):
 * gmm_runtime.h's m_step, its two passes on the device (the means, then the
 * statistics around them), the finish here. */
template <typename T, int COV, int64_t D, int64_t M, int64_t WG, int64_t ROWS>
int32_t m_step(const sejits_arg *args, int32_t nargs, const char *source, const char *digest, char *error,
               int64_t error_len) {
  using S = sejits_gmm::Specs<T, COV, D, M>;
  const ArgSpec specs[] = {S::X, ArgSpec{"resp", 0, S::kT, 2, {sejits_gmm::kRows, M, 0}}, S::number("reg_covar"),
                           ArgSpec{"nk", 0, S::kT, 1, {M, 0, 0}}, S::means, S::covariance("covariances"),
                           S::covariance("precisions_cholesky")};
  if (check_device_entry(args, nargs, specs, 7, error, error_len)) return 1;
  const sejits_arg &X = args[0], &resp = args[1];
  Call call(args, nargs, source, digest, error, error_len);
  Device<T, COV, D, M, WG, ROWS> device(call);
  if (device.allocate_model() || device.allocate_gather(X.shape[0])) return 1;
  const std::vector<double> no_constants(M, 0.0);
  std::vector<double> origin(M * D, 0.0), center(D, 0.0); /* pass 1: zero; pass 2: the means */
  Stats<COV, D, M> first, stats;
  if (device.upload_origin(no_constants, origin.data(), center.data()) || device.gather(X, &resp, kGivenFirst, first)) return 1;
  sejits_gmm::means_of_first_pass<T>(first, origin.data(), center.data());
  if (device.upload_origin(no_constants, origin.data(), center.data()) || device.gather(X, &resp, kGivenSecond, stats)) return 1;
  const int64_t count = sejits_gmm::covariance_count<COV>(D, M);
  std::vector<double> nk(M), weights(M), means(M * D), covariances(count), precisions_chol(count);
  if (!sejits_gmm::finish_m_step<T, COV, D, M>(stats, origin.data(), center.data(), sejits_gmm::scalar_of(args[2]), nk,
                                               weights, means, covariances, precisions_chol)) {
    return sejits_gmm::fail_ill_defined<T>(error, error_len);
  }
  return write_values<T>(call, args[3], "nk", nk.data(), M) || write_values<T>(call, args[4], "means", means.data(), M * D) ||
         write_values<T>(call, args[5], "covariances", covariances.data(), count) ||
         write_values<T>(call, args[6], "precisions_cholesky", precisions_chol.data(), count);
}

}  // namespace sejits_gmm_cl

#endif /* SEJITS_GMM_OPENCL_RUNTIME_H */
