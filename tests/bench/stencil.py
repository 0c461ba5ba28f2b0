"""Suite "stencil": S2/S3 Jacobi sweeps against numpy slicing, scipy.ndimage
and numba; S3t repeats sejits' S3 `iterate` time (temporally blocked) against
the same single-sweep bound, which only reuse across sweeps can beat.

Every implementation has boundary="skip" semantics: interior points get the
average of their neighbours, the border keeps the input grid's values, and
STEPS sweeps ping-pong between two buffers. Each point expression is written
once, with relative indexing, and is what sejits and numba's @stencil compile.
"""

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

from measure import Result, measure_kernel, progress, skipped_if_missing
from stencil_impls import STENCIL_IMPLS, ping_pong

STEPS = 10
BYTES_PER_POINT = 16  # per sweep: read the grid once, write the output once
SEED = 20240603
SMALL_GRID_POINTS = 2**20  # grids this size or smaller are cheap to repeat
SMALL_GRID_REPEATS = 20
LARGE_GRID_REPEATS = 5
TEMPORAL_IMPL = "sejits"  # `iterate`: where sweeps could share data (temporal blocking)


def jacobi2(a):
    return 0.25 * (a[0, 1] + a[0, -1] + a[1, 0] + a[-1, 0])


def jacobi3(a):
    return (1.0 / 6.0) * (a[0, 0, 1] + a[0, 0, -1] + a[0, 1, 0] + a[0, -1, 0] + a[1, 0, 0] + a[-1, 0, 0])


def jacobi2_numpy(a, out):
    out[1:-1, 1:-1] = 0.25 * (a[1:-1, 2:] + a[1:-1, :-2] + a[2:, 1:-1] + a[:-2, 1:-1])


def jacobi3_numpy(a, out):
    inner = slice(1, -1)
    out[inner, inner, inner] = (1.0 / 6.0) * (
        a[inner, inner, 2:]
        + a[inner, inner, :-2]
        + a[inner, 2:, inner]
        + a[inner, :-2, inner]
        + a[2:, inner, inner]
        + a[:-2, inner, inner]
    )


@dataclass(frozen=True)
class StencilCase:
    name: str
    description: str
    point: Callable  # relative-index point expression: sejits.stencil, numba.stencil
    numpy_sweep: Callable  # (a, out): writes out's interior by slicing
    ndim: int
    neighbours: tuple  # offsets, each weighted by `weight` (scipy.ndimage's kernel)
    weight: float
    rtol: float
    temporal_case: str | None = None  # also reported as this case against the same bound

    def weights(self):
        """The correlation kernel: `weight` at each neighbour, 0 elsewhere."""
        kernel = np.zeros((3,) * self.ndim)
        for offset in self.neighbours:
            kernel[tuple(o + 1 for o in offset)] = self.weight
        return kernel


STENCIL_CASES = [
    StencilCase(
        "S2", "2-D 5-point Jacobi", jacobi2, jacobi2_numpy, 2,
        ((0, 1), (0, -1), (1, 0), (-1, 0)), 0.25, 1e-12,
    ),
    StencilCase(
        "S3", "3-D 7-point Jacobi", jacobi3, jacobi3_numpy, 3,
        ((0, 0, 1), (0, 0, -1), (0, 1, 0), (0, -1, 0), (1, 0, 0), (-1, 0, 0)), 1.0 / 6.0, 1e-12,
        temporal_case="S3t",
    ),
]


def random_grid(shape, seed):
    """float64 drawn uniformly from [0, 1), never zeros."""
    return np.random.default_rng(seed).random(shape)


def reference_sweeps(case, grid, steps):
    """NumPy slicing, fresh buffers: what every implementation must match."""
    return ping_pong(case.numpy_sweep, grid, (grid.copy(), grid.copy()), steps).copy()


def temporal_results(case, results, limit_s):
    """The S3t row: the same measurement of sejits' `iterate` on `case` (its
    temporally blocked sweeps), against the same single-sweep bound."""
    return [
        Result(case.temporal_case, result.impl, list(result.samples), limit_s, result.error)
        for result in results
        if result.impl == TEMPORAL_IMPL
    ]


def run_stencil(settings):
    results = []
    for case in STENCIL_CASES:
        shape = (settings.grid_edges[case.ndim],) * case.ndim
        points = int(np.prod(shape))
        repeats = settings.repeats_or(SMALL_GRID_REPEATS if points <= SMALL_GRID_POINTS else LARGE_GRID_REPEATS)
        progress(case.name, f"{case.description} on {'x'.join(map(str, shape))} float64, {STEPS} sweeps")
        grid = random_grid(shape, SEED)
        reference = reference_sweeps(case, grid, STEPS)
        limit_s = STEPS * BYTES_PER_POINT * points / (settings.stream_triad_gbs * 1e9)
        case_results = []
        for impl, build in STENCIL_IMPLS.items():
            if skipped := skipped_if_missing(case.name, impl, settings, limit_s):
                case_results.append(skipped)
                continue
            build_impl = functools.partial(build, case, grid, STEPS)
            case_results.append(measure_kernel(case.name, impl, build_impl, reference, case.rtol, repeats, limit_s))
        results += case_results
        if case.temporal_case:
            results += temporal_results(case, case_results, limit_s)
    return results
