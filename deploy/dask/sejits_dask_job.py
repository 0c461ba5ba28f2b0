"""sejits on Dask workers that have no C compiler: a central sejitsd compiles
each kernel once, the workers fetch the shared object over gRPC, check its
sha256 and call it on their partitions.

    SEJITS_DAEMON=tcp://compile-host:7777 SEJITS_TOKEN=... \\
        python deploy/dask/sejits_dask_job.py --scheduler tcp://scheduler:8786
    python deploy/dask/sejits_dask_job.py          # a LocalCluster of 2 worker processes

Workers started elsewhere need the SEJITS_* variables themselves; see
README.md in this folder.
"""

import argparse
import contextlib
import math
import os
import shutil
import socket
import sys

import numpy as np

import sejits

COMPILERS = ("gcc", "g++", "cc", "c++", "clang", "clang++")


@sejits.elementwise
def blend(a, b):
    return 2.0 * a + math.sin(b)


@sejits.stencil(boundary="nearest")
def smooth(a):
    return 0.25 * a[-1] + 0.5 * a[0] + 0.25 * a[1]


def make_inputs(part, row):
    """A row's two float64 signals; lengths differ, the kernels compile once anyway."""
    rng = np.random.default_rng([part, row])
    n = 1000 + 97 * part + 13 * row
    return rng.uniform(-4.0, 4.0, n), rng.uniform(-4.0, 4.0, n)


def worker_facts():
    """Where a partition ran and how sejits was set up there: the daemon it
    talks to, and the compilers it could have used (none, on these workers)."""
    settings = sejits.config()
    return {"host": socket.gethostname(), "pid": os.getpid(), "daemon": settings.daemon,
            "autostart": settings.autostart, "cache_dir": os.environ.get("SEJITS_CACHE_DIR", ""),
            "compilers": [name for name in COMPILERS if shutil.which(name)]}


def apply_kernels(partition):
    """One task: both kernels on every row of a partition [(a, b), ...]."""
    facts = worker_facts()
    return [{"blended": blend(a, b), "smoothed": smooth(a), "worker": facts} for a, b in partition]


def worker_env():
    """The SEJITS_* settings of this process for the workers; they never start
    a daemon of their own and fail loudly rather than fall back to NumPy."""
    env = {"SEJITS_AUTOSTART": "0", "SEJITS_FALLBACK": "error"}
    env.update({name: value for name, value in os.environ.items() if name.startswith("SEJITS_")})
    return env


def local_cluster(env=None, n_workers=2):
    """Worker processes (one thread each) whose environment is `env`
    (worker_env() by default), set before they unpickle any task."""
    from distributed import LocalCluster

    return LocalCluster(processes=True, n_workers=n_workers, threads_per_worker=1, dashboard_address=None,
                        env=worker_env() if env is None else env)


def run(client, partitions=4, rows_per_partition=2):
    """Runs the kernels on `partitions` tasks; returns one dict per row with its
    inputs, both results and the facts of the worker that computed them."""
    # Workers import this module by name: the kernels' source must be there for sejits to read.
    client.upload_file(os.path.abspath(__file__))
    inputs = [[make_inputs(part, row) for row in range(rows_per_partition)] for part in range(partitions)]
    futures = client.map(apply_kernels, inputs, pure=False)
    results = []
    for part, (rows, outputs) in enumerate(zip(inputs, client.gather(futures))):
        for row, ((a, b), out) in enumerate(zip(rows, outputs)):
            results.append(dict(out, part=part, row=row, a=a, b=b))
    return results


def numpy_blend(a, b):
    return 2.0 * a + np.sin(b)


def numpy_smooth(a):
    padded = np.pad(a, 1, mode="edge")
    return 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]


def main(argv=None):
    from distributed import Client

    parser = argparse.ArgumentParser(description="sejits kernels on Dask workers, compiled by a central sejitsd")
    parser.add_argument("--scheduler", help="address of a running scheduler; a LocalCluster when left out")
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args(argv)
    if not os.environ.get("SEJITS_DAEMON", "").startswith("tcp://"):
        sys.exit("set SEJITS_DAEMON=tcp://HOST:PORT (and SEJITS_TOKEN) to the central sejitsd")
    if args.scheduler:
        cluster = contextlib.nullcontext(args.scheduler)
    else:
        # Spawned workers import this script, and sejits reads SEJITS_* on import,
        # before LocalCluster's env= applies: they must inherit the settings.
        os.environ.update(worker_env())
        cluster = local_cluster()
    with cluster as address, Client(address) as client:
        results = run(client, args.partitions)
    for r in results:
        np.testing.assert_allclose(r["blended"], numpy_blend(r["a"], r["b"]), rtol=1e-14, atol=1e-14)
        np.testing.assert_array_equal(r["smoothed"], numpy_smooth(r["a"]))
    workers = {(r["worker"]["host"], r["worker"]["pid"]): r["worker"] for r in results}
    print(f"{len(results)} rows equal NumPy's results, computed by {len(workers)} worker processes:")
    for (host, pid), facts in sorted(workers.items()):
        print(f"  {host} pid {pid}: daemon {facts['daemon']}, compilers on PATH: {facts['compilers'] or 'none'}")


if __name__ == "__main__":
    # Run from the module itself, not __main__: tasks then refer to the
    # functions by name, and workers import them from the uploaded copy.
    import sejits_dask_job

    sejits_dask_job.main()
