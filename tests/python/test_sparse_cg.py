"""sejits.sparse.cg against scipy.sparse.linalg.cg on SPD problems (2-D
Poisson, a random SPD matrix of condition 1e4, float64 and float32): the
same solution to the tolerance, iteration counts (callback calls) within
10%, info on maxiter exhaustion, x0, a diagonal preconditioner M; and the
promise SciPy does not make: info = 0 only when the true residual
||b - A x|| meets max(rtol ||b||, atol)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from sparse_matrices import poisson2d, random_spd, shuffled_poisson2d

import sejits
import sejits.sparse as ss
from sejits.sparse import _analysis


@pytest.fixture
def native(daemon):
    sejits.config(fallback="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error", sejits.SpecializationWarning)
        yield


def counted(solver, A, b, **options):
    """(x, info, callback calls); the last callback saw the returned x, in A's order of rows."""
    calls = []
    x, info = solver(A, b, callback=lambda xk: calls.append(np.array(xk)), **options)
    if calls:
        np.testing.assert_allclose(calls[-1], x, rtol=1e-12, atol=1e-300)
    return x, info, len(calls)


def true_residual(A, x, b):
    return np.linalg.norm(b - A @ x)


PROBLEMS = {
    "poisson2d": lambda: poisson2d(40),
    "shuffled_poisson2d": lambda: shuffled_poisson2d(70, 5),  # reordered by sejits.sparse
    "random_spd_1e4": lambda: random_spd(800, 1e4, 7),
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("rtol", [1e-5, 1e-8])
def test_solution_and_iterations_match_scipy(native, name, rtol):
    A = PROBLEMS[name]()
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    ours, info, iterations = counted(ss.cg, A, b, rtol=rtol, atol=0.0)
    theirs, their_info, their_iterations = counted(spla.cg, A, b, rtol=rtol, atol=0.0)
    assert info == 0 and their_info == 0
    assert true_residual(A, ours, b) <= rtol * np.linalg.norm(b)
    assert abs(iterations - their_iterations) <= max(1, 0.1 * their_iterations), (iterations, their_iterations)
    # Both residuals are under rtol ||b||, so the solutions differ by at most 2 rtol ||b|| / lambda_min.
    lambda_min = np.linalg.eigvalsh(A.toarray())[0]
    assert np.linalg.norm(ours - theirs) <= 2 * rtol * np.linalg.norm(b) / lambda_min


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("s", [2, 4, 8])
@pytest.mark.parametrize("rtol", [1e-5, 1e-8])
def test_s_step_cg_converges_in_classic_cgs_iterations(native, name, s, rtol):
    """s-step CG (a Chebyshev basis, residual replacement): at most 1.1x
    SciPy's iterations, and the true residual under the tolerance."""
    A = PROBLEMS[name]()
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    ours, info, iterations = counted(ss.cg, A, b, rtol=rtol, s=s)
    _, _, their_iterations = counted(spla.cg, A, b, rtol=rtol, atol=0.0)
    assert info == 0 and true_residual(A, ours, b) <= rtol * np.linalg.norm(b)
    assert iterations <= 1.1 * their_iterations, (iterations, their_iterations)


def test_s_step_cg_maxiter_and_x0(native):
    A = poisson2d(30)
    b = np.random.default_rng(6).standard_normal(A.shape[0])
    x, info, calls = counted(ss.cg, A, b, rtol=1e-12, maxiter=10, s=4)
    assert info == 10 and calls == 10
    reference, _ = spla.cg(A, b, rtol=1e-12, maxiter=10)
    np.testing.assert_allclose(x, reference, rtol=1e-8, atol=1e-10)  # the same iterates up to rounding
    x0 = np.random.default_rng(7).standard_normal(A.shape[0])
    x, info = ss.cg(A, b, x0=x0, rtol=1e-9, s=4)
    assert info == 0 and true_residual(A, x, b) <= 1e-9 * np.linalg.norm(b)


def test_float32(native):
    A = poisson2d(30).astype(np.float32)
    b = np.random.default_rng(2).standard_normal(A.shape[0]).astype(np.float32)
    x, info = ss.cg(A, b, rtol=1e-4)
    assert x.dtype == np.float32 and info == 0
    assert true_residual(A, x, b) <= 1e-4 * np.linalg.norm(b)


def test_maxiter_exhausted_gives_maxiter(native):
    A = poisson2d(40)
    b = np.ones(A.shape[0])
    x, info, calls = counted(ss.cg, A, b, rtol=1e-12, maxiter=7)
    their_x, their_info = spla.cg(A, b, rtol=1e-12, maxiter=7)
    assert info == their_info == 7 and calls == 7
    np.testing.assert_allclose(x, their_x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["random_spd", "shuffled_poisson2d"])
def test_x0_and_a_diagonal_preconditioner(native, name):
    A = random_spd(600, 1e4, 3) if name == "random_spd" else shuffled_poisson2d(70, 8) + sp.diags_array(np.linspace(0, 40, 4900))
    b = np.random.default_rng(4).standard_normal(A.shape[0])
    x0 = np.random.default_rng(5).standard_normal(A.shape[0])
    M = sp.diags_array(1.0 / A.diagonal())
    ours, info, iterations = counted(ss.cg, A, b, x0=x0, M=M, rtol=1e-8)
    theirs, their_info, their_iterations = counted(spla.cg, A, b, x0=x0, M=M, rtol=1e-8)
    assert info == their_info == 0
    assert abs(iterations - their_iterations) <= max(1, 0.1 * their_iterations)
    assert true_residual(A, ours, b) <= 1e-8 * np.linalg.norm(b)
    assert not np.shares_memory(ours, x0) and np.all(x0 == np.random.default_rng(5).standard_normal(A.shape[0]))
    plain, _, plain_iterations = counted(ss.cg, A, b, x0=x0, rtol=1e-8)
    assert iterations < plain_iterations  # the preconditioner was used


def test_atol_and_zero_rhs_as_scipy(native):
    A = poisson2d(20)
    x, info = ss.cg(A, np.zeros(A.shape[0]))
    assert info == 0 and not x.any()
    b = np.ones(A.shape[0])
    x, info = ss.cg(A, b, rtol=0.0, atol=1e-6)
    assert info == 0 and true_residual(A, x, b) <= 1e-6


def test_convergence_is_confirmed_on_the_true_residual(native):
    """Ill-conditioned enough that the recursive residual drifts below the
    true one: info = 0 only with the true residual under the tolerance."""
    A = random_spd(400, 1e12, 9)
    b = np.random.default_rng(3).standard_normal(A.shape[0])
    for rtol in (1e-6, 1e-10, 1e-13):
        x, info = ss.cg(A, b, rtol=rtol, maxiter=5000)
        if info == 0:
            assert true_residual(A, x, b) <= rtol * np.linalg.norm(b)
        else:
            assert info == 5000


def test_nan_in_b_propagates_as_in_scipy(native):
    A = poisson2d(10)
    b = np.ones(A.shape[0])
    b[3] = np.nan
    x, info = ss.cg(A, b, maxiter=20)
    their_x, their_info = spla.cg(A, b, maxiter=20)
    assert info == their_info == 20
    assert np.isnan(x).all() == np.isnan(their_x).all()


def test_errors_as_scipy(native):
    with pytest.raises(ValueError, match="square"):
        ss.cg(sp.random(5, 7, density=0.5, format="csr"), np.ones(5))
    A = poisson2d(5)
    with pytest.raises(ValueError):
        ss.cg(A, np.ones(7))
    with pytest.raises(ValueError, match="s must be"):
        ss.cg(A, np.ones(25), s=0)
    with pytest.raises(NotImplementedError, match="preconditioned s-step"):
        ss.cg(A, np.ones(25), s=4, M=sp.eye_array(25))


def test_complex_and_dense_run_scipy_with_a_warning(native):
    A = (poisson2d(6) * (1 + 0j)).tocsr()
    b = np.ones(A.shape[0], dtype=complex)
    with pytest.warns(ss.SparseNotSupportedWarning):
        x, info = ss.cg(A, b)
    assert info == 0 and true_residual(A, x, b) <= 1e-5 * np.linalg.norm(b)
    with pytest.warns(ss.SparseNotSupportedWarning, match="not a scipy.sparse"):
        x, info = ss.cg(poisson2d(6).toarray(), np.ones(36))
    assert info == 0


def test_s_auto_with_a_preconditioner_uses_it(native):
    A = random_spd(600, 1e4, 3)
    b = np.random.default_rng(4).standard_normal(A.shape[0])
    M = sp.diags_array(1.0 / A.diagonal())
    _, info, with_m = counted(ss.cg, A, b, M=M, rtol=1e-8, s="auto")
    _, _, plain = counted(ss.cg, A, b, rtol=1e-8, s="auto")
    assert info == 0 and with_m < plain


@pytest.mark.parametrize("s", [1, 4])
def test_float32_at_scipys_default_tolerance_stops_honestly(native, s):
    """The true residual of float32 CG may not reach rtol=1e-5 ||b||: cg
    then stops with info > 0 soon after, never info = 0 unconfirmed, and
    never runs on to maxiter = 10 n."""
    A = poisson2d(64).astype(np.float32)
    b = np.random.default_rng(2).standard_normal(A.shape[0]).astype(np.float32)
    _, _, their_iterations = counted(spla.cg, A, b)
    x, info, iterations = counted(ss.cg, A, b, s=s)
    residual = np.linalg.norm(b.astype(np.float64) - A.astype(np.float64) @ x.astype(np.float64))
    if info == 0:
        assert residual <= 1e-5 * np.linalg.norm(b.astype(np.float64))
    else:
        assert info == iterations
    assert iterations <= 3 * their_iterations + 10 * s


def test_scipys_shapes_and_limits(native):
    A = poisson2d(12)
    b = np.random.default_rng(9).standard_normal(A.shape[0])
    x, info = ss.cg(A, b[:, None], rtol=1e-8)
    their_x, their_info = spla.cg(A, b[:, None], rtol=1e-8)
    assert x.shape == their_x.shape and info == their_info == 0
    x, info = ss.cg(A, b, maxiter=0)
    their_x, their_info = spla.cg(A, b, maxiter=0)
    assert info == their_info == 0 and np.array_equal(x, their_x)  # maxiter=0: x0 as it came, SciPy's info
    x, info = ss.cg(sp.csr_array(np.array([[4.0]])), np.array([2.0]))
    assert info == 0 and x[0] == 0.5
    with pytest.raises(ValueError, match="atol"):
        ss.cg(A, b, atol=-1.0)


def test_int64_indices(native):
    A = poisson2d(30)
    A.indices, A.indptr = A.indices.astype(np.int64), A.indptr.astype(np.int64)
    b = np.random.default_rng(3).standard_normal(A.shape[0])
    x, info = ss.cg(A, b, rtol=1e-9)
    assert info == 0 and true_residual(A, x, b) <= 1e-9 * np.linalg.norm(b)


def test_a_reordered_matrix_whose_values_change_is_solved_with_its_new_values(native):
    """CG on a CSR matrix runs its reordering with A's values read at each
    solve (the reordered pattern is kept): the same solution as SciPy's on
    the new values, and the same iterations."""
    A = shuffled_poisson2d(70, 5)
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    first, info, _ = counted(ss.cg, A, b, rtol=1e-8, atol=0.0)
    assert info == 0 and "reverse Cuthill-McKee" in ss.operator(A).explain(k=2)
    A.data *= 3.0
    ours, info, iterations = counted(ss.cg, A, b, rtol=1e-8, atol=0.0)
    theirs, _, their_iterations = counted(spla.cg, A, b, rtol=1e-8, atol=0.0)
    assert info == 0 and true_residual(A, ours, b) <= 1e-8 * np.linalg.norm(b)
    assert abs(iterations - their_iterations) <= max(1, 0.1 * their_iterations)
    np.testing.assert_allclose(ours, first / 3.0, rtol=1e-6)


def unsorted_shuffled_spd(m, seed):
    """A diagonally dominant SPD matrix on 2-D Poisson's graph, of random
    off-diagonal values, numbered at random (m * m >= 4096 rows: CG runs it
    in reverse Cuthill-McKee order), each row's off-diagonal entries stored
    in random order (the diagonal keeps its slot)."""
    rng = np.random.default_rng(seed)
    G = sp.triu(poisson2d(m), k=1).tocsr()
    G.data = -rng.uniform(0.1, 1.0, G.nnz)
    G = (G + G.T).tocsr()
    A = (G + sp.diags_array(1.5 * abs(G).sum(axis=1))).tocsr()
    perm = rng.permutation(m * m)
    A = A[perm][:, perm].tocsr()
    A.sort_indices()
    for row in range(A.shape[0]):
        slots = np.arange(A.indptr[row], A.indptr[row + 1])
        off_diagonal = slots[A.indices[slots] != row]
        moved = rng.permutation(off_diagonal)
        A.indices[off_diagonal], A.data[off_diagonal] = A.indices[moved], A.data[moved]
    A.has_sorted_indices = False  # else A.sort_indices() does nothing
    return A


def assert_solved_as_scipy(A, b, rtol):
    """info = 0, the true residual under rtol ||b||, and SciPy's solution to
    the tolerance (A's smallest eigenvalue bounded below by Gershgorin's
    discs: A is diagonally dominant)."""
    ours, info = ss.cg(A, b, rtol=rtol)
    theirs, their_info = spla.cg(A, b, rtol=rtol)
    assert info == their_info == 0
    assert true_residual(A, ours, b) <= rtol * np.linalg.norm(b)
    copy = A.copy()  # A.diagonal() sums duplicates, sorting an unsorted A's indices in place (and renewing its arrays)
    lambda_min = (2 * copy.diagonal() - abs(copy).sum(axis=1)).min()
    assert lambda_min > 0
    assert np.linalg.norm(ours - theirs) <= 2 * rtol * np.linalg.norm(b) / lambda_min


def test_cg_sees_indices_sorted_in_place(native, monkeypatch):
    """A.sort_indices() moves A's entries within its own arrays (A keeps its
    operator): CG checks once per solve that its reordered pattern is still
    A's, and analyses A again where it is not; it never claims info = 0
    with the true residual far above the tolerance."""
    monkeypatch.setattr(_analysis, "_structures", type(_analysis._structures)())  # no pattern analysed before
    A = unsorted_shuffled_spd(70, 1)
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    assert_solved_as_scipy(A, b, 1e-5)
    assert "reverse Cuthill-McKee" in ss.operator(A).explain(k=2)
    operator_before = ss.operator(A)
    A.sort_indices()
    assert ss.operator(A) is operator_before and A.has_sorted_indices
    assert_solved_as_scipy(A, b, 1e-5)
    assert_solved_as_scipy(A, b, 1e-8)  # a second solve: the new analysis kept


def test_cg_on_a_copy_made_before_the_original_sorted_its_indices(native, monkeypatch):
    """The analysis is shared by pattern: a copy B of A shares the one made
    with A's arrays, which A.sort_indices() then changes in place. CG on B,
    never modified, orders B by B's own pattern; A by its sorted one."""
    monkeypatch.setattr(_analysis, "_structures", type(_analysis._structures)())
    A = unsorted_shuffled_spd(70, 5)
    b = np.random.default_rng(6).standard_normal(A.shape[0])
    ss.operator(A)  # analysed; CG's order not chosen yet
    B = A.copy()
    A.sort_indices()
    assert_solved_as_scipy(B, b, 1e-5)
    assert_solved_as_scipy(A, b, 1e-5)
    assert_solved_as_scipy(B, b, 1e-8)


def test_a_held_operator_solves_with_values_assigned_to_its_matrix(native):
    """An operator keeps A's arrays, reordered for CG, between solves; new
    arrays assigned to A (A.data = ...) replace them, as they do for a
    fresh operator and for SciPy."""
    A = shuffled_poisson2d(70, 5)
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    op = ss.SparseOperator(A)
    first, info = ss.cg(op, b, rtol=1e-8)
    assert info == 0 and op.ordering() is not None
    A.data = A.data * 3.0
    ours, info = ss.cg(op, b, rtol=1e-8)
    assert info == 0 and true_residual(A, ours, b) <= 1e-8 * np.linalg.norm(b)
    np.testing.assert_allclose(ours, first / 3.0, rtol=1e-6)


def test_s_step_cg_estimates_the_spectrum_again_once_the_values_change(native):
    """s-step CG's Chebyshev basis spans [0, 1.05 lambda_max], lambda_max
    kept on the operator: after A.data *= 10 (the same arrays) it is
    estimated again, and CG takes a fresh operator's iterations."""
    A = poisson2d(40)
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    _, info = ss.cg(A, b, rtol=1e-8, s=16)
    assert info == 0
    A.data *= 10.0
    ours, info, iterations = counted(ss.cg, A, b, rtol=1e-8, s=16)
    _, fresh_info, fresh_iterations = counted(ss.cg, A.copy(), b, rtol=1e-8, s=16)
    assert info == fresh_info == 0 and true_residual(A, ours, b) <= 1e-8 * np.linalg.norm(b)
    assert abs(iterations - fresh_iterations) <= 0.1 * fresh_iterations, (iterations, fresh_iterations)


def test_a_residual_of_exactly_zero_with_rtol_zero_gives_scipys_nans(native):
    """rtol = 0 never converges; on diag(1, 2, 1, 2) CG's residual is
    exactly 0 after two steps, and the next beta is 0 / 0: x all NaN and
    info = maxiter, as SciPy's NumPy division gives, with no exception and
    no warning."""
    A = sp.diags_array([1.0, 2.0, 1.0, 2.0]).tocsr()
    b = np.ones(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        theirs, their_info = spla.cg(A, b, rtol=0.0, maxiter=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ours, info = ss.cg(A, b, rtol=0.0, maxiter=10)
    assert info == their_info == 10
    assert np.isnan(theirs).all() and np.isnan(ours).all()


def test_maxiter_and_shape_errors_are_scipys_to_the_letter(native):
    A = poisson2d(10)
    b = np.ones(A.shape[0])
    rectangular = sp.random_array((3, 4), density=1.0, format="csr", rng=0)
    for bad, kind, options in ((A, TypeError, {"maxiter": 5.0}), (rectangular, ValueError, {})):
        messages = []
        for solver in (spla.cg, ss.cg):
            with pytest.raises(kind) as raised:
                solver(bad, b[:bad.shape[0]], **options)
            messages.append(str(raised.value))
        assert messages[0] == messages[1], messages
    x, info = ss.cg(A, b, rtol=1e-12, maxiter=np.int64(3))
    assert info == 3
