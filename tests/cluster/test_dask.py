"""deploy/dask/sejits_dask_job.py on a LocalCluster of two worker processes
without a C compiler, against a central sejitsd over TCP with a token."""

import os
import sys

import pytest

from . import cluster_checks as check
from .conftest import REPO

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (install_deps.sh --test)")

sys.path.insert(0, str(REPO / "deploy" / "dask"))
import sejits_dask_job as job  # noqa: E402

PARTITIONS = 4


@pytest.fixture(scope="module")
def client(worker_env):
    with job.local_cluster(env=worker_env) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(2)
        yield client


@pytest.fixture(scope="module")
def first_run(client, central_daemon):
    return job.run(client, PARTITIONS), central_daemon.stats()


def test_workers_fetch_kernels_compiled_once_by_the_central_daemon(first_run, client, worker_env):
    results, stats = first_run
    check.assert_numpy_results(results, PARTITIONS)
    workers = check.assert_workers_used_the_central_daemon(results, worker_env)
    assert len(workers) >= 2, f"one worker process ran every partition: {sorted(workers)}"
    assert all(client.run(check.compiler_probe()).values())
    check.assert_artifacts_fetched(worker_env)
    check.assert_compiled_once(stats)


def test_new_worker_processes_compile_nothing(first_run, client, central_daemon, worker_env):
    """After the first run, restarted workers get the kernels without a compile."""
    first_pids = set(client.run(os.getpid).values())
    client.restart()
    results = job.run(client, PARTITIONS)
    check.assert_numpy_results(results, PARTITIONS)
    workers = check.assert_workers_used_the_central_daemon(results, worker_env)
    assert not first_pids & {pid for _, pid in workers}
    check.assert_compiled_once(central_daemon.stats())
