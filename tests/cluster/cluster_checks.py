"""What a run of a cluster job must show, whatever the engine: NumPy's results
on every row, computed by several worker processes that had no compiler
and used the central daemon, with artifacts fetched and each kernel
compiled once."""

import hashlib
from pathlib import Path

import numpy as np

COMPILERS = ("gcc", "g++", "cc", "c++", "clang", "clang++")
# blend(float64[1-D], float64[1-D]) and smooth(float64[1-D]): row lengths differ, keys do not.
DISTINCT_KERNELS = 2


def numpy_blend(a, b):
    return 2.0 * a + np.sin(b)


def numpy_smooth(a):
    """The 3-point average with "nearest" boundaries, summed in the kernel's order."""
    padded = np.pad(a, 1, mode="edge")
    return 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]


def assert_numpy_results(results, partitions):
    assert {r["part"] for r in results} == set(range(partitions))
    for r in results:
        where = f"partition {r['part']} row {r['row']}"
        # Element-wise math follows NumPy's functions, not its bits; the stencil's sums are exact.
        np.testing.assert_allclose(r["blended"], numpy_blend(r["a"], r["b"]), rtol=1e-14, atol=1e-14, err_msg=where)
        np.testing.assert_array_equal(r["smoothed"], numpy_smooth(r["a"]), err_msg=where)


def assert_workers_used_the_central_daemon(results, worker_env):
    """Returns the worker processes that ran the rows, by (host, pid)."""
    workers = {(r["worker"]["host"], r["worker"]["pid"]): r["worker"] for r in results}
    for facts in workers.values():
        assert facts["compilers"] == [], f"pid {facts['pid']} found compilers on PATH: {facts['compilers']}"
        assert facts["daemon"] == worker_env["SEJITS_DAEMON"] and facts["daemon"].startswith("tcp://")
        assert facts["autostart"] is False
        assert facts["cache_dir"] == worker_env["SEJITS_CACHE_DIR"]
    return workers


def assert_artifacts_fetched(worker_env):
    """Fetched into the workers' cache (clients of a TCP daemon never read its
    files, which are on another host), one per kernel, each file named by
    its content's sha256."""
    fetched = sorted((Path(worker_env["SEJITS_CACHE_DIR"]) / "artifacts").glob("*/*.so"))
    assert len(fetched) == DISTINCT_KERNELS, fetched
    for path in fetched:
        assert path.parent.name + path.stem == hashlib.sha256(path.read_bytes()).hexdigest(), path


def assert_compiled_once(stats):
    assert stats.compiles == DISTINCT_KERNELS, stats
    assert stats.compile_failures == 0, stats


def compiler_probe():
    """A function to run on a worker, shipped by value: it fails there if
    a compiler is on the worker's PATH."""
    names = COMPILERS

    def probe(*_):
        import shutil

        found = [name for name in names if shutil.which(name) is not None]
        assert not found, f"compilers on this worker's PATH: {found}"
        return True

    return probe
