"""The reference of the GMM cases: EM in NumPy alone, from given initial
parameters, with scikit-learn's formulas (sklearn/mixture/_gaussian_mixture.py,
1.9) written out, so the suite checks every implementation, scikit-learn's
too, whether or not scikit-learn is installed. Neither SciPy nor any other
optional peer is used.

One iteration is scikit-learn's: an E-step (log-responsibilities; its mean
log-likelihood is the iteration's lower bound), then an M-step (weights,
means, covariances with reg_covar on the diagonal, precision Cholesky
factors). The lower bound of the fit is that of the last E-step.
"""

import math
from dataclasses import dataclass

import numpy as np

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class InitialParameters:
    """What both sides start from: weights_init, means_init, precisions_init."""

    weights: np.ndarray  # (M,)
    means: np.ndarray  # (M, D)
    precisions: np.ndarray  # full (M, D, D), diag (M, D), tied (D, D)


@dataclass(frozen=True)
class FittedMixture:
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    lower_bound: float


def precision_cholesky_from_precisions(precisions, covariance_type):
    """The upper factor U of each precision P = U U^T, as scikit-learn keeps it
    (the transposed lower Cholesky factor of P)."""
    if covariance_type == "diag":
        return np.sqrt(precisions)
    if covariance_type == "tied":
        return np.linalg.cholesky(precisions).T
    return np.stack([np.linalg.cholesky(p).T for p in precisions])


def precision_cholesky_from_covariances(covariances, covariance_type):
    """inv(L)^T for each covariance C = L L^T (C^-1 = inv(L)^T inv(L)); 1/sqrt for diagonals."""
    if covariance_type == "diag":
        return 1.0 / np.sqrt(covariances)

    def factor(covariance):
        lower = np.linalg.cholesky(covariance)
        return np.linalg.solve(lower, np.eye(covariance.shape[0])).T

    if covariance_type == "tied":
        return factor(covariances)
    return np.stack([factor(c) for c in covariances])


def log_det_cholesky(precisions_cholesky, covariance_type):
    """log det of each precision factor: half the log det of the precision."""
    if covariance_type == "diag":
        return np.sum(np.log(precisions_cholesky), axis=1)
    if covariance_type == "tied":
        return np.sum(np.log(np.diag(precisions_cholesky)))
    return np.sum(np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)), axis=1)


def log_gaussian_prob(X, means, precisions_cholesky, covariance_type):
    """(N, M): log N(x | mu_k, Sigma_k) for each sample and component."""
    n_features = X.shape[1]
    if covariance_type == "diag":
        precisions = precisions_cholesky**2
        squared = (np.sum(means**2 * precisions, axis=1) - 2.0 * (X @ (means * precisions).T)
                   + (X**2 @ precisions.T))
    else:
        squared = np.empty((X.shape[0], means.shape[0]))
        for k, mean in enumerate(means):
            factor = precisions_cholesky if covariance_type == "tied" else precisions_cholesky[k]
            y = X @ factor - mean @ factor
            squared[:, k] = np.sum(np.square(y), axis=1)
    return -0.5 * (n_features * LOG_2PI + squared) + log_det_cholesky(precisions_cholesky, covariance_type)


def log_sum_exp_rows(values):
    peak = np.max(values, axis=1)
    return peak + np.log(np.sum(np.exp(values - peak[:, np.newaxis]), axis=1))


def e_step(X, weights, means, precisions_cholesky, covariance_type):
    """(mean log-likelihood, responsibilities (N, M))."""
    weighted = log_gaussian_prob(X, means, precisions_cholesky, covariance_type) + np.log(weights)
    norm = log_sum_exp_rows(weighted)
    return float(np.mean(norm)), np.exp(weighted - norm[:, np.newaxis])


def m_step(X, resp, reg_covar, covariance_type):
    """(weights, means, covariances) that the responsibilities give."""
    nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps
    means = resp.T @ X / nk[:, np.newaxis]
    if covariance_type == "full":
        covariances = np.empty((len(nk), X.shape[1], X.shape[1]))
        for k, mean in enumerate(means):
            diff = X - mean
            covariances[k] = (resp[:, k] * diff.T) @ diff / nk[k]
            covariances[k].flat[:: X.shape[1] + 1] += reg_covar
    elif covariance_type == "tied":
        covariances = (X.T @ X - (nk * means.T) @ means) / nk.sum()
        covariances.flat[:: X.shape[1] + 1] += reg_covar
    else:
        covariances = (resp.T @ (X * X)) / nk[:, np.newaxis] - means**2 + reg_covar
    return nk / nk.sum(), means, covariances


def fit(X, covariance_type, init, reg_covar, iterations):
    """`iterations` EM iterations from `init` (no tolerance): the fitted mixture."""
    weights, means = init.weights, init.means
    precisions_cholesky = precision_cholesky_from_precisions(init.precisions, covariance_type)
    lower_bound, covariances = -np.inf, None
    for _ in range(iterations):
        lower_bound, resp = e_step(X, weights, means, precisions_cholesky, covariance_type)
        weights, means, covariances = m_step(X, resp, reg_covar, covariance_type)
        del resp
        precisions_cholesky = precision_cholesky_from_covariances(covariances, covariance_type)
    return FittedMixture(weights, means, covariances, lower_bound)
