"""Case O5: the first run of a heat-equation loop (a stencil and an
element-wise update per step) in a fresh process on an empty cache, against
the same loop in NumPy. With background compilation the loop starts on the
kernels' vectorized NumPy forms and switches to the compiled kernels when
they are in: its first run should take no longer than NumPy's."""

import os
import sys
import tempfile

import numpy as np

from daemon import fresh_daemon
from measure import BenchFailure, Result, mismatch
from overhead import BENCH_DIR, _sample, run_child

O5_DEFAULT_REPEATS = 3
FULL_EDGE, SMALL_EDGE = 512, 256
STEPS = 200
ALPHA = 0.1

HEAT_SCRIPT = """\
import sys
import time

import numpy as np

edge, steps, alpha = {edge}, {steps}, {alpha}
u = np.random.default_rng(7).random((edge, edge))

if "{impl}" == "numpy":
    def run(u):
        for _ in range(steps):
            lap = np.zeros_like(u)
            lap[1:-1, 1:-1] = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
            u = u + alpha * lap
        return u
else:
    import sejits

    @sejits.stencil
    def laplacian(u):
        return u[1, 0] + u[-1, 0] + u[0, 1] + u[0, -1] - 4 * u[0, 0]

    @sejits.elementwise
    def update(u, lap, alpha):
        return u + alpha * lap

    def run(u):
        for _ in range(steps):
            u = update(u, laplacian(u), alpha)
        return u

start = time.perf_counter()
result = run(u)
elapsed = time.perf_counter() - start
np.save(sys.argv[1], result)
print(elapsed)
"""


def _reference(edge):
    u = np.random.default_rng(7).random((edge, edge))
    for _ in range(STEPS):
        lap = np.zeros_like(u)
        lap[1:-1, 1:-1] = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
        u = u + ALPHA * lap
    return u


def _first_run_s(impl, edge, env, workdir):
    result_path = os.path.join(workdir, f"heat-{impl}.npy")
    # A file, not `python -c`: sejits reads its kernels' source.
    script_path = os.path.join(workdir, f"heat_{impl}.py")
    with open(script_path, "w") as script:
        script.write(HEAT_SCRIPT.format(impl=impl, edge=edge, steps=STEPS, alpha=ALPHA))
    seconds = run_child(f"import runpy; runpy.run_path({script_path!r}, run_name='__main__')", env, result_path)
    error = mismatch(np.load(result_path), _reference(edge), 1e-12)
    if error:
        raise BenchFailure(error)
    return seconds


def _sejits_first_run(edge):
    with tempfile.TemporaryDirectory() as workdir, fresh_daemon(workdir) as env:
        return (_first_run_s("sejits", edge, dict(env, SEJITS_COMPILE="async", SEJITS_FALLBACK="silent"), workdir),)


def _numpy_run(edge):
    with tempfile.TemporaryDirectory() as workdir:
        return (_first_run_s("numpy", edge, {}, workdir),)


def run_heat_first_run(settings):
    """O5: seconds of the whole 200-step loop, first run (sejits: fresh process, empty cache)."""
    edge = FULL_EDGE if settings.grid_edges[2] >= 4096 else SMALL_EDGE  # the 512x512 at --size full
    repeats = settings.repeats_or(O5_DEFAULT_REPEATS)
    results = []
    for impl, sample in (("numpy", _numpy_run), ("sejits", _sejits_first_run)):
        results += _sample([Result("O5", impl, extra={"grid": f"{edge}x{edge}", "steps": STEPS})], impl,
                           lambda sample=sample: sample(edge), repeats)
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR))
    edge = int(sys.argv[1]) if len(sys.argv) > 1 else FULL_EDGE
    numpy_s = _numpy_run(edge)[0]
    sejits_s = _sejits_first_run(edge)[0]
    print(f"O5 heat {edge}x{edge}, {STEPS} steps: numpy {numpy_s:.3f} s, sejits first run {sejits_s:.3f} s, "
          f"ratio {sejits_s / numpy_s:.2f}")
