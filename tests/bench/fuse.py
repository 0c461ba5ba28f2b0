"""Suite "fuse": F1-F4, whole plain-NumPy functions (the fusion issue) as
`sejits.fuse` compiles them, against the same functions run by NumPy, by
numexpr a statement at a time, by numba njit(parallel=True) and by JAX jit
on the CPU (fuse_impls.py says how each runs them).

F1 a heat step: a 5-point Laplacian of u added to v's interior in place,
then v's energy and v clipped at 1 (u, v drawn in [0, 1): some of v passes
1); F2 Black-Scholes call and put prices: the issue's five statements
(d1, d2, call, put, return), with the normal CDF of d1 and d2 written out
as statements of Abramowitz and Stegun's polynomial (26.2.17, |error| <
7.5e-8; no erf) and the discount K exp(-rT) computed once;
F3 a softmax over the rows of a float32 matrix; F4 k-means assignment, each
point's nearest of 16 centroids in 8-D. Inputs are drawn at random.

F1 changes v in place, so every call must start from the same v:
measure.measure_kernel times whole calls and has no untimed setup, so this
suite has its own loop (measure_fused). Before every call, warm-up, timed or
traced, it copies the drawn v into one buffer allocated before the timings
(np.copyto: no allocation, no page faults), outside the timed interval (the
copy leaves the end of v in cache, alike for every implementation); the
check compares v after the call as well as what the function returns, with
NumPy's on a copy of its own.

Limits: the bytes of the passes over memory no implementation can avoid, at
the run's STREAM triad. F1 32 B per grid point (read u and v, write v and
the clipped copy), F2 40 B per option (read S, K and T, write call and put)
and F3 8 B per element (read x, write the result, float32) are memory-bound.
F4 moves 72 B per point (read 8 float64 coordinates, write an int64 label)
and does 384 flops per point (16 centroids x 8 coordinates x subtract,
multiply, add), whose time at the machine's measured peak (machine.py) may
be the longer: its limit is the longer of the two, and its rows say which
("bound"; without a measured peak, memory).

Each row's notes: `bound`, and peak_bytes: tracemalloc's peak during one
more call after the timings: NumPy's arrays, numexpr's outputs, numba's
arrays (its NRT reports them) and sejits' outputs are seen, native scratch
memory is not; the inputs, allocated before, are not counted; JAX rows have
none (fuse_impls.UNTRACED_IMPLS).
"""

import gc
import time
import tracemalloc
from dataclasses import dataclass
from typing import Callable

import numpy as np

from fuse_impls import FUSE_IMPLS, UNTRACED_IMPLS, NotApplicable, numpy_impl
from measure import WARMUP_CALLS, Result, describe, mismatch, progress, skipped_if_missing

SEED = 20240710
F1_DT, F1_C = 0.1, 0.25
F2_RATE, F2_VOLATILITY = 0.02, 0.3
F4_CENTROIDS, F4_DIMENSIONS = 16, 8


@dataclass(frozen=True)
class FuseScale:
    """A --size's fusion cases: F1's grid edge, F2's options, F3's rows and
    columns, F4's points, and timed repeats."""

    grid_edge: int
    options: int
    softmax_rows: int
    softmax_columns: int
    points: int
    repeats: int


def step(u, v, dt, c):
    lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
    v[1:-1, 1:-1] += dt * c * lap  # in place, on the caller's array
    energy = np.sum(v * v) / v.size
    clipped = np.where(v > 1.0, 1.0, v)
    return clipped, energy


def black_scholes(S, K, T, r, sigma):
    d1 = (np.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * np.sqrt(T))
    d2 = d1 - sigma * np.sqrt(T)
    t1 = 1.0 / (1.0 + 0.2316419 * np.where(d1 < 0.0, -d1, d1))
    t2 = 1.0 / (1.0 + 0.2316419 * np.where(d2 < 0.0, -d2, d2))
    w1 = 0.3989422804014327 * np.exp(-0.5 * d1 * d1) * t1 * (0.319381530 + t1 * (-0.356563782 + t1 * (
        1.781477937 + t1 * (-1.821255978 + t1 * 1.330274429))))
    w2 = 0.3989422804014327 * np.exp(-0.5 * d2 * d2) * t2 * (0.319381530 + t2 * (-0.356563782 + t2 * (
        1.781477937 + t2 * (-1.821255978 + t2 * 1.330274429))))
    n1 = np.where(d1 > 0.0, 1.0 - w1, w1)
    n2 = np.where(d2 > 0.0, 1.0 - w2, w2)
    discount = K * np.exp(-r * T)
    call = S * n1 - discount * n2
    put = discount * (1.0 - n2) - S * (1.0 - n1)
    return call, put


def softmax(x):
    m = x.max(axis=1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=1, keepdims=True)


def assign(X, C):
    d = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(d, axis=1)


def draw_step(scale, rng):
    edge = scale.grid_edge
    return [rng.random((edge, edge)), rng.random((edge, edge)), F1_DT, F1_C]


def draw_black_scholes(scale, rng):
    n = scale.options
    return [rng.uniform(50.0, 150.0, n), rng.uniform(50.0, 150.0, n), rng.uniform(0.1, 2.0, n), F2_RATE, F2_VOLATILITY]


def draw_softmax(scale, rng):
    return [rng.standard_normal((scale.softmax_rows, scale.softmax_columns), dtype=np.float32)]


def draw_assign(scale, rng):
    return [rng.random((scale.points, F4_DIMENSIONS)), rng.random((F4_CENTROIDS, F4_DIMENSIONS))]


@dataclass(frozen=True)
class FuseCase:
    name: str
    description: str
    kernel: Callable  # the plain NumPy function: what numpy runs and sejits.fuse compiles
    draw: Callable  # (scale, rng) -> the kernel's arguments
    items: Callable  # scale -> what the limit counts (grid points, options, elements, points)
    bytes_per_item: int
    outputs: tuple  # names of what is checked: the returned values, then the arguments changed in place
    rtol: float
    mutated: tuple = ()  # positions of the arguments the kernel changes in place
    flops_per_item: int = 0  # F4: the arithmetic that may bound it instead of memory

    def shape(self, scale):
        return {"F1": f"{scale.grid_edge}x{scale.grid_edge} float64", "F2": f"{scale.options} float64",
                "F3": f"{scale.softmax_rows}x{scale.softmax_columns} float32",
                "F4": f"{scale.points} points, {F4_DIMENSIONS}-D float64"}[self.name]


FUSE_CASES = [
    FuseCase("F1", "heat step: v += dt c lap(u) in place, energy, clip", step, draw_step,
             lambda scale: scale.grid_edge**2, 32, ("clipped", "energy", "v"), 1e-10, mutated=(1,)),
    FuseCase("F2", "Black-Scholes call and put, A&S normal CDF", black_scholes, draw_black_scholes,
             lambda scale: scale.options, 40, ("call", "put"), 1e-9),
    FuseCase("F3", "softmax over rows", softmax, draw_softmax,
             lambda scale: scale.softmax_rows * scale.softmax_columns, 8, ("softmax",), 1e-5),
    FuseCase("F4", f"k-means assignment to {F4_CENTROIDS} centroids", assign, draw_assign,
             lambda scale: scale.points, 64 + 8, ("labels",), 0.0,  # argmin: the same index, no tolerance
             flops_per_item=F4_CENTROIDS * F4_DIMENSIONS * 3),
]


def limit(case, scale, stream_triad_gbs, peak_gflops):
    """(limit_s, bound): the unavoidable bytes at the STREAM triad or, where
    longer, the flops at the measured peak."""
    items = case.items(scale)
    memory_s = case.bytes_per_item * items / (stream_triad_gbs * 1e9)
    if not case.flops_per_item or not peak_gflops:
        return memory_s, "memory"
    compute_s = case.flops_per_item * items / (peak_gflops * 1e9)
    return (compute_s, "compute") if compute_s > memory_s else (memory_s, "memory")


def refresher(case, inputs, arguments):
    """Copies the drawn inputs back into the arguments the kernel changes in place."""

    def refresh():
        for i in case.mutated:
            np.copyto(arguments[i], inputs[i])

    return refresh


def outputs_mismatch(case, outputs, reference):
    """Why `outputs` differ from NumPy's, naming the output, or None."""
    if len(outputs) != len(reference):
        return f"returned {len(outputs) - len(case.mutated)} values, expected {len(reference) - len(case.mutated)}"
    for name, output, expected in zip(case.outputs, outputs, reference):
        if error := mismatch(np.asarray(output), expected, case.rtol):
            return f"{name}: {error}"
    return None


def traced_peak_bytes(call, refresh):
    """tracemalloc's peak during one call: its allocations, outputs included."""
    refresh()
    gc.collect()
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure_fused(case, impl, build, inputs, arguments, reference, repeats, limit_s):
    """Build `impl`, check each warm-up call against `reference`, then time
    it; the arguments it changes are refreshed, untimed, before every call."""
    result = Result(case.name, impl, limit_s=limit_s)
    refresh = refresher(case, inputs, arguments)
    try:
        refresh()  # the arguments as drawn: a builder may copy them (JAX places them on its device once)
        call = build(case, arguments)
        for warmup in range(1, WARMUP_CALLS + 1):
            progress(case.name, impl, f"warm-up {warmup}/{WARMUP_CALLS}")
            refresh()
            result.error = outputs_mismatch(case, call(), reference)
            if result.error:
                return result
        for repeat in range(1, repeats + 1):
            progress(case.name, impl, f"repeat {repeat}/{repeats}")
            refresh()
            start = time.perf_counter()
            call()
            result.samples.append(time.perf_counter() - start)
        if impl not in UNTRACED_IMPLS:
            progress(case.name, impl, "peak memory of one call (tracemalloc)")
            result.extra["peak_bytes"] = traced_peak_bytes(call, refresh)
    except NotApplicable as exc:
        progress(case.name, impl, str(exc))
        result.skipped = str(exc)
    except Exception as exc:  # any failure of the implementation is a result
        result.samples, result.error = [], describe(exc)
    return result


def run_fuse(settings):
    scale = settings.fuse_scale
    repeats = settings.repeats_or(scale.repeats)
    rng = np.random.default_rng(SEED)
    results = []
    for case in FUSE_CASES:
        progress(case.name, f"{case.description} on {case.shape(scale)}")
        inputs = case.draw(scale, rng)
        arguments = [x.copy() if i in case.mutated else x for i, x in enumerate(inputs)]
        reference = [np.array(output) for output in numpy_impl(case, arguments)()]  # copies: v is refreshed
        case_limit_s, bound = limit(case, scale, settings.stream_triad_gbs, settings.peak_gflops)
        for impl, build in FUSE_IMPLS.items():
            result = skipped_if_missing(case.name, impl, settings, case_limit_s) or measure_fused(
                case, impl, build, inputs, arguments, reference, repeats, case_limit_s)
            result.extra = {"bound": bound, **result.extra}
            results.append(result)
    return results
