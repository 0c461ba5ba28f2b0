"""The gmm specializer's entry points in NumPy: what runs when the daemon
cannot build them, and the tests' second oracle. Each takes the values its
native entry point takes, in the same order, plus the kernel's params as
keywords (covariance_type, n_components, n_features); it updates its in-out
arrays in place and returns its outputs.

X is read in chunks of rows, so the temporaries are O(chunk * (D + M)) and
the fused EM step ("call", "em_iteration") never holds an N x M array. The
arithmetic is float64 whatever X's dtype; results are returned in X's dtype.
Log-probabilities use the direct (x - mu) forms, and the M-step accumulates
its sufficient statistics around the previous means (a shifted one-pass
form), so float32 data does not lose its digits to cancellation.

The M-step is scikit-learn's term for term: nk = S + 10 eps (eps of X's
dtype), and its diag, spherical and tied forms are uncentered. Their exact
value therefore carries + 10 eps mu^2 / nk, which float32's eps makes
visible for |mu| beyond about 1e3 (scikit-learn's own float32 rounding is
larger there). The fused step's tied form sums per-component statistics,
which equals scikit-learn's X^T X because softmax responsibilities sum to 1
per sample; m_step's does not assume that (see _tied_m_step)."""

import math

import numpy as np

ROWS_PER_CHUNK = 4096
_LOG_2PI = math.log(2 * math.pi)

_ILL_DEFINED = ("Fitting the mixture model failed because some components have ill-defined empirical covariance "
                "(for instance caused by singleton or collapsed samples). Try to decrease the number of components, "
                "increase reg_covar, or scale the input data.")
_FLOAT32_HINT = " The numerical accuracy can also be improved by passing float64 data instead of float32."


def ill_defined_covariance_message(dtype):
    """scikit-learn's text for a covariance whose precision cannot be factored."""
    return _ILL_DEFINED + (_FLOAT32_HINT if np.dtype(dtype) == np.float32 else "")


# ---- entry points --------------------------------------------------------


def call(X, reg_covar, tol, start_bound, weights, means, precisions_cholesky, covariances, lower_bounds, *,
         covariance_type, n_components, n_features):
    """The EM loop: up to len(lower_bounds) iterations, each recording the
    bound of its E-step; stops when the bound moves by less than tol.
    Returns [iterations run, converged (0 or 1)]."""
    previous, n_iter, converged = float(start_bound), 0, False
    for n_iter in range(1, len(lower_bounds) + 1):
        bound = _em_step(X, reg_covar, weights, means, precisions_cholesky, covariances, covariance_type)
        lower_bounds[n_iter - 1] = bound
        if abs(bound - previous) < tol:
            converged = True
            break
        previous = bound
    return np.array([n_iter, 1.0 if converged else 0.0])


def em_iteration(X, reg_covar, weights, means, precisions_cholesky, covariances, *,
                 covariance_type, n_components, n_features):
    """One iteration of call()'s loop; returns [the E-step's bound]."""
    return np.array([_em_step(X, reg_covar, weights, means, precisions_cholesky, covariances, covariance_type)])


def e_step(X, weights, means, precisions_cholesky, *, covariance_type, n_components, n_features):
    """(log responsibilities (N, M), log-likelihood of each sample (N,))."""
    model = _Model(weights, means, precisions_cholesky, covariance_type)
    log_resp = np.empty((X.shape[0], model.n_components), dtype=X.dtype)
    log_prob_norm = np.empty(X.shape[0], dtype=X.dtype)
    for rows, chunk in _chunks(X):
        weighted = model.weighted_log_prob(chunk)
        norm = _log_sum_exp(weighted)
        with np.errstate(under="ignore", invalid="ignore"):
            log_resp[rows] = weighted - norm[:, np.newaxis]
        log_prob_norm[rows] = norm
    return log_resp, log_prob_norm


def m_step(X, resp, reg_covar, *, covariance_type, n_components, n_features):
    """The parameters that responsibilities `resp` give: (nk = sum of resp +
    10 eps, means, covariances, precisions_cholesky). Two passes: the means,
    then the statistics centered on them."""
    if covariance_type == "tied":
        return _tied_m_step(X, resp, reg_covar)
    eps10 = 10 * np.finfo(X.dtype).eps
    totals = np.zeros(resp.shape[1])
    first_moments = np.zeros((resp.shape[1], X.shape[1]))
    for rows, chunk in _chunks(X):
        weights = resp[rows].astype(np.float64, copy=False)
        totals += weights.sum(axis=0)
        first_moments += weights.T @ chunk
    centers = first_moments / (totals + eps10)[:, np.newaxis]
    statistics = _Statistics(centers, covariance_type)
    for rows, chunk in _chunks(X):
        statistics.add(chunk, resp[rows].astype(np.float64, copy=False))
    nk, means, covariances, precisions_cholesky = statistics.parameters(reg_covar, X.dtype)
    return nk.astype(X.dtype), means.astype(X.dtype), covariances, precisions_cholesky


def _tied_m_step(X, resp, reg_covar):
    """m_step for "tied": scikit-learn's (X^T X - sum_k nk mu_k mu_k^T) / sum nk,
    whose X^T X counts every sample even where its responsibilities do not
    sum to 1 (k-means++ and random_from_data start from one-hot rows at M
    samples only). Computed around the data's mean c, with s1_k = sum r (x - c)
    and d_k = mu_k - c: T - sum_k nk d_k d_k^T + c g^T + g c^T + (N - sum nk) c c^T,
    where T = sum (x - c)(x - c)^T and g = sum (x - c) - sum_k s1_k + 10 eps M c."""
    eps10 = 10 * np.finfo(X.dtype).eps
    n_samples, n_features = X.shape
    n_components = resp.shape[1]
    center = sum(chunk.sum(axis=0) for _, chunk in _chunks(X)) / n_samples
    total, first = np.zeros(n_components), np.zeros((n_components, n_features))
    scatter, column_sum = np.zeros((n_features, n_features)), np.zeros(n_features)
    for rows, chunk in _chunks(X):
        diff = chunk - center
        weights = resp[rows].astype(np.float64, copy=False)
        total += weights.sum(axis=0)
        first += weights.T @ diff
        scatter += diff.T @ diff
        column_sum += diff.sum(axis=0)
    nk = total + eps10
    means = (first + center * total[:, np.newaxis]) / nk[:, np.newaxis]
    offsets = (first - eps10 * center) / nk[:, np.newaxis]
    g = column_sum - first.sum(axis=0) + eps10 * n_components * center
    covariance = (scatter - (offsets * nk[:, np.newaxis]).T @ offsets + np.outer(center, g) + np.outer(g, center)
                  + (n_samples - nk.sum()) * np.outer(center, center))
    covariance /= nk.sum()
    covariance[np.arange(n_features), np.arange(n_features)] += reg_covar
    covariance = covariance.astype(X.dtype)
    return nk.astype(X.dtype), means.astype(X.dtype), covariance, precision_cholesky(covariance, "tied")


def score_samples(X, weights, means, precisions_cholesky, *, covariance_type, n_components, n_features):
    """The log-likelihood of each sample (N,)."""
    model = _Model(weights, means, precisions_cholesky, covariance_type)
    out = np.empty(X.shape[0], dtype=X.dtype)
    for rows, chunk in _chunks(X):
        out[rows] = _log_sum_exp(model.weighted_log_prob(chunk))
    return out


def predict(X, weights, means, precisions_cholesky, *, covariance_type, n_components, n_features):
    """The most probable component of each sample (int64; the first on ties)."""
    model = _Model(weights, means, precisions_cholesky, covariance_type)
    out = np.empty(X.shape[0], dtype=np.int64)
    for rows, chunk in _chunks(X):
        out[rows] = np.argmax(model.weighted_log_prob(chunk), axis=1)
    return out


ENTRY_POINTS = {"call": call, "em_iteration": em_iteration, "e_step": e_step, "m_step": m_step,
                "score_samples": score_samples, "predict": predict}


# ---- the pieces ----------------------------------------------------------


def _chunks(X):
    """(row slice, those rows as float64) over X."""
    for start in range(0, X.shape[0], ROWS_PER_CHUNK):
        rows = slice(start, start + ROWS_PER_CHUNK)
        yield rows, X[rows].astype(np.float64, copy=False)


def _log_sum_exp(values):
    """log(sum(exp(values), axis=1)), shifted by each row's maximum."""
    top = values.max(axis=1)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore", under="ignore"):
        return np.log(np.exp(values - shift[:, np.newaxis]).sum(axis=1)) + shift


class _Model:
    """A mixture's parameters in float64, with the per-component constants of its log-density."""

    def __init__(self, weights, means, precisions_cholesky, covariance_type):
        self.covariance_type = covariance_type
        self.means = np.asarray(means, dtype=np.float64)
        self.precisions_cholesky = np.asarray(precisions_cholesky, dtype=np.float64)
        self.n_components, n_features = self.means.shape
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(weights, dtype=np.float64))
        # -1/2 log det(covariance) is + log det(precision Cholesky factor).
        prec = self.precisions_cholesky
        if covariance_type == "full":
            log_det = np.log(np.diagonal(prec, axis1=1, axis2=2)).sum(axis=1)
        elif covariance_type == "tied":
            log_det = np.log(np.diag(prec)).sum()
        elif covariance_type == "diag":
            log_det = np.log(prec).sum(axis=1)
        else:
            log_det = n_features * np.log(prec)
        self.offset = log_det + log_weights - 0.5 * n_features * _LOG_2PI

    def weighted_log_prob(self, chunk):
        """log(weight_k) + log N(x | mu_k, Sigma_k) for the chunk's rows (rows x M, float64)."""
        squared = np.empty((chunk.shape[0], self.n_components))
        prec = self.precisions_cholesky
        for k in range(self.n_components):
            diff = chunk - self.means[k]
            if self.covariance_type == "full":
                diff = diff @ prec[k]
            elif self.covariance_type == "tied":
                diff = diff @ prec
            elif self.covariance_type == "diag":
                diff *= prec[k]
            squared[:, k] = np.einsum("ij,ij->i", diff, diff)
        if self.covariance_type == "spherical":
            squared *= prec ** 2
        return self.offset - 0.5 * squared


class _Statistics:
    """The M-step's sufficient statistics, accumulated around fixed centers
    mu_o (the previous means): S_k = sum r, s1_k = sum r (x - mu_o),
    s2_k = sum r (x - mu_o)(x - mu_o)^T (its diagonal for diag and spherical,
    the sum over components for tied)."""

    def __init__(self, centers, covariance_type):
        self.centers = centers
        self.covariance_type = covariance_type
        n_components, n_features = centers.shape
        self.total = np.zeros(n_components)
        self.first = np.zeros((n_components, n_features))
        self.second = np.zeros({"full": (n_components, n_features, n_features),
                                "tied": (n_features, n_features)}.get(covariance_type, (n_components, n_features)))

    def add(self, chunk, resp):
        self.total += resp.sum(axis=0)
        for k in range(self.centers.shape[0]):
            diff = chunk - self.centers[k]
            weighted = diff * resp[:, k, np.newaxis]
            self.first[k] += weighted.sum(axis=0)
            if self.covariance_type == "full":
                self.second[k] += weighted.T @ diff
            elif self.covariance_type == "tied":
                self.second += weighted.T @ diff
            else:
                self.second[k] += np.einsum("ij,ij->j", weighted, diff)

    def parameters(self, reg_covar, dtype):
        """(nk, means) in float64, (covariances, precisions_cholesky) in
        `dtype`, as scikit-learn's M-step defines them (nk = S + 10 eps)."""
        eps10 = 10 * np.finfo(dtype).eps
        mu_o, total, first, second = self.centers, self.total, self.first, self.second
        nk = total + eps10
        means = (first + mu_o * total[:, np.newaxis]) / nk[:, np.newaxis]
        delta = (first - eps10 * mu_o) / nk[:, np.newaxis]  # means - mu_o, without the cancellation
        n_features = mu_o.shape[1]
        if self.covariance_type == "full":
            outer = delta[:, :, np.newaxis] * first[:, np.newaxis, :]
            covariances = (second - outer - np.swapaxes(outer, 1, 2)
                           + total[:, np.newaxis, np.newaxis] * delta[:, :, np.newaxis] * delta[:, np.newaxis, :])
            covariances /= nk[:, np.newaxis, np.newaxis]
            covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
        elif self.covariance_type == "tied":
            covariances = second - (delta * nk[:, np.newaxis]).T @ delta + eps10 * (mu_o.T @ mu_o)
            covariances /= nk.sum()
            covariances[np.arange(n_features), np.arange(n_features)] += reg_covar
        else:
            # -delta^2 + 10 eps mu_o^2 / nk rewritten so that no two terms of the size of mu_o^2
            # cancel: exactly 0 for a component that lost its points (first = 0, nk = 10 eps).
            mean_shift = first / nk[:, np.newaxis]
            ratio = eps10 * mu_o / nk[:, np.newaxis]
            correction = -mean_shift ** 2 + ratio * (2.0 * first + (nk - eps10)[:, np.newaxis] * mu_o) / nk[:, np.newaxis]
            covariances = second / nk[:, np.newaxis] + correction + reg_covar
            if self.covariance_type == "spherical":
                covariances = covariances.mean(axis=1)
        covariances = covariances.astype(dtype)
        return nk, means, covariances, precision_cholesky(covariances, self.covariance_type)


def precision_cholesky(covariances, covariance_type):
    """The precision's Cholesky factor in the covariances' dtype (computed in
    float64): the upper-triangular inverse transpose of the covariance's
    lower Cholesky factor (full, tied), 1/sqrt(covariance) (diag, spherical).
    A covariance that is not positive definite raises ValueError with
    scikit-learn's text."""
    dtype = covariances.dtype
    values = covariances.astype(np.float64)
    if covariance_type in ("full", "tied"):
        try:
            lower = np.linalg.cholesky(values)
        except np.linalg.LinAlgError:
            raise ValueError(ill_defined_covariance_message(dtype)) from None
        if not np.isfinite(lower).all():
            raise ValueError(ill_defined_covariance_message(dtype))
        return np.swapaxes(_lower_triangular_inverse(lower), -1, -2).astype(dtype)
    if not (values > 0.0).all():
        raise ValueError(ill_defined_covariance_message(dtype))
    return (1.0 / np.sqrt(values)).astype(dtype)


def _lower_triangular_inverse(lower):
    """inv(L) for lower-triangular L (..., D, D), by forward substitution over
    the stack at once; the result's upper triangle is exactly zero."""
    n_features = lower.shape[-1]
    inverse = np.zeros_like(lower)
    for i in range(n_features):
        row = -np.einsum("...j,...jk->...k", lower[..., i, :i], inverse[..., :i, :])
        row[..., i] += 1.0
        inverse[..., i, :] = row / lower[..., i, i, np.newaxis]
    return inverse


def _em_step(X, reg_covar, weights, means, precisions_cholesky, covariances, covariance_type):
    """One fused EM iteration: the E-step's responsibilities go straight into
    statistics around the current means, chunk by chunk; then the M-step
    replaces the four parameter arrays' contents. Returns the E-step's bound."""
    model = _Model(weights, means, precisions_cholesky, covariance_type)
    statistics = _Statistics(model.means, covariance_type)
    bound = 0.0
    for _, chunk in _chunks(X):
        weighted = model.weighted_log_prob(chunk)
        norm = _log_sum_exp(weighted)
        bound += norm.sum()
        with np.errstate(under="ignore", invalid="ignore"):
            statistics.add(chunk, np.exp(weighted - norm[:, np.newaxis]))
    nk, new_means, new_covariances, new_precisions_cholesky = statistics.parameters(reg_covar, X.dtype)
    weights[...] = nk / nk.sum()
    means[...] = new_means
    covariances[...] = new_covariances
    precisions_cholesky[...] = new_precisions_cholesky
    return bound / X.shape[0]
