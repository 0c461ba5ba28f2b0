/* Gaussian-mixture EM (sejits.mixture.GaussianMixture): the E-step, the
 * M-step and the EM loop that the gmm specializer's entry points
 * instantiate for one covariance type, dtype, number of features D and of
 * components M (compile-time constants, so that every inner loop has a
 * fixed trip count).
 *
 * The arithmetic is scikit-learn's (sklearn/mixture/_gaussian_mixture.py)
 * in numerically careful forms:
 *  - log-probabilities from the direct forms ((x - mu) P for full and tied,
 *    ((x - mu) p)^2 for diag and spherical), never the expanded ones that
 *    cancel in float32;
 *  - the M-step in one pass over X: sufficient statistics accumulate in
 *    double around the previous means mu_o (S = sum r, s1 = sum r (x - mu_o),
 *    s2 = sum r (x - mu_o)(x - mu_o)^T), and the finish turns them into
 *    exactly scikit-learn's quantities (nk = S + 10 eps, means = sum r x / nk,
 *    its centred full covariance, its uncentred diag, tied and spherical
 *    ones) without their cancellation;
 *  - responsibilities never stored: a tile of rows at a time
 *    (sejits/gmm_tile.h; the parameters' side is sejits/gmm_model.h),
 *    unless the variant asks for separate E and M passes.
 * By default threads take contiguous ranges of rows and keep their own
 * statistics, added in thread order (the variants: MStepSplit, Passes,
 * EStep); the M-step's finish runs over components. Results depend on the
 * thread count and the variant only through rounding. */
#ifndef SEJITS_GMM_RUNTIME_H
#define SEJITS_GMM_RUNTIME_H

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <new>
#include <vector>

#include "sejits/gmm_model.h"
#include "sejits/gmm_tile.h"
#include "sejits/kernel_abi.h"

/* 256-bit vectors where the CPU has them: -march=native on some virtual
 * machines names an old core (znver1) whose tuning prefers 128-bit ones,
 * which took 45% longer per EM iteration there (full covariance, D = M = 16). */
#pragma GCC push_options
#pragma GCC target("prefer-vector-width=256")

namespace sejits_gmm {

/* Multiply-adds of a pass below which one thread does the work. */
constexpr int64_t kParallelWork = 1 << 20;
/* The threads' own statistics together stay below this many bytes (a
 * full-covariance model of M = 256, D = 128 has 32 MiB of them). */
constexpr int64_t kStatsBudgetBytes = int64_t(1) << 30;

constexpr const char *kIllDefined =
    "Fitting the mixture model failed because some components have ill-defined empirical covariance (for instance "
    "caused by singleton or collapsed samples). Try to decrease the number of components, increase reg_covar, or "
    "scale the input data.";
constexpr const char *kIllDefinedFloat32 =
    " The numerical accuracy can also be improved by passing float64 data instead of float32.";

template <typename T>
constexpr int32_t dtype_code() {
  return sizeof(T) == 4 ? SEJITS_FLOAT32 : SEJITS_FLOAT64;
}

static inline int32_t fail(char *error, int64_t error_len, const char *message) {
  if (error && error_len > 0) snprintf(error, (size_t)error_len, "%s", message);
  return 1;
}

template <typename T>
int32_t fail_ill_defined(char *error, int64_t error_len) {
  if (error && error_len > 0) snprintf(error, (size_t)error_len, "%s%s", kIllDefined, sizeof(T) == 4 ? kIllDefinedFloat32 : "");
  return 1;
}

/* ---- arguments ------------------------------------------------------------ */

/* What an entry expects of one argument: an array of `dtype` whose extents
 * are `dims` (kRows: X's row count; kAnyExtent: any), or a float64 scalar. */
constexpr int64_t kRows = -1, kAnyExtent = -2;
struct ArgSpec {
  const char *name;
  int scalar;  // 1: a number
  int32_t dtype;
  int rank;
  int64_t dims[3];
};

static inline int32_t check_args(const sejits_arg *args, int32_t nargs, const ArgSpec *specs, int count, int64_t rows,
                                 char *error, int64_t error_len) {
  char message[256];
  if (nargs != count) {
    snprintf(message, sizeof message, "expected %d arguments, got %d", count, (int)nargs);
    return fail(error, error_len, message);
  }
  for (int a = 0; a < count; ++a) {
    const ArgSpec &spec = specs[a];
    const sejits_arg &arg = args[a];
    if (spec.scalar) {
      if (arg.kind != SEJITS_ARG_SCALAR) {
        snprintf(message, sizeof message, "argument %d (%s) must be a number", a, spec.name);
        return fail(error, error_len, message);
      }
      continue;
    }
    if (arg.kind != SEJITS_ARG_ARRAY || arg.dtype != spec.dtype || arg.rank != spec.rank) {
      snprintf(message, sizeof message, "argument %d (%s) must be a %d-D %s array", a, spec.name, spec.rank,
               sejits_dtype_name(spec.dtype));
      return fail(error, error_len, message);
    }
    for (int d = 0; d < spec.rank; ++d) {
      const int64_t want = spec.dims[d] == kRows ? rows : spec.dims[d];
      if (want != kAnyExtent && arg.shape[d] != want) {
        snprintf(message, sizeof message, "argument %d (%s) has extent %lld along axis %d, expected %lld", a, spec.name,
                 (long long)arg.shape[d], d, (long long)want);
        return fail(error, error_len, message);
      }
    }
  }
  return 0;
}

static inline bool serial_call(const sejits_arg *args, int32_t nargs) {
  return nargs > 0 && (args[nargs - 1].flags & SEJITS_CALL_SERIAL);
}

/* The byte offset of element `index` (C order) of an array, through its strides. */
static inline int64_t offset_of(const sejits_arg &arg, int64_t index) {
  int64_t offset = 0;
  for (int d = arg.rank - 1; d >= 0; --d) {
    const int64_t extent = arg.shape[d];
    offset += (index % extent) * arg.strides[d];
    index /= extent;
  }
  return offset;
}

template <typename T>
void load(const sejits_arg &arg, double *out, int64_t count) {
  for (int64_t i = 0; i < count; ++i) out[i] = (double)*(const T *)((const char *)arg.data + offset_of(arg, i));
}

template <typename T>
void store(const sejits_arg &arg, const double *values, int64_t count) {
  for (int64_t i = 0; i < count; ++i) *(T *)((char *)arg.data + offset_of(arg, i)) = (T)values[i];
}

/* ---- passes over X ----------------------------------------------------------- */

/* The rows of thread `me` of `team`: a contiguous share. */
static inline void share(int64_t rows, int me, int team, int64_t *begin, int64_t *end) {
  *begin = rows * me / team;
  *end = rows * (me + 1) / team;
}

/* The threads the work of a pass over `rows` rows is worth. */
template <int COV, int64_t D, int64_t M>
int team_for_work(int64_t rows, int nthreads, bool serial) {
  const int64_t per_row = COV == kFull ? M * D * D : COV == kTied ? D * D + M * D : M * D;
  if (serial || rows * per_row < kParallelWork) return 1;
  return (int)std::max<int64_t>(1, std::min<int64_t>((int64_t)nthreads, rows / 64 + 1));
}

/* The threads a pass over `rows` rows uses when each keeps its own statistics. */
template <int COV, int64_t D, int64_t M>
int team_size(int64_t rows, int nthreads, bool serial) {
  const int64_t stats_bytes = (int64_t)sizeof(double) * (Stats<COV, D, M>::kSecond + M * D + M);
  const int64_t affordable = std::max<int64_t>(1, kStatsBudgetBytes / stats_bytes);
  return (int)std::min<int64_t>(team_for_work<COV, D, M>(rows, nthreads, serial), affordable);
}

/* Each thread's share of X's rows, a tile at a time: visit(tile, first row)
 * after load_tile. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R, typename Visit>
void for_tiles(const sejits_arg &X, int team, Visit &&visit) {
  const int64_t rows = X.shape[0];
#pragma omp parallel num_threads(team) if (team > 1)
  {
    Tile<T, COV, D, M, R> tile;
    int64_t begin, end;
    share(rows, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    for (int64_t first = begin; first < end; first += R) {
      load_tile<T, COV, D, M, R>(X, first, std::min(R, end - first), tile);
      visit(tile, first, omp_get_thread_num());
    }
  }
}

/* How the pass gathering the M-step's sums splits them between threads
 * (the variant "mstep"): over rows, each thread its own rows' statistics for every
 * component, added in thread order at the end; or over components, the team
 * walking X together, each thread the statistics of its own components over
 * every row, in row order. */
enum MStepSplit { kOverRows = 0, kOverComponents = 1 };

/* How the EM iteration's E-step finds each row's log-sum-exp (the variant
 * "estep"): every component's terms, then their largest and their sum (two
 * passes over them); or online, a block of components at a time
 * (online_log_normalizers). */
enum EStep { kTwoPass = 0, kOnline = 1 };

/* The E-step of one tile, leaving its responsibilities in tile.wlp; returns
 * the sum of its rows' log-likelihoods. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R, int ESTEP = kTwoPass>
double e_step_tile(const Model<T, COV, D, M> &model, Tile<T, COV, D, M, R> &tile) {
  if (ESTEP == kOnline) {
    online_log_normalizers<T, COV, D, M, R>(model, tile);
  } else {
    weighted_log_prob<T, COV, D, M, R>(model, tile);
    log_normalizers<T, COV, D, M, R>(tile);
  }
  double likelihood = 0;
  for (int64_t r = 0; r < tile.rows; ++r) likelihood += tile.lse[r];
  responsibilities<T, COV, D, M, R>(tile);
  return likelihood;
}

/* The fused pass, M-step over components: X a chunk of `team` tiles at a
 * time; thread t runs the E-step of the chunk's tile t, then (after a
 * barrier) adds every tile of the chunk, in row order, to the statistics of
 * its components t, t + team, ... (thread 0 also the tied rows' part). One
 * set of statistics, no per-thread copies, and sums whose order is the
 * tiles' whatever the number of threads. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R, int ESTEP>
void gather_over_components(const Model<T, COV, D, M> &model, const sejits_arg &X, int team, const double *center,
                            Stats<COV, D, M> &total) {
  const int64_t rows = X.shape[0], tiles = (rows + R - 1) / R;
  std::vector<Tile<T, COV, D, M, R>> chunk(team);
  std::vector<double> likelihood(team);
#pragma omp parallel num_threads(team) if (team > 1)
  {
    const int me = omp_get_thread_num(), size = omp_get_num_threads();
    std::vector<double> scratch(chunk[0].centered.size());
    const ComponentShare mine{me, size, me == 0};
    for (int64_t first_tile = 0; first_tile < tiles; first_tile += size) {
      const int64_t in_chunk = std::min<int64_t>(size, tiles - first_tile);
      if (me < in_chunk) {
        const int64_t first = (first_tile + me) * R;
        load_tile<T, COV, D, M, R>(X, first, std::min(R, rows - first), chunk[me]);
        likelihood[me] = e_step_tile<T, COV, D, M, R, ESTEP>(model, chunk[me]);
      }
#pragma omp barrier
      for (int64_t t = 0; t < in_chunk; ++t) {
        accumulate<T, COV, D, M, R>(total, chunk[t], model.means.data(), center, scratch.data(), mine);
        if (me == 0) total.log_likelihood += likelihood[t];
      }
#pragma omp barrier
    }
  }
}

/* How an iteration passes over X (the variant "passes"): fused, each tile's
 * E-step and then its statistics; or separate, the E-step over all of X
 * keeping the responsibilities (N x M doubles), then the statistics from X
 * and them. Separate adds each tile to the same sums in the same order as
 * fused, so only the log-likelihood's order can differ (over components:
 * thread shares instead of tiles). It runs fused where the N x M doubles
 * would pass kSeparateBudgetBytes. */
enum Passes { kFused = 0, kSeparate = 1 };
constexpr int64_t kSeparateBudgetBytes = int64_t(1) << 31;

/* The responsibilities separate passes keep, allocated once per entry call
 * (not per iteration) and uninitialized: each thread first touches its own
 * rows. Null where the allocation failed: the passes are then fused. */
struct KeptResponsibilities {
  std::unique_ptr<double[]> values;
  int64_t count = 0;
  double *reserve(int64_t wanted) {
    if (wanted > count) {
      values.reset(new (std::nothrow) double[wanted]);
      count = values ? wanted : 0;
    }
    return values.get();
  }
};

/* The separate passes. resp[k * rows + row]: component-major, so that a
 * tile's rows of one component are contiguous whatever the tiles. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R, int MSTEP, int ESTEP>
void gather_separately(const Model<T, COV, D, M> &model, const sejits_arg &X, int nthreads, bool serial,
                       const double *center, double *resp, Stats<COV, D, M> &total) {
  const int64_t rows = X.shape[0];
  /* over rows: the fused pass's teams and tiles (the same sums); over
   * components: no per-thread statistics, so every thread the work affords */
  const int team = MSTEP == kOverRows ? team_size<COV, D, M>(rows, nthreads, serial)
                                      : team_for_work<COV, D, M>(rows, nthreads, serial);
  std::vector<Stats<COV, D, M>> partial(MSTEP == kOverRows ? team : 0);
  std::vector<double> likelihood(team);
  for_tiles<T, COV, D, M, R>(X, team, [&](Tile<T, COV, D, M, R> &tile, int64_t first, int me) {
    likelihood[me] += e_step_tile<T, COV, D, M, R, ESTEP>(model, tile);
    for (int64_t k = 0; k < M; ++k) memcpy(&resp[k * rows + first], &tile.wlp[k * R], tile.rows * sizeof(double));
  });
  auto responsibilities_of = [&](Tile<T, COV, D, M, R> &tile, int64_t first, const ComponentShare &mine) {
    for (int64_t k = mine.first; k < M; k += mine.step) {
      memcpy(&tile.wlp[k * R], &resp[k * rows + first], tile.rows * sizeof(double));
      for (int64_t r = tile.rows; r < R; ++r) tile.wlp[k * R + r] = 0;
    }
  };
  if (MSTEP == kOverRows) {
    for_tiles<T, COV, D, M, R>(X, team, [&](Tile<T, COV, D, M, R> &tile, int64_t first, int me) {
      responsibilities_of(tile, first, ComponentShare{});
      accumulate<T, COV, D, M, R>(partial[me], tile, model.means.data(), center, tile.centered.data());
    });
    total.clear();
    for (int t = 0; t < team; ++t) {
      partial[t].log_likelihood = likelihood[t];
      total.add(partial[t]);
    }
    return;
  }
  /* over components: every thread walks every tile of X, adding its own components */
  total.clear();
  for (double part : likelihood) total.log_likelihood += part;
#pragma omp parallel num_threads(team) if (team > 1)
  {
    Tile<T, COV, D, M, R> tile;
    const int me = omp_get_thread_num(), size = omp_get_num_threads();
    const ComponentShare mine{me, size, me == 0};
    for (int64_t first = 0; first < rows; first += R) {
      load_tile<T, COV, D, M, R>(X, first, std::min(R, rows - first), tile);
      responsibilities_of(tile, first, mine);
      accumulate<T, COV, D, M, R>(total, tile, model.means.data(), center, tile.centered.data(), mine);
    }
  }
}

/* One E-step over X with the model's parameters, gathering the M-step's
 * statistics around the model's means: the EM iteration's pass (or passes). */
template <typename T, int COV, int64_t D, int64_t M, int64_t R, int MSTEP = kOverRows, int PASSES = kFused,
          int ESTEP = kTwoPass>
void gather(const Model<T, COV, D, M> &model, const sejits_arg &X, int nthreads, bool serial, KeptResponsibilities &kept,
            Stats<COV, D, M> &total) {
  std::vector<double> center(D);
  for (int64_t d = 0; d < D; ++d) center[d] = (double)model.center[d];
  double *resp = PASSES == kSeparate && X.shape[0] <= kSeparateBudgetBytes / (int64_t)(M * sizeof(double))
                     ? kept.reserve(X.shape[0] * M)
                     : nullptr;
  if (resp) {
    gather_separately<T, COV, D, M, R, MSTEP, ESTEP>(model, X, nthreads, serial, center.data(), resp, total);
    return;
  }
  if (MSTEP == kOverComponents) {
    total.clear();
    gather_over_components<T, COV, D, M, R, ESTEP>(model, X, team_for_work<COV, D, M>(X.shape[0], nthreads, serial),
                                            center.data(), total);
    return;
  }
  const int team = team_size<COV, D, M>(X.shape[0], nthreads, serial);
  std::vector<Stats<COV, D, M>> partial(team);
  for_tiles<T, COV, D, M, R>(X, team, [&](Tile<T, COV, D, M, R> &tile, int64_t, int me) {
    Stats<COV, D, M> &mine = partial[me];
    mine.log_likelihood += e_step_tile<T, COV, D, M, R, ESTEP>(model, tile);
    accumulate<T, COV, D, M, R>(mine, tile, model.means.data(), center.data(), tile.centered.data());
  });
  total.clear();
  for (const auto &part : partial) total.add(part);
}

/* ---- entry points ------------------------------------------------------------- */

/* The arrays' specs. */
template <typename T, int COV, int64_t D, int64_t M>
struct Specs {
  static constexpr int32_t kT = dtype_code<T>();
  static constexpr ArgSpec X{"X", 0, kT, 2, {kRows, D, 0}};
  static constexpr ArgSpec weights{"weights", 0, kT, 1, {M, 0, 0}};
  static constexpr ArgSpec means{"means", 0, kT, 2, {M, D, 0}};
  static constexpr ArgSpec covariance(const char *name) {
    return COV == kFull   ? ArgSpec{name, 0, kT, 3, {M, D, D}}
           : COV == kTied ? ArgSpec{name, 0, kT, 2, {D, D, 0}}
           : COV == kDiag ? ArgSpec{name, 0, kT, 2, {M, D, 0}}
                          : ArgSpec{name, 0, kT, 1, {M, 0, 0}};
  }
  static constexpr ArgSpec number(const char *name) { return ArgSpec{name, 1, SEJITS_FLOAT64, 0, {0, 0, 0}}; }
};

/* Checks args[0] is an array (X, whose rows size the others), then every spec. */
static inline int32_t check_entry(const sejits_arg *args, int32_t nargs, const ArgSpec *specs, int count, char *error,
                                  int64_t error_len) {
  if (nargs <= 0 || args[0].kind != SEJITS_ARG_ARRAY) return fail(error, error_len, "argument 0 (X) must be an array");
  return check_args(args, nargs, specs, count, args[0].shape[0], error, error_len);
}

/* Loads (weights, means, precisions_cholesky) from args[first..first+2]. */
template <typename T, int COV, int64_t D, int64_t M>
void load_model(const sejits_arg *args, int first, Model<T, COV, D, M> &model) {
  load<T>(args[first], model.weights.data(), M);
  load<T>(args[first + 1], model.means.data(), M * D);
  load<T>(args[first + 2], model.precisions_chol.data(), Model<T, COV, D, M>::kPrecisions);
  model.prepare();
}

template <typename T, int COV, int64_t D, int64_t M>
void store_model(const Model<T, COV, D, M> &model, const std::vector<double> &covariances, const sejits_arg *args,
                 int first) {
  store<T>(args[first], model.weights.data(), M);
  store<T>(args[first + 1], model.means.data(), M * D);
  store<T>(args[first + 2], model.precisions_chol.data(), Model<T, COV, D, M>::kPrecisions);
  store<T>(args[first + 3], covariances.data(), covariance_count<COV>(D, M));
}

static inline double scalar_of(const sejits_arg &arg) {
  switch (arg.dtype) {
    case SEJITS_FLOAT32:
    case SEJITS_FLOAT64: return arg.scalar.f;
    case SEJITS_UINT8: case SEJITS_UINT16: case SEJITS_UINT32: case SEJITS_UINT64: return (double)arg.scalar.u;
    default: return (double)arg.scalar.i;
  }
}

/* One EM iteration on `model` in place: the E-step's mean log-likelihood
 * into *bound; covariances into `covariances`. False: ill-defined. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R, int MSTEP, int PASSES, int ESTEP>
bool em_step(Model<T, COV, D, M> &model, const sejits_arg &X, double reg_covar, int nthreads, bool serial,
             KeptResponsibilities &kept, Stats<COV, D, M> &stats, std::vector<double> &covariances, double *bound) {
  gather<T, COV, D, M, R, MSTEP, PASSES, ESTEP>(model, X, nthreads, serial, kept, stats);
  *bound = stats.log_likelihood / (double)X.shape[0];
  std::vector<double> nk(M), mu_o = model.means, center(D);
  for (int64_t d = 0; d < D; ++d) center[d] = (double)model.center[d];
  recenter_on_means<COV, D, M>(stats, mu_o.data(), center.data());
  if (!finish_m_step<T, COV, D, M>(stats, mu_o.data(), center.data(), reg_covar, nk, model.weights, model.means,
                                   covariances, model.precisions_chol, serial ? 1 : nthreads)) {
    return false;
  }
  model.prepare();
  return true;
}

/* fit(X, reg_covar, tol, start_bound, weights, means, precisions_cholesky,
 *     covariances, lower_bounds, progress): the EM loop, max_iter =
 * len(lower_bounds); progress = [n_iter, converged]. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R, int MSTEP = kOverRows, int PASSES = kFused,
          int ESTEP = kTwoPass>
int32_t fit(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  using S = Specs<T, COV, D, M>;
  const ArgSpec specs[] = {S::X, S::number("reg_covar"), S::number("tol"), S::number("start_bound"), S::weights,
                           S::means, S::covariance("precisions_cholesky"), S::covariance("covariances"),
                           ArgSpec{"lower_bounds", 0, SEJITS_FLOAT64, 1, {kAnyExtent, 0, 0}},
                           ArgSpec{"progress", 0, SEJITS_FLOAT64, 1, {2, 0, 0}}};
  if (check_entry(args, nargs, specs, 10, error, error_len)) return 1;
  if (args[0].shape[0] < 1) return fail(error, error_len, "X has no rows");
  const double reg_covar = scalar_of(args[1]), tol = scalar_of(args[2]);
  double previous = scalar_of(args[3]);
  const int64_t max_iter = args[8].shape[0];
  Model<T, COV, D, M> model;
  load_model<T, COV, D, M>(args, 4, model);
  std::vector<double> covariances(covariance_count<COV>(D, M));
  load<T>(args[7], covariances.data(), covariance_count<COV>(D, M));
  Stats<COV, D, M> stats;
  KeptResponsibilities kept;
  const bool serial = serial_call(args, nargs);
  int64_t n_iter = 0;
  bool converged = false;
  for (int64_t iteration = 1; iteration <= max_iter; ++iteration) {
    double bound = 0;
    if (!em_step<T, COV, D, M, R, MSTEP, PASSES, ESTEP>(model, args[0], reg_covar, nthreads, serial, kept, stats, covariances,
                                                       &bound)) {
      return fail_ill_defined<T>(error, error_len);
    }
    *(double *)((char *)args[8].data + (iteration - 1) * args[8].strides[0]) = bound;
    n_iter = iteration;
    const double change = bound - previous;
    previous = bound;
    if (fabs(change) < tol) {
      converged = true;
      break;
    }
  }
  store_model<T, COV, D, M>(model, covariances, args, 4);
  *(double *)args[9].data = (double)n_iter;
  *(double *)((char *)args[9].data + args[9].strides[0]) = converged ? 1.0 : 0.0;
  return 0;
}

/* em_iteration(X, reg_covar, weights, means, precisions_cholesky, covariances, lower_bound[1]). */
template <typename T, int COV, int64_t D, int64_t M, int64_t R, int MSTEP = kOverRows, int PASSES = kFused,
          int ESTEP = kTwoPass>
int32_t em_iteration(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  using S = Specs<T, COV, D, M>;
  const ArgSpec specs[] = {S::X, S::number("reg_covar"), S::weights, S::means, S::covariance("precisions_cholesky"),
                           S::covariance("covariances"), ArgSpec{"lower_bound", 0, SEJITS_FLOAT64, 1, {1, 0, 0}}};
  if (check_entry(args, nargs, specs, 7, error, error_len)) return 1;
  if (args[0].shape[0] < 1) return fail(error, error_len, "X has no rows");
  Model<T, COV, D, M> model;
  load_model<T, COV, D, M>(args, 2, model);
  std::vector<double> covariances(covariance_count<COV>(D, M));
  Stats<COV, D, M> stats;
  KeptResponsibilities kept;
  double bound = 0;
  if (!em_step<T, COV, D, M, R, MSTEP, PASSES, ESTEP>(model, args[0], scalar_of(args[1]), nthreads, serial_call(args, nargs), kept,
                                                     stats, covariances, &bound)) {
    return fail_ill_defined<T>(error, error_len);
  }
  store_model<T, COV, D, M>(model, covariances, args, 2);
  *(double *)args[6].data = bound;
  return 0;
}

/* The row-wise entries: what each writes for a row. */
enum RowOutput { kLogResp, kScore, kLabel };

/* e_step(X, weights, means, precisions_cholesky, log_resp[N, M], log_prob_norm[N]);
 * score_samples(..., log_prob_norm[N]); predict(..., labels[N] int64). */
template <typename T, int COV, int64_t D, int64_t M, int64_t R, int OUTPUT>
int32_t per_row(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  using S = Specs<T, COV, D, M>;
  const ArgSpec log_resp{"log_resp", 0, S::kT, 2, {kRows, M, 0}}, norm{"log_prob_norm", 0, S::kT, 1, {kRows, 0, 0}},
      labels{"labels", 0, SEJITS_INT64, 1, {kRows, 0, 0}};
  const ArgSpec specs[] = {S::X, S::weights, S::means, S::covariance("precisions_cholesky"),
                           OUTPUT == kLogResp ? log_resp : OUTPUT == kScore ? norm : labels, norm};
  if (check_entry(args, nargs, specs, OUTPUT == kLogResp ? 6 : 5, error, error_len)) return 1;
  Model<T, COV, D, M> model;
  load_model<T, COV, D, M>(args, 1, model);
  const sejits_arg &out = args[4];
  for_tiles<T, COV, D, M, R>(args[0], team_size<COV, D, M>(args[0].shape[0], nthreads, serial_call(args, nargs)),
                             [&](Tile<T, COV, D, M, R> &tile, int64_t first, int) {
    weighted_log_prob<T, COV, D, M, R>(model, tile);
    if (OUTPUT != kLabel) log_normalizers<T, COV, D, M, R>(tile);
    for (int64_t r = 0; r < tile.rows; ++r) {
      const int64_t row = first + r;
      if (OUTPUT == kLogResp) {
        char *base = (char *)out.data + row * out.strides[0];
        for (int64_t k = 0; k < M; ++k) *(T *)(base + k * out.strides[1]) = (T)(tile.wlp[k * R + r] - tile.lse[r]);
        *(T *)((char *)args[5].data + row * args[5].strides[0]) = (T)tile.lse[r];
      } else if (OUTPUT == kScore) {
        *(T *)((char *)out.data + row * out.strides[0]) = (T)tile.lse[r];
      } else {
        int64_t best = 0;  /* the first largest, as argmax */
        for (int64_t k = 1; k < M; ++k) best = tile.wlp[k * R + r] > tile.wlp[best * R + r] ? k : best;
        *(int64_t *)((char *)out.data + row * out.strides[0]) = best;
      }
    }
  });
  return 0;
}

/* m_step(X, resp[N, M], reg_covar, nk[M], means, covariances, precisions_cholesky):
 * scikit-learn's _estimate_gaussian_parameters and _compute_precision_cholesky
 * from given responsibilities (the initialisation). Two passes: the means,
 * then the statistics around them. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R>
int32_t m_step(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  using S = Specs<T, COV, D, M>;
  const ArgSpec specs[] = {S::X, ArgSpec{"resp", 0, S::kT, 2, {kRows, M, 0}}, S::number("reg_covar"),
                           ArgSpec{"nk", 0, S::kT, 1, {M, 0, 0}}, S::means, S::covariance("covariances"),
                           S::covariance("precisions_cholesky")};
  if (check_entry(args, nargs, specs, 7, error, error_len)) return 1;
  const sejits_arg &X = args[0], &resp = args[1];
  const int team = team_size<COV, D, M>(X.shape[0], nthreads, serial_call(args, nargs));
  std::vector<Stats<COV, D, M>> partial(team);
  std::vector<double> origin(M * D, 0.0), center(D, 0.0);  /* pass 1: zero; pass 2: the means */
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) means_of_first_pass<T>(partial[0], origin.data(), center.data());
    for (auto &part : partial) part.clear();
    for_tiles<T, COV, D, M, R>(X, team, [&](Tile<T, COV, D, M, R> &tile, int64_t first, int me) {
      for (int64_t k = 0; k < M; ++k) {
        for (int64_t r = 0; r < R; ++r) {
          tile.wlp[k * R + r] =
              r < tile.rows ? (double)*(const T *)((const char *)resp.data + (first + r) * resp.strides[0] + k * resp.strides[1]) : 0.0;
        }
      }
      if (pass == 0) {
        accumulate<T, COV, D, M, R, false>(partial[me], tile, origin.data(), center.data(), tile.centered.data());
      } else {
        accumulate<T, COV, D, M, R, true>(partial[me], tile, origin.data(), center.data(), tile.centered.data());
      }
    });
    for (int t = 1; t < team; ++t) partial[0].add(partial[t]);
  }
  recenter_on_means<COV, D, M>(partial[0], origin.data(), center.data());
  std::vector<double> nk(M), weights(M), means(M * D), covariances(covariance_count<COV>(D, M)),
      precisions_chol(covariance_count<COV>(D, M));
  if (!finish_m_step<T, COV, D, M>(partial[0], origin.data(), center.data(), scalar_of(args[2]), nk, weights, means,
                                   covariances, precisions_chol, team)) {
    return fail_ill_defined<T>(error, error_len);
  }
  store<T>(args[3], nk.data(), M);
  store<T>(args[4], means.data(), M * D);
  store<T>(args[5], covariances.data(), covariance_count<COV>(D, M));
  store<T>(args[6], precisions_chol.data(), covariance_count<COV>(D, M));
  return 0;
}

}  // namespace sejits_gmm

#pragma GCC pop_options

#endif /* SEJITS_GMM_RUNTIME_H */
