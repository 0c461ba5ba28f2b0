"""Peak memory of GMM fits beyond X, measured in a fresh process per
implementation (one for all the cases it fitted).

    gmm_memory.py IMPL ITERATIONS CASE=DATA.npz...   (the child; one JSON line per case)

For each case the child loads X and the initial parameters, fits once with
one iteration (imports, the sejits kernel loaded from the daemon's cache:
what the first fit of a process pays once), then measures one whole fit:
- traced_peak_bytes: tracemalloc's peak during the fit: Python's allocations
  and NumPy's arrays (NumPy reports its data buffers to tracemalloc), not
  what native code allocates with malloc or new;
- rss_peak_bytes: the resident set's high-water mark during the fit minus
  the resident set before it (Linux: /proc/self/clear_refs resets the mark),
  native allocations and thread stacks included.
Neither counts X itself, which is loaded before. glibc's malloc is told to
return every block over 128 KiB to the system when freed
(MALLOC_MMAP_THRESHOLD_), so memory that the warm-up fit or an earlier case
freed is not reused unseen by the measured fit. Both figures come from the
same fit, with tracemalloc on (it slows allocations, not the arithmetic; the
fit is not timed here).
"""

import gc
import json
import os
import subprocess
import sys
import tracemalloc

import numpy as np

from measure import BenchFailure, describe

CHILD_TIMEOUT_S = 1800
FIXED_MMAP_THRESHOLD = str(128 << 10)


def save_case_data(path, X, init):
    """X and the initial parameters in one file, for the child."""
    np.savez(path, X=X, weights=init.weights, means=init.means, precisions=init.precisions)


def peak_memory(impl, data_paths, iterations):
    """case name -> {"traced_peak_bytes": ..., "rss_peak_bytes": ...}, or
    {"error": why}, of `impl`'s fit of each case whose data `save_case_data`
    wrote to data_paths[case name]."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=FIXED_MMAP_THRESHOLD, MALLOC_TRIM_THRESHOLD_=FIXED_MMAP_THRESHOLD)
    cases = [f"{name}={path}" for name, path in data_paths.items()]
    child = subprocess.run([sys.executable, __file__, impl, str(iterations), *cases], env=env, capture_output=True,
                           text=True, timeout=CHILD_TIMEOUT_S)
    if child.returncode != 0:
        last_line = (child.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchFailure(f"memory measurement exited with {child.returncode}: {last_line}")
    figures = {}
    for line in child.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            figures[record.pop("case")] = record
    return figures


def _status_bytes(field):
    """A /proc/self/status figure ("VmRSS", "VmHWM") in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise BenchFailure(f"/proc/self/status has no {field}")


def _reset_peak_rss():
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # VmHWM := VmRSS


def _measure(impl, case, data_path, iterations):
    from gmm_impls import GMM_IMPLS, fit
    from gmm_reference import InitialParameters

    with np.load(data_path) as data:
        X = data["X"]
        init = InitialParameters(data["weights"], data["means"], data["precisions"])
    build = GMM_IMPLS[impl]
    fit(build(case, init, 1), X)
    estimator = build(case, init, iterations)
    gc.collect()
    _reset_peak_rss()
    rss_before = _status_bytes("VmRSS")
    tracemalloc.start()
    fit(estimator, X)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_peak = _status_bytes("VmHWM") - rss_before
    return {"traced_peak_bytes": traced_peak, "rss_peak_bytes": rss_peak}


def _child(impl, iterations, case_paths):
    from gmm import GMM_CASES

    cases = {case.name: case for case in GMM_CASES}
    for name, data_path in case_paths:
        try:
            figures = _measure(impl, cases[name], data_path, iterations)
        except Exception as exc:  # a failure of one case's fit is that case's result
            figures = {"error": describe(exc)}
        gc.collect()
        print(json.dumps({"case": name, **figures}), flush=True)


if __name__ == "__main__":
    impl_arg, iterations_arg, *case_args = sys.argv[1:]
    _child(impl_arg, int(iterations_arg), [arg.split("=", 1) for arg in case_args])
