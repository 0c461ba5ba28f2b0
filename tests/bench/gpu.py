"""The OpenCL target (`run.py --target opencl`): E1-E3, S2, S3, R1, R2r and
R2c on float32 with sejits' OpenCL back end, against CuPy and PyTorch on the
same GPU; G1g and G2g (gpu_gmm.py, GaussianMixture fits) against
scikit-learn on the CPU and on PyTorch CUDA tensors.

The limit is the best device-to-device copy bandwidth measured at the start
(gpu_machine.py): E1 and E3 move 12 B per element, E2 28 B (inputs read and
the output written, 4 B each), a Jacobi sweep 8 B per point, R1 4 B per
element and R2 8 B (inputs read once; R2's n results of n*n are left out,
as in the CPU suite). sejits is
measured device-resident ("sejits-device": inputs and output stay on the
device), and, as information, from NumPy to NumPy with the transfers
(cases E1h-E3h, on fewer elements, where CuPy and PyTorch also start and end
on the host). Stencils have the CPU suite's semantics (boundary "skip",
ping-pong buffers whose border is the grid's). Reductions are the CPU
suite's sums (reductions.py), on a vector of `elements` values (R1) and on
the square matrix of as many (R2r: axis=1, R2c: axis=0).
"""

import functools
import math
from dataclasses import dataclass

import numpy as np

from cases import ELEMENTWISE_CASES
from gpu_gmm import run_gpu_gmm
from gpu_impls import (
    ELEMENTWISE_DEVICE_IMPLS,
    ELEMENTWISE_HOST_IMPLS,
    STENCIL_DEVICE_IMPLS,
    peer_of,
    peers_missing,
)
from gpu_machine import describe_gpu_machine
from gpu_measure import (
    CHECK_CHUNK,
    TARGET,
    Tolerance,
    chunks,
    host_threads,
    in_threads,
    measure_device,
    release_device_memory,
)
from gpu_reduction_impls import REDUCTION_DEVICE_IMPLS
from measure import Result, progress
from reductions import REDUCTION_CASES
from report import format_ratio, format_seconds
from stencil import STENCIL_CASES, STEPS
from stencil_impls import ping_pong

DTYPE = np.dtype(np.float32)
DEFAULT_REPEATS = 20
SEED = 20240605
SLABS_PER_THREAD = 4  # the reference's sweeps: slabs of axis 0 per thread, for balance
HOST_CASE_SUFFIX = "h"  # E1h: E1 from NumPy to NumPy, transfers included

ELEMENTWISE_TOLERANCES = {
    "E1": Tolerance(1e-5),
    "E2": Tolerance(1e-5),  # atol scaled to the data: a*b + c*d - e*f cancels (see measure.mismatch)
    "E3": Tolerance(1e-4, atol=1e-5),
}
STENCIL_TOLERANCE = Tolerance(1e-4)
# float32 sums against the float64 sum, relative errors measured on these
# inputs: a tree (CUB, PyTorch) or compensated (sejits) sum of 2^28 values is
# within about 1e-6, a float32 running sum of 16384 rows (a column) about
# 4e-6, of 2^19 values (each thread of a one-block reduction of 2^28) about
# 1.5e-4. rtol 1e-4 plus atol 1e-4 of the largest sum accepts each of these
# orders of summation, and fails a sum that lost one value in a few thousand.
REDUCTION_TOLERANCE = Tolerance(1e-4)
GPU_REDUCTION_CASES = [case for case in REDUCTION_CASES if case.name in ("R1", "R2r", "R2c")]  # all sums


@dataclass(frozen=True)
class GpuSize:
    elements: int  # element-wise and reduction cases, device-resident (R2: the square matrix of as many)
    host_elements: int  # element-wise cases from and to the host
    grid_edges: dict  # rank -> edge of the stencil cases' grids
    copy_elements: int  # float32 copied to measure the device's copy bandwidth


GPU_SIZES = {
    # small also runs on PoCL on a 2-core CPU, in well under a minute.
    # R2's matrix: 2048x2048 (small), 16384x16384 (full).
    "small": GpuSize(2**22, 2**22, {2: 1024, 3: 128}, 2**24),
    "full": GpuSize(2**28, 2**26, {2: 16384, 3: 1024}, 2**28),  # 1 GiB per float32 array, 4 GiB for S3's grid
}


@dataclass(frozen=True)
class GpuSettings:
    size: GpuSize
    device_spec: str  # as sejits.opencl.context(device=...) takes it
    copy_gbs: float | None  # the limit's bandwidth; None: no copy could be measured
    repeats: int
    peers_missing: dict  # peer -> why its rows are skipped

    def limit_s(self, nbytes):
        return nbytes / (self.copy_gbs * 1e9) if self.copy_gbs else None


def random_float32(shape, seed):
    """float32 drawn uniformly from [0, 1) (never time on zeros), chunk by
    chunk on every core, each chunk from its own stream of `seed`: full
    sizes draw GiBs."""
    out = np.empty(shape, DTYPE)
    flat = out.reshape(-1)
    parts = chunks(flat.size)
    streams = np.random.SeedSequence(seed).spawn(len(parts))
    in_threads(lambda part, stream: np.random.default_rng(stream).random(out=flat[part], dtype=DTYPE), parts, streams)
    return out


def elementwise_reference(case, inputs):
    """The case's own NumPy function on float32, chunk by chunk on every core."""
    reference = np.empty_like(inputs[0])

    def compute(part):
        reference[part] = case.kernel(*(x[part] for x in inputs))

    in_threads(compute, chunks(reference.size))
    return reference


def parallel_sweep(sweep):
    """`sweep(a, out)` on slabs of axis 0 in threads: each slab's view has one
    row of halo on either side, so the sweep writes that slab's interior
    rows, reading exactly what it reads on the whole grid."""

    def sweep_in_slabs(a, out):
        slabs = max(1, min(a.shape[0] - 2, SLABS_PER_THREAD * host_threads()))
        rows = np.linspace(1, a.shape[0] - 1, slabs + 1).astype(int)
        in_threads(lambda low, high: sweep(a[low - 1 : high + 1], out[low - 1 : high + 1]), rows[:-1], rows[1:])

    return sweep_in_slabs


def stencil_reference(case, grid, steps):
    """stencil.reference_sweeps (NumPy slicing, fresh buffers), in threads."""
    return ping_pong(parallel_sweep(case.numpy_sweep), grid, (grid.copy(), grid.copy()), steps)


def row_slabs(shape):
    """Slices of axis 0 of about CHECK_CHUNK elements each (an element each, for a vector)."""
    rows = max(1, CHECK_CHUNK // math.prod(shape[1:]))
    return [slice(start, min(start + rows, shape[0])) for start in range(0, shape[0], rows)]


def sum_reference(case, inputs):
    """The case's sum in float64 (NumPy's, on the map of float64 copies),
    rounded to float32, the dtype NumPy's sum of float32 returns: slabs of
    axis 0 in threads; their partial sums added in float64 where axis 0 is
    reduced, their row sums put end to end where it is not (axis=1)."""

    def slab_sum(slab):
        return np.sum(case.map(*(x[slab].astype(np.float64) for x in inputs)), axis=case.axis)

    partials = in_threads(slab_sum, row_slabs(inputs[0].shape))
    if case.axis in (None, 0):
        total = np.sum(np.stack(partials), axis=0)
    else:
        total = np.concatenate(partials)
    return np.asarray(total).astype(DTYPE)


def summary(result):
    if not result.ok:
        return f"FAILED: {result.error}"
    against_limit = f", {format_ratio(result.median_s, result.limit_s)} x limit" if result.limit_s else ""
    return f"median {format_seconds(result.median_s)}{against_limit}, {result.extra['gbs']:.1f} GB/s"


def _runnable(impls, settings):
    for impl, build in impls.items():
        if peer_of(impl) in settings.peers_missing:
            continue
        yield impl, build


def _measure_all(case_name, impls, build_args, reference, tolerance, settings, limit_s, bytes_moved):
    """Yields each implementation's result as soon as it is measured."""
    for impl, build in _runnable(impls, settings):
        build_impl = functools.partial(build, *build_args, settings.device_spec)
        result = measure_device(
            case_name, impl, build_impl, reference, tolerance, settings.repeats, limit_s, bytes_moved
        )
        release_device_memory()
        progress(case_name, impl, summary(result))  # in the log even if the run is cut short
        yield result


def run_gpu_elementwise(settings):
    n = settings.size.elements
    host_n = min(settings.size.host_elements, n)
    for case in ELEMENTWISE_CASES:
        progress(case.name, f"{case.numexpr} on {n} float32, on the device")
        inputs = [random_float32(n, SEED + index) for index in range(case.arity)]
        reference = elementwise_reference(case, inputs)
        tolerance = ELEMENTWISE_TOLERANCES[case.name]
        bytes_moved = (case.arity + 1) * DTYPE.itemsize * n
        yield from _measure_all(
            case.name, ELEMENTWISE_DEVICE_IMPLS, (case, inputs), reference, tolerance,
            settings, settings.limit_s(bytes_moved), bytes_moved,
        )
        host_case = case.name + HOST_CASE_SUFFIX
        progress(host_case, f"{case.numexpr} on {host_n} float32, from and to the host")
        host_inputs = [x[:host_n] for x in inputs]
        host_bytes = (case.arity + 1) * DTYPE.itemsize * host_n
        # No limit: the transfers, not the device, bound these (information only).
        yield from _measure_all(
            host_case, ELEMENTWISE_HOST_IMPLS, (case, host_inputs), reference[:host_n], tolerance,
            settings, None, host_bytes,
        )


def run_gpu_stencil(settings):
    for case in STENCIL_CASES:
        shape = (settings.size.grid_edges[case.ndim],) * case.ndim
        points = int(np.prod(shape))
        progress(case.name, f"{case.description} on {'x'.join(map(str, shape))} float32, {STEPS} sweeps")
        grid = random_float32(shape, SEED)
        reference = stencil_reference(case, grid, STEPS)
        bytes_moved = STEPS * 2 * DTYPE.itemsize * points  # per sweep: read the grid once, write the output once
        yield from _measure_all(
            case.name, STENCIL_DEVICE_IMPLS, (case, grid, STEPS), reference, STENCIL_TOLERANCE,
            settings, settings.limit_s(bytes_moved), bytes_moved,
        )


def run_gpu_reductions(settings):
    for case in GPU_REDUCTION_CASES:
        shape = case.shape(settings.size.elements)
        elements = math.prod(shape)
        progress(case.name, f"{case.description} on {'x'.join(map(str, shape))} float32, on the device")
        inputs = [random_float32(shape, SEED + index) for index in range(case.arity)]
        reference = sum_reference(case, inputs)
        bytes_moved = case.arity * DTYPE.itemsize * elements  # every input read once
        yield from _measure_all(
            case.name, REDUCTION_DEVICE_IMPLS, (case, inputs), reference, REDUCTION_TOLERANCE,
            settings, settings.limit_s(bytes_moved), bytes_moved,
        )
        del inputs  # before the next case draws its own


GPU_SUITES = {  # each yields its results one by one
    "elementwise": run_gpu_elementwise,
    "stencil": run_gpu_stencil,
    "reductions": run_gpu_reductions,
    "gmm": run_gpu_gmm,  # gpu_gmm.py: fits, against scikit-learn on the CPU and on CUDA tensors
}


def run_opencl(suite, size_name, device_spec, repeats):
    """The machine line and the results of `suite` ("all": every GPU suite).
    Interrupted (SIGINT, as run_h100.sh's time limit sends), it returns the
    results so far and a failed "interrupted" row."""
    missing = peers_missing()
    for peer, why in missing.items():
        progress(f"{peer} rows skipped: {why}")
    size = GPU_SIZES[size_name]
    machine = describe_gpu_machine(device_spec, size.copy_elements, missing)
    release_device_memory()
    settings = GpuSettings(size, device_spec, machine["copy_gbs"], repeats or DEFAULT_REPEATS, missing)
    results = []
    try:
        for name, run in GPU_SUITES.items():
            if suite in (name, "all"):
                results.extend(run(settings))
    except KeyboardInterrupt:
        progress(f"interrupted after {len(results)} results")
        results.append(Result("run", "interrupted", error=f"interrupted after {len(results)} results", target=TARGET))
    return machine, results
