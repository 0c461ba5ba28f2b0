"""Timing and checking the OpenCL target's implementations.

An implementation's output stays on the device; it is copied to the host
once, after the first call, to be checked against the NumPy reference, and
never inside a timing. Every timed call is bracketed by a sync of its device,
so a timing covers the work the call queued, not only its enqueueing.
"""

import gc
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from measure import WARMUP_CALLS, Result, describe, progress

WARMUP_SECONDS = 1.0

TARGET = "opencl"
CHECK_CHUNK = 1 << 22  # elements per task when a large output is checked or computed in threads


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float | None = None  # None: rtol times the reference's largest magnitude, as measure.mismatch


@dataclass(frozen=True)
class DeviceCall:
    """One implementation, built: what is timed, how to check it, how to wait for it."""

    run: Callable[[], object]  # one call as a user makes it; returns its output
    to_host: Callable[[object], np.ndarray]  # that output as a NumPy array, for the check only
    sync: Callable[[], None]  # returns when the device has finished everything queued so far


def host_threads():
    return len(os.sched_getaffinity(0))


def in_threads(function, *iterables):
    """map() over a pool of one thread per usable core (NumPy releases the GIL)."""
    with ThreadPoolExecutor(host_threads()) as pool:
        return list(pool.map(function, *iterables))


def chunks(size):
    return [slice(start, min(start + CHECK_CHUNK, size)) for start in range(0, size, CHECK_CHUNK)]


def check(result, reference, tolerance):
    """Why `result` differs from `reference`, or None if it agrees: the test
    of measure.mismatch, run in chunks on every core (outputs of 1-4 GiB)."""
    if not isinstance(result, np.ndarray):
        return f"returned {type(result).__name__}, not an ndarray"
    if result.shape != reference.shape or result.dtype != reference.dtype:
        return f"returned {result.dtype}{result.shape}, expected {reference.dtype}{reference.shape}"
    flat_result, flat_reference = result.reshape(-1), reference.reshape(-1)
    parts = chunks(flat_reference.size)
    atol = tolerance.atol
    if atol is None:
        atol = tolerance.rtol * max(in_threads(lambda part: float(np.abs(flat_reference[part]).max()), parts))
    agrees = in_threads(
        lambda part: bool(np.allclose(flat_result[part], flat_reference[part], rtol=tolerance.rtol, atol=atol)), parts
    )
    if all(agrees):
        return None
    part = parts[agrees.index(False)]
    worst = part.start + int(np.argmax(np.abs(flat_result[part] - flat_reference[part])))
    where = worst if result.ndim == 1 else tuple(map(int, np.unravel_index(worst, result.shape)))
    return (
        f"wrong result: element {where} is {float(flat_result[worst])!r}, "
        f"expected {float(flat_reference[worst])!r} (rtol {tolerance.rtol:g}, atol {atol:.3g})"
    )


def timed_call(call):
    call.sync()
    start = time.perf_counter()
    output = call.run()
    call.sync()
    elapsed = time.perf_counter() - start
    del output  # after the clock stopped: freeing a device buffer is not the kernel's time
    return elapsed


def measure_device(case, impl, build, reference, tolerance, repeats, limit_s, bytes_moved):
    """Build `impl`, check its first call against `reference`, warm it up,
    then time `repeats` calls; "gbs" is bytes_moved over the median."""
    result = Result(case, impl, limit_s=limit_s, target=TARGET)
    try:
        progress(case, impl, "build")
        call = build()
        progress(case, impl, f"warm-up 1/{WARMUP_CALLS}, checked")
        call.sync()
        output = call.run()
        call.sync()
        result.error = check(call.to_host(output), reference, tolerance)
        del output
        if result.error:
            return result
        # A GPU left idle (while the host computed a reference) runs at a low
        # clock for a while: warm up for WARMUP_SECONDS of work as well.
        warmup, warm_seconds = 1, 0.0
        while warmup < WARMUP_CALLS or warm_seconds < WARMUP_SECONDS:
            warmup += 1
            progress(case, impl, f"warm-up {warmup}")
            warm_seconds += timed_call(call)
        samples = []
        for repeat in range(1, repeats + 1):
            progress(case, impl, f"repeat {repeat}/{repeats}")
            samples.append(timed_call(call))
        result.samples = samples
        result.extra["gbs"] = bytes_moved / result.median_s / 1e9
    except Exception as exc:  # any failure of the implementation is a result
        result.error = describe(exc)
    return result


def release_device_memory():
    """Give the device memory of the implementation just measured back, so
    the next one has the whole device: peers cache freed blocks."""
    gc.collect()
    if "cupy" in sys.modules:
        try:
            sys.modules["cupy"].get_default_memory_pool().free_all_blocks()
        except Exception as exc:
            progress(f"could not free cupy's memory pool: {describe(exc)}")
    if "torch" in sys.modules:
        try:
            sys.modules["torch"].cuda.empty_cache()
        except Exception as exc:
            progress(f"could not empty torch's CUDA cache: {describe(exc)}")
