"""deploy/spark/sejits_spark_job.py on Spark in local mode, with a JVM and
Python workers that have no C compiler, against a central sejitsd over TCP
with a token."""

import contextlib
import os
import shutil
import sys

import pytest

from . import cluster_checks as check
from .conftest import REPO

pytest.importorskip("pyspark", reason="pyspark is not installed (deploy/install_deps.sh --test)")
pytest.importorskip("pyarrow", reason="pyarrow is not installed (mapInPandas needs it; deploy/install_deps.sh --test)")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("no Java runtime for Spark (apt install default-jre-headless)", allow_module_level=True)

sys.path.insert(0, str(REPO / "deploy" / "spark"))
import sejits_spark_job as job  # noqa: E402

PARTITIONS = 4  # two Python workers (local[2]) run two partitions each
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@contextlib.contextmanager
def environ_path(path):
    """The JVM (Spark's executor in local mode) starts with the workers' PATH."""
    saved = os.environ["PATH"]
    os.environ["PATH"] = path
    try:
        yield
    finally:
        os.environ["PATH"] = saved


@pytest.fixture(scope="module")
def spark(worker_env):
    builder = (job.session_builder("local[2]", worker_env)
               .config("spark.pyspark.python", os.path.join(worker_env["PATH"], "python3"))
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.driver.memory", "512m")
               # The JIT's optimizing tier and parallel GC threads cost more than they save in jobs this short.
               .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1"))
    with environ_path(worker_env["PATH"]):
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def first_run(spark, central_daemon):
    return job.run(spark, PARTITIONS), central_daemon.stats()


def test_workers_fetch_kernels_compiled_once_by_the_central_daemon(first_run, spark, worker_env):
    results, stats = first_run
    check.assert_numpy_results(results, PARTITIONS)
    workers = check.assert_workers_used_the_central_daemon(results, worker_env)
    assert len(workers) >= 2, f"one worker process ran every partition: {sorted(workers)}"
    assert all(spark.sparkContext.parallelize(range(2), 2).map(check.compiler_probe()).collect())
    check.assert_artifacts_fetched(worker_env)
    check.assert_compiled_once(stats)


def test_a_second_run_compiles_nothing(first_run, spark, central_daemon, worker_env):
    """After the first run, the same job again compiles nothing."""
    results = job.run(spark, PARTITIONS)
    check.assert_numpy_results(results, PARTITIONS)
    check.assert_workers_used_the_central_daemon(results, worker_env)
    check.assert_compiled_once(central_daemon.stats())
