"""The sparse specializer's entry points in NumPy/SciPy: what runs when the
daemon cannot build a kernel, and the oracle its tests compare with. Each
takes the entry's values (the CSR arrays first) and the kernel's params as
keywords, and updates its in-out arrays in place, as the native entry does.
Every product is SciPy's `A @ x` on the same CSR arrays (the native sums
take the same order), every basis update the same expression in the
values' dtype."""

import numpy as np
import scipy.sparse as sp


def csr(data, indices, indptr, columns):
    return sp.csr_array((data, indices, indptr), shape=(len(indptr) - 1, columns), copy=False)


def spmv(data, indices, indptr, x, y, **params):
    y[...] = csr(data, indices, indptr, len(x)) @ x


def next_level(product, j, here, before, basis, coeffs):
    """Level j+1 of the basis from A @ V[j] (`product`), V[j] and V[j-1]
    (sejits/sparse_runtime.h's next_level, in the same order)."""
    dtype = product.dtype.type
    if basis == "monomial":
        return product
    if basis == "newton":
        return product - dtype(coeffs[j]) * here
    c, h = dtype(coeffs[0]), dtype(coeffs[1])
    if j == 0:
        return (product - c * here) / h
    return dtype(2) * (product - c * here) / h - before


def powers(data, indices, indptr, plan, coeffs, V, *, k, basis="monomial", **params):
    """V[1..k] from V[0], level by level (the plan only says how the native
    kernel splits the work; the values do not depend on it)."""
    a = csr(data, indices, indptr, V.shape[1])
    for j in range(k):
        V[j + 1] = next_level(a @ V[j], j, V[j], V[j - 1] if j > 0 else V[j], basis, coeffs)


def cg_iteration(data, indices, indptr, x, r, z, p, q, state, **params):
    """p = z + beta p (z where beta is 0), q = A p, alpha = rho / p.q,
    x += alpha p, r -= alpha q; state: in beta, rho; out alpha, r.r."""
    beta, rho = state[0], state[1]
    p[...] = z if beta == 0 else z + p.dtype.type(beta) * p
    q[...] = csr(data, indices, indptr, len(p)) @ p
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 is NaN, as the native division gives
        alpha = float(np.float64(rho) / np.dot(p.astype(np.float64), q.astype(np.float64)))
    step = p.dtype.type(alpha)
    x += step * p
    r -= step * q
    state[2] = alpha
    state[3] = float(np.dot(r.astype(np.float64), r.astype(np.float64)))


PRODUCTS = {"call": spmv, "cg_iteration": cg_iteration}
POWERS = {"call": powers}
