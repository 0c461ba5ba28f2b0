"""Test matrices for sejits.sparse: Poisson in 1, 2 and 3 dimensions, a
random nonsymmetric matrix, one with empty rows and a dense row, a banded
one, one whose rows take every length the product unrolls, n = 1, and
random SPD matrices of a chosen condition number."""

import numpy as np
import scipy.sparse as sp


def poisson1d(n):
    return sp.diags_array([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], offsets=[-1, 0, 1], format="csr")


def poisson2d(m):
    one = poisson1d(m)
    eye = sp.eye_array(m)
    return (sp.kron(one, eye) + sp.kron(eye, one)).tocsr()


def poisson3d(m):
    one, eye = poisson1d(m), sp.eye_array(m)
    return (sp.kron(sp.kron(one, eye), eye) + sp.kron(sp.kron(eye, one), eye) + sp.kron(sp.kron(eye, eye), one)).tocsr()


def random_nonsymmetric(n, density, seed):
    rng = np.random.default_rng(seed)
    return sp.random_array((n, n), density=density, format="csr", rng=rng) + sp.eye_array(n, format="csr")


def empty_rows_and_a_dense_row(n, seed):
    rng = np.random.default_rng(seed)
    A = sp.random_array((n, n), density=4 / n, format="lil", rng=rng)
    A[::7] = 0  # every seventh row empty
    A[n // 3] = rng.standard_normal(n)  # one dense row
    return A.tocsr()


def banded(n, bandwidth, seed):
    rng = np.random.default_rng(seed)
    offsets = list(range(-bandwidth, bandwidth + 1))
    return sp.diags_array([rng.standard_normal(n - abs(o)) for o in offsets], offsets=offsets, format="csr")


def every_row_length(n, seed):
    """Runs of four rows of each length 0 to 10 (the product sums four rows
    at a time, unrolled for some common lengths), then rows of random
    lengths, so that groups of four rows also differ; random columns."""
    rng = np.random.default_rng(seed)
    runs = np.repeat(np.arange(11), 4)
    lengths = np.concatenate([runs, rng.integers(0, 12, n - len(runs))])[:n]
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([np.sort(rng.choice(n, size=length, replace=False)) for length in lengths])
    return sp.csr_array((rng.standard_normal(indptr[-1]), indices, indptr), shape=(n, n))


def random_spd(n, condition, seed):
    """Q^T D Q + a sparse pattern: an SPD matrix whose eigenvalues spread from 1 to `condition`."""
    rng = np.random.default_rng(seed)
    B = sp.random_array((n, n), density=5 / n, format="csr", rng=rng)
    S = (B @ B.T).tocsr()
    S = S / max(1e-12, abs(S).sum(axis=1).max())
    return (S + sp.diags_array(np.geomspace(1.0, condition, n))).tocsr()


ALL = {
    "poisson1d": lambda: poisson1d(1000),
    "poisson2d": lambda: poisson2d(37),
    "poisson3d": lambda: poisson3d(11),
    "random_nonsymmetric": lambda: random_nonsymmetric(997, 0.01, 1),
    "empty_rows_dense_row": lambda: empty_rows_and_a_dense_row(501, 2),
    "banded": lambda: banded(1009, 5, 3),
    "every_row_length": lambda: every_row_length(307, 4),
    "n1": lambda: sp.csr_array(np.array([[3.0]])),
}


def scipy_powers(A, x, k):
    V = [x]
    for _ in range(k):
        V.append(A @ V[-1])
    return np.array(V)


def shuffled_poisson2d(m, seed):
    """2-D Poisson with its rows and columns numbered at random (P A P^T): no
    locality left, so that sejits.sparse reorders it (m * m >= 4096)."""
    perm = np.random.default_rng(seed).permutation(m * m)
    A = poisson2d(m)
    return A[perm][:, perm].tocsr()
