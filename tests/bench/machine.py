"""The machine line: STREAM-triad bandwidth, usable cores, CPU model."""

import os
import platform
import time

import numpy as np

from measure import progress

TRIAD_SCALAR = 3.0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _numba_triad():
    """A parallel triad kernel and the bytes it moves per element."""
    import numba

    @numba.njit(parallel=True)
    def triad(a, b, c, s):
        for i in numba.prange(a.size):
            a[i] = b[i] + s * c[i]

    # STREAM convention: read b and c, write a; the write-allocate read of a
    # is not counted, so this is the bandwidth a kernel "sees".
    return triad, 24


def _numpy_triad():
    def triad(a, b, c, s):
        np.multiply(c, s, out=a)
        np.add(a, b, out=a)

    # Two passes: read c, write a (16 B), then read a and b, write a (24 B);
    # no write-allocate counted, as for the numba kernel.
    return triad, 40


def stream_triad_gbs(n, runs):
    """Best-of-`runs` triad bandwidth in GB/s on arrays of `n` float64."""
    try:
        triad, bytes_per_element = _numba_triad()
    except ImportError:
        progress("machine: numba missing, STREAM triad falls back to numpy")
        triad, bytes_per_element = _numpy_triad()
    a = np.full(n, 1.0)
    b = np.full(n, 2.0)
    c = np.full(n, 0.5)
    triad(a, b, c, TRIAD_SCALAR)  # compile and fault in every page
    best = float("inf")
    for run in range(1, runs + 1):
        progress(f"machine: STREAM triad run {run}/{runs}")
        start = time.perf_counter()
        triad(a, b, c, TRIAD_SCALAR)
        best = min(best, time.perf_counter() - start)
    return bytes_per_element * n / best / 1e9


def describe_machine(n, runs):
    return {
        "case": "machine",
        "stream_triad_gbs": stream_triad_gbs(n, runs),
        "cores": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
    }
