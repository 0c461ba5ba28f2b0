"""sejits.sparse.cg: scipy.sparse.linalg.cg's signature, arithmetic and
results, each iteration one fused native call (p update, q = A p with p.q,
x and r updates with r.r) on the operator's threaded kernels.

Unlike SciPy, convergence is confirmed on the true residual: when the
recursive residual passes the tolerance, b - A x is computed; if it does not
meet max(rtol ||b||, atol), it replaces r and the iteration goes on (a
restart), so info = 0 always means ||b - A x|| <= max(rtol ||b||, atol).
Where replacements stop helping (MAX_STALLED_REPLACEMENTS in a row, each
without halving the true residual: float32, or a tolerance below the
attainable accuracy), cg returns info = the iterations run, as SciPy does
for no convergence, instead of running on to maxiter."""

import functools
import operator as python_operator
import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from sejits.sparse import _cacg, _kernels, _vectors
from sejits.sparse._cacg import MAX_STALLED_REPLACEMENTS
from sejits.sparse._operator import SparseNotSupportedWarning, SparseOperator, operator

try:  # SciPy's own checks and conversions, so that bad input gets SciPy's errors
    from scipy.sparse.linalg._isolve.utils import make_system as _make_system
except ImportError:  # pragma: no cover - SciPy moved it
    _make_system = None
try:
    from scipy.sparse.linalg._isolve.iterative import _get_atol_rtol
except ImportError:  # pragma: no cover - SciPy moved it
    _get_atol_rtol = None


MAX_S = 16


# s="auto": classic CG, on every matrix so far measured. An s-step pass makes
# two bases of s + 1 and s vectors, a Gram matrix of them and three
# recombinations, each a pass over 2s + 1 vectors of n, against classic CG's
# s fused iterations: on a 4M-row 2-D Poisson matrix s = 4 took 73-84 ms per
# iteration against 18.8 ms, with PA1 running its powers. (The Gram matrix is
# a BLAS call, and OpenBLAS's threads spin after it, taking the cores from
# the next powers call.) s > 1 stays available on request.
AUTO_S = 1


def _tolerance(rtol, atol, bnorm):
    """SciPy's: max(atol, rtol ||b||); atol None or negative is its ValueError."""
    if _get_atol_rtol is not None:
        return _get_atol_rtol("cg", bnorm, atol, rtol)[0]
    if atol is None or float(atol) < 0:  # pragma: no cover - SciPy moved it
        raise ValueError(f"'cg' called with invalid atol={atol!r}; atol must be a real, non-negative number.")
    return max(float(atol), float(rtol) * float(bnorm))


def cg(A, b, x0=None, *, rtol=1e-5, atol=0.0, maxiter=None, M=None, callback=None, s="auto"):
    """Solves A x = b for symmetric positive definite A by conjugate
    gradients; returns (x, info) as scipy.sparse.linalg.cg does: info 0
    when ||b - A x|| <= max(rtol ||b||, atol), else the iterations run
    (maxiter). `s` is the s-step block size: 1 is classic CG; s > 1 runs s
    iterations per pass over A's powers (sejits.sparse._cacg); "auto"
    is AUTO_S."""
    if s != "auto" and (isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 1 <= s <= MAX_S):
        raise ValueError(f"cg: s must be 'auto' or an integer from 1 to {MAX_S}, not {s!r}")
    if s not in ("auto", 1) and M is not None:
        raise NotImplementedError("cg: preconditioned s-step CG is not built; use s=1 (classic CG) with M")
    if not (sp.issparse(A) or isinstance(A, SparseOperator)):
        warnings.warn(f"sejits.sparse.cg: A is a {type(A).__name__}, not a scipy.sparse matrix; SciPy's cg runs it",
                      SparseNotSupportedWarning, stacklevel=2)
        return spla.cg(A, b, x0, rtol=rtol, atol=atol, maxiter=maxiter, M=M, callback=callback)
    op = operator(A)
    if op.shape[0] != op.shape[1]:
        raise ValueError(f"expected square matrix, but got shape={(op.shape,)}")  # SciPy's text, to the letter
    _, M_op, x, b = _make_system(op.csr, M, x0, b)[:4]
    dtype = op.compute_dtype(x.dtype)
    if dtype is None or x.dtype != dtype:
        warnings.warn(f"sejits.sparse.cg: {x.dtype} values are not supported (float32 and float64 are); SciPy's cg runs it",
                      SparseNotSupportedWarning, stacklevel=2)
        return spla.cg(op.csr, b, x0, rtol=rtol, atol=atol, maxiter=maxiter, M=M, callback=callback)
    bnorm = _vectors.norm(b)
    tolerance = _tolerance(rtol, atol, bnorm)
    if bnorm == 0:
        return b, 0
    # SciPy runs range(maxiter): maxiter=5.0 is its TypeError.
    maxiter = len(b) * 10 if maxiter is None else python_operator.index(maxiter)
    steps = AUTO_S if s == "auto" else int(s)
    if steps > 1:
        return _cacg.cg_s_step(op, np.ascontiguousarray(b), x, steps, tolerance, maxiter, callback)
    return _classic(op, M_op if M is not None else None, b, x, dtype, tolerance, maxiter, callback)


def _classic(op, M, b, x0, dtype, tolerance, maxiter, callback):
    """Classic CG, one native call per iteration, in the kernels' order of
    the rows (op.to_kernel(..., ordered=True): A's own, or its reordering
    where rows reach far from the diagonal); the callback, the
    preconditioner and the result see A's order. Convergence is confirmed
    on A as it is at the end, in its own order (live_residual), not on the
    reordered copy of its values taken at the start."""
    op.check_ordering()  # once per solve: A.sort_indices() may have moved its entries since the analysis
    arrays = op.arrays(dtype, ordered=True)
    iterate = _kernels.products_kernel().direct("cg_iteration", *arrays)
    b_outside = np.ascontiguousarray(b, dtype=dtype)
    b, x = op.to_kernel(b, dtype, ordered=True), op.to_kernel(x0, dtype, ordered=True)  # x0 itself if not reordered
    outside = functools.partial(op.from_kernel, ordered=True)
    product = functools.partial(op.kernel_product, dtype=dtype, ordered=True, arrays=arrays)
    live_residual = lambda: b_outside - op.kernel_product(np.ascontiguousarray(outside(x)), dtype)  # noqa: E731
    r = b - product(x) if x.any() else b.copy()
    p, q = np.zeros_like(r), np.empty_like(r)
    state = np.zeros(4, dtype=np.float64)
    rr = _vectors.dot(r, r)
    restart = True
    rho_previous = 1.0
    stalled, replaced_at = 0, np.inf
    for iteration in range(maxiter):
        if np.sqrt(rr) < tolerance:
            true_residual = live_residual()
            true_norm = _vectors.norm(true_residual)
            if true_norm <= tolerance:
                return outside(x), 0
            stalled = stalled + 1 if true_norm > replaced_at / 2 else 0
            if stalled >= MAX_STALLED_REPLACEMENTS:  # the true residual will not get there: say so
                return outside(x), iteration
            replaced_at = true_norm
            r[...] = op.to_kernel(true_residual, dtype, ordered=True)  # r drifted: replace it and restart
            rr = _vectors.dot(r, r)
            restart = True
        z = op.to_kernel(M.matvec(outside(r)), dtype, ordered=True) if M is not None else r
        rho = _vectors.dot(r, z) if M is not None else rr
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 is NaN, as in SciPy's (NumPy's) division
            state[0] = 0.0 if restart else np.float64(rho) / rho_previous
        state[1] = rho
        iterate(*arrays, x, r, z, p, q, state)
        rr, rho_previous, restart = float(state[3]), rho, False
        if callback is not None:
            callback(outside(x))
    return outside(x), maxiter

__all__ = ["cg"]
