// Gaussian-mixture EM on an OpenCL device: the device half of the gmm
// specializer's OpenCL artifacts (sejits/gmm_opencl_runtime.h is the host
// half). The artifact prints this file after the prelude and its #defines:
//   GMM_T    float or double: X's dtype, the parameters' and the E-step's
//   GMM_COV  0 full, 1 tied, 2 diag, 3 spherical (sejits_gmm::Covariance)
//   GMM_D    features, GMM_M components (long constants)
//   GMM_WG   work items per group, at most: the rows of a group's tile
//   GMM_LOCAL_MODEL  1: each work-group reads the model's means and
//            precision factors from its copy in local memory (the lowering
//            sets it only where they fit); 0: from global memory
//
// The arithmetic is gmm_tile.h's, one row per work item instead of a tile
// of rows per thread: the direct forms (x - mu) P, never the expanded ones;
// the quadratic forms in GMM_T, fused multiply-adds in the order of the
// features as the C++ kernels add them; log-probabilities, log-sum-exp and
// responsibilities in the accumulator type; the sufficient statistics in
// the layout of sejits_gmm::Stats around the model's means (tied: A and u
// around the center of the means, over every row), as finish_m_step takes
// them. The C++ kernels gather diag and spherical sums around that center
// (one shifted copy of a tile serves every component) and move them to the
// means, which multiplies their rounding by up to (|mean - center| / sigma)^2;
// here each statistic computes its own differences anyway, so it takes them
// from its component's mean: nothing to move, nothing amplified.

#ifdef cl_khr_fp64
typedef double gmm_acc;  // statistics and log-probabilities, as the C++ kernels keep them
#else
typedef float gmm_acc;  // a device without float64: float32 X only, statistics in float
#endif
typedef GMM_T gmm_t;

#define GMM_FULL 0
#define GMM_TIED 1
#define GMM_DIAG 2
#define GMM_SPHERICAL 3

// Keep in step with sejits_gmm_cl::Layout (gmm_opencl_runtime.h).
#define GMM_PRECISIONS \
  (GMM_COV == GMM_FULL ? GMM_M * GMM_D * GMM_D : GMM_COV == GMM_TIED ? GMM_D * GMM_D : GMM_COV == GMM_DIAG ? GMM_M * GMM_D : GMM_M)
#define GMM_SECOND \
  (GMM_COV == GMM_FULL ? GMM_M * GMM_D * GMM_D : GMM_COV == GMM_TIED ? GMM_D * GMM_D + GMM_D : GMM_COV == GMM_DIAG ? GMM_M * GMM_D : GMM_M)
// A flat Stats: S[M], s1[M][D], s2[GMM_SECOND], the log-likelihood, the rows.
#define GMM_AT_S1 GMM_M
#define GMM_AT_S2 (GMM_M + GMM_M * GMM_D)
#define GMM_AT_LOG_LIKELIHOOD (GMM_AT_S2 + GMM_SECOND)
#define GMM_AT_ROWS (GMM_AT_LOG_LIKELIHOOD + 1)
#define GMM_STATS (GMM_AT_ROWS + 1)
// The model in GMM_T: means[M][D], precision factors, the center of the means, tied's (mu_k - c) P.
#define GMM_T_PRECISIONS (GMM_M * GMM_D)
#define GMM_T_CENTER (GMM_T_PRECISIONS + GMM_PRECISIONS)
#define GMM_T_MEAN_P (GMM_T_CENTER + GMM_D)
#define GMM_T_MODEL (GMM_T_MEAN_P + (GMM_COV == GMM_TIED ? GMM_M * GMM_D : 0))
#ifndef GMM_LOCAL_MODEL
#define GMM_LOCAL_MODEL 0
#endif
#if GMM_LOCAL_MODEL
#define GMM_MODEL_SPACE __local
#else
#define GMM_MODEL_SPACE __global
#endif
// A kernel's view of the model in GMM_T, `model_t`, from its argument
// `model_global`: a work-group's copy in local memory (copied where `wanted`,
// the same for the whole group), or the argument. Every work item of the
// group must reach it (it holds a barrier).
#if GMM_LOCAL_MODEL
#define GMM_MODEL_VIEW(wanted)                                                                  \
  __local gmm_t model_copy[GMM_T_MODEL];                                                        \
  if (wanted) {                                                                                 \
    for (long e = get_local_id(0); e < GMM_T_MODEL; e += get_local_size(0)) model_copy[e] = model_global[e]; \
  }                                                                                             \
  barrier(CLK_LOCAL_MEM_FENCE);                                                                 \
  __local const gmm_t *model_t = model_copy
#else
#define GMM_MODEL_VIEW(wanted) __global const gmm_t *model_t = model_global
#endif
// The model in gmm_acc: per component log w + log det P - D/2 log(2 pi), then
// the points the statistics are gathered around: origin[M][D] (the means) and
// center[D] (tied's A and u).
#define GMM_A_ORIGIN GMM_M
#define GMM_A_CENTER (GMM_M + GMM_M * GMM_D)
// A tile row: the row's M responsibilities, then its log-sum-exp.
#define GMM_TILE (GMM_M + 1)

// What gmm_gather does (sejits_gmm_cl::Mode).
#define GMM_E_STEP 0         // the E-step, then every statistic
#define GMM_GIVEN_FIRST 1    // given responsibilities: S and s1 only
#define GMM_GIVEN_SECOND 2   // given responsibilities: every statistic

// The second-moment statistics as work: full, the upper triangle (i <= j)
// of each component's matrix; tied, A's upper triangle, then u.
#define GMM_PAIRS (GMM_D * (GMM_D + 1) / 2)
#define GMM_SECOND_WORK \
  (GMM_COV == GMM_FULL ? GMM_M * GMM_PAIRS : GMM_COV == GMM_TIED ? GMM_PAIRS + GMM_D : GMM_COV == GMM_DIAG ? GMM_M * GMM_D : GMM_M)
#define GMM_WORK (GMM_AT_S2 + GMM_SECOND_WORK + 2)

// ---- the E-step of one row ----------------------------------------------------

inline void gmm_load_row(__global const gmm_t *X, long row, long x_row, long x_col, gmm_t *x) {
  for (long d = 0; d < GMM_D; ++d) x[d] = X[row * x_row + d * x_col];
}

// Tied: (x - c) P for the row, P upper triangular; column j adds its terms
// in the order of i, as gmm_tile.h's triangular_forms.
inline void gmm_project(const gmm_t *x, GMM_MODEL_SPACE const gmm_t *model_t, gmm_t *projected) {
#if GMM_COV == GMM_TIED
  GMM_MODEL_SPACE const gmm_t *P = model_t + GMM_T_PRECISIONS;
  GMM_MODEL_SPACE const gmm_t *center = model_t + GMM_T_CENTER;
  gmm_t diff[GMM_D];
  for (long d = 0; d < GMM_D; ++d) diff[d] = x[d] - center[d];
  for (long j = 0; j < GMM_D; ++j) {
    gmm_t sum = 0;
    for (long i = 0; i <= j; ++i) sum = fma(diff[i], P[i * GMM_D + j], sum);
    projected[j] = sum;
  }
#endif
}

// log N(x | mu_k, P_k) + log w_k.
inline gmm_acc gmm_weighted_log_prob(const gmm_t *x, const gmm_t *projected, long k, GMM_MODEL_SPACE const gmm_t *model_t,
                                     __global const gmm_acc *model_acc) {
  GMM_MODEL_SPACE const gmm_t *mu = model_t + k * GMM_D;
  gmm_t q = 0;
  gmm_acc precision = 1;
#if GMM_COV == GMM_FULL
  GMM_MODEL_SPACE const gmm_t *P = model_t + GMM_T_PRECISIONS + k * GMM_D * GMM_D;
  gmm_t v[GMM_D];
  for (long d = 0; d < GMM_D; ++d) v[d] = x[d] - mu[d];
  for (long j = 0; j < GMM_D; ++j) {
    gmm_t column = 0;
    for (long i = 0; i <= j; ++i) column = fma(v[i], P[i * GMM_D + j], column);
    q = fma(column, column, q);
  }
#elif GMM_COV == GMM_TIED
  // (x - mu_k) P = (x - c) P - (mu_k - c) P: the row's projection is shared by the components.
  GMM_MODEL_SPACE const gmm_t *shift = model_t + GMM_T_MEAN_P + k * GMM_D;
  for (long d = 0; d < GMM_D; ++d) {
    const gmm_t y = projected[d] - shift[d];
    q = fma(y, y, q);
  }
#elif GMM_COV == GMM_DIAG
  GMM_MODEL_SPACE const gmm_t *p = model_t + GMM_T_PRECISIONS + k * GMM_D;
  for (long d = 0; d < GMM_D; ++d) {
    const gmm_t y = (x[d] - mu[d]) * p[d];
    q = fma(y, y, q);
  }
#else
  for (long d = 0; d < GMM_D; ++d) {
    const gmm_t y = x[d] - mu[d];
    q = fma(y, y, q);
  }
  const gmm_acc p = (gmm_acc)model_t[GMM_T_PRECISIONS + k];
  precision = p * p;
#endif
  return model_acc[k] - ((gmm_acc)q * precision) / 2;  // a halving: exact, and no double constant on a float32-only device
}

// The row's log sum_k exp(wlp_k), shifted by the largest term (scikit-learn's
// _logsumexp; -inf where every term is). `wlp` holds the M terms.
inline gmm_acc gmm_log_sum_exp(__global const gmm_acc *wlp) {
  gmm_acc largest = wlp[0];
  for (long k = 1; k < GMM_M; ++k) largest = wlp[k] > largest ? wlp[k] : largest;
  if (!(largest > -INFINITY)) largest = 0;  // every term -inf: the sum is 0, its log -inf
  gmm_acc sum = 0;
  for (long k = 0; k < GMM_M; ++k) sum += exp(wlp[k] - largest);
  return largest + log(sum);
}

// The same for terms computed on the fly (two passes over the components):
// the row-wise entries keep no M terms per row.
inline gmm_acc gmm_row_log_sum_exp(const gmm_t *x, const gmm_t *projected, GMM_MODEL_SPACE const gmm_t *model_t,
                                   __global const gmm_acc *model_acc) {
  gmm_acc largest = gmm_weighted_log_prob(x, projected, 0, model_t, model_acc);
  for (long k = 1; k < GMM_M; ++k) {
    const gmm_acc w = gmm_weighted_log_prob(x, projected, k, model_t, model_acc);
    largest = w > largest ? w : largest;
  }
  if (!(largest > -INFINITY)) largest = 0;
  gmm_acc sum = 0;
  for (long k = 0; k < GMM_M; ++k) sum += exp(gmm_weighted_log_prob(x, projected, k, model_t, model_acc) - largest);
  return largest + log(sum);
}

// ---- the fused E-step and statistics pass ------------------------------------

// Statistic `w` (see GMM_WORK) summed over the tile's rows [first, first +
// count) in row order, added to the group's partial. One work item owns it.
inline void gmm_gather_one(long w, int mode, __global const gmm_t *X, long x_row, long x_col, long first, long count,
                           __global const gmm_acc *tile, __global const gmm_t *given, long resp_row, long resp_col,
                           __global const gmm_acc *model_acc, __global gmm_acc *partial) {
#define GMM_X(r, d) ((gmm_acc)X[(first + (r)) * x_row + (d) * x_col])
#define GMM_RESP(r, k) \
  (mode == GMM_E_STEP ? tile[(r) * GMM_TILE + (k)] : (gmm_acc)given[(first + (r)) * resp_row + (k) * resp_col])
  __global const gmm_acc *origin = model_acc + GMM_A_ORIGIN, *center = model_acc + GMM_A_CENTER;
  gmm_acc sum = 0;
  if (w < GMM_AT_S1) {  // S[k]
    for (long r = 0; r < count; ++r) sum += GMM_RESP(r, w);
    partial[w] += sum;
    return;
  }
  if (w < GMM_AT_S2) {  // s1[k][d]
    const long k = (w - GMM_AT_S1) / GMM_D, d = (w - GMM_AT_S1) % GMM_D;
    const gmm_acc mu = origin[k * GMM_D + d];
    for (long r = 0; r < count; ++r) sum = fma(GMM_RESP(r, k), GMM_X(r, d) - mu, sum);
    partial[w] += sum;
    return;
  }
  if (mode == GMM_GIVEN_FIRST) return;
  const long second = w - GMM_AT_S2;
  if (second < GMM_SECOND_WORK) {
#if GMM_COV == GMM_FULL || GMM_COV == GMM_TIED
    // a pair i <= j of the upper triangle: full's of component k, tied's of A
    const long k = GMM_COV == GMM_FULL ? second / GMM_PAIRS : 0;
    long pair = GMM_COV == GMM_FULL ? second % GMM_PAIRS : second, i = 0;
    if (GMM_COV == GMM_TIED && pair >= GMM_PAIRS) {  // u[d] = sum over the rows of x_d - c_d
      const long d = pair - GMM_PAIRS;
      for (long r = 0; r < count; ++r) sum += GMM_X(r, d) - center[d];
      partial[GMM_AT_S2 + GMM_D * GMM_D + d] += sum;
      return;
    }
    while (pair >= GMM_D - i) {  // row i of the triangle holds D - i pairs
      pair -= GMM_D - i;
      ++i;
    }
    const long j = i + pair;
    __global const gmm_acc *mu = GMM_COV == GMM_FULL ? origin + k * GMM_D : center;
    for (long r = 0; r < count; ++r) {
      const gmm_acc weight = GMM_COV == GMM_FULL ? GMM_RESP(r, k) : (gmm_acc)1;
      sum = fma(weight * (GMM_X(r, i) - mu[i]), GMM_X(r, j) - mu[j], sum);
    }
    partial[GMM_AT_S2 + k * GMM_D * GMM_D + i * GMM_D + j] += sum;
#elif GMM_COV == GMM_DIAG
    const long k = second / GMM_D, d = second % GMM_D;
    const gmm_acc mu = origin[second];
    for (long r = 0; r < count; ++r) {
      const gmm_acc u = GMM_X(r, d) - mu;
      sum = fma(GMM_RESP(r, k), u * u, sum);
    }
    partial[GMM_AT_S2 + second] += sum;
#else
    const long k = second;
    __global const gmm_acc *mu = origin + k * GMM_D;
    for (long r = 0; r < count; ++r) {
      gmm_acc trace = 0;
      for (long d = 0; d < GMM_D; ++d) {
        const gmm_acc u = GMM_X(r, d) - mu[d];
        trace = fma(u, u, trace);
      }
      sum = fma(GMM_RESP(r, k), trace, sum);
    }
    partial[GMM_AT_S2 + k] += sum;
#endif
    return;
  }
  if (second == GMM_SECOND_WORK) {  // the log-likelihood: the rows' log-sum-exps
    if (mode != GMM_E_STEP) return;
    for (long r = 0; r < count; ++r) sum += tile[r * GMM_TILE + GMM_M];
    partial[GMM_AT_LOG_LIKELIHOOD] += sum;
    return;
  }
  partial[GMM_AT_ROWS] += (gmm_acc)count;
#undef GMM_X
#undef GMM_RESP
}

#if GMM_COV == GMM_DIAG
// Diag after the E-step: unit u < GMM_DIAG_UNITS sums s1 and s2 for a block
// of GMM_DIAG_BK components and GMM_DIAG_BD features over the tile's rows:
// per row BK responsibilities and BD values of x serve BK * BD pairs, each
// summed in row order with gmm_gather_one's operations (the same bits). The
// units after those are S[k], the log-likelihood and the rows, as
// gmm_gather_one's work items.
#define GMM_DIAG_BK 4
#define GMM_DIAG_BD 2
#define GMM_DIAG_K_BLOCKS ((GMM_M + GMM_DIAG_BK - 1) / GMM_DIAG_BK)
#define GMM_DIAG_D_BLOCKS ((GMM_D + GMM_DIAG_BD - 1) / GMM_DIAG_BD)
#define GMM_DIAG_UNITS (GMM_DIAG_K_BLOCKS * GMM_DIAG_D_BLOCKS)
#define GMM_DIAG_WORK (GMM_DIAG_UNITS + GMM_M + 2)

inline void gmm_gather_diag(long u, __global const gmm_t *X, long x_row, long x_col, long first, long count,
                            __global const gmm_acc *tile, __global const gmm_acc *model_acc, __global gmm_acc *partial) {
  if (u >= GMM_DIAG_UNITS) {
    const long rest = u - GMM_DIAG_UNITS;  // S[k], then the log-likelihood and the rows
    const long w = rest < GMM_M ? rest : GMM_AT_S2 + GMM_SECOND_WORK + (rest - GMM_M);
    gmm_gather_one(w, GMM_E_STEP, X, x_row, x_col, first, count, tile, (__global const gmm_t *)X, 0, 0, model_acc,
                   partial);
    return;
  }
  // Neighbouring work items take neighbouring features: their loads of x share cache lines.
  const long d0 = (u % GMM_DIAG_D_BLOCKS) * GMM_DIAG_BD, k0 = (u / GMM_DIAG_D_BLOCKS) * GMM_DIAG_BK;
  const long ks = min((long)GMM_DIAG_BK, GMM_M - k0), ds = min((long)GMM_DIAG_BD, GMM_D - d0);
  __global const gmm_acc *origin = model_acc + GMM_A_ORIGIN;
  gmm_acc mu[GMM_DIAG_BK][GMM_DIAG_BD], s1[GMM_DIAG_BK][GMM_DIAG_BD], s2[GMM_DIAG_BK][GMM_DIAG_BD];
  for (long j = 0; j < GMM_DIAG_BK; ++j) {
    for (long e = 0; e < GMM_DIAG_BD; ++e) {
      mu[j][e] = j < ks && e < ds ? origin[(k0 + j) * GMM_D + d0 + e] : 0;
      s1[j][e] = s2[j][e] = 0;
    }
  }
  for (long r = 0; r < count; ++r) {
    gmm_acc x[GMM_DIAG_BD], resp[GMM_DIAG_BK];
    for (long e = 0; e < GMM_DIAG_BD; ++e) x[e] = e < ds ? (gmm_acc)X[(first + r) * x_row + (d0 + e) * x_col] : 0;
    for (long j = 0; j < GMM_DIAG_BK; ++j) resp[j] = j < ks ? tile[r * GMM_TILE + k0 + j] : 0;
    for (long j = 0; j < GMM_DIAG_BK; ++j) {
      for (long e = 0; e < GMM_DIAG_BD; ++e) {
        const gmm_acc v = x[e] - mu[j][e];
        s1[j][e] = fma(resp[j], v, s1[j][e]);
        s2[j][e] = fma(resp[j], v * v, s2[j][e]);
      }
    }
  }
  for (long j = 0; j < ks; ++j) {
    for (long e = 0; e < ds; ++e) {
      partial[GMM_AT_S1 + (k0 + j) * GMM_D + d0 + e] += s1[j][e];
      partial[GMM_AT_S2 + (k0 + j) * GMM_D + d0 + e] += s2[j][e];
    }
  }
}
#endif

// Work-group g takes rows [g N / groups, (g + 1) N / groups) a tile of
// get_local_size(0) rows at a time: each work item the E-step of one row
// (its responsibilities and log-sum-exp into the group's tile), then each
// the statistics it owns over the tile's rows. The group's partial Stats
// goes to partials[g]; gmm_fold adds them in group order.
__kernel void gmm_gather(__global const gmm_t *X_base, long X_off, long n_rows, long x_row, long x_col,
                         __global const gmm_t *resp_base, long resp_off, long resp_row, long resp_col,
                         __global const gmm_t *model_global, __global const gmm_acc *model_acc, __global gmm_acc *tiles,
                         __global gmm_acc *partials, long groups, int mode) {
  __global const gmm_t *X = X_base + X_off;
  __global const gmm_t *given = resp_base + resp_off;
  const long g = get_group_id(0), me = get_local_id(0), width = get_local_size(0);
  if (g >= groups) return;  // a launch rounded up to whole groups: the whole group leaves
  GMM_MODEL_VIEW(mode == GMM_E_STEP);  // given responsibilities: no model uploaded, none read
  const long begin = g * n_rows / groups, end = (g + 1) * n_rows / groups;
  __global gmm_acc *partial = partials + g * GMM_STATS;
  __global gmm_acc *tile = tiles + g * GMM_WG * GMM_TILE;
  for (long e = me; e < GMM_STATS; e += width) partial[e] = 0;
  barrier(CLK_GLOBAL_MEM_FENCE);
  for (long first = begin; first < end; first += width) {
    const long count = min(width, end - first);
    if (mode == GMM_E_STEP && me < count) {
      gmm_t x[GMM_D], projected[GMM_COV == GMM_TIED ? GMM_D : 1];
      gmm_load_row(X, first + me, x_row, x_col, x);
      gmm_project(x, model_t, projected);
      __global gmm_acc *row = tile + me * GMM_TILE;
      for (long k = 0; k < GMM_M; ++k) row[k] = gmm_weighted_log_prob(x, projected, k, model_t, model_acc);
      const gmm_acc lse = gmm_log_sum_exp(row);
      for (long k = 0; k < GMM_M; ++k) row[k] = exp(row[k] - lse);
      row[GMM_M] = lse;
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
#if GMM_COV == GMM_DIAG
    if (mode == GMM_E_STEP) {
      for (long u = me; u < GMM_DIAG_WORK; u += width) gmm_gather_diag(u, X, x_row, x_col, first, count, tile, model_acc, partial);
      barrier(CLK_GLOBAL_MEM_FENCE);
      continue;
    }
#endif
    for (long w = me; w < GMM_WORK; w += width) {
      gmm_gather_one(w, mode, X, x_row, x_col, first, count, tile, given, resp_row, resp_col, model_acc, partial);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
  }
}

// totals[e] = the groups' partials of statistic e, added in group order (the
// totals follow the partials in the same buffer).
__kernel void gmm_fold(__global gmm_acc *partials, long groups) {
  const long e = get_global_id(0);
  if (e >= GMM_STATS) return;
  gmm_acc total = 0;
  for (long g = 0; g < groups; ++g) total += partials[g * GMM_STATS + e];
  partials[groups * GMM_STATS + e] = total;
}

// ---- the row-wise entries: one work item per row --------------------------------

#define GMM_ROW_PROLOGUE                                                \
  __global const gmm_t *X = X_base + X_off;                             \
  const long row = get_global_id(0);                                    \
  GMM_MODEL_VIEW(1);                                                    \
  if (row >= n_rows) return;                                            \
  gmm_t x[GMM_D], projected[GMM_COV == GMM_TIED ? GMM_D : 1];           \
  gmm_load_row(X, row, x_row, x_col, x);                                \
  gmm_project(x, model_t, projected)

// score_samples: log_prob_norm[row] = the row's log-sum-exp.
__kernel void gmm_score(__global const gmm_t *X_base, long X_off, long n_rows, long x_row, long x_col,
                        __global const gmm_t *model_global, __global const gmm_acc *model_acc, __global gmm_t *out_base,
                        long out_off, long out_stride) {
  GMM_ROW_PROLOGUE;
  out_base[out_off + row * out_stride] = (gmm_t)gmm_row_log_sum_exp(x, projected, model_t, model_acc);
}

// predict: the first component of largest weighted log-probability (argmax).
__kernel void gmm_predict(__global const gmm_t *X_base, long X_off, long n_rows, long x_row, long x_col,
                          __global const gmm_t *model_global, __global const gmm_acc *model_acc, __global long *out_base,
                          long out_off, long out_stride) {
  GMM_ROW_PROLOGUE;
  long best = 0;
  gmm_acc largest = gmm_weighted_log_prob(x, projected, 0, model_t, model_acc);
  for (long k = 1; k < GMM_M; ++k) {
    const gmm_acc w = gmm_weighted_log_prob(x, projected, k, model_t, model_acc);
    if (w > largest) {
      largest = w;
      best = k;
    }
  }
  out_base[out_off + row * out_stride] = best;
}

// e_step: log_resp[row][k] = wlp_k - lse, log_prob_norm[row] = lse.
__kernel void gmm_log_resp(__global const gmm_t *X_base, long X_off, long n_rows, long x_row, long x_col,
                           __global const gmm_t *model_global, __global const gmm_acc *model_acc, __global gmm_t *out_base,
                           long out_off, long out_row, long out_col, __global gmm_t *norm_base, long norm_off,
                           long norm_stride) {
  GMM_ROW_PROLOGUE;
  const gmm_acc lse = gmm_row_log_sum_exp(x, projected, model_t, model_acc);
  for (long k = 0; k < GMM_M; ++k) {
    out_base[out_off + row * out_row + k * out_col] = (gmm_t)(gmm_weighted_log_prob(x, projected, k, model_t, model_acc) - lse);
  }
  norm_base[norm_off + row * norm_stride] = (gmm_t)lse;
}
