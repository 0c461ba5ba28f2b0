"""The machine line: STREAM-triad bandwidth, usable cores, CPU model.

The triad is measured by stream-triad (tests/bench/stream_triad.cc), a native
OpenMP program built with the project: the bound every limit_s is computed
from must not depend on which Python packages are installed (NumPy's
`b + s*c` is one thread and two passes; numba is optional). It reports the best of plain and streaming stores, on
every thread and on one.
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


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def triad_binary():
    """stream-triad of this checkout's build: $SEJITS_STREAM_TRIAD_BIN, else
    beside the daemon test.sh points at, else in $SEJITS_BUILD_DIR or build/."""
    candidates = [os.environ.get("SEJITS_STREAM_TRIAD_BIN")]
    if daemon := os.environ.get("SEJITS_DAEMON_BIN"):  # <build>/server/sejitsd -> <build>/tests/bench/stream-triad
        candidates.append(str(pathlib.Path(daemon).resolve().parents[1] / "tests" / "bench" / "stream-triad"))
    if build := os.environ.get("SEJITS_BUILD_DIR"):
        candidates.append(str(pathlib.Path(build) / "tests" / "bench" / "stream-triad"))
    candidates += [str(REPO / "build" / "tests" / "bench" / "stream-triad"), shutil.which("stream-triad")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
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


def describe_machine(n, runs):
    triad = stream_triad(n, runs)
    return {
        "case": "machine",
        "stream_triad_gbs": triad["stream_triad_gbs"],
        "stream_triad_variant": triad["best_variant"],  # e.g. streaming_stores_one_thread
        "stream_triad_elements": triad["elements"],
        "stream_triad_threads": triad["threads"],
        "cores": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
    }
