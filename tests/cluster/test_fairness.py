"""The daemon's Specialize workers are shared fairly between clients: while
one process (A) floods the daemon with slow compiles, another process (B)
still gets its cache hits at once instead of queueing behind A's storm."""

import json
import subprocess
import sys
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

import sejits
from sejits.v1 import specializer_pb2 as pb
from sejits.v1 import specializer_pb2_grpc

from .conftest import daemon_binary

STORM = 48  # A's distinct failing compiles
HITS = 10  # B's calls of its cached kernel
MARKER = "9999.25"  # a constant only A's kernels contain: their compiles fail slowly
FAILING_COMPILE_S = 0.5
COMPILE_JOBS = 2
# The daemon runs Specialize on 32 threads, at most 8 of them for one client
# (server/core/fair_worker_pool.h). A FIFO pool would start A's first 32
# requests (2 compiling, 30 waiting for a compile slot) and queue the other
# 16; B's first call would queue behind those 16 and get a thread only when
# the 17th of A's requests completes, after 17 * 0.5 s / 2 jobs ~ 4.3 s. The
# fair pool gives B a free thread at once, within milliseconds, while A's
# compiles complete 2 per 0.5 s. So B finishing while fewer than 16 of A's
# requests have completed tells the two pools apart by a wide margin.
FIFO_BOUND = 16

SLOW_COMPILER = f"""#!/bin/sh
# A source holding the marker fails after a while; everything else is g++'s.
for arg in "$@"; do
  case "$arg" in
    *.cc) if grep -qF '{MARKER}' "$arg"; then sleep {FAILING_COMPILE_S}; exit 1; fi ;;
  esac
done
exec g++ "$@"
"""

STORM_SCRIPT = """
import json
import sys
import threading
import time

import grpc
import numpy as np

import sejits
from sejits.v1 import specializer_pb2_grpc

{kernels}

KERNELS = [{names}]


def storm(socket, report):
    requests = []
    for fn in KERNELS:
        kernel = sejits.elementwise(fn)
        requests.append(kernel._build_request((np.ones(8),), kernel._capture()))
    finished, lock = [], threading.Lock()

    def record(future):
        with lock:
            finished.append((time.monotonic(), future.code().name))

    with grpc.insecure_channel("unix:" + socket) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        stub = specializer_pb2_grpc.SpecializerStub(channel)
        futures = [stub.Specialize.future(request, timeout=120) for request in requests]
        for future in futures:
            future.add_done_callback(record)
        for future in futures:
            future.exception()
    with lock:
        with open(report, "w") as f:
            json.dump(finished, f)


storm(sys.argv[1], sys.argv[2])
"""


def plain(a):
    return a * 2.0 + 1.0


def storm_script():
    names = [f"marked_{i:02d}" for i in range(STORM)]
    kernels = "\n\n".join(f"def {name}(a):\n    return a * {MARKER} + {i + 1}.0\n" for i, name in enumerate(names))
    return STORM_SCRIPT.format(kernels=kernels, names=", ".join(names))


class SlowCompilerDaemon:
    """sejitsd on a Unix socket whose compiler fails slowly on marked kernels;
    it logs every Specialize it receives (--log_level=trace) to `stderr`."""

    def __init__(self, root):
        root = Path(root)
        compiler = root / "slow-compiler.sh"
        compiler.write_text(SLOW_COMPILER)
        compiler.chmod(0o755)
        self.socket = root / "d.sock"
        self.stderr = root / "stderr"
        command = [daemon_binary(), f"--listen_unix={self.socket}", f"--cache_dir={root / 'cache'}",
                   f"--compiler={compiler}", f"--compile_jobs={COMPILE_JOBS}", "--log_level=trace"]
        with open(self.stderr, "w") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        self.channel = grpc.insecure_channel(f"unix:{self.socket}")
        self.stub = specializer_pb2_grpc.SpecializerStub(self.channel)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=20)
        except grpc.FutureTimeoutError:
            self.stop()
            raise RuntimeError(f"sejitsd did not start: {self.stderr.read_text()}") from None

    def stats(self):
        return self.stub.GetStats(pb.GetStatsRequest(), timeout=5)

    def received_from(self, pid):
        """How many Specialize calls the daemon has taken from process `pid` (its trace log)."""
        return sum(line.endswith(f" pid {pid}") for line in self.stderr.read_text().splitlines()
                   if "rpc: Specialize from" in line)

    def stop(self):
        self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # shutting down runs every queued request first
                self.process.kill()
                self.process.wait()


@pytest.fixture
def slow_daemon(tmp_path):
    instance = SlowCompilerDaemon(tmp_path)
    yield instance
    instance.stop()


def wait_for(condition, what, timeout_s=15):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_cache_hits_are_not_starved_by_another_clients_compile_storm(slow_daemon, tmp_path):
    kernel = sejits.elementwise(plain)

    def request():
        return kernel._build_request((np.ones(8),), kernel._capture())

    first = slow_daemon.stub.Specialize(request(), timeout=120)
    assert first.outcome == pb.COMPILED
    before = slow_daemon.stats()

    script, report = tmp_path / "storm.py", tmp_path / "storm.json"
    script.write_text(storm_script())
    storm = subprocess.Popen([sys.executable, str(script), str(slow_daemon.socket), str(report)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def storm_arrived():
            if storm.poll() is not None:
                raise AssertionError(f"A exited early: {storm.stderr.read()}")
            return slow_daemon.received_from(storm.pid) == STORM

        # GetStats counts a request when a worker starts it, 8 of A's at a
        # time here: that the daemon holds all of A's requests, queued, shows
        # only in its log of what it received.
        wait_for(storm_arrived, "A's storm to arrive")
        wait_for(lambda: slow_daemon.stats().cache_misses - before.cache_misses >= 8, "A's first compiles to start")

        outcomes, finished_at = [], []
        for _ in range(HITS):
            outcomes.append(slow_daemon.stub.Specialize(request(), timeout=120).outcome)
            finished_at.append(time.monotonic())
        storm_done_by_stats = slow_daemon.stats().compile_failures - before.compile_failures

        _, errors = storm.communicate(timeout=60)
    finally:
        if storm.poll() is None:
            storm.kill()
            storm.wait()
    assert storm.returncode == 0, errors
    storm_finished = json.loads(report.read_text())

    assert [pb.CacheOutcome.Name(o) for o in outcomes] == ["HIT"] * HITS
    assert len(storm_finished) == STORM and {code for _, code in storm_finished} == {"INTERNAL"}
    assert slow_daemon.stats().compile_failures - before.compile_failures == STORM
    # time.monotonic() reads CLOCK_MONOTONIC, one clock for both processes.
    storm_done_by_b = sum(t <= finished_at[-1] for t, _ in storm_finished)
    assert storm_done_by_b < FIFO_BOUND, f"B's hits waited for {storm_done_by_b} of A's compiles"
    assert storm_done_by_stats < FIFO_BOUND
