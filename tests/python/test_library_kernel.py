"""Library kernels from Python: the test-only `test_column_stats` specializer
(two entry points, two outputs of different shapes, no user AST) through
sejits.LibraryKernel, against its NumPy reference; its fallback to the
reference when the daemon cannot build it or cannot be reached."""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import sejits
from sejits import Array, LibraryKernel

RNG = np.random.default_rng(17)


def column_stats(X, *, scale):
    """col_sums[j] = scale * sum_i X[i, j]; row_max[i] = max_j X[i, j] (-inf for no columns)."""
    row_max = X.max(axis=1) if X.shape[1] else np.full(X.shape[0], -np.inf, X.dtype)
    return (scale * X.sum(axis=0)).astype(X.dtype), row_max


def center(X, col_sums, *, scale):
    return (X - col_sums / X.shape[0]).astype(X.dtype) if X.shape[0] else X.copy()


def make_kernel(scale=1.5):
    return LibraryKernel("test_column_stats", params={"scale": scale},
                         arguments=[Array("X", ndim=2, dtypes=("float32", "float64"))],
                         reference={"call": column_stats, "center": center})


def tolerance(dtype):
    return {"rtol": 2e-5, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


SHAPES = [(1, 1), (7, 5), (13, 1), (1, 17), (31, 29), (0, 3), (4, 0), (257, 3)]


def views(dtype):
    """Arrays of each shape, and non-contiguous views: every other row and column, transposed, reversed."""
    for shape in SHAPES:
        yield f"{shape}", RNG.standard_normal(shape).astype(dtype)
    base = RNG.standard_normal((23, 38)).astype(dtype)
    yield "strided", base[::2, ::3]
    yield "transposed", base.T
    yield "reversed", base[::-1, ::-2]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_call_matches_the_reference(daemon, dtype):
    kernel = make_kernel()
    for label, X in views(dtype):
        col_sums, row_max = kernel(X)
        want_sums, want_max = kernel.reference_run("call", X)
        assert col_sums.dtype == dtype and row_max.dtype == dtype, label
        assert col_sums.shape == (X.shape[1],) and row_max.shape == (X.shape[0],), label
        np.testing.assert_allclose(col_sums, want_sums, **tolerance(dtype), err_msg=label)
        np.testing.assert_array_equal(row_max, want_max, err_msg=label)
    assert "compiled" in kernel.explain(X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_second_entry_point_by_role(daemon, dtype):
    kernel = make_kernel(scale=1.0)
    for label, X in views(dtype):
        col_sums, _ = kernel(X)
        Y = kernel.run("center", X, col_sums)
        assert Y.shape == X.shape and Y.dtype == dtype, label
        np.testing.assert_allclose(Y, center(X, col_sums, scale=1.0), **tolerance(dtype), err_msg=label)


def test_outputs_into_out(daemon):
    kernel = make_kernel(scale=-2.0)
    X = RNG.standard_normal((9, 4))
    sums, maxima = np.empty(4), np.empty(9)
    returned = kernel(X, out=(sums, maxima))
    assert returned[0] is sums and returned[1] is maxima
    np.testing.assert_allclose(sums, -2.0 * X.sum(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(maxima, X.max(axis=1))
    with pytest.raises(ValueError, match="out for 'col_sums' must be float64\\[4\\]"):
        kernel(X, out=(np.empty(5), maxima))


def test_params_are_part_of_the_key(daemon):
    X = RNG.standard_normal((6, 3))
    one, three = make_kernel(scale=1.0), make_kernel(scale=3.0)
    np.testing.assert_allclose(three(X)[0], 3.0 * one(X)[0], rtol=1e-12)
    assert _key(one, X) != _key(three, X)


def _key(kernel, X):
    return next(line for line in kernel.explain(X).splitlines() if line.strip().startswith("key:"))


def test_explain_names_entries_and_outputs(daemon):
    kernel = make_kernel()
    X = RNG.standard_normal((5, 3))
    kernel(X)
    text = kernel.explain(X)
    assert "specialized (library kernel of the test_column_stats specializer)" in text
    assert "call(X) -> col_sums float64, row_max float64" in text
    assert "center(X, col_sums) -> Y float64" in text
    assert "ran the compiled 'call' entry point" in text


def test_missing_role_is_a_clear_error(daemon):
    kernel = make_kernel()
    with pytest.raises(LookupError, match="no 'powers' entry point \\(it has: call, center\\)"):
        kernel.run("powers", np.ones((2, 2)))


def test_wrong_rank_names_the_argument(daemon):
    with pytest.raises(ValueError, match="argument 'X' must have 2 dimensions, not 1"):
        make_kernel()(np.ones(4))


def test_wrong_value_count_names_the_parameters(daemon):
    kernel = make_kernel()
    with pytest.raises(TypeError, match="center takes 2 values \\(X, col_sums\\), got 1"):
        kernel.run("center", np.ones((2, 2)))


def test_unsupported_dtype_runs_the_reference_with_the_reason(daemon):
    kernel = make_kernel()
    X = RNG.standard_normal((4, 3)).astype(np.float16)
    sejits.config(fallback="warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            col_sums, row_max = kernel(X)
    finally:
        sejits.config(fallback="error")
    warned = [w for w in caught if "dtype float16" in str(w.message)]
    assert warned and "runs as its reference implementation" in str(warned[0].message)
    assert warned[0].filename == __file__  # the user's line, not the client's
    np.testing.assert_array_equal(col_sums, column_stats(X, scale=1.5)[0])
    assert "NOT specialized" in kernel.explain(X) and "float16" in kernel.explain(X)


def test_fallback_error_mode_raises(daemon):
    kernel = make_kernel()
    with pytest.raises(sejits.SpecializationError, match="dtype int64"):
        kernel(np.ones((2, 2), dtype=np.int64))


def test_tuning_request_carries_the_entry_and_settles_untuned(daemon):
    """Library kernels share tuning: the request asks for it; this specializer
    has no variants, so the plan comes back settled, and explain() says so."""
    kernel = make_kernel(scale=0.5)
    X = RNG.standard_normal((40, 30))
    sejits.config(tuning="online")
    try:
        col_sums, _ = kernel(X)
        text = kernel.explain(X)
    finally:
        sejits.config(tuning="off")
    np.testing.assert_allclose(col_sums, 0.5 * X.sum(axis=0), rtol=1e-12)
    assert "tuning:" in text, text


_CHILD = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_library_kernel import make_kernel, column_stats, center
    kernel = make_kernel()
    X = np.arange(12.0).reshape(4, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        col_sums, row_max = kernel(X)
        Y = kernel.run("center", X, col_sums)
    want = column_stats(X, scale=1.5)
    assert np.array_equal(col_sums, want[0]) and np.array_equal(row_max, want[1])
    assert np.array_equal(Y, center(X, col_sums, scale=1.5))
    print("WARNINGS", [str(w.message) for w in caught])
    print("PROTOBUF", "google.protobuf" in sys.modules)
    print(kernel.explain(X))
""")


def _run_child(env):
    code = _CHILD.format(tests=os.path.dirname(__file__))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_daemon_down_runs_the_reference(python_env, tmp_path):
    env = dict(python_env, SEJITS_DAEMON=f"unix:{tmp_path / 'nobody.sock'}", SEJITS_AUTOSTART="0",
               SEJITS_FALLBACK="warn")
    out = _run_child(env)
    assert "runs the reference implementation" in out or "no daemon" in out
    assert "NOT specialized" in out


def test_a_new_process_loads_from_the_handle_cache(daemon, python_env):
    make_kernel()(np.arange(12.0).reshape(4, 3))  # this process asks the daemon and keeps the handle
    out = _run_child(python_env)
    assert "via handle cache (no RPC)" in out
    assert "PROTOBUF False" in out
