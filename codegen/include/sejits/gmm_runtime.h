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
 *  - responsibilities never stored: a tile of rows at a time.
 * Threads take contiguous ranges of rows and keep their own statistics,
 * added in thread order; the M-step's finish runs over components.
 * Results depend on the thread count only through that order. */
#ifndef SEJITS_GMM_RUNTIME_H
#define SEJITS_GMM_RUNTIME_H

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "sejits/kernel_abi.h"

namespace sejits_gmm {

enum Covariance { kFull = 0, kTied = 1, kDiag = 2, kSpherical = 3 };

/* Rows below which one thread does the work. */
constexpr int64_t kParallelRows = 2048;

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

/* Row `row` of a 2-D array of T as `cols` contiguous T. */
template <typename T, int64_t COLS>
inline void copy_row(const sejits_arg &arg, int64_t row, T *out) {
  const char *base = (const char *)arg.data + row * arg.strides[0];
  const int64_t stride = arg.strides[1];
  if (stride == (int64_t)sizeof(T)) {
    const T *source = (const T *)base;
    for (int64_t d = 0; d < COLS; ++d) out[d] = source[d];
  } else {
    for (int64_t d = 0; d < COLS; ++d) out[d] = *(const T *)(base + d * stride);
  }
}

/* ---- the model -------------------------------------------------------------- */

template <int COV>
constexpr int64_t covariance_count(int64_t D, int64_t M) {
  return COV == kFull ? M * D * D : COV == kTied ? D * D : COV == kDiag ? M * D : M;
}

/* The parameters as the arrays hold them (double copies of T values), and
 * what the E-step reads: T copies, and per component the constant
 * log w + log det P - D/2 log(2 pi). Tied: (mu_k - c) P, with c the mean of
 * the means, so that (x - mu_k) P = (x - c) P - (mu_k - c) P stays accurate. */
template <typename T, int COV, int64_t D, int64_t M>
struct Model {
  static constexpr int64_t kPrecisions = covariance_count<COV>(D, M);
  std::vector<double> weights = std::vector<double>(M), means = std::vector<double>(M * D),
                      precisions_chol = std::vector<double>(kPrecisions);
  std::vector<T> mean_t = std::vector<T>(M * D), prec_t = std::vector<T>(kPrecisions);
  std::vector<double> constant = std::vector<double>(M);
  std::vector<T> center = std::vector<T>(D), mean_p = std::vector<T>(COV == kTied ? M * D : 0);

  void prepare() {
    const double half_log_2pi = 0.5 * (double)D * log(2.0 * M_PI);
    for (int64_t i = 0; i < M * D; ++i) mean_t[i] = (T)means[i];
    for (int64_t i = 0; i < kPrecisions; ++i) prec_t[i] = (T)precisions_chol[i];
    for (int64_t k = 0; k < M; ++k) {
      double log_det = 0;
      if (COV == kFull) {
        for (int64_t i = 0; i < D; ++i) log_det += log(precisions_chol[(k * D + i) * D + i]);
      } else if (COV == kTied) {
        for (int64_t i = 0; i < D; ++i) log_det += log(precisions_chol[i * D + i]);
      } else if (COV == kDiag) {
        for (int64_t i = 0; i < D; ++i) log_det += log(precisions_chol[k * D + i]);
      } else {
        log_det = (double)D * log(precisions_chol[k]);
      }
      constant[k] = log(weights[k]) + log_det - half_log_2pi;
    }
    if (COV == kTied) {
      for (int64_t d = 0; d < D; ++d) {
        double sum = 0;
        for (int64_t k = 0; k < M; ++k) sum += means[k * D + d];
        center[d] = (T)(sum / (double)M);
      }
      for (int64_t k = 0; k < M; ++k) {
        for (int64_t j = 0; j < D; ++j) {
          double y = 0;
          for (int64_t i = 0; i < D; ++i) y += ((double)mean_t[k * D + i] - (double)center[i]) * (double)prec_t[i * D + j];
          mean_p[k * D + j] = (T)y;
        }
      }
    }
  }
};

/* log N(x | mu_k, P_k) + log w_k for every k of one row `x`. */
template <typename T, int COV, int64_t D, int64_t M>
inline void weighted_log_prob(const Model<T, COV, D, M> &model, const T *__restrict__ x, double *__restrict__ out) {
  if (COV == kFull) {
    for (int64_t k = 0; k < M; ++k) {
      const T *__restrict__ mu = &model.mean_t[k * D];
      const T *__restrict__ P = &model.prec_t[k * D * D];
      T y[D];
      for (int64_t j = 0; j < D; ++j) y[j] = 0;
      for (int64_t i = 0; i < D; ++i) {
        const T diff = x[i] - mu[i];
        for (int64_t j = 0; j < D; ++j) y[j] += diff * P[i * D + j];  // P is upper triangular: row i starts at column i
      }
      T q = 0;
      for (int64_t j = 0; j < D; ++j) q += y[j] * y[j];
      out[k] = model.constant[k] - 0.5 * (double)q;
    }
  } else if (COV == kTied) {
    const T *__restrict__ P = model.prec_t.data();
    T xp[D];
    for (int64_t j = 0; j < D; ++j) xp[j] = 0;
    for (int64_t i = 0; i < D; ++i) {
      const T shifted = x[i] - model.center[i];
      for (int64_t j = 0; j < D; ++j) xp[j] += shifted * P[i * D + j];
    }
    for (int64_t k = 0; k < M; ++k) {
      const T *__restrict__ mp = &model.mean_p[k * D];
      T q = 0;
      for (int64_t j = 0; j < D; ++j) {
        const T y = xp[j] - mp[j];
        q += y * y;
      }
      out[k] = model.constant[k] - 0.5 * (double)q;
    }
  } else if (COV == kDiag) {
    for (int64_t k = 0; k < M; ++k) {
      const T *__restrict__ mu = &model.mean_t[k * D];
      const T *__restrict__ p = &model.prec_t[k * D];
      T q = 0;
      for (int64_t d = 0; d < D; ++d) {
        const T y = (x[d] - mu[d]) * p[d];
        q += y * y;
      }
      out[k] = model.constant[k] - 0.5 * (double)q;
    }
  } else {
    for (int64_t k = 0; k < M; ++k) {
      const T *__restrict__ mu = &model.mean_t[k * D];
      T q = 0;
      for (int64_t d = 0; d < D; ++d) {
        const T y = x[d] - mu[d];
        q += y * y;
      }
      const double p = (double)model.prec_t[k];
      out[k] = model.constant[k] - 0.5 * (double)q * p * p;
    }
  }
}

/* log sum_k exp(v_k), shifted by the largest (scikit-learn's _logsumexp; -inf when every v_k is). */
template <int64_t M>
inline double log_sum_exp(const double *v) {
  double largest = v[0];
  for (int64_t k = 1; k < M; ++k) largest = v[k] > largest ? v[k] : largest;
  if (!(largest > -std::numeric_limits<double>::infinity())) return largest;
  double sum = 0;
  for (int64_t k = 0; k < M; ++k) sum += exp(v[k] - largest);
  return largest + log(sum);
}

/* ---- sufficient statistics ---------------------------------------------------- */

/* Per component: S = sum r, s1 = sum r (x - mu_o), s2 = sum r (x - mu_o)(x - mu_o)^T
 * (full: D x D; diag: its diagonal; spherical: its trace). Tied keeps, instead
 * of s2, A = sum R (x - c)(x - c)^T and B = sum (x - c) a^T with
 * a = sum_k r_k (mu_k - c) and R = sum_k r_k, from which sum_k s2_k follows. */
template <int COV, int64_t D, int64_t M>
struct Stats {
  static constexpr int64_t kSecond = COV == kFull ? M * D * D : COV == kTied ? 2 * D * D : COV == kDiag ? M * D : M;
  std::vector<double> S = std::vector<double>(M), s1 = std::vector<double>(M * D), s2 = std::vector<double>(kSecond);
  double log_likelihood = 0;  // sum of log sum_k exp over the rows

  void clear() {
    std::fill(S.begin(), S.end(), 0.0);
    std::fill(s1.begin(), s1.end(), 0.0);
    std::fill(s2.begin(), s2.end(), 0.0);
    log_likelihood = 0;
  }
  void add(const Stats &other) {
    for (int64_t i = 0; i < M; ++i) S[i] += other.S[i];
    for (int64_t i = 0; i < M * D; ++i) s1[i] += other.s1[i];
    for (int64_t i = 0; i < kSecond; ++i) s2[i] += other.s2[i];
    log_likelihood += other.log_likelihood;
  }
};

/* Adds one row `x` with responsibilities `r` (zero ones skipped: they add
 * nothing) around the means `mu_o` (the tied center `center`). */
template <typename T, int COV, int64_t D, int64_t M>
inline void accumulate(Stats<COV, D, M> &stats, const T *__restrict__ x, const double *__restrict__ r,
                       const double *__restrict__ mu_o, const double *__restrict__ center) {
  double responsibility_sum = 0;
  double a[COV == kTied ? D : 1] = {0};
  for (int64_t k = 0; k < M; ++k) {
    const double rk = r[k];
    if (rk == 0) continue;
    responsibility_sum += rk;
    stats.S[k] += rk;
    const double *__restrict__ mu = mu_o + k * D;
    double *__restrict__ s1 = &stats.s1[k * D];
    double diff[D];
    for (int64_t d = 0; d < D; ++d) {
      diff[d] = (double)x[d] - mu[d];
      s1[d] += rk * diff[d];
    }
    if (COV == kFull) {
      double *__restrict__ s2 = &stats.s2[k * D * D];
      for (int64_t i = 0; i < D; ++i) {
        const double w = rk * diff[i];
        for (int64_t j = 0; j < D; ++j) s2[i * D + j] += w * diff[j];
      }
    } else if (COV == kDiag) {
      double *__restrict__ s2 = &stats.s2[k * D];
      for (int64_t d = 0; d < D; ++d) s2[d] += rk * diff[d] * diff[d];
    } else if (COV == kSpherical) {
      double q = 0;
      for (int64_t d = 0; d < D; ++d) q += diff[d] * diff[d];
      stats.s2[k] += rk * q;
    } else {
      for (int64_t d = 0; d < D; ++d) a[d] += rk * (mu[d] - center[d]);
    }
  }
  if (COV == kTied) {
    double shifted[D];
    for (int64_t d = 0; d < D; ++d) shifted[d] = (double)x[d] - center[d];
    double *__restrict__ A = stats.s2.data();
    double *__restrict__ B = A + D * D;
    for (int64_t i = 0; i < D; ++i) {
      const double w = responsibility_sum * shifted[i];
      for (int64_t j = 0; j < D; ++j) {
        A[i * D + j] += w * shifted[j];
        B[i * D + j] += shifted[i] * a[j];
      }
    }
  }
}

/* ---- the M-step's finish --------------------------------------------------------- */

/* Lower Cholesky factor of the D x D matrix `a` into `l`; false when a pivot
 * is not positive (LAPACK's potrf fails there too). */
template <int64_t D>
bool cholesky(const double *a, double *l) {
  for (int64_t i = 0; i < D * D; ++i) l[i] = 0;
  for (int64_t j = 0; j < D; ++j) {
    double pivot = a[j * D + j];
    for (int64_t p = 0; p < j; ++p) pivot -= l[j * D + p] * l[j * D + p];
    if (!(pivot > 0)) return false;
    const double diagonal = sqrt(pivot);
    l[j * D + j] = diagonal;
    for (int64_t i = j + 1; i < D; ++i) {
      double value = a[i * D + j];
      for (int64_t p = 0; p < j; ++p) value -= l[i * D + p] * l[j * D + p];
      l[i * D + j] = value / diagonal;
    }
  }
  return true;
}

/* The precision's Cholesky factor P = (L^-1)^T (upper triangular) of the
 * covariance `cov`, as scikit-learn's solve_triangular(L, I).T; false when
 * the covariance is not positive definite. */
template <int64_t D>
bool precision_cholesky(const double *cov, double *precision_chol) {
  std::vector<double> lower(D * D), inverse_storage(D * D);
  double *l = lower.data(), *inverse = inverse_storage.data();
  if (!cholesky<D>(cov, l)) return false;
  for (int64_t c = 0; c < D; ++c) {  // column c of L^-1 by forward substitution
    for (int64_t i = 0; i < D; ++i) {
      double value = i == c ? 1.0 : 0.0;
      for (int64_t p = c; p < i; ++p) value -= l[i * D + p] * inverse[p * D + c];
      inverse[i * D + c] = i < c ? 0.0 : value / l[i * D + i];
    }
  }
  for (int64_t i = 0; i < D; ++i) {
    for (int64_t j = 0; j < D; ++j) precision_chol[i * D + j] = inverse[j * D + i];
  }
  return true;
}

template <typename T>
inline double round_to(double value) {
  return (double)(T)value;
}

/* New parameters from the statistics gathered around `mu_o` (the model's
 * means; the tied center `center`): nk (with scikit-learn's 10 eps), means,
 * covariances, their precision Cholesky factors, rounded to T as the arrays
 * keep them. Weights are nk / sum nk. False: an ill-defined covariance. */
template <typename T, int COV, int64_t D, int64_t M>
bool finish_m_step(const Stats<COV, D, M> &stats, const double *mu_o, const double *center, double reg_covar,
                   std::vector<double> &nk, std::vector<double> &weights, std::vector<double> &means,
                   std::vector<double> &covariances, std::vector<double> &precisions_chol) {
  const double ten_eps = 10.0 * (double)std::numeric_limits<T>::epsilon();
  std::vector<double> delta(M * D);
  double nk_total = 0;
  for (int64_t k = 0; k < M; ++k) {
    nk[k] = round_to<T>(stats.S[k] + ten_eps);
    nk_total += nk[k];
  }
  for (int64_t k = 0; k < M; ++k) {
    for (int64_t d = 0; d < D; ++d) {
      // means = sum r x / nk = mu_o + (s1 - 10 eps mu_o) / nk
      delta[k * D + d] = (stats.s1[k * D + d] - ten_eps * mu_o[k * D + d]) / nk[k];
      means[k * D + d] = round_to<T>(mu_o[k * D + d] + delta[k * D + d]);
    }
    weights[k] = round_to<T>(nk[k] / nk_total);
  }
  bool ok = true;
  if (COV == kFull) {
    // scikit-learn: sum r (x - mean)(x - mean)^T / nk, centred on the new mean.
#pragma omp parallel for schedule(dynamic, 1) if (M > 1 && D >= 16) reduction(&& : ok)
    for (int64_t k = 0; k < M; ++k) {
      const double *s1 = &stats.s1[k * D], *s2 = &stats.s2[k * D * D], *dk = &delta[k * D];
      const double S = stats.S[k];
      double *cov = &covariances[k * D * D];
      for (int64_t i = 0; i < D; ++i) {
        for (int64_t j = 0; j < D; ++j) {
          const int64_t lo = std::min(i, j), hi = std::max(i, j);  // s2 is summed in full; its two halves agree to rounding
          const double second = s2[lo * D + hi];
          double value = (second - dk[i] * s1[j] - s1[i] * dk[j] + S * dk[i] * dk[j]) / nk[k];
          cov[i * D + j] = round_to<T>(value + (i == j ? reg_covar : 0.0));
        }
      }
      ok = ok && precision_cholesky<D>(cov, &precisions_chol[k * D * D]);
    }
  } else if (COV == kTied) {
    // scikit-learn: (X^T X - sum nk mean mean^T) / sum nk; per component
    // that is s2_k - nk delta delta^T + 10 eps mu_o mu_o^T, and
    // sum_k s2_k = A - B - B^T + sum_k S_k (mu_o_k - c)(mu_o_k - c)^T.
    const double *A = stats.s2.data(), *B = A + D * D;
    for (int64_t i = 0; i < D; ++i) {
      for (int64_t j = i; j < D; ++j) {
        double value = A[std::min(i, j) * D + std::max(i, j)] - B[i * D + j] - B[j * D + i];
        for (int64_t k = 0; k < M; ++k) {
          const double *mu = mu_o + k * D, *dk = &delta[k * D];
          value += stats.S[k] * (mu[i] - center[i]) * (mu[j] - center[j]) - nk[k] * dk[i] * dk[j] +
                   ten_eps * mu[i] * mu[j];
        }
        value = value / nk_total + (i == j ? reg_covar : 0.0);
        covariances[i * D + j] = covariances[j * D + i] = round_to<T>(value);
      }
    }
    ok = precision_cholesky<D>(covariances.data(), precisions_chol.data());
  } else {
    // scikit-learn: sum r x^2 / nk - mean^2 + reg = s2 / nk - delta^2 + 10 eps mu_o^2 / nk + reg
    for (int64_t k = 0; k < M; ++k) {
      double trace = 0;
      for (int64_t d = 0; d < D; ++d) {
        const double mu = mu_o[k * D + d], dk = delta[k * D + d];
        const double second = COV == kDiag ? stats.s2[k * D + d] : 0.0;
        const double correction = -dk * dk + ten_eps * mu * mu / nk[k];
        if (COV == kDiag) {
          covariances[k * D + d] = round_to<T>(second / nk[k] + correction + reg_covar);
        } else {
          trace += correction;
        }
      }
      if (COV == kSpherical) covariances[k] = round_to<T>((stats.s2[k] / nk[k] + trace) / (double)D + reg_covar);
    }
    const int64_t count = COV == kDiag ? M * D : M;
    for (int64_t i = 0; i < count; ++i) {
      if (!(covariances[i] > 0)) ok = false;
      precisions_chol[i] = 1.0 / sqrt(covariances[i]);
    }
  }
  for (double &value : precisions_chol) value = round_to<T>(value);
  return ok;
}

/* ---- passes over X ---------------------------------------------------------------- */

/* Rows [begin, end) of X through `visit(row, x, wlp, lse)`: x the row as D
 * contiguous T, wlp its M weighted log-probabilities, lse their log-sum-exp. */
template <typename T, int COV, int64_t D, int64_t M, typename Visit>
inline void for_rows(const Model<T, COV, D, M> &model, const sejits_arg &X, int64_t begin, int64_t end, Visit &&visit) {
  T x[D];
  double wlp[M];
  for (int64_t row = begin; row < end; ++row) {
    copy_row<T, D>(X, row, x);
    weighted_log_prob<T, COV, D, M>(model, x, wlp);
    visit(row, x, wlp, log_sum_exp<M>(wlp));
  }
}

/* The rows of thread `me` of `team`: a contiguous share. */
static inline void share(int64_t rows, int me, int team, int64_t *begin, int64_t *end) {
  *begin = rows * me / team;
  *end = rows * (me + 1) / team;
}

/* One E-step over X with the model's parameters, gathering the statistics
 * of the M-step around the model's means (the fused EM iteration). */
template <typename T, int COV, int64_t D, int64_t M>
void gather(const Model<T, COV, D, M> &model, const sejits_arg &X, int nthreads, bool serial, Stats<COV, D, M> &total) {
  const int64_t rows = X.shape[0];
  const int team = serial || rows < kParallelRows ? 1 : std::max(1, nthreads);
  std::vector<Stats<COV, D, M>> partial(team);
  std::vector<double> center(D);
  for (int64_t d = 0; d < D; ++d) center[d] = (double)model.center[d];
#pragma omp parallel num_threads(team) if (team > 1)
  {
    const int me = omp_get_thread_num();
    Stats<COV, D, M> &mine = partial[me];
    int64_t begin, end;
    share(rows, me, omp_get_num_threads(), &begin, &end);
    double r[M];
    for_rows<T, COV, D, M>(model, X, begin, end, [&](int64_t, const T *x, const double *wlp, double lse) {
      mine.log_likelihood += lse;
      for (int64_t k = 0; k < M; ++k) r[k] = exp(wlp[k] - lse);
      accumulate<T, COV, D, M>(mine, x, r, model.means.data(), center.data());
    });
  }
  total.clear();
  for (const auto &part : partial) total.add(part);
}

/* ---- entry points ------------------------------------------------------------------ */

/* The parameter arrays' specs, in the order (weights, means, precisions_cholesky). */
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

/* Loads (weights, means, precisions_cholesky) from args[first..first+2]. */
template <typename T, int COV, int64_t D, int64_t M>
void load_model(const sejits_arg *args, int first, Model<T, COV, D, M> &model) {
  load<T>(args[first], model.weights.data(), M);
  load<T>(args[first + 1], model.means.data(), M * D);
  load<T>(args[first + 2], model.precisions_chol.data(), Model<T, COV, D, M>::kPrecisions);
  model.prepare();
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
template <typename T, int COV, int64_t D, int64_t M>
bool em_step(Model<T, COV, D, M> &model, const sejits_arg &X, double reg_covar, int nthreads, bool serial,
             Stats<COV, D, M> &stats, std::vector<double> &covariances, double *bound) {
  gather<T, COV, D, M>(model, X, nthreads, serial, stats);
  *bound = stats.log_likelihood / (double)X.shape[0];
  std::vector<double> nk(M), mu_o = model.means, center(D);
  for (int64_t d = 0; d < D; ++d) center[d] = (double)model.center[d];
  if (!finish_m_step<T, COV, D, M>(stats, mu_o.data(), center.data(), reg_covar, nk, model.weights, model.means,
                                   covariances, model.precisions_chol)) {
    return false;
  }
  model.prepare();
  return true;
}

template <typename T, int COV, int64_t D, int64_t M>
void store_model(const Model<T, COV, D, M> &model, const std::vector<double> &covariances, const sejits_arg *args,
                 int first) {
  store<T>(args[first], model.weights.data(), M);
  store<T>(args[first + 1], model.means.data(), M * D);
  store<T>(args[first + 2], model.precisions_chol.data(), Model<T, COV, D, M>::kPrecisions);
  store<T>(args[first + 3], covariances.data(), covariance_count<COV>(D, M));
}

/* fit(X, reg_covar, tol, start_bound, weights, means, precisions_cholesky,
 *     covariances, lower_bounds, progress): the EM loop, max_iter =
 * len(lower_bounds); progress = [n_iter, converged]. */
template <typename T, int COV, int64_t D, int64_t M>
int32_t fit(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  using S = Specs<T, COV, D, M>;
  const ArgSpec specs[] = {S::X, S::number("reg_covar"), S::number("tol"), S::number("start_bound"), S::weights,
                           S::means, S::covariance("precisions_cholesky"), S::covariance("covariances"),
                           ArgSpec{"lower_bounds", 0, SEJITS_FLOAT64, 1, {kAnyExtent, 0, 0}},
                           ArgSpec{"progress", 0, SEJITS_FLOAT64, 1, {2, 0, 0}}};
  if (nargs <= 0 || args[0].kind != SEJITS_ARG_ARRAY) return fail(error, error_len, "argument 0 (X) must be an array");
  if (check_args(args, nargs, specs, 10, args[0].shape[0], error, error_len)) return 1;
  if (args[0].shape[0] < 1) return fail(error, error_len, "X has no rows");
  const double reg_covar = scalar_of(args[1]), tol = scalar_of(args[2]);
  double previous = scalar_of(args[3]);
  const int64_t max_iter = args[8].shape[0];
  Model<T, COV, D, M> model;
  load_model<T, COV, D, M>(args, 4, model);
  std::vector<double> covariances(covariance_count<COV>(D, M));
  load<T>(args[7], covariances.data(), covariance_count<COV>(D, M));
  Stats<COV, D, M> stats;
  const bool serial = serial_call(args, nargs);
  int64_t n_iter = 0;
  bool converged = false;
  for (int64_t iteration = 1; iteration <= max_iter; ++iteration) {
    double bound = 0;
    if (!em_step<T, COV, D, M>(model, args[0], reg_covar, nthreads, serial, stats, covariances, &bound)) {
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
template <typename T, int COV, int64_t D, int64_t M>
int32_t em_iteration(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  using S = Specs<T, COV, D, M>;
  const ArgSpec specs[] = {S::X, S::number("reg_covar"), S::weights, S::means, S::covariance("precisions_cholesky"),
                           S::covariance("covariances"), ArgSpec{"lower_bound", 0, SEJITS_FLOAT64, 1, {1, 0, 0}}};
  if (nargs <= 0 || args[0].kind != SEJITS_ARG_ARRAY) return fail(error, error_len, "argument 0 (X) must be an array");
  if (check_args(args, nargs, specs, 7, args[0].shape[0], error, error_len)) return 1;
  if (args[0].shape[0] < 1) return fail(error, error_len, "X has no rows");
  Model<T, COV, D, M> model;
  load_model<T, COV, D, M>(args, 2, model);
  std::vector<double> covariances(covariance_count<COV>(D, M));
  Stats<COV, D, M> stats;
  double bound = 0;
  if (!em_step<T, COV, D, M>(model, args[0], scalar_of(args[1]), nthreads, serial_call(args, nargs), stats, covariances, &bound)) {
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
template <typename T, int COV, int64_t D, int64_t M, int OUTPUT>
int32_t per_row(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  using S = Specs<T, COV, D, M>;
  const ArgSpec log_resp{"log_resp", 0, S::kT, 2, {kRows, M, 0}}, norm{"log_prob_norm", 0, S::kT, 1, {kRows, 0, 0}},
      labels{"labels", 0, SEJITS_INT64, 1, {kRows, 0, 0}};
  const ArgSpec specs[] = {S::X, S::weights, S::means, S::covariance("precisions_cholesky"),
                           OUTPUT == kLogResp ? log_resp : OUTPUT == kScore ? norm : labels, norm};
  const int count = OUTPUT == kLogResp ? 6 : 5;
  if (nargs <= 0 || args[0].kind != SEJITS_ARG_ARRAY) return fail(error, error_len, "argument 0 (X) must be an array");
  if (check_args(args, nargs, specs, count, args[0].shape[0], error, error_len)) return 1;
  Model<T, COV, D, M> model;
  load_model<T, COV, D, M>(args, 1, model);
  const int64_t rows = args[0].shape[0];
  const int team = serial_call(args, nargs) || rows < kParallelRows ? 1 : std::max(1, nthreads);
  const sejits_arg &out = args[4];
#pragma omp parallel num_threads(team) if (team > 1)
  {
    int64_t begin, end;
    share(rows, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    for_rows<T, COV, D, M>(model, args[0], begin, end, [&](int64_t row, const T *, const double *wlp, double lse) {
      if (OUTPUT == kLogResp) {
        char *base = (char *)out.data + row * out.strides[0];
        for (int64_t k = 0; k < M; ++k) *(T *)(base + k * out.strides[1]) = (T)(wlp[k] - lse);
        *(T *)((char *)args[5].data + row * args[5].strides[0]) = (T)lse;
      } else if (OUTPUT == kScore) {
        *(T *)((char *)out.data + row * out.strides[0]) = (T)lse;
      } else {
        int64_t best = 0;
        for (int64_t k = 1; k < M; ++k) best = wlp[k] > wlp[best] ? k : best;
        *(int64_t *)((char *)out.data + row * out.strides[0]) = best;
      }
    });
  }
  return 0;
}

/* m_step(X, resp[N, M], reg_covar, nk[M], means, covariances, precisions_cholesky):
 * scikit-learn's _estimate_gaussian_parameters and _compute_precision_cholesky
 * from given responsibilities (the initialisation). Two passes: the means,
 * then the statistics around them. */
template <typename T, int COV, int64_t D, int64_t M>
int32_t m_step(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  using S = Specs<T, COV, D, M>;
  const ArgSpec specs[] = {S::X, ArgSpec{"resp", 0, S::kT, 2, {kRows, M, 0}}, S::number("reg_covar"),
                           ArgSpec{"nk", 0, S::kT, 1, {M, 0, 0}}, S::means, S::covariance("covariances"),
                           S::covariance("precisions_cholesky")};
  if (nargs <= 0 || args[0].kind != SEJITS_ARG_ARRAY) return fail(error, error_len, "argument 0 (X) must be an array");
  if (check_args(args, nargs, specs, 7, args[0].shape[0], error, error_len)) return 1;
  const sejits_arg &X = args[0], &resp = args[1];
  const int64_t rows = X.shape[0];
  const int team = serial_call(args, nargs) || rows < kParallelRows ? 1 : std::max(1, nthreads);
  const double ten_eps = 10.0 * (double)std::numeric_limits<T>::epsilon();
  auto responsibilities = [&](int64_t row, double *r) {
    const char *base = (const char *)resp.data + row * resp.strides[0];
    for (int64_t k = 0; k < M; ++k) r[k] = (double)*(const T *)(base + k * resp.strides[1]);
  };
  // Pass 1: the means (sum r x / nk), to centre the statistics on.
  std::vector<Stats<COV, D, M>> partial(team);
  std::vector<double> origin(M * D, 0.0), center(D, 0.0);  // pass 1: zero; pass 2: the means
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<double> mu_o = origin;
    if (pass == 1) {
      const Stats<COV, D, M> &first = partial[0];
      for (int64_t k = 0; k < M; ++k) {
        for (int64_t d = 0; d < D; ++d) mu_o[k * D + d] = first.s1[k * D + d] / (first.S[k] + ten_eps);
      }
      for (int64_t d = 0; d < D; ++d) {
        double sum = 0;
        for (int64_t k = 0; k < M; ++k) sum += mu_o[k * D + d];
        center[d] = sum / (double)M;
      }
      origin = mu_o;
    }
    for (auto &part : partial) part.clear();
#pragma omp parallel num_threads(team) if (team > 1)
    {
      const int me = omp_get_thread_num();
      int64_t begin, end;
      share(rows, me, omp_get_num_threads(), &begin, &end);
      T x[D];
      double r[M];
      for (int64_t row = begin; row < end; ++row) {
        copy_row<T, D>(X, row, x);
        responsibilities(row, r);
        accumulate<T, COV, D, M>(partial[me], x, r, mu_o.data(), center.data());
      }
    }
    for (int t = 1; t < team; ++t) partial[0].add(partial[t]);
  }
  std::vector<double> nk(M), weights(M), means(M * D), covariances(covariance_count<COV>(D, M)),
      precisions_chol(covariance_count<COV>(D, M));
  if (!finish_m_step<T, COV, D, M>(partial[0], origin.data(), center.data(), scalar_of(args[2]), nk, weights, means,
                                   covariances, precisions_chol)) {
    return fail_ill_defined<T>(error, error_len);
  }
  store<T>(args[3], nk.data(), M);
  store<T>(args[4], means.data(), M * D);
  store<T>(args[5], covariances.data(), covariance_count<COV>(D, M));
  store<T>(args[6], precisions_chol.data(), covariance_count<COV>(D, M));
  return 0;
}

}  // namespace sejits_gmm

#endif /* SEJITS_GMM_RUNTIME_H */
