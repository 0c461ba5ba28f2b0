"""Sparse matrices in generated, threaded native code: scipy.sparse in,
NumPy out.

    import scipy.sparse as sp, sejits.sparse as ss
    op = ss.operator(A)                        # analysed once; also a scipy LinearOperator
    y = op @ x                                 # threaded y = A x (bitwise SciPy's A @ x on CSR)
    V = ss.matrix_powers(A, x, k=8)            # (k+1, n): x, Ax, ..., A^k x, by PA1 where it pays
    V = ss.matrix_powers(A, x, k=8, basis="newton", shifts=theta)   # or "chebyshev", bounds=(lmin, lmax)
    x, info = ss.cg(A, b, rtol=1e-8)           # scipy.sparse.linalg.cg's signature and results
"""

from sejits.sparse._cg import cg
from sejits.sparse._operator import SparseNotSupportedWarning, SparseOperator, matrix_powers, operator

__all__ = ["SparseNotSupportedWarning", "SparseOperator", "cg", "matrix_powers", "operator"]
