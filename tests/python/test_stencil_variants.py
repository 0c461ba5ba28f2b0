"""Code variants never change results. `iterate`: temporally blocked sweeps
give exactly the results of n single sweeps, for every boundary mode, dtype,
rank and wavefront depth; spatial tiles give the untiled results; variants
are part of the key; kernels that cannot be blocked say why."""

import functools

import numpy as np
import pytest

import sejits
from reference import assert_same
from sejits._stencil import StencilDispatcher

MODES = ["constant", "nearest", "reflect", "mirror", "wrap", "skip"]
DTYPES = [np.float32, np.float64, np.int32, np.int64]


def smooth_1d(a):
    return 0.5 * a[-1] + 0.25 * a[1] + 0.125 * a[3]


def heat_2d(a, k):
    return a[0, 0] + k * (a[0, 1] + a[0, -1] + a[1, 0] + a[-2, 0] - 4 * a[0, 0])


def jacobi_3d(a):
    return (a[0, 0, 1] + a[0, 0, -1] + a[0, 1, 0] + a[0, -1, 0] + a[1, 0, 0] + a[-1, 0, 0]) / 6.0


def int_average_2d(a):
    return (a[0, 1] + a[0, -1] + a[1, 0] + a[-1, 0] + a[0, 0]) // 5


def weighted_2d(a, weights):
    return weights[0, 0] * (a[1, 0] + a[-1, 1]) - a[0, 0] * 0.5


class Variant(StencilDispatcher):
    """A stencil kernel built with explicit "variant.*" options."""

    def __init__(self, fn, variant, **options):
        super().__init__(fn, **options)
        self.variant = variant

    def _params(self):
        return dict(super()._params(), **{f"variant.{k}": str(v) for k, v in self.variant.items()})


def single_sweeps(kernel, grid, rest, steps):
    current = grid
    for _ in range(steps):
        swept = kernel(current, *rest)
        if kernel.boundary == "skip":  # the border keeps the previous sweep's values
            swept = kernel(current, *rest, out=current.astype(swept.dtype))
        current = swept
    return current


def random_grid(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.random(shape) * 4 - 2).astype(dtype)
    return rng.integers(-1000, 1000, size=shape).astype(dtype)


@pytest.mark.parametrize("boundary", MODES)
@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_blocked_iterate_equals_single_sweeps_2d(daemon, boundary, depth):
    kernel = Variant(heat_2d, {"temporal_depth": depth}, boundary=boundary, cval=0.5)
    for seed, shape in enumerate([(1, 1), (2, 3), (5, 7), (31, 17), (97, 64), (300, 301)]):
        grid = random_grid(shape, np.float64, seed)
        for steps in (1, 2, 5, 8):
            assert_same(kernel.iterate(grid, 0.1, steps=steps), single_sweeps(kernel, grid, (0.1,), steps))


@pytest.mark.parametrize("boundary", MODES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_blocked_iterate_dtypes_and_ranks(daemon, boundary, dtype):
    for function, shapes in [(smooth_1d, [(1,), (3,), (13,), (9001,)]), (jacobi_3d, [(2, 3, 5), (17, 11, 13), (40, 33, 29)])]:
        kernel = Variant(function, {"temporal_depth": 2}, boundary=boundary)
        for seed, shape in enumerate(shapes):
            grid = random_grid(shape, dtype, seed)
            expected = single_sweeps(kernel, grid, (), 6)
            assert_same(kernel.iterate(grid, steps=6), expected)


@pytest.mark.parametrize("boundary", ["constant", "reflect", "skip"])
def test_integer_stencil_and_extra_array_arguments(daemon, boundary):
    grid = random_grid((67, 41), np.int64, 3)
    kernel = Variant(int_average_2d, {"temporal_depth": 3}, boundary=boundary)
    assert_same(kernel.iterate(grid, steps=7), single_sweeps(kernel, grid, (), 7))
    weights = random_grid((67, 41), np.float64, 4)
    weighted = Variant(weighted_2d, {"temporal_depth": 2}, boundary=boundary)
    floats = grid.astype(np.float64)
    assert_same(weighted.iterate(floats, weights, steps=5), single_sweeps(weighted, floats, (weights,), 5))


def test_large_grid_default_depth_and_non_contiguous_grid(daemon):
    kernel = sejits.stencil(boundary="nearest")(jacobi_3d)
    grid = random_grid((70, 66, 80), np.float64, 5)
    assert_same(kernel.iterate(grid, steps=9), single_sweeps(kernel, grid, (), 9))
    view = random_grid((60, 90, 100), np.float64, 6)[::2, 1::3, ::-1]
    assert_same(kernel.iterate(view, steps=4), single_sweeps(kernel, view, (), 4))


def asymmetric_4d(a, b):
    return a[1, 0, -1, 0] * 0.5 + a[0, -2, 0, 1] - b[0, 0, 1, 0]


TILINGS = ([({"tile_rows": 3}, mode) for mode in MODES] + [({"tile_rows": 1}, "nearest"), ({"tile_rows": 16}, "mirror")]
           + [({"tile_cols": 5}, mode) for mode in MODES] + [({"tile_rows": 4, "tile_cols": 3}, "reflect"),
                                                             ({"tile_rows": 2, "tile_cols": 64}, "skip")])


@pytest.mark.parametrize("variant, boundary", TILINGS, ids=lambda v: str(v))
def test_spatial_tiles_equal_the_untiled_sweep(daemon, variant, boundary):
    plain = sejits.stencil(boundary=boundary, cval=2.0)
    tiled = functools.partial(Variant, variant=variant, boundary=boundary, cval=2.0)
    for seed, shape in enumerate([(3, 1, 4), (13, 29, 7), (40, 37, 41)]):
        grid = random_grid(shape, np.float64, seed)
        assert_same(tiled(jacobi_3d)(grid), plain(jacobi_3d)(grid))
        view = random_grid(shape, np.float64, seed + 10)[:, ::-1]
        assert_same(tiled(jacobi_3d)(view), plain(jacobi_3d)(view))
    grid, other = random_grid((5, 7, 11, 6), np.float32, 1), random_grid((5, 7, 11, 6), np.float32, 2)
    assert_same(tiled(asymmetric_4d)(grid, other), plain(asymmetric_4d)(grid, other))
    if "tile_cols" in variant:  # rank 2: column tiles only; rank 1: nothing to tile
        grid = random_grid((37, 101), np.float64, 3)
        assert_same(tiled(heat_2d)(grid, 0.25), plain(heat_2d)(grid, 0.25))
        line = random_grid((29,), np.float64, 4)
        assert_same(tiled(line_1d)(line), plain(line_1d)(line))


def line_1d(a):
    return a[-1] - 2 * a[0] + a[1]


@pytest.mark.parametrize("threads", ["half", "1"])
def test_thread_counts_give_the_same_results(daemon, threads):
    plain = sejits.stencil(boundary="nearest")
    fewer = functools.partial(Variant, variant={"threads": threads}, boundary="nearest")
    grid = random_grid((300, 310), np.float64, 8)
    assert_same(fewer(heat_2d)(grid, 0.25), plain(heat_2d)(grid, 0.25))
    assert_same(fewer(heat_2d).iterate(grid, 0.25, steps=5), plain(heat_2d).iterate(grid, 0.25, steps=5))


def test_iterate_when_the_result_dtype_differs_from_the_grid(daemon):
    kernel = sejits.stencil(boundary="mirror")(heat_2d)
    grid = random_grid((20, 30), np.int32, 7)
    result = kernel.iterate(grid, 0.25, steps=4)
    assert result.dtype == np.float64
    assert_same(result, single_sweeps(kernel, grid, (0.25,), 4))
    assert "not of the grid's dtype" in kernel.explain(grid, 0.25)


def test_explain_says_whether_iterate_is_blocked(daemon):
    grid = random_grid((10, 10), np.float64, 8)
    assert "iterate: temporal blocking" in sejits.stencil(boundary="reflect")(heat_2d).explain(grid, 0.1)
    assert "no temporal blocking: boundary \"wrap\"" in sejits.stencil(boundary="wrap")(heat_2d).explain(grid, 0.1)
    off = Variant(heat_2d, {"temporal_blocking": 0}, boundary="reflect")
    assert "not in this variant" in off.explain(grid, 0.1)
    assert_same(off.iterate(grid, 0.1, steps=3), single_sweeps(off, grid, (0.1,), 3))


def test_variant_options_are_part_of_the_key(daemon):
    grid = random_grid((10, 10), np.float64, 9)
    keys = {Variant(heat_2d, variant).explain(grid, 0.1).split("key:")[1].split()[0]
            for variant in ({}, {"temporal_depth": 2}, {"streaming_stores": 0})}
    assert len(keys) == 3


@pytest.mark.parametrize("variant, message", [
    ({"temporal_depth": -1}, "temporal_depth=-1: expected an integer from 0"),
    ({"streaming_stores": "maybe"}, "streaming_stores=maybe: expected 0 or 1"),
    ({"tile_rows": "many"}, "tile_rows=many: expected an integer from 0"),
    ({"loop_order": 2}, "unknown stencil variant parameter 'variant.loop_order'"),
])
def test_bad_variant_options_are_errors(daemon, variant, message):
    with pytest.raises(sejits.SpecializationError, match=message):
        Variant(heat_2d, variant)(random_grid((4, 4), np.float64, 0), 0.1)


def test_steps_must_be_a_positive_integer(daemon):
    kernel = sejits.stencil(heat_2d)
    grid = random_grid((4, 4), np.float64, 0)
    for steps in (-3, 2.5, True):  # steps=0 is a copy of the grid (test_stencil_iterate_out.py)
        with pytest.raises(ValueError, match="steps must be an integer of at least 0"):
            kernel.iterate(grid, 0.1, steps=steps)
