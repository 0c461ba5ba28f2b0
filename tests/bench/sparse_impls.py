"""The implementations of the sparse cases (suite "sparse"): each builder
takes the case's CSR matrix and vector and returns a call that computes the
case's result. Numba's CSR loops use prange over rows (dpbench's npbench
spmv uses range, which is not a parallel loop); pyamg's CSR matvec is its
amg_core.csr_matvec, where pyamg is installed."""

import numpy as np

K = 8  # K1's powers


def sejits_product(A, x):
    import sejits.sparse as ss

    op = ss.operator(A)
    return lambda: op @ x


def scipy_product(A, x):
    return lambda: A @ x


def _numba_csr_product():
    import numba

    @numba.njit(parallel=True, fastmath=False)
    def product(data, indices, indptr, x, y):
        for row in numba.prange(len(indptr) - 1):
            total = 0.0
            for p in range(indptr[row], indptr[row + 1]):
                total += data[p] * x[indices[p]]
            y[row] = total

    return product


def numba_product(A, x):
    product = _numba_csr_product()

    def call():
        y = np.empty(A.shape[0], dtype=np.result_type(A.dtype, x.dtype))
        product(A.data, A.indices, A.indptr, x, y)
        return y

    return call


def pyamg_product(A, x):
    from pyamg import amg_core

    def call():
        y = np.zeros(A.shape[0], dtype=np.result_type(A.dtype, x.dtype))
        amg_core.csr_matvec(A.shape[0], A.shape[1], A.indptr, A.indices, A.data, x, y)
        return y

    return call


def sejits_powers(A, x):
    import sejits.sparse as ss

    op = ss.operator(A)
    return lambda: op.powers(x, K)


def scipy_powers(A, x):
    def call():
        V = np.empty((K + 1, A.shape[0]))
        V[0] = x
        for j in range(K):
            V[j + 1] = A @ V[j]
        return V

    return call


def numba_powers(A, x):
    product = _numba_csr_product()

    def call():
        V = np.empty((K + 1, A.shape[0]))
        V[0] = x
        for j in range(K):
            product(A.data, A.indices, A.indptr, V[j], V[j + 1])
        return V

    return call


PRODUCT_IMPLS = {"sejits": sejits_product, "scipy": scipy_product, "numba-prange": numba_product,
                 "pyamg": pyamg_product}
POWERS_IMPLS = {"sejits": sejits_powers, "scipy": scipy_powers, "numba-prange": numba_powers}


def sejits_cg(A, b, rtol):
    import sejits.sparse as ss

    op = ss.operator(A)
    return lambda: ss.cg(op, b, rtol=rtol, atol=0.0, maxiter=100 * A.shape[0])


def scipy_cg(A, b, rtol):
    import scipy.sparse.linalg as spla

    return lambda: spla.cg(A, b, rtol=rtol, atol=0.0, maxiter=100 * A.shape[0])


CG_IMPLS = {"sejits": sejits_cg, "scipy": scipy_cg}
