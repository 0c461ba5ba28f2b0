"""kernel.iterate(..., out=...), steps=0 and kernel.iterate.explain(...),
against the stencil's own Python run, on the CPU and OpenCL targets."""

import numpy as np
import pytest

import sejits
from reference import assert_same
from sejits import _stencil_python


def heat(a, k):
    return a[0, 0] + k * (a[0, 1] + a[0, -1] + a[1, 0] + a[-1, 0] - 4 * a[0, 0])


def halve(a):
    return a[0] / 2  # an int grid gives float64: sweeps after the first read float64


def python_sweeps(kernel, grid, rest, boundary, steps):
    for _ in range(steps):
        grid = _stencil_python.run_python(kernel, (grid, *rest), boundary, 0.0, grid.copy() if boundary == "skip" else None)
    return grid


@pytest.mark.parametrize("boundary", ["nearest", "skip"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_iterate_into_out_and_into_the_grid_itself(target, boundary, dtype):
    rng = np.random.default_rng(1)
    grid = rng.random((13, 7)).astype(dtype)
    kernel = sejits.stencil(boundary=boundary)(heat)
    expected = python_sweeps(heat, grid, (0.2,), boundary, 5)
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    out = np.full(grid.shape, np.nan, dtype)
    for _ in range(2):  # the second call takes the kernel already loaded
        assert kernel.iterate(grid, 0.2, steps=5, out=out) is out
        assert_same(out, expected, tolerance)
    in_place = grid.copy()
    assert kernel.iterate(in_place, 0.2, steps=5, out=in_place) is in_place
    assert_same(in_place, expected, tolerance)
    strided = np.zeros((13, 14), dtype)[:, ::2]
    kernel.iterate(grid, 0.2, steps=1, out=strided)
    assert_same(strided, python_sweeps(heat, grid, (0.2,), boundary, 1), tolerance)


def test_iterate_out_must_match_the_result(daemon):
    grid = np.ones((4, 5))
    kernel = sejits.stencil(heat)
    with pytest.raises(ValueError, match="shape"):
        kernel.iterate(grid, 0.1, steps=2, out=np.zeros((5, 4)))
    with pytest.raises(TypeError, match="dtype"):
        kernel.iterate(grid, 0.1, steps=2, out=np.zeros((4, 5), np.float32))


def test_iterate_changing_dtype_into_out(daemon):
    grid = np.arange(12, dtype=np.int64)
    out = np.zeros(12)
    sejits.stencil(boundary="nearest")(halve).iterate(grid, steps=3, out=out)
    assert_same(out, grid / 8.0)


@pytest.mark.parametrize("steps", [0, np.int64(0)])
def test_zero_steps_is_a_copy_of_the_grid(target, steps):
    grid = np.arange(20, dtype=np.float32).reshape(4, 5)
    kernel = sejits.stencil(heat)
    result = kernel.iterate(grid, 0.1, steps=steps)
    assert result is not grid and not np.shares_memory(result, grid)
    assert_same(result, grid)
    out = np.zeros_like(grid)
    assert kernel.iterate(grid, 0.1, steps=steps, out=out) is out
    assert_same(out, grid)


@pytest.mark.parametrize("steps", [-1, 1.5, True])
def test_bad_steps_are_refused(daemon, steps):
    with pytest.raises(ValueError, match="steps must be an integer of at least 0"):
        sejits.stencil(heat).iterate(np.ones((3, 3)), 0.1, steps=steps)


def test_iterate_explain_says_how_the_sweeps_run(daemon):
    kernel = sejits.stencil(heat)
    grid = np.ones((16, 16))
    text = kernel.iterate.explain(grid, 0.1, steps=10)
    assert text.startswith("heat: specialized (stencil)") and "iterate:     10 sweeps: " in text, text
    assert "iterate:     0 sweeps: no sweep" in kernel.iterate.explain(grid, 0.1, steps=0)
    changing = sejits.stencil(halve).iterate.explain(np.arange(5), steps=2)
    assert "the first sweep computes float64 from the int64 grid" in changing, changing
    assert kernel.iterate.__self__ is kernel
    with pytest.raises(TypeError, match="steps"):
        kernel.iterate.explain(grid, 0.1)
