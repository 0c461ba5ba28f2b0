/* Gaussian-mixture EM, the rows side: X a tile of R rows at a time, stored
 * dimension-major (x[d * R + r]) so that every inner loop runs along rows,
 * vectorized with no reassociation:
 *  - the E-step's quadratic forms advance kBlock rows together, in the order
 *    of the features as a scalar loop would add them;
 *  - the log-sum-exp over components is elementwise along rows;
 *  - the M-step's sums over the tile's rows use kLanes interleaved partial
 *    sums combined pairwise, an order fixed by R alone.
 * Part of sejits/gmm_runtime.h. */
#ifndef SEJITS_GMM_TILE_H
#define SEJITS_GMM_TILE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "sejits/gmm_model.h"
#include "sejits/kernel_abi.h"
#include "sejits/kernel_runtime.h" /* SIMD declarations of exp and log */

/* 256-bit vectors where the CPU has them (see gmm_runtime.h). */
#pragma GCC push_options
#pragma GCC target("prefer-vector-width=256")

namespace sejits_gmm {

constexpr int64_t kLanes = 8;   /* partial sums of a sum over a tile's rows */
constexpr int64_t kBlock = 8;   /* rows whose quadratic forms advance together (in registers) */

/* a * b + c, in one rounding where the CPU has FMA. */
static inline double fused(double a, double b, double c) {
#ifdef __FMA__
  return __builtin_fma(a, b, c);
#else
  return a * b + c;
#endif
}
static inline float fused(float a, float b, float c) {
#ifdef __FMA__
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}

static inline double combine_lanes(const double *lane) {
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* out[j] += sum_r a[r] * b[j][r] for J rows b[j] at once (a's loads shared). */
template <int64_t R, int64_t J>
inline void lane_dots(const double *__restrict__ a, const double *const *b, double *out) {
  double lane[J][kLanes] = {};
  for (int64_t r = 0; r < R; r += kLanes) {
    for (int64_t j = 0; j < J; ++j) {
      const double *__restrict__ bj = b[j] + r;
#pragma omp simd
      for (int64_t l = 0; l < kLanes; ++l) lane[j][l] = fused(a[r + l], bj[l], lane[j][l]);
    }
  }
  for (int64_t j = 0; j < J; ++j) out[j] += combine_lanes(lane[j]);
}

template <int64_t R>
inline double lane_sum(const double *__restrict__ a) {
  double lane[kLanes] = {};
  for (int64_t r = 0; r < R; r += kLanes) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) lane[l] += a[r + l];
  }
  return combine_lanes(lane);
}

/* A thread's working set for one tile. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R>
struct Tile {
  static_assert(R % kBlock == 0 && R % kLanes == 0, "a tile is whole blocks of rows");
  std::vector<T> x = std::vector<T>(D * R);          /* the rows, dimension-major; zero past `rows` */
  std::vector<T> diff = std::vector<T>(D * R);       /* x - mu_k (tied: x - c) */
  std::vector<T> projected = std::vector<T>(COV == kTied ? D * R : 0); /* tied: (x - c) P */
  std::vector<double> wlp = std::vector<double>(M * R); /* wlp[k * R + r]: weighted log-probabilities, or responsibilities */
  std::vector<double> lse = std::vector<double>(R);
  /* the M-step's x - mu (full, tied) or x - c and its square (diag, spherical), in double */
  std::vector<double> centered = std::vector<double>(COV == kFull || COV == kTied ? D * R : 2 * D * R);
  int64_t rows = 0;
};

/* Rows [first, first + count) of X into the tile, count <= R. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R>
void load_tile(const sejits_arg &X, int64_t first, int64_t count, Tile<T, COV, D, M, R> &tile) {
  tile.rows = count;
  const int64_t row_stride = X.strides[0], column_stride = X.strides[1];
  for (int64_t r = 0; r < count; ++r) {
    const char *row = (const char *)X.data + (first + r) * row_stride;
    for (int64_t d = 0; d < D; ++d) tile.x[d * R + r] = *(const T *)(row + d * column_stride);
  }
  for (int64_t d = 0; d < D; ++d) {
    for (int64_t r = count; r < R; ++r) tile.x[d * R + r] = 0;
  }
}

/* q[l] = sum_j (sum_{i <= j} v[i][l] P[i][j])^2 for the kBlock rows at `v`
 * (row stride R): the squared norm of v P, P upper triangular. Two columns
 * j advance together (independent chains share v's loads); the squares are
 * added in the order of j. `out` (if not null) receives v P itself. */
template <typename T, int64_t D, int64_t R>
inline void triangular_forms(const T *__restrict__ v, const T *__restrict__ P, T *__restrict__ q, T *__restrict__ out) {
#pragma omp simd
  for (int64_t l = 0; l < kBlock; ++l) q[l] = 0;
  for (int64_t j = 0; j < D; j += 2) {
    const bool pair = j + 1 < D;
    T first[kBlock] = {}, second[kBlock] = {};
    for (int64_t i = 0; i <= j; ++i) {
      const T p = P[i * D + j], p_next = pair ? P[i * D + j + 1] : (T)0;
      const T *__restrict__ vi = v + i * R;
#pragma omp simd
      for (int64_t l = 0; l < kBlock; ++l) {
        first[l] = fused(vi[l], p, first[l]);
        second[l] = fused(vi[l], p_next, second[l]);
      }
    }
    if (pair) {
      const T p = P[(j + 1) * D + j + 1];
      const T *__restrict__ vi = v + (j + 1) * R;
#pragma omp simd
      for (int64_t l = 0; l < kBlock; ++l) second[l] = fused(vi[l], p, second[l]);
    }
#pragma omp simd
    for (int64_t l = 0; l < kBlock; ++l) q[l] = fused(first[l], first[l], q[l]);
    if (pair) {
#pragma omp simd
      for (int64_t l = 0; l < kBlock; ++l) q[l] = fused(second[l], second[l], q[l]);
    }
    if (out) {
      for (int64_t l = 0; l < kBlock; ++l) out[j * R + l] = first[l];
      if (pair) {
        for (int64_t l = 0; l < kBlock; ++l) out[(j + 1) * R + l] = second[l];
      }
    }
  }
}

/* Tied: the tile's (x - c) P, which every component's terms share. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R>
void project_tile(const Model<T, COV, D, M> &model, Tile<T, COV, D, M, R> &tile) {
  if (COV != kTied) return;
  const T *__restrict__ x = tile.x.data();
  T *__restrict__ diff = tile.diff.data();
  T q[kBlock];
  for (int64_t d = 0; d < D; ++d) {
#pragma omp simd
    for (int64_t r = 0; r < R; ++r) diff[d * R + r] = x[d * R + r] - model.center[d];
  }
  for (int64_t block = 0; block < R; block += kBlock) {
    triangular_forms<T, D, R>(diff + block, model.prec_t.data(), q, tile.projected.data() + block);
  }
}

/* wlp[k][r] = log N(x_r | mu_k, P_k) + log w_k for the tile's rows and the
 * components [k_begin, k_end), after project_tile. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R>
void weighted_log_prob_of(const Model<T, COV, D, M> &model, Tile<T, COV, D, M, R> &tile, int64_t k_begin, int64_t k_end) {
  const T *__restrict__ x = tile.x.data();
  T *__restrict__ diff = tile.diff.data();
  T q[kBlock];
  for (int64_t k = k_begin; k < k_end; ++k) {
    const T *__restrict__ mu = &model.mean_t[k * D];
    double *__restrict__ out = &tile.wlp[k * R];
    if (COV == kFull) {
      for (int64_t d = 0; d < D; ++d) {
#pragma omp simd
        for (int64_t r = 0; r < R; ++r) diff[d * R + r] = x[d * R + r] - mu[d];
      }
    }
    const double precision = COV == kSpherical ? (double)model.prec_t[k] * (double)model.prec_t[k] : 1.0;
    for (int64_t block = 0; block < R; block += kBlock) {
      if (COV == kFull) {
        triangular_forms<T, D, R>(diff + block, &model.prec_t[k * D * D], q, nullptr);
      } else {
#pragma omp simd
        for (int64_t l = 0; l < kBlock; ++l) q[l] = 0;
        for (int64_t d = 0; d < D; ++d) {
          const T *__restrict__ column = COV == kTied ? &tile.projected[d * R + block] : &x[d * R + block];
          const T shift = COV == kTied ? model.mean_p[k * D + d] : mu[d];
          const T scale = COV == kDiag ? model.prec_t[k * D + d] : (T)1;
#pragma omp simd
          for (int64_t l = 0; l < kBlock; ++l) {
            const T y = (column[l] - shift) * scale;
            q[l] = fused(y, y, q[l]);
          }
        }
      }
#pragma omp simd
      for (int64_t l = 0; l < kBlock; ++l) out[block + l] = model.constant[k] - 0.5 * ((double)q[l] * precision);
    }
  }
}

/* wlp[k][r] for every component. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R>
void weighted_log_prob(const Model<T, COV, D, M> &model, Tile<T, COV, D, M, R> &tile) {
  project_tile<T, COV, D, M, R>(model, tile);
  weighted_log_prob_of<T, COV, D, M, R>(model, tile, 0, M);
}

/* exp(x) on the fast path of glibc's SIMD exp. That exp computes every lane
 * whose result would be subnormal or zero (x below about -708.4) with a scalar
 * call, ten times slower, and well-separated components put most E-step terms
 * there. So the argument is clamped to kExpArgFloor and results below 2^-1020
 * are flushed to 0: the value differs from exp(x) only where exp(x) < 2^-1020.
 * The floor goes through an empty asm, because GCC otherwise rewrites
 * exp(max(x, floor)) under the flush back into exp(x). */
constexpr double kExpArgFloor = -708.0;

inline double opaque_exp_floor() {
  double floor = kExpArgFloor;
  __asm__("" : "+x"(floor));
  return floor;
}

inline __attribute__((always_inline)) double flushed_exp(double x, double floor) {
  const double e = exp(x < floor ? floor : x);
  return e < 0x1p-1020 ? 0.0 : e;
}

/* lse[r] = log sum_k exp(wlp[k][r]), shifted by the largest (scikit-learn's
 * _logsumexp); -inf where every term is. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R>
void log_normalizers(Tile<T, COV, D, M, R> &tile) {
  double largest[R], sum[R];
  const double *__restrict__ wlp = tile.wlp.data();
  const double floor = opaque_exp_floor();
  #pragma omp simd
  for (int64_t r = 0; r < R; ++r) largest[r] = wlp[r];
  for (int64_t k = 1; k < M; ++k) {
    #pragma omp simd
    for (int64_t r = 0; r < R; ++r) largest[r] = wlp[k * R + r] > largest[r] ? wlp[k * R + r] : largest[r];
  }
  #pragma omp simd
  for (int64_t r = 0; r < R; ++r) {
    sum[r] = 0;
    if (!(largest[r] > -INFINITY)) largest[r] = 0;  /* every term -inf: the sum is 0, its log -inf */
  }
  for (int64_t k = 0; k < M; ++k) {
    #pragma omp simd
    for (int64_t r = 0; r < R; ++r) sum[r] += flushed_exp(wlp[k * R + r] - largest[r], floor);
  }
  #pragma omp simd
  for (int64_t r = 0; r < R; ++r) tile.lse[r] = largest[r] + log(sum[r]);
}

/* The online log-sum-exp (the variant "estep" = "online"): the components'
 * terms kComponentBlock at a time, each block folded into a running largest
 * term and a sum of exps rescaled when the largest grows, while the block's
 * terms are in cache. 1 + 1 / kComponentBlock exps per term instead of 1, one
 * pass over the terms instead of two. The value is log_normalizers' up to
 * the rounding of the rescaling: a few ulps. */
constexpr int64_t kComponentBlock = 8;

template <typename T, int COV, int64_t D, int64_t M, int64_t R>
void online_log_normalizers(const Model<T, COV, D, M> &model, Tile<T, COV, D, M, R> &tile) {
  double largest[R], sum[R], shift[R];
  const double *wlp = tile.wlp.data();  /* not restrict: weighted_log_prob_of writes it between the reads */
  const double floor = opaque_exp_floor();
#pragma omp simd
  for (int64_t r = 0; r < R; ++r) {
    largest[r] = -INFINITY;
    sum[r] = 0;
  }
  project_tile<T, COV, D, M, R>(model, tile);
  for (int64_t k_begin = 0; k_begin < M; k_begin += kComponentBlock) {
    const int64_t k_end = std::min(M, k_begin + kComponentBlock);
    weighted_log_prob_of<T, COV, D, M, R>(model, tile, k_begin, k_end);
    for (int64_t k = k_begin; k < k_end; ++k) {
#pragma omp simd
      for (int64_t r = 0; r < R; ++r) shift[r] = k == k_begin || wlp[k * R + r] > shift[r] ? wlp[k * R + r] : shift[r];
    }
#pragma omp simd
    for (int64_t r = 0; r < R; ++r) {
      const double grown = shift[r] > largest[r] ? shift[r] : largest[r];
      shift[r] = grown > -INFINITY ? grown : 0;  /* every term so far -inf: their exps are 0 */
      sum[r] *= flushed_exp(largest[r] - shift[r], floor);
      largest[r] = grown;
    }
    for (int64_t k = k_begin; k < k_end; ++k) {
#pragma omp simd
      for (int64_t r = 0; r < R; ++r) sum[r] += flushed_exp(wlp[k * R + r] - shift[r], floor);
    }
  }
#pragma omp simd
  for (int64_t r = 0; r < R; ++r) tile.lse[r] = (largest[r] > -INFINITY ? largest[r] : 0) + log(sum[r]);
}

/* wlp -> responsibilities exp(wlp - lse); zero on the padding rows. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R>
void responsibilities(Tile<T, COV, D, M, R> &tile) {
  double *__restrict__ wlp = tile.wlp.data();
  const double *__restrict__ lse = tile.lse.data();
  const double floor = opaque_exp_floor();
  for (int64_t k = 0; k < M; ++k) {
    #pragma omp simd
    for (int64_t r = 0; r < R; ++r) wlp[k * R + r] = flushed_exp(wlp[k * R + r] - lse[r], floor);
    for (int64_t r = tile.rows; r < R; ++r) wlp[k * R + r] = 0;
  }
}

/* s1 += sum_r resp u, s2 += sum_r resp u^2 for one feature's column u =
 * x - c and its square (both computed once per tile): two multiply-adds per
 * element, in registers. */
template <int64_t R>
inline void column_moments(const double *__restrict__ u, const double *__restrict__ u2, const double *__restrict__ resp,
                           double *s1, double *s2) {
  double first[kLanes] = {}, second[kLanes] = {};
  for (int64_t r = 0; r < R; r += kLanes) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      first[l] = fused(resp[r + l], u[r + l], first[l]);
      second[l] = fused(resp[r + l], u2[r + l], second[l]);
    }
  }
  *s1 += combine_lanes(first);
  *s2 += combine_lanes(second);
}

/* centered[d][r] = x[d][r] - mu[d] in double; s1[d] += sum_r resp (x - mu);
 * s2 (j >= i) += sum_r resp (x_i - mu_i)(x_j - mu_j). */
template <typename T, int64_t D, int64_t R>
inline void outer_moments(const T *__restrict__ x, const double *__restrict__ resp, const double *__restrict__ mu,
                          double *__restrict__ centered, double *__restrict__ s1, double *__restrict__ s2) {
  for (int64_t d = 0; d < D; ++d) {
#pragma omp simd
    for (int64_t r = 0; r < R; ++r) centered[d * R + r] = (double)x[d * R + r] - mu[d];
  }
  double weighted[R];
  for (int64_t i = 0; i < D; ++i) {
#pragma omp simd
    for (int64_t r = 0; r < R; ++r) weighted[r] = resp[r] * centered[i * R + r];
    s1[i] += lane_sum<R>(weighted);
    int64_t j = i;
    for (; j + 2 <= D; j += 2) {
      const double *b[2] = {centered + j * R, centered + (j + 1) * R};
      lane_dots<R, 2>(weighted, b, s2 + i * D + j);
    }
    for (; j < D; ++j) {
      const double *b[1] = {centered + j * R};
      lane_dots<R, 1>(weighted, b, s2 + i * D + j);
    }
  }
}

/* The components a thread gathers: first, first + step, ... (all: 0, 1),
 * and whether it also gathers what belongs to no component (tied: A, u and
 * the rows). */
struct ComponentShare {
  int64_t first = 0, step = 1;
  bool rows_part = true;
};

/* Adds the tile's rows, with responsibilities tile.wlp, to `stats` around
 * the means `mu_o` (diag and spherical: around the center `center`, moved
 * to the means by recenter_on_means(); tied: A around it); S and s1 only
 * unless SECOND_MOMENTS. A component with no responsibility in the tile adds
 * nothing and is skipped. `centered` is the caller's scratch of
 * Tile::centered's size (the tile's own, unless threads share the tile);
 * `share` picks the components. */
template <typename T, int COV, int64_t D, int64_t M, int64_t R, bool SECOND_MOMENTS = true>
void accumulate(Stats<COV, D, M> &stats, const Tile<T, COV, D, M, R> &tile, const double *mu_o, const double *center,
                double *centered, ComponentShare share = {}) {
  const T *__restrict__ x = tile.x.data();
  double *__restrict__ shifted = centered;
  double *__restrict__ squared = shifted + (COV == kDiag || COV == kSpherical ? D * R : 0);
  if ((COV == kDiag || COV == kSpherical) && SECOND_MOMENTS) {
    for (int64_t d = 0; d < D; ++d) {
#pragma omp simd
      for (int64_t r = 0; r < R; ++r) {
        shifted[d * R + r] = (double)x[d * R + r] - center[d];
        squared[d * R + r] = shifted[d * R + r] * shifted[d * R + r];
      }
    }
  }
  for (int64_t k = share.first; k < M; k += share.step) {
    const double *__restrict__ resp = &tile.wlp[k * R];
    bool any = false;
    for (int64_t r = 0; r < R; ++r) any |= resp[r] != 0;
    if (!any) continue;
    stats.S[k] += lane_sum<R>(resp);
    const double *mu = mu_o + k * D;
    if (!SECOND_MOMENTS) {
      for (int64_t d = 0; d < D; ++d) {
        double lane[kLanes] = {};
        for (int64_t r = 0; r < R; r += kLanes) {
#pragma omp simd
          for (int64_t l = 0; l < kLanes; ++l) lane[l] = fused(resp[r + l], (double)x[d * R + r + l] - mu[d], lane[l]);
        }
        stats.s1[k * D + d] += combine_lanes(lane);
      }
    } else if (COV == kFull) {
      outer_moments<T, D, R>(x, resp, mu, centered, &stats.s1[k * D], &stats.s2[k * D * D]);
    } else if (COV == kDiag || COV == kSpherical) {
      /* around the center c, not mu_k: recenter_on_means() moves the sums */
      double trace = 0;
      for (int64_t d = 0; d < D; ++d) {
        double *second = COV == kDiag ? &stats.s2[k * D + d] : &trace;
        column_moments<R>(shifted + d * R, squared + d * R, resp, &stats.s1[k * D + d], second);
      }
      if (COV == kSpherical) stats.s2[k] += trace;
    } else {
      for (int64_t d = 0; d < D; ++d) {
        double lane[kLanes] = {};
        for (int64_t r = 0; r < R; r += kLanes) {
#pragma omp simd
          for (int64_t l = 0; l < kLanes; ++l) lane[l] = fused(resp[r + l], (double)x[d * R + r + l] - mu[d], lane[l]);
        }
        stats.s1[k * D + d] += combine_lanes(lane);
      }
    }
  }
  if (COV == kTied && SECOND_MOMENTS && share.rows_part) {
    /* scikit-learn's tied covariance starts from X^T X over every row, whatever
     * the responsibilities (its initial ones need not sum to 1 per row):
     * A = sum_r (x - c)(x - c)^T and u = sum_r (x - c) over the tile's rows;
     * the finish (gmm_model.h) does the rest. */
    double row[R];
#pragma omp simd
    for (int64_t r = 0; r < R; ++r) row[r] = r < tile.rows ? 1.0 : 0.0;
    outer_moments<T, D, R>(x, row, center, centered, stats.s2.data() + D * D, stats.s2.data());
    stats.rows += (double)tile.rows;
  }
}

}  // namespace sejits_gmm

#pragma GCC pop_options

#endif /* SEJITS_GMM_TILE_H */
