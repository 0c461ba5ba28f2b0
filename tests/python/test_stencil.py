"""Relative-index stencils against their own Python execution and against
scipy.ndimage, for every boundary mode, several dtypes and ranks, on the CPU
and OpenCL targets (`target`, tests/conftest.py)."""

import numpy as np
import pytest
import scipy.ndimage

import sejits
from reference import assert_same, on_targets
from sejits import _stencil_python

MODES = ["constant", "nearest", "reflect", "mirror", "wrap", "skip"]


def laplace_2d(a, k):
    return k * (a[0, 1] + a[0, -1] + a[1, 0] + a[-1, 0] - 4 * a[0, 0])


def smooth_1d(a):
    return 0.25 * a[-1] + 0.5 * a[0] + 0.25 * a[1]


def asymmetric_3d(a, b):
    return a[0, 0, 0] * 2 + a[-1, 0, 2] - b[0, 1, 0] + np.sqrt(abs(a[1, -1, 0]))


def rank_4(a):
    return a[1, 0, 0, 0] + a[0, -1, 0, 0] + a[0, 0, 1, 0] - a[0, 0, 0, -1]


def reference(kernel, args, boundary, cval=0.0, out=None):
    return _stencil_python.run_python(kernel, args, boundary, cval, out)


def random_grid(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.random(shape) * 4 - 2).astype(dtype)
    return rng.integers(-50, 50, size=shape).astype(dtype)


DTYPES = [np.float32, np.float64, np.int32, np.int64]
# On OpenCL, every mode on two ranks: in 2-D half of them in float32, half in
# int32 (float64 is the rank tests', int64 test_five_point_average's).
HALVES = [("constant", "reflect", "wrap"), ("nearest", "mirror", "skip")]
LAPLACE_ON_OPENCL = {np.float32: HALVES[0], np.int32: HALVES[1]}
RANK_ON_OPENCL = {"rank1": HALVES[1], "rank3": HALVES[0], "rank4": HALVES[1]}


@pytest.mark.parametrize("dtype, boundary, target",
                         on_targets(DTYPES, MODES, opencl=lambda dtype, mode: mode in LAPLACE_ON_OPENCL.get(dtype, ())),
                         indirect=["target"])
def test_laplace_2d_against_python(target, boundary, dtype):
    grid = random_grid((7, 13), dtype)
    kernel = sejits.stencil(boundary=boundary, cval=1.5)(laplace_2d)
    expected = reference(laplace_2d, (grid, 0.25), boundary, 1.5)
    assert_same(kernel(grid, 0.25), expected.astype(kernel(grid, 0.25).dtype), 1e-6 if dtype == np.float32 else 1e-14)


RANK_CASES = {
    "rank1": (smooth_1d, [(1,), (2,), (17,)]),
    "rank3": (asymmetric_3d, [(3, 5, 7), (1, 2, 2)]),
    "rank4": (rank_4, [(3, 4, 2, 5)]),
}


@pytest.mark.parametrize("case, boundary, target",
                         on_targets(RANK_CASES, MODES, opencl=lambda case, mode: mode in RANK_ON_OPENCL[case]),
                         indirect=["target"])
def test_ranks_and_small_grids_against_python(target, boundary, case):
    function, shapes = RANK_CASES[case]
    kernel = sejits.stencil(boundary=boundary)(function)
    for shape in shapes:  # including grids smaller than the neighbourhood
        arrays = [random_grid(shape, np.float64, seed) for seed in range(function.__code__.co_argcount)]
        expected = reference(function, tuple(arrays), boundary)
        assert_same(kernel(*arrays), expected, 1e-14)


@pytest.mark.parametrize("mode, target", on_targets(["nearest", "reflect", "mirror", "wrap"],
                                                     opencl=lambda mode: mode in ("reflect", "mirror")),
                         indirect=["target"])  # on OpenCL the two whose conventions differ most
def test_boundary_modes_match_scipy_ndimage(target, mode):
    grid = random_grid((9, 11), np.float64)
    weights = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    kernel = sejits.stencil(boundary=mode)(laplace_2d)
    expected = scipy.ndimage.correlate(grid, weights, mode=mode)
    np.testing.assert_allclose(kernel(grid, 1.0), expected, rtol=1e-13, atol=1e-13)


def test_five_point_average_with_constant_border(target):
    @sejits.stencil
    def average(a):
        return 0.25 * (a[0, 1] + a[1, 0] + a[0, -1] + a[-1, 0])

    grid = np.arange(100).reshape(10, 10)
    expected = np.zeros((10, 10))
    expected[1:-1, 1:-1] = 0.25 * (grid[1:-1, 2:] + grid[2:, 1:-1] + grid[1:-1, :-2] + grid[:-2, 1:-1])
    assert_same(average(grid), expected)


def test_cval_with_out(target):
    kernel = sejits.stencil(cval=-7.0)(laplace_2d)
    grid = random_grid((6, 6), np.float64)
    out = np.full((6, 6), 99.0)
    returned = kernel(grid, 2.0, out=out)
    assert returned is out
    assert_same(out, reference(laplace_2d, (grid, 2.0), "constant", -7.0))


def test_skip_leaves_the_border_of_out_untouched(target):
    kernel = sejits.stencil(boundary="skip")(laplace_2d)
    grid = random_grid((5, 8), np.float64)
    out = np.full((5, 8), 42.0)
    kernel(grid, 1.0, out=out)
    assert (out[0] == 42).all() and (out[-1] == 42).all() and (out[:, 0] == 42).all() and (out[:, -1] == 42).all()
    assert_same(out[1:-1, 1:-1], reference(laplace_2d, (grid, 1.0), "skip")[1:-1, 1:-1], 1e-14)


def test_mask_selects_between_two_arrays(target):
    @sejits.stencil(boundary="nearest")
    def choose(mask, a, b):
        return a[0, 1] if mask[0, 0] > 0 else b[-1, 0]

    mask = random_grid((8, 9), np.int32, 1)
    a, b = random_grid((8, 9), np.float64, 2), random_grid((8, 9), np.float64, 3)
    assert_same(choose(mask, a, b), reference(choose.fn, (mask, a, b), "nearest"))


def test_non_contiguous_grids(target):
    kernel = sejits.stencil(boundary="reflect")(laplace_2d)
    base = random_grid((20, 30), np.float64)
    for view in (base[::2, 1::3], base.T, base[::-1, ::-2]):
        assert_same(kernel(view, 0.5), reference(laplace_2d, (view, 0.5), "reflect"), 1e-14)


@pytest.mark.parametrize("boundary", ["constant", "wrap", "skip"])
def test_iterate_equals_repeated_single_sweeps(target, boundary):
    kernel = sejits.stencil(boundary=boundary)(laplace_2d)
    grid = random_grid((12, 10), np.float64)
    expected = grid
    for _ in range(5):
        step = kernel(expected, 0.1)
        if boundary == "skip":
            step = np.where(np.pad(np.ones((10, 8), bool), 1), step, expected)
        expected = step
    assert_same(kernel.iterate(grid, 0.1, steps=5), expected)


def test_large_grid_parallel_path(daemon):
    kernel = sejits.stencil(boundary="wrap")(laplace_2d)
    grid = random_grid((700, 900), np.float64)
    weights = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(kernel(grid, 1.0), scipy.ndimage.correlate(grid, weights, mode="wrap"), rtol=1e-12, atol=1e-12)


def wrong_rank(a):
    return a[0] + a[1, 0]


def computed_index(a, i):
    return a[i, 0]


def out_parameter(a, out):
    return a[0, 0] + out[0, 0]


@pytest.mark.parametrize("function, message, line_in_function", [
    (wrong_rank, "indexed with 1 relative indices; the grid has rank 2", 1),
    (computed_index, "must be integer constants", 1),
    (out_parameter, "cannot be named 'out'", 0),  # the def line, where the parameter is
])
def test_errors_name_the_problem_and_line(target, function, message, line_in_function):
    import inspect

    kernel = sejits.stencil(function)
    args = [random_grid((4, 4), np.float64)] + [1] * (function.__code__.co_argcount - 1)
    if function is out_parameter:
        args[1] = random_grid((4, 4), np.float64)
    with pytest.raises(sejits.SpecializationError) as error:
        kernel(*args)
    line = inspect.getsourcelines(function)[1] + line_in_function
    assert message in str(error.value) and f"test_stencil.py:{line}" in str(error.value)


def test_option_and_shape_errors(daemon):
    with pytest.raises(TypeError, match="unexpected options"):
        sejits.stencil(laplace_2d, halo=2)
    with pytest.raises(ValueError, match="boundary must be one of"):
        sejits.stencil(laplace_2d, boundary="periodic")
    kernel = sejits.stencil(lambda a, b: a[0, 0] + b[0, 1])
    with pytest.raises(ValueError, match="has shape"):
        kernel(np.ones((3, 3)), np.ones((3, 4)))


def test_27_point_laplacian_weighted_by_manhattan_distance(target):
    @sejits.stencil(boundary="nearest")
    def laplacian_27(a):
        total = 0.0
        for i in range(-1, 2):
            for j in range(-1, 2):
                for k in range(-1, 2):
                    total += a[i, j, k] / (1 + abs(i) + abs(j) + abs(k))
        return total - a[0, 0, 0] * 27

    grid = random_grid((5, 6, 7), np.float64)
    weights = np.array([[[1 / (1 + abs(i) + abs(j) + abs(k)) for k in (-1, 0, 1)] for j in (-1, 0, 1)] for i in (-1, 0, 1)])
    weights[1, 1, 1] -= 27
    expected = scipy.ndimage.correlate(grid, weights, mode="nearest")
    np.testing.assert_allclose(laplacian_27(grid), expected, rtol=1e-12, atol=1e-12)
    assert_same(laplacian_27(grid), reference(laplacian_27.fn, (grid,), "nearest"), 1e-13)


def test_loops_that_cannot_be_unrolled_index_with_constants_only(target):
    def loop_over_data(a, n):
        total = 0.0
        for i in range(n):  # a run-time trip count: a loop (tests/python/test_kernel_loops.py)
            total += a[0, 0]
        return total

    assert_same(sejits.stencil(loop_over_data)(np.ones((3, 3)), 4), np.full((3, 3), 4.0))

    def index_by_loop_variable(a, n):
        total = 0.0
        for i in range(n):
            total += a[i, 0]
        return total

    with pytest.raises(sejits.SpecializationError, match="relative indices of 'a' must be integer constants"):
        sejits.stencil(index_by_loop_variable)(np.ones((3, 3)), 4)


def test_trailing_window_with_neighborhood(target):
    @sejits.stencil(neighborhood=((-5, 0),))
    def trailing_mean(a):
        total = 0.0
        for i in range(-5, 1):
            total += a[i]
        return total / 6

    x = random_grid((40,), np.float64)
    expected = np.zeros(40)
    expected[5:] = np.convolve(x, np.ones(6) / 6, mode="valid")
    np.testing.assert_allclose(trailing_mean(x), expected, rtol=1e-14, atol=1e-14)
    assert_same(trailing_mean(x), reference(trailing_mean.fn, (x,), "constant"), 1e-14)


def test_neighborhood_larger_than_the_reads_widens_the_border(target):
    kernel = sejits.stencil(neighborhood=((-2, 2), (-1, 1)))(laplace_2d)
    grid = random_grid((8, 8), np.float64)
    result = kernel(grid, 1.0)
    assert (result[:2] == 0).all() and (result[-2:] == 0).all()
    assert_same(result, _stencil_python.run_python(laplace_2d, (grid, 1.0), "constant", 0.0, None, ((-2, 2), (-1, 1))), 1e-14)


def test_reads_outside_the_neighborhood_are_errors(target):
    kernel = sejits.stencil(neighborhood=((0, 1), (-1, 1)))(laplace_2d)
    with pytest.raises(sejits.SpecializationError, match="outside neighborhood"):
        kernel(np.ones((4, 4)), 1.0)
