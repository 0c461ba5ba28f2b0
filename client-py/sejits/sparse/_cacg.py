"""s-step conjugate gradients (CA-CG, Carson's two-term form) on the powers
kernel: per outer step, the bases P = [rho_0(A) p .. rho_s(A) p] and
R = [rho_0(A) r .. rho_{s-1}(A) r] (2s - 1 products, or two PA1 sweeps),
one Gram matrix G = Y Y^T of Y = [P; R], then s CG iterations on
coordinates in Y's span (numbers of size 2s + 1, no pass over n), and one
recombination x += Y^T x', r = Y^T r', p = Y^T p'.

The basis is Chebyshev on [0, 1.05 lambda_max], lambda_max from a few
Lanczos steps, cached per operator with a fingerprint of A's values (and
estimated again once they change: A.data *= 10 scales the spectrum):
bounded on the spectrum of an SPD matrix, so that s up to about 10 keeps Y
well conditioned in float64.
Residual replacement: when the recursive residual has fallen by 1e-3 since
the last replacement, r = b - A x is recomputed (QUDA's reliable updates);
convergence is always confirmed on the true residual."""

import numpy as np

from sejits.sparse import _vectors
from sejits.sparse._bases import basis_coefficients

LANCZOS_STEPS = 24
SPECTRUM_MARGIN = 1.05
REPLACE_BELOW = 1e-3
# Replacements at convergence that fail to confirm it, each without halving the true residual
# (float32, or beyond the attainable accuracy): then CG stops and says it did not converge.
MAX_STALLED_REPLACEMENTS = 3


def largest_eigenvalue(op, dtype):
    """lambda_max(A) for symmetric A: the largest Ritz value of a few Lanczos
    steps (a lower bound) padded by SPECTRUM_MARGIN; cached on the operator
    for A's values as they are (op.values_fingerprint())."""
    values = op.values_fingerprint()
    cached = op.cache.get(("lambda_max", dtype))
    if cached is not None and cached[0] == values:
        return cached[1]
    n = op.shape[0]
    v = np.random.default_rng(0).standard_normal(n).astype(dtype)
    v /= _vectors.norm(v)
    previous, beta = np.zeros_like(v), 0.0
    alphas, betas = [], []
    for _ in range(min(LANCZOS_STEPS, n)):
        w = op.matvec(v) - beta * previous
        alpha = _vectors.dot(w, v)
        w -= alpha * v
        alphas.append(alpha)
        beta = _vectors.norm(w)
        if beta <= 1e-12 * max(1.0, abs(alpha)):
            break
        betas.append(beta)
        previous, v = v, w / beta
    tridiagonal = np.diag(alphas) + np.diag(betas[:len(alphas) - 1], 1) + np.diag(betas[:len(alphas) - 1], -1)
    estimate = SPECTRUM_MARGIN * float(np.linalg.eigvalsh(tridiagonal)[-1])
    op.cache[("lambda_max", dtype)] = (values, estimate)
    return estimate


def basis_change(s, center, half_width):
    """B with A Y[:, cols] = Y B[:, cols] for Y = [P_0..P_s, R_0..R_{s-1}] in
    the Chebyshev basis: A T_0 = c T_0 + h T_1, A T_j = c T_j + h/2 (T_{j+1} + T_{j-1})."""
    size = 2 * s + 1
    B = np.zeros((size, size))
    for first, count in ((0, s), (s + 1, s - 1)):  # P's columns 0..s-1, R's 0..s-2
        for j in range(count):
            column = first + j
            B[column, column] = center
            B[column + 1, column] = half_width if j == 0 else half_width / 2
            if j > 0:
                B[column - 1, column] = half_width / 2
    return B


def cg_s_step(op, b, x, s, tolerance, maxiter, callback):
    """Returns (x, info) as cg does; x is updated in place."""
    dtype = x.dtype
    bounds = (0.0, largest_eigenvalue(op, dtype))
    center, half_width = basis_coefficients("chebyshev", s, bounds=bounds)
    B = basis_change(s, center, half_width)
    residual = lambda: b - op.matvec(x)  # noqa: E731
    r = residual() if x.any() else b.copy()
    p = r.copy()
    size = 2 * s + 1
    Y = np.empty((size, len(b)), dtype=dtype)
    iterations, since_replacement = 0, _vectors.norm(r)
    stalled, replaced_at = 0, np.inf
    while iterations < maxiter:
        rnorm = _vectors.norm(r)
        if rnorm < tolerance:
            true = residual()
            true_norm = _vectors.norm(true)
            if true_norm <= tolerance:
                return x, 0
            stalled = stalled + 1 if true_norm > replaced_at / 2 else 0
            if stalled >= MAX_STALLED_REPLACEMENTS:  # the true residual will not get there: say so
                return x, iterations
            replaced_at = true_norm
            r[...], p[...] = true, true  # drifted: replace and restart
            since_replacement = true_norm
            continue
        Y[:s + 1] = op.powers(p, s, basis="chebyshev", bounds=bounds)
        Y[s + 1:] = op.powers(r, s - 1, basis="chebyshev", bounds=bounds) if s > 1 else r
        Y64 = Y if dtype == np.float64 else Y.astype(np.float64)
        G = Y64 @ Y64.T
        pc, rc, xc = np.zeros(size), np.zeros(size), np.zeros(size)
        pc[0], rc[s + 1] = 1.0, 1.0
        rGr = rc @ G @ rc
        for _ in range(s):
            Bp = B @ pc
            alpha = rGr / (pc @ G @ Bp)
            xc += alpha * pc
            rc = rc - alpha * Bp
            rGr_next = rc @ G @ rc
            pc = rc + (rGr_next / rGr) * pc
            rGr = rGr_next
            iterations += 1
            if callback is not None:
                callback(x + (xc @ Y).astype(dtype))
            if np.sqrt(max(rGr, 0.0)) < tolerance or iterations >= maxiter:
                break
        x += (xc @ Y).astype(dtype)
        r = (rc @ Y).astype(dtype)
        p = (pc @ Y).astype(dtype)
        if _vectors.norm(r) < REPLACE_BELOW * since_replacement:  # reliable update: r from x, p kept
            r = residual()
            since_replacement = _vectors.norm(r)
    return x, maxiter  # as SciPy: the iterations ran out before the residual was checked at a loop's top
