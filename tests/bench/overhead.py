"""Suite "overhead": O1 per-call overhead (O1s: of a small stencil), O2/O3
first calls, O4 import time.

First calls and imports are measured in fresh Python processes, timed inside
the child around the call (or import) alone, so process start-up and the
import of numpy are not counted.
"""

import functools
import os
import pathlib
import subprocess
import sys
import tempfile
import timeit

import numpy as np

from cases import CASE_E1, e1, random_inputs
from daemon import fresh_daemon
from impls import sejits_elementwise
from measure import WARMUP_CALLS, BenchFailure, Result, describe, mismatch, progress, skipped_if_missing

SEED = 20240602
BENCH_DIR = pathlib.Path(__file__).resolve().parent
CHILD_TIMEOUT_S = 300

O1_CALLS = 20000
O1_DEFAULT_REPEATS = 10
O1S_CALLS = 5000
O1S_EDGES = (1, 4, 16)  # square grids: 1 element to 16x16
O1S_ITERATE_STEPS = 4
O1S_RTOL = 1e-12
FIRST_CALL_DEFAULT_REPEATS = 3
FIRST_CALL_ELEMENTS = 1024
IMPORT_DEFAULT_REPEATS = 5


def _numba_njit(kernel):
    import numba

    return numba.njit(kernel)


# impl -> (make the function f, the statement timed with a, b, z bound)
O1_IMPLS = {
    "numpy": (lambda: e1, "z = f(a, b)"),
    "numba-njit": (lambda: _numba_njit(e1), "z = f(a, b)"),
    "sejits": (lambda: sejits_elementwise(e1), "z = f(a, b)"),
    "sejits-out": (lambda: sejits_elementwise(e1), "f(a, b, out=z)"),
}

FIRST_CALL_SCRIPT = """\
import sys
import time

import numpy as np

import cases
{make_kernel}

inputs = cases.random_inputs(cases.CASE_E1.arity, {n}, {seed})
start = time.perf_counter()
result = kernel(*inputs)
elapsed = time.perf_counter() - start
np.save(sys.argv[1], result)
print(elapsed)
"""

MAKE_KERNEL = {
    "sejits": "import sejits\nkernel = sejits.elementwise(cases.e1)",
    "numba": "import numba\nkernel = numba.njit(cases.e1)",
    "numba-cached": "import numba\nkernel = numba.njit(cache=True)(cases.e1)",
}

IMPORT_SCRIPT = """\
import time

import numpy

start = time.perf_counter()
import {module}
print(time.perf_counter() - start)
"""


def _per_call_result(impl, make, stmt, a, b, repeats):
    result = Result("O1", impl)
    try:
        namespace = {"f": make(), "a": a, "b": b, "z": np.full(1, np.nan)}
        for _ in range(WARMUP_CALLS):
            exec(stmt, namespace)
        result.error = mismatch(namespace["z"], e1(a, b), CASE_E1.rtol)
        if result.error:
            return result
        timer = timeit.Timer(stmt, globals=namespace)
        for repeat in range(1, repeats + 1):
            progress("O1", impl, f"repeat {repeat}/{repeats} ({O1_CALLS} calls)")
            result.samples.append(timer.timeit(O1_CALLS) / O1_CALLS)
    except Exception as exc:  # any failure of the implementation is a result
        result.error = describe(exc)
    return result


def run_per_call(settings):
    """O1: seconds per call of E1's kernel on 1-element arrays."""
    a, b = random_inputs(2, 1, SEED)
    repeats = settings.repeats_or(O1_DEFAULT_REPEATS)
    return [
        skipped_if_missing("O1", impl, settings) or _per_call_result(impl, make, stmt, a, b, repeats)
        for impl, (make, stmt) in O1_IMPLS.items()
    ]


def laplacian_2d(a):
    """O1s's stencil: the 2-D 5-point Laplacian."""
    return a[0, 1] + a[0, -1] + a[1, 0] + a[-1, 0] - 4.0 * a[0, 0]


def laplacian_reference(grid, steps=1):
    """NumPy: the Laplacian inside, 0 on the border (sejits' boundary
    "constant" with cval 0, as Numba's @stencil leaves it), `steps` sweeps."""
    for _ in range(steps):
        swept = np.zeros_like(grid)
        swept[1:-1, 1:-1] = (grid[1:-1, 2:] + grid[1:-1, :-2] + grid[2:, 1:-1] + grid[:-2, 1:-1]
                             - 4.0 * grid[1:-1, 1:-1])
        grid = swept
    return grid


def _numba_stencil_in_njit(out):
    import numba

    kernel = numba.stencil(laplacian_2d)
    if out:
        # With out=, Numba leaves the border as it was: zeros in z, as the reference.
        return numba.njit(lambda a, z: kernel(a, out=z))
    return numba.njit(lambda a: kernel(a))


def _sejits_stencil():
    import sejits

    return sejits.stencil(laplacian_2d)


# impl -> (make the function f, the statement timed with a, z bound, sweeps per call)
O1S_IMPLS = {
    "numba-stencil": (lambda: _numba_stencil_in_njit(out=False), "z = f(a)", 1),
    "numba-stencil-out": (lambda: _numba_stencil_in_njit(out=True), "f(a, z)", 1),
    "sejits": (_sejits_stencil, "z = f(a)", 1),
    "sejits-out": (_sejits_stencil, "f(a, out=z)", 1),
    "sejits-iterate": (_sejits_stencil, f"z = f.iterate(a, steps={O1S_ITERATE_STEPS})", O1S_ITERATE_STEPS),
}


def _stencil_per_call_result(case, impl, make, stmt, steps, grid, repeats):
    result = Result(case, impl, extra={"grid": "x".join(map(str, grid.shape))})
    try:
        namespace = {"f": make(), "a": grid, "z": np.zeros_like(grid)}
        for _ in range(WARMUP_CALLS):
            exec(stmt, namespace)
        result.error = mismatch(namespace["z"], laplacian_reference(grid, steps), O1S_RTOL)
        if result.error:
            return result
        timer = timeit.Timer(stmt, globals=namespace)
        for repeat in range(1, repeats + 1):
            progress(case, impl, f"repeat {repeat}/{repeats} ({O1S_CALLS} calls)")
            result.samples.append(timer.timeit(O1S_CALLS) / O1S_CALLS)
    except Exception as exc:  # any failure of the implementation is a result
        result.error = describe(exc)
    return result


def run_stencil_per_call(settings):
    """O1s: seconds per call of a 5-point Laplacian on grids of 1x1 to 16x16."""
    repeats = settings.repeats_or(O1_DEFAULT_REPEATS)
    results = []
    for edge in O1S_EDGES:
        grid = np.random.default_rng(SEED + edge).random((edge, edge))
        case = f"O1s-{edge}x{edge}"
        results += [
            skipped_if_missing(case, impl, settings) or _stencil_per_call_result(case, impl, make, stmt, steps, grid,
                                                                                 repeats)
            for impl, (make, stmt, steps) in O1S_IMPLS.items()
        ]
    return results


def run_child(script, extra_env, *argv):
    """Run `script` in a fresh interpreter; return the seconds it prints last."""
    env = dict(os.environ, **extra_env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")]))
    child = subprocess.run(
        [sys.executable, "-c", script, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
    )
    if child.returncode != 0:
        last_line = (child.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchFailure(f"child exited with {child.returncode}: {last_line}")
    return float(child.stdout.split()[-1])


def _first_call_s(kernel, env, workdir):
    script = FIRST_CALL_SCRIPT.format(make_kernel=MAKE_KERNEL[kernel], n=FIRST_CALL_ELEMENTS, seed=SEED)
    result_path = os.path.join(workdir, "result.npy")
    seconds = run_child(script, env, result_path)
    reference = e1(*random_inputs(CASE_E1.arity, FIRST_CALL_ELEMENTS, SEED))
    error = mismatch(np.load(result_path), reference, CASE_E1.rtol)
    if error:
        raise BenchFailure(error)
    return seconds


def _sejits_first_calls():
    """(O2, O3): a fresh daemon's first call, then a new process's on its cache."""
    with tempfile.TemporaryDirectory() as workdir, fresh_daemon(workdir) as env:
        # O2 is the cost of a compile: the call waits for it (compile="async"
        # would answer with the NumPy form at once; O5 measures that).
        env = dict(env, SEJITS_COMPILE="sync")
        empty_cache_s = _first_call_s("sejits", env, workdir)
        return empty_cache_s, _first_call_s("sejits", env, workdir)


def _numba_first_calls():
    """(O2, O3): an uncached njit's first call, then a cache=True one's on a filled cache."""
    with tempfile.TemporaryDirectory() as workdir:
        env = {"NUMBA_CACHE_DIR": workdir}
        no_cache_s = _first_call_s("numba", env, workdir)
        _first_call_s("numba-cached", env, workdir)  # fills the cache
        return no_cache_s, _first_call_s("numba-cached", env, workdir)


def _sample(results, impl, sample, repeats):
    """Append one value per result from each of `repeats` calls of `sample()`."""
    cases = "/".join(result.case for result in results)
    try:
        for repeat in range(1, repeats + 1):
            progress(cases, impl, f"repeat {repeat}/{repeats}")
            for result, seconds in zip(results, sample(), strict=True):
                result.samples.append(seconds)
    except Exception as exc:  # any failure of the implementation is a result
        for result in results:
            result.samples, result.error = [], describe(exc)
    return results


def run_first_calls(settings):
    """O2 (empty cache) and O3 (warm cache, fresh process), seconds."""
    repeats = settings.repeats_or(FIRST_CALL_DEFAULT_REPEATS)
    results = []
    for impl, sample in (("sejits", _sejits_first_calls), ("numba", _numba_first_calls)):
        skipped = [skipped_if_missing(case, impl, settings) for case in ("O2", "O3")]
        if all(skipped):
            results += skipped
            continue
        results += _sample([Result("O2", impl), Result("O3", impl)], impl, sample, repeats)
    return results


def _import_s(module):
    return (run_child(IMPORT_SCRIPT.format(module=module), {}),)


def run_import(settings):
    """O4: seconds to import the package, numpy already imported."""
    repeats = settings.repeats_or(IMPORT_DEFAULT_REPEATS)
    results = []
    for module in ("sejits", "numba"):
        if skipped := skipped_if_missing("O4", module, settings):
            results.append(skipped)
            continue
        results += _sample([Result("O4", module)], module, functools.partial(_import_s, module), repeats)
    return results
