/* Gaussian-mixture EM, the parameters side: the model as the E-step reads
 * it, the sufficient statistics a pass over X gathers, and the M-step's
 * finish that turns them into scikit-learn's new parameters
 * (sklearn/mixture/_gaussian_mixture.py: _estimate_gaussian_parameters,
 * _compute_precision_cholesky) without their cancellation. Part of
 * sejits/gmm_runtime.h. */
#ifndef SEJITS_GMM_MODEL_H
#define SEJITS_GMM_MODEL_H

#include <math.h>
#include <stdint.h>

#include <algorithm>
#include <limits>
#include <vector>

/* 256-bit vectors where the CPU has them (see gmm_runtime.h). */
#pragma GCC push_options
#pragma GCC target("prefer-vector-width=256")

namespace sejits_gmm {

enum Covariance { kFull = 0, kTied = 1, kDiag = 2, kSpherical = 3 };

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
    if (COV != kFull) {
      for (int64_t d = 0; d < D; ++d) {
        double sum = 0;
        for (int64_t k = 0; k < M; ++k) sum += means[k * D + d];
        center[d] = (T)(sum / (double)M);
      }
    }
    if (COV == kTied) {
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

/* ---- sufficient statistics ---------------------------------------------------- */

/* Per component: S = sum r, s1 = sum r (x - mu_o), s2 = sum r (x - mu_o)(x - mu_o)^T
 * (full: D x D, upper half; diag: its diagonal; spherical: its trace). Tied
 * keeps, instead of s2, A = sum_r (x - c)(x - c)^T (upper half) and
 * u = sum_r (x - c) over every row, and the number of rows. */
template <int COV, int64_t D, int64_t M>
struct Stats {
  static constexpr int64_t kSecond = COV == kFull ? M * D * D : COV == kTied ? D * D + D : COV == kDiag ? M * D : M;
  std::vector<double> S = std::vector<double>(M), s1 = std::vector<double>(M * D), s2 = std::vector<double>(kSecond);
  double log_likelihood = 0;  // sum of log sum_k exp over the rows
  double rows = 0;            // tied: the rows gathered

  void clear() {
    std::fill(S.begin(), S.end(), 0.0);
    std::fill(s1.begin(), s1.end(), 0.0);
    std::fill(s2.begin(), s2.end(), 0.0);
    log_likelihood = 0;
    rows = 0;
  }
  void add(const Stats &other) {
    for (int64_t i = 0; i < M; ++i) S[i] += other.S[i];
    for (int64_t i = 0; i < M * D; ++i) s1[i] += other.s1[i];
    for (int64_t i = 0; i < kSecond; ++i) s2[i] += other.s2[i];
    log_likelihood += other.log_likelihood;
    rows += other.rows;
  }
};

/* Diag and spherical sums gathered around the center c (gmm_tile.h's
 * accumulate: two multiply-adds per element) moved to the means mu_o:
 * s1 = s1_c - S e, s2 = s2_c - 2 e s1_c + S e^2 with e = mu_o - c (summed
 * over features for spherical). In double, the rounding this adds is
 * eps (e / sigma)^2 relative to a component's variance sigma^2. */
template <int COV, int64_t D, int64_t M>
void recenter_on_means(Stats<COV, D, M> &stats, const double *mu_o, const double *center) {
  if (COV != kDiag && COV != kSpherical) return;
  for (int64_t k = 0; k < M; ++k) {
    double trace_shift = 0;
    for (int64_t d = 0; d < D; ++d) {
      const double e = mu_o[k * D + d] - center[d], s1c = stats.s1[k * D + d];
      const double shift = -2.0 * e * s1c + stats.S[k] * e * e;
      if (COV == kDiag) stats.s2[k * D + d] += shift;
      else trace_shift += shift;
      stats.s1[k * D + d] = s1c - stats.S[k] * e;
    }
    if (COV == kSpherical) stats.s2[k] += trace_shift;
  }
}

/* The m_step entry's second pass gathers around the first pass's means
 * s1 / (S + 10 eps), with scikit-learn's 10 eps of T, and their center. */
template <typename T, int COV, int64_t D, int64_t M>
void means_of_first_pass(const Stats<COV, D, M> &first, double *origin, double *center) {
  const double ten_eps = 10.0 * (double)std::numeric_limits<T>::epsilon();
  for (int64_t k = 0; k < M; ++k) {
    for (int64_t d = 0; d < D; ++d) origin[k * D + d] = first.s1[k * D + d] / (first.S[k] + ten_eps);
  }
  for (int64_t d = 0; d < D; ++d) {
    double sum = 0;
    for (int64_t k = 0; k < M; ++k) sum += origin[k * D + d];
    center[d] = sum / (double)M;
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
 * keep them. Weights are nk / sum nk. False: an ill-defined covariance.
 * `team`: the threads that may share the full covariances' factorizations. */
template <typename T, int COV, int64_t D, int64_t M>
bool finish_m_step(const Stats<COV, D, M> &stats, const double *mu_o, const double *center, double reg_covar,
                   std::vector<double> &nk, std::vector<double> &weights, std::vector<double> &means,
                   std::vector<double> &covariances, std::vector<double> &precisions_chol, int team = 1) {
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
#pragma omp parallel for schedule(dynamic, 1) num_threads(team) if (team > 1 && M > 1 && D >= 16) reduction(&& : ok)
    for (int64_t k = 0; k < M; ++k) {
      const double *s1 = &stats.s1[k * D], *s2 = &stats.s2[k * D * D], *dk = &delta[k * D];
      const double S = stats.S[k];
      double *cov = &covariances[k * D * D];
      for (int64_t i = 0; i < D; ++i) {
        for (int64_t j = i; j < D; ++j) {  // the upper half of s2, mirrored: the covariance is exactly symmetric
          double value = (s2[i * D + j] - dk[i] * s1[j] - s1[i] * dk[j] + S * dk[i] * dk[j]) / nk[k];
          cov[i * D + j] = cov[j * D + i] = round_to<T>(value + (i == j ? reg_covar : 0.0));
        }
      }
      ok = ok && precision_cholesky<D>(cov, &precisions_chol[k * D * D]);
    }
  } else if (COV == kTied) {
    // scikit-learn: (X^T X - sum_k nk mean_k mean_k^T) / sum nk. Around c,
    // with A = sum_r (x - c)(x - c)^T, u = sum_r (x - c), m_k = mean_k - c and
    // w = sum_k nk m_k, the numerator is
    // A + u c^T + c u^T + (N - sum nk) c c^T - c w^T - w c^T - sum_k nk m_k m_k^T,
    // where no term is of the size of |c|^2 N unless the rows' responsibilities
    // do not sum to 1 (an initialisation's), and then scikit-learn's is too.
    const double *A = stats.s2.data(), *u = A + D * D;
    std::vector<double> m(M * D), w(D, 0.0);
    for (int64_t k = 0; k < M; ++k) {
      for (int64_t d = 0; d < D; ++d) {
        m[k * D + d] = mu_o[k * D + d] + delta[k * D + d] - center[d];
        w[d] += nk[k] * m[k * D + d];
      }
    }
    const double spare = stats.rows - nk_total;
    for (int64_t i = 0; i < D; ++i) {
      for (int64_t j = i; j < D; ++j) {
        double value = A[i * D + j] + u[i] * center[j] + center[i] * u[j] + spare * center[i] * center[j] -
                       center[i] * w[j] - w[i] * center[j];
        for (int64_t k = 0; k < M; ++k) value -= nk[k] * m[k * D + i] * m[k * D + j];
        value = value / nk_total + (i == j ? reg_covar : 0.0);
        covariances[i * D + j] = covariances[j * D + i] = round_to<T>(value);
      }
    }
    ok = precision_cholesky<D>(covariances.data(), precisions_chol.data());
  } else {
    // scikit-learn: sum r x^2 / nk - mean^2 + reg = s2 / nk - delta^2 + 10 eps mu_o^2 / nk + reg
    // = s2 / nk - a^2 + (10 eps mu_o / nk) (2 s1 + (nk - 10 eps) mu_o) / nk + reg with a = s1 / nk:
    // The first form's -delta^2 and 10 eps mu_o^2 / nk are both about mu_o^2 for a component that
    // lost its points (S = s1 = s2 = 0, nk = 10 eps); their difference, exactly 0, came out as a
    // rounding error of eps mu_o^2, not small beside reg_covar (negative for |mu_o| ~ 1e6: an
    // ill-defined covariance where scikit-learn has reg_covar). This one gives 0 there.
    for (int64_t k = 0; k < M; ++k) {
      double trace = 0;
      for (int64_t d = 0; d < D; ++d) {
        const double mu = mu_o[k * D + d], s1 = stats.s1[k * D + d], a = s1 / nk[k];
        const double second = COV == kDiag ? stats.s2[k * D + d] : 0.0;
        const double correction = -a * a + (ten_eps * mu / nk[k]) * ((2.0 * s1 + (nk[k] - ten_eps) * mu) / nk[k]);
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

}  // namespace sejits_gmm

#pragma GCC pop_options

#endif /* SEJITS_GMM_MODEL_H */
