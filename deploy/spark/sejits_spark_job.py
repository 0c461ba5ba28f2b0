"""sejits on Spark executors that have no C compiler: a central sejitsd
compiles each kernel once, the executors fetch the shared object over gRPC,
check its sha256 and call it on their partitions.

    SEJITS_DAEMON=tcp://compile-host:7777 SEJITS_TOKEN=... \\
        spark-submit --py-files deploy/spark/sejits_spark_job.py deploy/spark/sejits_spark_job.py
    python deploy/spark/sejits_spark_job.py --master 'local[2]'

The SEJITS_* variables of the driver are passed on to the executors
(spark.executorEnv.*); see README.md in this folder.
"""

import argparse
import json
import math
import os
import shutil
import socket
import sys

import numpy as np

import sejits

COMPILERS = ("gcc", "g++", "cc", "c++", "clang", "clang++")
INPUT_SCHEMA = "part long, row long, a array<double>, b array<double>"
OUTPUT_SCHEMA = "part long, row long, blended array<double>, smoothed array<double>, worker string"


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
    """Where a batch ran and how sejits was set up there: the daemon it talks
    to, and the compilers it could have used (none, on these executors)."""
    settings = sejits.config()
    return {"host": socket.gethostname(), "pid": os.getpid(), "daemon": settings.daemon,
            "autostart": settings.autostart, "cache_dir": os.environ.get("SEJITS_CACHE_DIR", ""),
            "compilers": [name for name in COMPILERS if shutil.which(name)]}


def apply_kernels(batches):
    """mapInPandas: both kernels on every row of every batch."""
    import pandas as pd

    for batch in batches:
        facts = json.dumps(worker_facts())
        yield pd.DataFrame({"part": batch["part"], "row": batch["row"],
                            "blended": [blend(a, b) for a, b in zip(batch["a"], batch["b"])],
                            "smoothed": [smooth(a) for a in batch["a"]],
                            "worker": facts})


def executor_env():
    """The driver's SEJITS_* settings for the executors; they never start a
    daemon of their own and fail loudly rather than fall back to NumPy."""
    env = {"SEJITS_AUTOSTART": "0", "SEJITS_FALLBACK": "error"}
    env.update({name: value for name, value in os.environ.items() if name.startswith("SEJITS_")})
    return env


def session_builder(master=None, env=None):
    """A SparkSession builder whose executors get `env` (executor_env() by default)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("sejits-spark-job")
    if master:
        builder = builder.master(master)
    for name, value in (executor_env() if env is None else env).items():
        # spark.executorEnv.* keys containing "token" are redacted in the UI and logs.
        builder = builder.config(f"spark.executorEnv.{name}", value)
    return builder


def run(spark, partitions=4, rows_per_partition=2):
    """Runs the kernels on a DataFrame of array rows; returns one dict per row
    with its inputs, both results and the facts of the worker that computed them."""
    # Executors import this module by name: the kernels' source must be there for sejits to read.
    spark.sparkContext.addPyFile(os.path.abspath(__file__))
    inputs = {(part, row): make_inputs(part, row) for part in range(partitions) for row in range(rows_per_partition)}
    rows = [(part, row, a.tolist(), b.tolist()) for (part, row), (a, b) in inputs.items()]
    frame = spark.createDataFrame(spark.sparkContext.parallelize(rows, partitions), INPUT_SCHEMA)
    results = []
    for out in frame.mapInPandas(apply_kernels, OUTPUT_SCHEMA).collect():
        a, b = inputs[(out.part, out.row)]
        results.append({"part": out.part, "row": out.row, "a": a, "b": b, "blended": np.array(out.blended),
                        "smoothed": np.array(out.smoothed), "worker": json.loads(out.worker)})
    return sorted(results, key=lambda r: (r["part"], r["row"]))


def numpy_blend(a, b):
    return 2.0 * a + np.sin(b)


def numpy_smooth(a):
    padded = np.pad(a, 1, mode="edge")
    return 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]


def main(argv=None):
    parser = argparse.ArgumentParser(description="sejits kernels on Spark executors, compiled by a central sejitsd")
    parser.add_argument("--master", help="e.g. local[2]; spark-submit's --master when left out")
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args(argv)
    if not os.environ.get("SEJITS_DAEMON", "").startswith("tcp://"):
        sys.exit("set SEJITS_DAEMON=tcp://HOST:PORT (and SEJITS_TOKEN) to the central sejitsd")
    spark = session_builder(args.master).getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        results = run(spark, args.partitions)
    finally:
        spark.stop()
    for r in results:
        np.testing.assert_allclose(r["blended"], numpy_blend(r["a"], r["b"]), rtol=1e-14, atol=1e-14)
        np.testing.assert_array_equal(r["smoothed"], numpy_smooth(r["a"]))
    workers = {(r["worker"]["host"], r["worker"]["pid"]): r["worker"] for r in results}
    print(f"{len(results)} rows equal NumPy's results, computed by {len(workers)} Python workers:")
    for (host, pid), facts in sorted(workers.items()):
        print(f"  {host} pid {pid}: daemon {facts['daemon']}, compilers on PATH: {facts['compilers'] or 'none'}")


if __name__ == "__main__":
    # Run from the module itself, not __main__: Spark then ships the functions
    # by name, and executors import them from the copy that addPyFile sent.
    import sejits_spark_job

    sejits_spark_job.main()
