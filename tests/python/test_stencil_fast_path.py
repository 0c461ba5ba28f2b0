"""Stencils on the native fast path (sejits._native.StencilDispatcher): a
repeat call and a repeat iterate() run in C and compute exactly what the
Python path and the stencil run point by point as Python compute, with the
free names' current values, for every boundary, dtype and layout; what the
fast path does not handle still goes to Python, with the same results and
errors."""

import numpy as np
import pytest

import sejits
from reference import assert_same
from sejits import _stencil_python

MODES = ["constant", "nearest", "reflect", "mirror", "wrap", "skip"]
DTYPES = [np.float32, np.float64, np.int32, np.int64]
SHAPES_2D = [(1, 1), (1, 7), (7, 1), (5, 13), (31, 17)]  # one element, primes

weight = 0.25  # a scalar free name: passed at every call
offset = 1  # used as an index: part of the kernel's key


def laplace_2d(a, k):
    return k * (a[0, 1] + a[0, -1] + a[1, 0] + a[-1, 0] - 4 * a[0, 0])


def int_smooth_2d(a):
    return (a[0, 1] + a[0, -1] + a[1, 0] + a[-1, 0] + a[0, 0]) // 5


def weighted_1d(a):
    return weight * a[-1] + (1 - weight) * a[offset]


def two_grids(a, b, w=0.5, *, bias=1.0):
    return w * a[0, 1] - b[0, -1] + bias


def heat_2d(a):
    return a[0, 0] + 0.1 * (a[0, 1] + a[0, -1] + a[1, 0] + a[-1, 0] - 4 * a[0, 0])


def python_sweep(kernel, *args, out=None):
    """The stencil as Python, point by point: what every path must compute."""
    return _stencil_python.run_python(lambda *values: kernel._call_python(values), args, kernel.boundary, kernel.cval,
                                      out, kernel.neighborhood)


def python_sweeps(kernel, grid, rest, steps):
    current = grid
    for _ in range(steps):
        keep = current.copy() if kernel.boundary == "skip" else None
        current = python_sweep(kernel, current, *rest, out=keep)
    return current


def random_grid(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.random(shape) * 4 - 2).astype(dtype)
    return rng.integers(-50, 50, size=shape).astype(dtype)


def assert_close(actual, expected):
    """Same dtype and shape; exact for integers, to rounding for floats
    (the compiled code may contract to FMA)."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    if actual.dtype.kind in "iu":
        np.testing.assert_array_equal(actual, expected)
    else:
        tolerance = 1e-5 if actual.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)


class Subclass(np.ndarray):
    """An ndarray subclass: computed on as a plain array, by the slow path."""


class NotFromPython(Exception):
    """Raised if a call meant for the native fast path reached Python."""


def refuse_python(kernel):
    """Makes the slow paths raise: what still runs ran in C."""

    def refuse(*args, **kwargs):
        raise NotFromPython

    kernel._call_slow = refuse
    kernel._iterate_slow = refuse


def allow_python(kernel):
    del kernel._call_slow
    del kernel._iterate_slow


def native_call(kernel, *args, **kwargs):
    """A call that must run in C: its result."""
    refuse_python(kernel)
    try:
        result = kernel(*args, **kwargs)
    finally:
        allow_python(kernel)
    assert kernel._last_call_native and not kernel._last_call_iterated
    assert "native fast path" in kernel._last_call_description()
    return result


def native_iterate(kernel, *args, steps):
    refuse_python(kernel)
    try:
        result = kernel.iterate(*args, steps=steps)
    finally:
        allow_python(kernel)
    assert kernel._last_call_native
    return result


def slow_call(kernel, *args, **kwargs):
    result = kernel(*args, **kwargs)
    assert not kernel._last_call_native
    return result


@pytest.mark.parametrize("boundary", MODES)
def test_repeat_calls_run_natively_and_agree_for_every_boundary(daemon, boundary):
    kernel = sejits.stencil(boundary=boundary, cval=0.75)(laplace_2d)
    for seed, shape in enumerate(SHAPES_2D):
        grid = random_grid(shape, np.float64, seed)
        expected = python_sweep(kernel, grid, 0.5)
        first = kernel(grid, 0.5)  # may be the signature's first call: Python
        assert_same(first, expected, 1e-12)
        assert_same(native_call(kernel, grid, 0.5), first)
        assert_same(native_call(kernel, grid, 1.5), python_sweep(kernel, grid, 1.5), 1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("boundary", ["constant", "wrap", "skip"])
def test_dtypes(daemon, dtype, boundary):
    kernel = sejits.stencil(boundary=boundary)(int_smooth_2d if np.dtype(dtype).kind == "i" else heat_2d)
    for seed, shape in enumerate([(1, 1), (3, 5), (17, 11)]):
        grid = random_grid(shape, dtype, seed)
        slow = kernel(grid)
        fast = native_call(kernel, grid)
        assert_same(fast, slow)
        assert_close(fast, python_sweep(kernel, grid).astype(slow.dtype))


def test_one_element_and_prime_1d_grids(daemon):
    kernel = sejits.stencil(boundary="reflect")(weighted_1d)
    for n in (1, 2, 3, 7, 101):
        grid = random_grid((n,), np.float64, n)
        kernel(grid)
        assert_same(native_call(kernel, grid), python_sweep(kernel, grid), 1e-12)


def test_changing_globals_and_closures_are_read_at_every_native_call(daemon):
    global weight, offset
    kernel = sejits.stencil(boundary="wrap")(weighted_1d)
    grid = random_grid((11,), np.float64)
    try:
        kernel(grid)
        for value in (0.1, -2.0, 7.5):
            weight = value
            assert_same(native_call(kernel, grid), python_sweep(kernel, grid), 1e-12)
        weight = 3  # an int now: another signature, compiled once, then native
        assert_same(kernel(grid), python_sweep(kernel, grid), 1e-12)
        assert_same(native_call(kernel, grid), python_sweep(kernel, grid), 1e-12)
        offset = 2  # a key name: a new kernel, then native
        assert_same(kernel(grid), python_sweep(kernel, grid), 1e-12)
        assert_same(native_call(kernel, grid), python_sweep(kernel, grid), 1e-12)
        offset = 1
        assert_same(native_call(kernel, grid), python_sweep(kernel, grid), 1e-12)
    finally:
        weight, offset = 0.25, 1


def test_closure_cells_are_read_at_every_native_call(daemon):
    scale = 2.0

    @sejits.stencil(boundary="nearest")
    def scaled(a):
        return scale * (a[1] - a[-1])

    grid = random_grid((9,), np.float64)
    assert_same(scaled(grid), python_sweep(scaled, grid), 1e-12)
    for scale in (0.5, -3.0, 10.0):  # noqa: B007 - the kernel reads the cell
        assert_same(native_call(scaled, grid), python_sweep(scaled, grid), 1e-12)


def test_defaults_and_keywords_bind_as_python_does(daemon):
    kernel = sejits.stencil(boundary="constant", cval=-1.0)(two_grids)
    a, b = random_grid((6, 7), np.float64, 1), random_grid((6, 7), np.float64, 2)
    expected = python_sweep(kernel, a, b, 0.5, 1.0)
    assert_same(kernel(a, b), expected, 1e-12)
    assert_same(native_call(kernel, a, b), expected, 1e-12)
    assert_same(native_call(kernel, a, b, 0.25), python_sweep(kernel, a, b, 0.25, 1.0), 1e-12)
    # Keywords other than out= are bound in Python, with the same result.
    assert_same(slow_call(kernel, a, b, w=0.25), python_sweep(kernel, a, b, 0.25, 1.0), 1e-12)
    assert_same(slow_call(kernel, a, b, bias=3.0), python_sweep(kernel, a, b, 0.5, 3.0), 1e-12)
    with pytest.raises(TypeError):
        kernel(a)  # Python's own message for a missing argument
    with pytest.raises(TypeError):
        kernel(a, b, 0.1, 0.2)


def test_out_runs_natively_and_returns_out(daemon):
    kernel = sejits.stencil(boundary="skip")(laplace_2d)
    grid = random_grid((13, 7), np.float64)
    kernel(grid, 0.5)
    out = np.full(grid.shape, 9.0)
    result = native_call(kernel, grid, 0.5, out=out)
    assert result is out
    assert_same(out, python_sweep(kernel, grid, 0.5, out=np.full(grid.shape, 9.0)), 1e-12)  # border kept
    # A strided out is written where it is.
    wide = np.zeros((13, 14))
    assert native_call(kernel, grid, 0.5, out=wide[:, ::2]) is not None
    assert_same(wide[:, ::2], python_sweep(kernel, grid, 0.5, out=np.zeros(grid.shape)), 1e-12)
    assert np.all(wide[:, 1::2] == 0)
    assert_same(native_call(kernel, grid, 0.5, out=None), kernel(grid, 0.5))


def test_out_that_overlaps_the_grid_reads_before_writing(daemon):
    kernel = sejits.stencil(boundary="wrap")(laplace_2d)
    grid = random_grid((8, 9), np.float64)
    expected = python_sweep(kernel, grid, 0.5)
    kernel(grid, 0.5)
    in_place = grid.copy()
    assert slow_call(kernel, in_place, 0.5, out=in_place) is in_place
    assert_same(in_place, expected, 1e-12)
    storage = np.zeros((8, 10))
    storage[:, :9] = grid
    shifted = storage[:, 1:]  # overlaps the grid without being it
    kernel(storage[:, :9], 0.5, out=shifted)
    assert_same(shifted, expected, 1e-12)


def test_bad_out_raises_the_same_errors(daemon):
    kernel = sejits.stencil(laplace_2d)
    grid = random_grid((4, 5), np.float64)
    kernel(grid, 0.5)
    with pytest.raises(TypeError, match="out has dtype float32"):
        kernel(grid, 0.5, out=np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match="grid's shape"):
        kernel(grid, 0.5, out=np.zeros((5, 4)))
    with pytest.raises(ValueError, match="grid's shape"):
        kernel(grid, 0.5, out=[[0.0] * 5] * 4)
    with pytest.raises(ValueError, match="argument 1 has shape"):
        sejits.stencil(two_grids)(grid, np.zeros((4, 4)))


def test_non_contiguous_inputs(daemon):
    kernel = sejits.stencil(boundary="mirror")(two_grids)
    base = random_grid((12, 15), np.float64, 3)
    other = random_grid((15, 12), np.float64, 4)
    layouts = [(base[::2, ::3], other.T[::2, ::3]), (base[::-1, 2:7], other[:12, :5]), (base.T[:5], other.T[:5, :12])]
    for a, b in layouts:
        expected = python_sweep(kernel, a, b, 0.5, 1.0)
        assert_same(kernel(a, b), expected, 1e-12)
        assert_same(native_call(kernel, a, b), expected, 1e-12)


def test_what_the_fast_path_leaves_to_python_still_agrees(daemon):
    kernel = sejits.stencil(boundary="nearest")(heat_2d)
    grid = random_grid((6, 6), np.float64)
    expected = python_sweep(kernel, grid)
    kernel(grid)
    assert_same(slow_call(kernel, grid.tolist()), expected, 1e-12)  # a list grid
    assert_same(slow_call(kernel, grid.astype(">f8")), expected, 1e-12)  # another byte order
    assert_same(slow_call(kernel, grid.view(Subclass)), expected, 1e-12)
    with pytest.raises(TypeError, match="the first argument of a stencil is the grid"):
        kernel(np.float64(1.0))


@pytest.mark.parametrize("boundary", MODES)
def test_repeat_iterate_runs_natively_for_every_step_count(daemon, boundary):
    kernel = sejits.stencil(boundary=boundary, cval=0.5)(laplace_2d)
    for seed, shape in enumerate([(1, 1), (7, 13), (29, 31)]):
        grid = random_grid(shape, np.float64, seed)
        for steps in (1, 2, 3, 5):
            expected = python_sweeps(kernel, grid, (0.2,), steps)
            first = kernel.iterate(grid, 0.2, steps=steps)  # may look the iterate entry point up: Python
            assert_same(first, expected, 1e-9)
            assert_same(native_iterate(kernel, grid, 0.2, steps=steps), first)
            signature = next(s for s in kernel._iterate_kernels) if steps > 1 else None
            blocked = signature is not None and type(kernel._iterate_kernels[signature]).__name__ == "Kernel"
            assert kernel._last_call_iterated == blocked
            assert grid.flags.writeable and grid.shape == shape  # the grid is only read


def test_iterate_follows_globals_and_binds_defaults(daemon):
    global weight
    kernel = sejits.stencil(boundary="wrap")(weighted_1d)
    grid = random_grid((13,), np.float64)
    try:
        kernel.iterate(grid, steps=4)
        for value in (0.1, 0.9):
            weight = value
            assert_same(native_iterate(kernel, grid, steps=4), python_sweeps(kernel, grid, (), 4), 1e-12)
    finally:
        weight = 0.25
    pair = sejits.stencil(boundary="nearest")(two_grids)
    a, b = random_grid((5, 6), np.float64, 5), random_grid((5, 6), np.float64, 6)
    pair.iterate(a, b, steps=3)
    assert_same(native_iterate(pair, a, b, steps=3), python_sweeps(pair, a, (b, 0.5, 1.0), 3), 1e-12)
    assert_same(native_iterate(pair, a, b, 0.1, steps=3), python_sweeps(pair, a, (b, 0.1, 1.0), 3), 1e-12)
    assert_same(pair.iterate(a, b, bias=2.0, steps=3), python_sweeps(pair, a, (b, 0.5, 2.0), 3), 1e-12)
    assert not pair._last_call_native


@pytest.mark.parametrize("dtype", [np.int32, np.float32], ids=lambda d: np.dtype(d).name)
def test_iterate_dtypes_and_non_contiguous_grids(daemon, dtype):
    kernel = sejits.stencil(boundary="skip")(int_smooth_2d if np.dtype(dtype).kind == "i" else heat_2d)
    base = random_grid((20, 23), dtype)
    for grid in (base, base[::3, ::2], base.T):
        kernel.iterate(grid, steps=4)
        fast = native_iterate(kernel, grid, steps=4)
        assert_close(fast, python_sweeps(kernel, grid, (), 4).astype(dtype))


def test_iterate_errors_are_the_same(daemon):
    kernel = sejits.stencil(heat_2d)
    grid = random_grid((4, 4), np.float64)
    kernel.iterate(grid, steps=2)
    for steps in (-1, True, 2.0, "2"):  # steps=0 is a copy of the grid (test_stencil_iterate_out.py)
        with pytest.raises(ValueError, match="steps must be an integer of at least 0"):
            kernel.iterate(grid, steps=steps)
    with pytest.raises(TypeError, match=r"iterate\(\) missing 1 required keyword-only argument: 'steps'"):
        kernel.iterate(grid)
    assert_same(kernel.iterate(grid, steps=np.int64(2)), python_sweeps(kernel, grid, (), 2), 1e-12)
    # A result dtype other than the grid's: Python chains the sweeps.
    promoted = sejits.stencil(boundary="wrap")(heat_2d)
    ints = random_grid((5, 5), np.int64)
    promoted.iterate(ints, steps=3)
    assert_same(promoted.iterate(ints, steps=3), python_sweeps(promoted, ints, (), 3), 1e-12)
    assert not promoted._last_call_native


def test_explain_names_the_fast_path(daemon):
    kernel = sejits.stencil(heat_2d)
    grid = random_grid((4, 4), np.float64)
    kernel(grid)
    native_call(kernel, grid)
    assert "last call:   ran the compiled kernel (native fast path)" in kernel.explain(grid)


def test_options_are_read_only(daemon):
    """Both paths key calls by the options given to the decorator."""
    kernel = sejits.stencil(boundary="wrap", cval=2)(heat_2d)
    assert (kernel.boundary, kernel.cval, kernel.neighborhood) == ("wrap", 2.0, None)
    with pytest.raises(AttributeError):
        kernel.boundary = "constant"
