"""The powers kernel's bases and their coefficients, and the checks of k:
one definition for sejits.sparse.matrix_powers and the s-step CG."""

import numpy as np

BASES = ("monomial", "newton", "chebyshev")


def check_k(k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 64:
        raise ValueError(f"k must be an integer from 1 to 64, not {k!r}")
    return int(k)


def basis_coefficients(basis, k, shifts=None, bounds=None):
    """The powers kernel's coeffs: Newton's k shifts, Chebyshev's (c, h)."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")
    if basis == "newton":
        if shifts is None:
            raise ValueError("basis='newton' needs shifts (k numbers)")
        coeffs = np.asarray(shifts, dtype=np.float64).reshape(-1)
        if coeffs.shape != (k,):
            raise ValueError(f"basis='newton' needs k={k} shifts, not {coeffs.size}")
        return np.ascontiguousarray(coeffs)
    if basis == "chebyshev":
        if bounds is None or len(bounds) != 2:
            raise ValueError("basis='chebyshev' needs bounds=(lmin, lmax)")
        lmin, lmax = float(bounds[0]), float(bounds[1])
        if not lmax > lmin:
            raise ValueError(f"basis='chebyshev' needs lmin < lmax, not bounds=({lmin}, {lmax})")
        return np.array([(lmax + lmin) / 2, (lmax - lmin) / 2], dtype=np.float64)
    return np.zeros(1, dtype=np.float64)
