"""sejits.sparse's products and matrix powers on the native path
(fallback="error"): against SciPy's `A @ x`, bitwise for CSR products and
monomial powers in float64 and float32 (the native sums take SciPy's order
with no fused multiply-add), and against the NumPy reference of the Newton
and Chebyshev bases (the same expressions, so bitwise too, and close to
their definitions). The powers run level by level, and by PA1 over one
block and over many (blocks forced small), on Poisson 1-D/2-D/3-D, a random
nonsymmetric matrix, empty rows with a dense row, a banded matrix and n = 1."""

import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sparse_matrices import ALL, poisson2d, random_nonsymmetric, scipy_powers, shuffled_poisson2d

import sejits
import sejits.sparse as ss
from sejits import _tuning
from sejits.sparse import _analysis, _kernels, _reference


@pytest.fixture
def native(daemon):
    sejits.config(fallback="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error", sejits.SpecializationWarning)
        yield


@pytest.fixture(params=["default", "many_blocks", "small_chunks", "by_level"])
def blocking(request, monkeypatch):
    """How the analysis splits matrices: its default (one block below 32K
    entries), PA1 always over blocks of at least 64 entries for 7 threads
    (with wavefront steps of 16 rows, so that the windows' rings wrap), or
    no PA1."""
    if request.param in ("many_blocks", "small_chunks"):
        if request.param == "small_chunks":
            monkeypatch.setenv("SEJITS_SPARSE_CHUNK_ROWS", "16")
        monkeypatch.setattr(_analysis, "MAX_REDUNDANCY", float("inf"))
        monkeypatch.setattr(_analysis, "MAX_WINDOW", float("inf"))
        monkeypatch.setattr(_analysis, "MIN_BLOCK_ENTRIES", 64)
        monkeypatch.setattr(_analysis, "thread_count", lambda: 7)
    elif request.param == "by_level":
        monkeypatch.setattr(_analysis, "MAX_REDUNDANCY", -1.0)
    monkeypatch.setattr(_analysis, "_structures", type(_analysis._structures)())
    return request.param


def vector(n, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(n).astype(dtype)


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_product_is_bitwise_scipys(native, name, dtype):
    A = ALL[name]().astype(dtype)
    x = vector(A.shape[1], dtype)
    y = ss.operator(A) @ x
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, A @ x)


def test_products_larger_than_the_cache_stream_y_with_scipys_bits(daemon):
    """A y larger than the cache is written with non-temporal stores: in a
    process told its cache holds 4 KiB, every test matrix's product (float64
    and float32, int32 and int64 indices) still has SciPy's bits."""
    script = """
import numpy as np, sejits, sejits.sparse as ss
from sparse_matrices import ALL
sejits.config(fallback="error")
for name, make in sorted(ALL.items()):
    for dtype, index in [(np.float64, np.int32), (np.float32, np.int64)]:
        A = make().astype(dtype)
        A.indices, A.indptr = A.indices.astype(index), A.indptr.astype(index)
        x = np.random.default_rng(0).standard_normal(A.shape[1]).astype(dtype)
        np.testing.assert_array_equal(ss.operator(A) @ x, A @ x, err_msg=name)
print("same bits")
"""
    environment = dict(os.environ, SEJITS_CACHE_BYTES="4K", PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=300,
                         cwd=os.path.dirname(__file__))
    assert run.returncode == 0 and run.stdout.strip() == "same bits", run.stderr[-3000:]


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("k", [1, 2, 5, 8, 16])
def test_monomial_powers_are_bitwise_k_products(native, blocking, name, k):
    A = ALL[name]()
    x = vector(A.shape[0], np.float64)
    V = ss.matrix_powers(A, x, k=k)
    assert V.shape == (k + 1, A.shape[0])
    np.testing.assert_array_equal(V, scipy_powers(A, x, k))
    plan = ss.operator(A).structure.powers_plan(k)
    if blocking in ("many_blocks", "small_chunks") and A.shape[0] > 1:
        assert plan.pa1 and len(plan.blocks) >= min(A.shape[0], 5), plan.reason
    if blocking == "by_level":
        assert not plan.pa1


@pytest.mark.parametrize("name", ["poisson2d", "random_nonsymmetric", "banded"])
def test_float32_and_int64_indices(native, blocking, name):
    A = ALL[name]().astype(np.float32)
    A.indices, A.indptr = A.indices.astype(np.int64), A.indptr.astype(np.int64)
    x = vector(A.shape[0], np.float32)
    V = ss.matrix_powers(A, x, k=6)
    assert V.dtype == np.float32
    np.testing.assert_array_equal(V, scipy_powers(A, x, 6))


@pytest.mark.parametrize("name", ["poisson1d", "poisson3d", "random_nonsymmetric", "empty_rows_dense_row", "n1"])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_newton_and_chebyshev_bases(native, blocking, name, k):
    A = ALL[name]()
    n = A.shape[0]
    x = vector(n, np.float64, seed=k)
    shifts = np.linspace(0.5, 7.5, k)
    V = ss.matrix_powers(A, x, k=k, basis="newton", shifts=shifts)
    expected = [x]
    for j in range(k):
        expected.append(A @ expected[-1] - shifts[j] * expected[-1])
    np.testing.assert_array_equal(V, np.array(expected))

    lmin, lmax = 0.1, 8.0
    W = ss.matrix_powers(A, x, k=k, basis="chebyshev", bounds=(lmin, lmax))
    c, h = (lmax + lmin) / 2, (lmax - lmin) / 2
    B = (A - c * sp.eye_array(n)) / h  # T_j(B) x by the three-term recurrence
    T = [x, B @ x]
    while len(T) <= k:
        T.append(2 * (B @ T[-1]) - T[-2])
    scale = np.abs(np.array(T[:k + 1])).max(axis=1, keepdims=True) + 1
    np.testing.assert_allclose(W / scale, np.array(T[:k + 1]) / scale, rtol=0, atol=1e-11 * 4**k)
    reference = np.empty_like(W)
    reference[0] = x
    data, indices, indptr = ss.operator(A).arrays(np.dtype(np.float64))
    _reference.powers(data, indices, indptr, None, np.array([c, h]), reference, k=k, basis="chebyshev")
    np.testing.assert_array_equal(W, reference)


def test_pa1_reads_a_once_per_k_levels_on_poisson(native):
    A = poisson2d(300)
    op = ss.operator(A)
    plan = op.structure.powers_plan(8)
    assert plan.pa1 and plan.redundancy < 0.1, plan.reason
    assert "PA1" in op.explain(k=8)
    x = vector(A.shape[0], np.float64)
    np.testing.assert_array_equal(op.powers(x, 8), scipy_powers(A, x, 8))


def test_a_dense_row_makes_pa1_fall_back_and_says_why(native):
    A = ALL["empty_rows_dense_row"]()
    plan = ss.operator(A).structure.powers_plan(4)
    assert not plan.pa1 and "level by level" in plan.reason


@pytest.mark.parametrize("fmt", ["csc", "coo", "bsr", "dia", "lil", "dok"])
def test_every_scipy_format_is_converted_once(native, fmt):
    A = ALL["banded"]()
    x = vector(A.shape[0], np.float64)
    op = ss.operator(A.asformat(fmt))
    np.testing.assert_array_equal(op.powers(x, 3), scipy_powers(A, x, 3))


def test_matrices_and_arrays_rectangular_products_and_matmat(native):
    rng = np.random.default_rng(5)
    A = sp.random(300, 170, density=0.05, format="csr", random_state=6)  # a spmatrix
    x = rng.standard_normal(170)
    op = ss.operator(A)
    np.testing.assert_array_equal(op @ x, A @ x)
    np.testing.assert_array_equal(op.matvec(x), A @ x)
    X = rng.standard_normal((170, 4))
    np.testing.assert_array_equal(op @ X, A @ X)
    np.testing.assert_array_equal(op.matmat(X[:, ::2]), A @ X[:, ::2])
    np.testing.assert_array_equal(op @ x[::-1], A @ x[::-1])  # a non-contiguous view


def test_value_dtypes_follow_scipy(native):
    A = ALL["banded"]()
    ints = (A * 10).astype(np.int32)
    x32 = vector(A.shape[0], np.float32)
    y = ss.operator(ints) @ x32
    assert y.dtype == (ints @ x32).dtype
    np.testing.assert_allclose(y, ints @ x32, rtol=1e-6)
    y = ss.operator(A.astype(np.float32)) @ x32.astype(np.float64)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, A.astype(np.float32) @ x32.astype(np.float64))


def test_bad_input_gets_scipys_errors(native):
    A = ALL["banded"]()
    op = ss.operator(A)
    with pytest.raises(ValueError, match="dimension mismatch"):
        op @ np.ones(A.shape[0] + 1)
    with pytest.raises(ValueError, match="square"):
        ss.matrix_powers(sp.random(5, 7, density=0.5, format="csr"), np.ones(7), k=2)
    with pytest.raises(ValueError, match="dimension mismatch"):
        ss.matrix_powers(A, np.ones(3), k=2)
    with pytest.raises(ValueError, match="k must be"):
        ss.matrix_powers(A, np.ones(A.shape[0]), k=0)
    with pytest.raises(ValueError, match="shifts"):
        ss.matrix_powers(A, np.ones(A.shape[0]), k=3, basis="newton", shifts=[1.0])
    with pytest.raises(ValueError, match="lmin < lmax"):
        ss.matrix_powers(A, np.ones(A.shape[0]), k=3, basis="chebyshev", bounds=(2.0, 1.0))
    with pytest.raises(TypeError, match="scipy.sparse"):
        ss.operator(np.eye(3))
    broken = sp.csr_array((np.ones(2), np.array([0, 5]), np.array([0, 1, 2])), shape=(2, 2))  # column 5 of 2
    with pytest.raises(ValueError, match=r"column indices must be in \[0, 2\)"):
        ss.operator(broken)


def test_complex_runs_in_scipy_with_a_warning(native):
    A = (ALL["banded"]() * (1 + 2j)).tocsr()
    x = vector(A.shape[0], np.float64)
    with pytest.warns(ss.SparseNotSupportedWarning, match="not supported"):
        y = ss.operator(A) @ x
    np.testing.assert_array_equal(y, A @ x)
    with pytest.warns(ss.SparseNotSupportedWarning):
        V = ss.matrix_powers(A, x, k=3)
    np.testing.assert_array_equal(V, scipy_powers(A, x, 3))


def test_nan_propagates_as_in_scipy(native):
    A = ALL["poisson1d"]()
    x = vector(A.shape[0], np.float64)
    x[17] = np.nan
    np.testing.assert_array_equal(ss.matrix_powers(A, x, k=4), scipy_powers(A, x, 4))


def test_same_pattern_reuses_the_analysis(native):
    A = ALL["poisson2d"]()
    first = ss.operator(A).structure
    assert ss.operator((A * 2.0).tocsr()).structure is first


def test_pa1_and_level_by_level_are_timed_then_the_faster_kept(native):
    A = poisson2d(200)
    op = ss.operator(A)
    x = vector(A.shape[0], np.float64)
    expected = scipy_powers(A, x, 5)
    assert "timing" in op.explain(k=5) or "powers (k=5, " not in op.explain(k=5)
    for call in range(6):  # PA1, level by level, twice each, then the faster twice: the same bits every time
        np.testing.assert_array_equal(op.powers(x, 5), expected)
        assert ("chosen" in op.explain(k=5)) == (call >= 3)
    explained = op.explain(k=5)
    assert "chosen: best of the first calls, PA1" in explained and "level by level" in explained, explained


@pytest.mark.parametrize("dtype,index", [(np.float64, np.int32), (np.float32, np.int64)])
def test_a_randomly_numbered_matrix_keeps_scipys_bits(native, blocking, dtype, index):
    """Products and powers run in A's order; CG (test_sparse_cg.py) in reverse Cuthill-McKee's."""
    A = shuffled_poisson2d(70, 11).astype(dtype)
    A.indices, A.indptr = A.indices.astype(index), A.indptr.astype(index)
    op = ss.operator(A)
    x = vector(A.shape[0], dtype)
    np.testing.assert_array_equal(op @ x, A @ x)
    np.testing.assert_array_equal(op @ x[::-1], A @ x[::-1])
    np.testing.assert_array_equal(op.powers(x, 6), scipy_powers(A, x, 6))
    shifts = np.linspace(1, 2, 4)
    expected = [x]
    for j in range(4):
        expected.append(A @ expected[-1] - dtype(shifts[j]) * expected[-1])
    np.testing.assert_array_equal(op.powers(x, 4, basis="newton", shifts=shifts), np.array(expected))
    assert "CG's order:  reverse Cuthill-McKee" in op.explain(k=6)


def test_small_or_local_matrices_keep_their_order(native):
    for A in (poisson2d(70), ALL["banded"]()):
        op = ss.operator(A)
        op @ np.ones(A.shape[0])
        assert "CG's order:  natural order" in op.explain(k=2)


def test_integer_results_and_complex_vectors_run_in_scipy_with_a_warning(native):
    A = (ALL["banded"]() * 10).astype(np.int64)
    x = np.arange(A.shape[0]) % 7 - 3
    with pytest.warns(ss.SparseNotSupportedWarning, match="integer"):
        y = ss.operator(A) @ x
    assert y.dtype == (A @ x).dtype and np.array_equal(y, A @ x)
    z = vector(A.shape[0], np.float64) * (1 + 1j)
    with pytest.warns(ss.SparseNotSupportedWarning, match="complex"):
        np.testing.assert_array_equal(ss.operator(ALL["banded"]()) @ z, ALL["banded"]() @ z)


@pytest.mark.parametrize("basis", ["newton", "chebyshev"])
def test_float32_bases_match_the_reference(native, blocking, basis):
    A = ALL["poisson3d"]().astype(np.float32)
    x = vector(A.shape[0], np.float32)
    options = {"shifts": np.linspace(0, 3, 5)} if basis == "newton" else {"bounds": (0.0, 12.0)}
    V = ss.matrix_powers(A, x, k=5, basis=basis, **options)
    reference = np.empty_like(V)
    reference[0] = x
    data, indices, indptr = ss.operator(A).arrays(np.dtype(np.float32))
    coeffs = options["shifts"] if basis == "newton" else np.array([6.0, 6.0])
    _reference.powers(data, indices, indptr, None, coeffs, reference, k=5, basis=basis)
    np.testing.assert_array_equal(V, reference)


def test_a_plan_that_does_not_fit_the_matrix_is_an_error_not_a_crash(native):
    from sejits.sparse import _kernels

    A = poisson2d(40)
    op = ss.operator(A)
    arrays = op.arrays(np.dtype(np.float64))
    V = np.zeros((4, A.shape[0]))
    good = op.structure.powers_plan(3).blocks.copy()
    if not len(good):
        good = np.array([[0, A.shape[0], 40, 40, 0, 0, A.shape[0], A.shape[0]]], dtype=np.int64)
    for broken in (good[:, :6], good * 0 + 5, np.array([[0, 10, 1, 1, 0, 0, 0, 10, 10, 10]], dtype=np.int64)):
        with pytest.raises(ValueError, match="plan"):
            _kernels.powers_kernel(3, "monomial").run("call", *arrays, np.ascontiguousarray(broken), np.zeros(1), V)


def test_recycled_outputs_are_never_ones_the_caller_holds(native):
    A = poisson2d(400)  # results of 1.3 MB: recycled once dropped
    op = ss.operator(A)
    x = vector(A.shape[0], np.float64)
    first = op @ x
    second = op @ (2 * x)
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, A @ x)
    view = second[::2]
    del second
    third = op @ (3 * x)
    assert not np.shares_memory(view, third)
    np.testing.assert_array_equal(view, (A @ (2 * x))[::2])
    np.testing.assert_array_equal(third, A @ (3 * x))


def test_repeated_calls_on_one_csr_matrix_reuse_its_analysis_and_read_its_values(native):
    from sejits.sparse._operator import implicit_operator

    A = poisson2d(30)
    x = vector(A.shape[0], np.float64)
    assert implicit_operator(A) is implicit_operator(A)
    first = ss.matrix_powers(A, x, k=3)
    A.data *= 2.0  # the same arrays, new values: read by the next call
    np.testing.assert_array_equal(ss.matrix_powers(A, x, k=3), scipy_powers(A, x, 3))
    assert not np.array_equal(first, scipy_powers(A, x, 3))
    x32 = x.astype(np.float32)
    A32 = A.astype(np.float32)
    np.testing.assert_array_equal(ss.matrix_powers(A32, x32, k=2), scipy_powers(A32, x32, 2))
    A32.data += 1.0  # float32 values read live too (no copy kept in another dtype either)
    np.testing.assert_array_equal(ss.matrix_powers(A32, x, k=2), scipy_powers(A32.astype(np.float64), x, 2))
    before = implicit_operator(A)
    A.indices = A.indices.copy()  # new arrays: analysed again
    assert implicit_operator(A) is not before
    np.testing.assert_array_equal(ss.matrix_powers(A, x, k=3), scipy_powers(A, x, 3))


def test_newton_and_chebyshev_bases_of_integers_run_in_float64(native):
    """Shifts and bounds are real numbers: an integer matrix and vector get
    the bases' definitions in float64, as a float64 vector does (integer
    monomial powers stay SciPy's exact integers)."""
    A = (ALL["banded"]() * 10).astype(np.int64)
    n = A.shape[0]
    x = np.arange(n) % 7 - 3
    shifts = np.linspace(0.5, 2.5, 3)
    V = ss.matrix_powers(A, x, k=3, basis="newton", shifts=shifts)
    expected = [x.astype(np.float64)]
    for j in range(3):
        expected.append(A @ expected[-1] - shifts[j] * expected[-1])
    assert V.dtype == np.float64
    np.testing.assert_array_equal(V, np.array(expected))
    np.testing.assert_array_equal(V, ss.matrix_powers(A, x.astype(np.float64), k=3, basis="newton", shifts=shifts))

    lmin, lmax = -50.5, 60.5
    W = ss.matrix_powers(A, x, k=4, basis="chebyshev", bounds=(lmin, lmax))
    c, h = (lmax + lmin) / 2, (lmax - lmin) / 2
    B = (A - c * sp.eye_array(n)) / h
    T = [x.astype(np.float64), B @ x]
    while len(T) <= 4:
        T.append(2 * (B @ T[-1]) - T[-2])
    assert W.dtype == np.float64
    scale = np.abs(np.array(T)).max(axis=1, keepdims=True) + 1
    np.testing.assert_allclose(W / scale, np.array(T) / scale, rtol=0, atol=1e-11 * 4**4)
    small = sp.csr_array(np.array([[2, 1], [0, 3]]))
    np.testing.assert_array_equal(ss.matrix_powers(small, np.array([1, 1]), k=3, basis="chebyshev", bounds=(0, 3)),
                                  np.ones((4, 2)))  # (A - 1.5) / 1.5 maps [1, 1] to itself
    with pytest.warns(ss.SparseNotSupportedWarning, match="integer"):
        exact = ss.matrix_powers(A, x, k=3)
    assert exact.dtype == np.int64 and np.array_equal(exact, scipy_powers(A, x, 3))


@pytest.mark.parametrize("make", [sp.csr_array, sp.csr_matrix, sp.coo_array])
def test_a_sparse_operand_gives_scipys_sparse_product(native, make):
    """op @ X for a scipy.sparse X is what aslinearoperator(A) @ X gives: A @ X, sparse."""
    from scipy.sparse.linalg import aslinearoperator

    A = make(ALL["random_nonsymmetric"]())
    X = sp.random_array((A.shape[1], 3), density=0.1, format="csr", rng=1)
    ours, theirs = ss.operator(A) @ X, aslinearoperator(A) @ X
    assert type(ours) is type(theirs) and sp.issparse(ours)
    np.testing.assert_array_equal(ours.toarray(), (A @ X).toarray())
    assert type(ss.operator(A).matmat(X)) is type(aslinearoperator(A).matmat(X))


@pytest.mark.parametrize("dtype,values_live", [(np.float64, True), (np.float64, False), (np.int64, False)])
def test_an_operator_follows_arrays_assigned_to_its_matrix(native, dtype, values_live):
    """A held operator (ss.operator(A)'s, or SparseOperator(A), which keeps
    a float64 copy of integer values) uses A's new arrays once they are
    assigned (A.data = ..., a new pattern too) after it ran products, as a
    fresh operator and SciPy do."""
    from sejits.sparse._operator import SparseOperator

    A = (ALL["banded"]() * 10).astype(dtype)
    op = SparseOperator(A, values_live=values_live)
    x = vector(A.shape[0], np.float64)
    np.testing.assert_array_equal(op @ x, A @ x)
    A.data = A.data * 3
    np.testing.assert_array_equal(op @ x, A @ x)
    np.testing.assert_array_equal(op.powers(x, 3), scipy_powers(A, x, 3))
    if dtype == np.float64:  # the kernels take A's own arrays: values changed in place are read too
        A.data *= 2
        np.testing.assert_array_equal(op @ x, A @ x)
    other = (random_nonsymmetric(A.shape[0], 0.01, 2) * 10).astype(dtype)
    A.data, A.indices, A.indptr = other.data, other.indices, other.indptr
    np.testing.assert_array_equal(op @ x, other @ x)
    np.testing.assert_array_equal(op.powers(x, 3), scipy_powers(other, x, 3))


def tuned(kernel, arrays, call, deadline_seconds=300):
    """Calls call() until the kernel's tuning session for the matrix's
    arrays settles; its summary."""
    scope = _tuning.tuning_scope("call", arrays)
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:  # candidates compile in the background: calls meanwhile run the served one
        call()
        entries = [entries for key, entries in kernel._kernels.items() if key[-1] == scope]
        if entries and type(entries[0]) is not _tuning.TuningSession and "tuning" in entries[0].info:
            return entries[0].info["tuning"]
        if entries and type(entries[0]) is _tuning.TuningSession and entries[0]._building:
            time.sleep(0.01)
    raise AssertionError(f"{kernel.__name__} was not tuned in {deadline_seconds} s")


def test_powers_and_products_are_tuned_per_matrix_class_with_the_same_bits(tuning_daemon):
    """Online tuning times the variants (threads; the powers' row groups) on
    real calls, and every call, whichever variant ran it, has SciPy's bits;
    the record is kept for the matrix class: rows and entries per row."""
    A = poisson2d(400)  # 160000 rows, 4.99 entries per row: calls of about a millisecond
    op = ss.operator(A)
    x = vector(A.shape[0], np.float64)
    expected_powers, expected_product = scipy_powers(A, x, 4), A @ x

    def powers():
        np.testing.assert_array_equal(op.powers(x, 4), expected_powers)

    def product():
        np.testing.assert_array_equal(op @ x, expected_product)

    arrays = op.arrays(np.dtype(np.float64))
    summary = tuned(_kernels.powers_kernel(4, "monomial"), arrays, powers)
    assert summary["state"] == "chosen" and summary["shape_class"] == "call:rows18:per_row3:c", summary.get("reason")
    assert [name for name, *_ in summary["space"]] == ["threads", "row_groups"]
    summary = tuned(_kernels.products_kernel(), arrays, product)
    assert summary["state"] == "chosen" and summary["shape_class"] == "call:rows18:per_row3:c", summary.get("reason")
    assert [name for name, *_ in summary["space"]] == ["threads"]
