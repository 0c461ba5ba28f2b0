"""The machine line: STREAM-triad bandwidth, double-precision peak, usable
cores, CPU model.

The triad is measured by stream-triad (tests/bench/stream_triad.cc), a native
OpenMP program built with the project: the bound every limit_s is computed
from must not depend on which Python packages are installed (NumPy's
`b + s*c` is one thread and two passes; numba is optional). It reports the best of plain and streaming stores, on
every thread and on one. The peak that compute-bound limits (the GMM cases)
are computed from is measured the same way, by peak-flops
(tests/bench/peak_flops.cc: independent FMA chains on every thread and on
one); without that program the machine line has no peak and those cases no
limit, which fails nothing.
"""

import json
import os
import pathlib
import platform
import shutil
import subprocess

from measure import BenchFailure, progress

REPO = pathlib.Path(__file__).resolve().parents[2]
TRIAD_TIMEOUT_S = 300
PEAK_FLOPS_TIMEOUT_S = 120
PEAK_FLOPS_RUNS = 10


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bench_program(name, override_variable):
    """The program `name` of tests/bench in this checkout's build:
    $override_variable, else beside the daemon test.sh points at, else in
    $SEJITS_BUILD_DIR or build/, else on PATH; None if there is none."""
    candidates = [os.environ.get(override_variable)]
    if daemon := os.environ.get("SEJITS_DAEMON_BIN"):  # <build>/server/sejitsd -> <build>/tests/bench/<name>
        candidates.append(str(pathlib.Path(daemon).resolve().parents[1] / "tests" / "bench" / name))
    if build := os.environ.get("SEJITS_BUILD_DIR"):
        candidates.append(str(pathlib.Path(build) / "tests" / "bench" / name))
    candidates += [str(REPO / "build" / "tests" / "bench" / name), shutil.which(name)]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def triad_binary():
    """stream-triad of this checkout's build ($SEJITS_STREAM_TRIAD_BIN overrides)."""
    if binary := bench_program("stream-triad", "SEJITS_STREAM_TRIAD_BIN"):
        return binary
    raise BenchFailure("stream-triad not found: build it (./deploy/build.sh, or cmake --build build "
                       "--target stream-triad) or set SEJITS_STREAM_TRIAD_BIN")


def stream_triad(n, runs):
    """stream-triad's JSON line: best-of-`runs` bandwidth in GB/s
    (`stream_triad_gbs`) on arrays of at least `n` float64."""
    binary = triad_binary()
    progress(f"machine: STREAM triad ({binary}, at least {n} float64 per array, best of {runs})")
    child = subprocess.run([binary, f"--elements={n}", f"--runs={runs}"], capture_output=True, text=True,
                           timeout=TRIAD_TIMEOUT_S)
    if child.returncode != 0:
        raise BenchFailure(f"stream-triad exited with {child.returncode}: {child.stderr.strip()}")
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    if not measured["stream_triad_gbs"] > 0:
        raise BenchFailure(f"stream-triad measured no bandwidth: {child.stdout.strip()}")
    return measured


def peak_flops(runs):
    """peak-flops' JSON line (`peak_gflops`: double precision, best of
    `runs`), or None, said on stderr, if the program is not built."""
    binary = bench_program("peak-flops", "SEJITS_PEAK_FLOPS_BIN")
    if binary is None:
        progress("machine: peak-flops not found, so the compute-bound cases (gmm) have no limit: build it "
                 "(./deploy/build.sh, or cmake --build build --target peak-flops) or set SEJITS_PEAK_FLOPS_BIN")
        return None
    progress(f"machine: double-precision peak ({binary}, FMA chains, best of {runs})")
    child = subprocess.run([binary, f"--runs={runs}"], capture_output=True, text=True, timeout=PEAK_FLOPS_TIMEOUT_S)
    if child.returncode != 0:
        raise BenchFailure(f"peak-flops exited with {child.returncode}: {child.stderr.strip()}")
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    if not measured["peak_gflops"] > 0:
        raise BenchFailure(f"peak-flops measured no flops: {child.stdout.strip()}")
    return measured


def describe_machine(n, runs):
    triad = stream_triad(n, runs)
    peak = peak_flops(PEAK_FLOPS_RUNS) or {}
    return {
        "case": "machine",
        "stream_triad_gbs": triad["stream_triad_gbs"],
        "stream_triad_variant": triad["best_variant"],  # e.g. streaming_stores_one_thread
        "stream_triad_elements": triad["elements"],
        "stream_triad_threads": triad["threads"],
        "peak_gflops": peak.get("peak_gflops"),  # None: peak-flops is not built
        "peak_flops_variant": peak.get("best_variant"),  # all_threads or one_thread
        "peak_flops_vector_bits": peak.get("vector_bits"),
        "cores": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
    }
