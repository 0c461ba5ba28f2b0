"""Stencil weights from constant arrays (a NumPy array, list or tuple the
kernel reads as a global or a closure variable): folded into the kernel as
constants, keyed by their values, against scipy.ndimage.correlate and the
stencil's own Python run, on the CPU and OpenCL targets."""

import inspect

import numpy as np
import pytest
import scipy.ndimage

import sejits
from reference import assert_same, on_targets
from sejits import _stencil_python

GAUSS = np.outer([1.0, 4.0, 6.0, 4.0, 1.0], [1.0, 4.0, 6.0, 4.0, 1.0]) / 256.0
ASYMMETRIC = np.arange(15, dtype=np.float64).reshape(3, 5) / 10 - 0.7  # a 3x5 window, not symmetric
ROW = [0.25, 0.5, 0.25]
NESTED = ((0, 1, 0), (1, -4, 1), (0, 1, 0))  # Python ints: weak constants


def gaussian(a):
    acc = 0.0
    for di in range(-2, 3):
        for dj in range(-2, 3):
            acc += GAUSS[di + 2, dj + 2] * a[di, dj]
    return acc


def asymmetric(a):
    acc = 0.0
    for di in range(-1, 2):
        for dj in range(-2, 3):
            acc += ASYMMETRIC[di + 1][dj + 2] * a[di, dj]
    return acc


def smooth_row(a):
    return ROW[0] * a[-1] + ROW[1] * a[0] + ROW[-1] * a[1]


def nested_laplace(a):
    acc = 0
    for di in range(-1, 2):
        for dj in range(-1, 2):
            acc += NESTED[di + 1][dj + 1] * a[di, dj]
    return acc


def random_grid(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.random(shape) * 4 - 2).astype(dtype)
    return rng.integers(-50, 50, size=shape).astype(dtype)


MODES = ["nearest", "reflect", "mirror", "wrap"]  # scipy.ndimage's meaning of each


@pytest.mark.parametrize("boundary, shape, target",
                         on_targets(MODES, [(37, 41), (1, 7), (5, 1), (2, 3)],
                                    opencl=lambda mode, shape: shape == (37, 41) and mode in ("reflect", "wrap")),
                         indirect=["target"])
def test_gaussian_blur_matches_scipy_correlate(target, boundary, shape):
    grid = random_grid(shape, np.float64, seed=len(boundary))
    blurred = sejits.stencil(boundary=boundary)(gaussian)(grid)
    assert_same(blurred, scipy.ndimage.correlate(grid, GAUSS, mode=boundary), 1e-13)


@pytest.mark.parametrize("dtype, target", on_targets([np.float32, np.float64]), indirect=["target"])
def test_asymmetric_window_as_nested_indexing_on_a_strided_grid(target, dtype):
    grid = random_grid((30, 46), dtype, seed=3)[::2, ::3]  # non-contiguous
    result = sejits.stencil(boundary="reflect")(asymmetric)(grid)
    # float64 weights (NumPy scalars) times a float32 grid compute in float64, as NumPy's scalars do.
    assert result.dtype == np.float64
    expected = scipy.ndimage.correlate(grid.astype(np.float64), ASYMMETRIC, mode="reflect")
    assert_same(result, expected, 1e-13)


def test_constant_boundary_sets_the_border_to_cval_and_the_interior_matches_scipy(daemon):
    grid = random_grid((23, 29), np.float64, seed=4)
    blurred = sejits.stencil(boundary="constant", cval=-1.0)(gaussian)(grid)
    assert_same(blurred[2:-2, 2:-2], scipy.ndimage.correlate(grid, GAUSS, mode="constant")[2:-2, 2:-2], 1e-13)
    border = np.ones(grid.shape, bool)
    border[2:-2, 2:-2] = False
    assert (blurred[border] == -1.0).all()


@pytest.mark.parametrize("dtype, target", on_targets([np.float32, np.float64, np.int32]), indirect=["target"])
def test_list_weights_in_1d_against_the_python_run(target, dtype):
    grid = random_grid((101,), dtype, seed=5)
    kernel = sejits.stencil(boundary="nearest")(smooth_row)
    expected = _stencil_python.run_python(smooth_row, (grid,), "nearest", 0.0, None)
    result = kernel(grid)
    assert result.dtype == expected.dtype  # Python floats are weak: float32 stays float32
    assert_same(result, expected, 1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32])
def test_int_tuple_weights_keep_the_grids_dtype(daemon, dtype):
    grid = random_grid((17, 19), dtype, seed=6)
    result = sejits.stencil(boundary="wrap")(nested_laplace)(grid)
    assert result.dtype == dtype
    expected = scipy.ndimage.correlate(grid.astype(np.float64), np.array(NESTED, float), mode="wrap")
    if dtype == np.float32:  # cancellation: absolute error of a few float32 ulps of the terms
        np.testing.assert_allclose(result, expected, rtol=0, atol=1e-4)
    else:
        assert_same(result, expected.astype(dtype))


def make_weighted(weights):
    def weighted(a):
        return weights[0] * a[-1] + weights[1] * a[0] + weights[2] * a[1]
    return weighted


@pytest.mark.parametrize("weights", [np.array([1.0, -2.0, 1.0], np.float32), [1, -2, 1], (0.5, 0.0, -0.5)],
                         ids=["float32-array", "int-list", "float-tuple"])
def test_closure_weights_and_their_dtype(daemon, weights):
    grid = random_grid((40,), np.float64, seed=7).astype(np.float32)
    kernel = sejits.stencil(boundary="mirror")(make_weighted(weights))
    expected = _stencil_python.run_python(make_weighted(weights), (grid,), "mirror", 0.0, None)
    result = kernel(grid)
    assert result.dtype == expected.dtype
    assert_same(result, expected, 1e-6)


def test_a_change_of_the_weights_after_the_first_call_is_seen(daemon):
    weights = np.array([1.0, 2.0, 3.0])
    as_list = [1, 2, 3]

    def with_array(a):
        return weights[0] * a[-1] + weights[1] * a[0] + weights[2] * a[1]

    def with_list(a):
        return as_list[0] * a[-1] + as_list[1] * a[0] + as_list[2] * a[1]

    grid = random_grid((12,), np.float64, seed=8)
    array_kernel = sejits.stencil(boundary="nearest")(with_array)
    list_kernel = sejits.stencil(boundary="nearest")(with_list)
    for _ in range(2):  # the second call of each value runs the kernel already built
        assert_same(array_kernel(grid), _stencil_python.run_python(with_array, (grid,), "nearest", 0.0, None), 1e-14)
        assert_same(list_kernel(grid), _stencil_python.run_python(with_list, (grid,), "nearest", 0.0, None), 1e-14)
    weights[1] = -5.0  # in place
    as_list[2] = 7.5  # an int becomes a float: the dtype is part of the key too
    for _ in range(2):
        assert_same(array_kernel(grid), _stencil_python.run_python(with_array, (grid,), "nearest", 0.0, None), 1e-14)
        assert_same(list_kernel(grid), _stencil_python.run_python(with_list, (grid,), "nearest", 0.0, None), 1e-14)
    weights = np.array([0.0, 1.0, 0.0], np.float32)  # rebound, another dtype
    assert_same(array_kernel(grid), grid, 0)


RAMP = np.arange(5.0)


def indexed_by_the_grid(a):
    return RAMP[int(a[0])] * a[1]


def indexed_out_of_bounds(a):
    acc = 0.0
    for d in range(-1, 5):
        acc += RAMP[d + 1] * a[0]
    return acc


def list_indexed_as_an_array(a):
    return NESTED[1, 1] * a[0, 0]


@pytest.mark.parametrize("kernel, message, offset", [
    (indexed_by_the_grid, "must be an integer constant once loops over range() are unrolled", 1),
    (indexed_out_of_bounds, "index 5 is out of bounds for axis 0 of the constant array, with size 5", 3),
    (list_indexed_as_an_array, "indexed one axis at a time", 1),
])
def test_refusals_name_the_line(daemon, kernel, message, offset):
    grid = random_grid((6, 6) if kernel is list_indexed_as_an_array else (6,), np.float64)
    with pytest.raises(sejits.SpecializationError) as error:
        sejits.stencil(kernel)(grid)
    line = inspect.getsourcelines(kernel)[1] + offset
    assert message in str(error.value) and f"test_stencil_weights.py:{line}" in str(error.value), str(error.value)


def test_a_large_array_is_not_a_constant(daemon):
    big = np.ones(5000)

    def reads_big(a):
        return big[0] * a[0]

    with pytest.raises(sejits.SpecializationError, match="'big'"):
        sejits.stencil(reads_big)(np.ones(4))


def test_repeat_calls_with_weights_take_the_native_fast_path(daemon):
    weights = np.array([0.25, 0.5, 0.25])

    def smooth(a):
        return weights[0] * a[-1] + weights[1] * a[0] + weights[2] * a[1]

    kernel = sejits.stencil(boundary="nearest")(smooth)
    grid = random_grid((33,), np.float64, seed=9)
    kernel(grid)
    result = kernel(grid)
    assert kernel._last_call_native, "a repeat call with the same weights must not reach Python"
    assert_same(result, _stencil_python.run_python(smooth, (grid,), "nearest", 0.0, None), 1e-14)
    weights[0] = 1.0  # in place: the contents key misses, Python builds the new kernel
    result = kernel(grid)
    assert not kernel._last_call_native
    assert_same(result, _stencil_python.run_python(smooth, (grid,), "nearest", 0.0, None), 1e-14)
    kernel(grid)
    assert kernel._last_call_native
