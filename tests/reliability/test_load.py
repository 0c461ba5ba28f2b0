"""Load: many client processes on one daemon at once, through sejits-load
(client-cpp/tools/sejits_load.cc), each process on its own channel.

Identical cold requests that arrive together compile once (single-flight);
cached calls from 16 processes are all hits, without errors."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import REPO, Daemon  # noqa: E402


def load_binary():
    """sejits-load beside the daemon under test, of this checkout's build, or on PATH."""
    candidates = [os.environ.get("SEJITS_LOAD_BIN")]
    if daemon := os.environ.get("SEJITS_DAEMON_BIN"):  # <build>/server/sejitsd -> <build>/client-cpp/sejits-load
        candidates.append(str(Path(daemon).resolve().parents[1] / "client-cpp" / "sejits-load"))
    candidates += [str(REPO / "build" / "client-cpp" / "sejits-load"), shutil.which("sejits-load")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("sejits-load not found: build it (cmake --build build --target sejits-load) or set SEJITS_LOAD_BIN")


def write_request(kernel, path, arity=2):
    """A serialized Specialize request for `kernel` on `arity` float64 arrays."""
    from sejits import _arguments, _capture, _encode
    from sejits.v1 import specializer_pb2 as pb

    request = pb.SpecializeRequest(specializer="elementwise", function=_encode.encode_function(_capture.capture(kernel)))
    for _ in range(arity):
        request.args.append(_arguments.describe(np.ones(8), pb, _encode.dtype_code))
    path.write_bytes(request.SerializeToString())
    return path


def run_load(daemon, request_file, *flags, timeout=600, background=False):
    """sejits-load against `daemon`: its JSON result, or the running process."""
    command = [load_binary(), f"--address={daemon.address}", f"--request={request_file}", *flags]
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_kernel(a, b):
    return 5.25 * a - b


def hot_kernel(a, b):
    return 2.0 * a + 3.0 * b


@pytest.fixture
def private_daemon(tmp_path):
    # Info level: a debug line per cache hit would be the load's bottleneck.
    daemon = Daemon(tmp_path / "daemon").start("--log_level=info")
    yield daemon
    daemon.stop()


def test_64_identical_cold_requests_at_once_compile_once(private_daemon, tmp_path):
    request = write_request(cold_kernel, tmp_path / "cold.pb")
    before = private_daemon.stats()
    result = run_load(private_daemon, request, "--once", "--clients=64")
    after = private_daemon.stats()
    print("64 cold:", json.dumps(result))
    assert result["errors"] == 0, result["first_error"]
    assert result["calls"] == 64
    outcomes = result["outcomes"]
    assert outcomes["compiled"] == 1, outcomes
    assert outcomes["joined"] + outcomes["hit"] == 63, outcomes
    assert outcomes["joined"] >= 1, f"no request waited for the build: they did not arrive together ({outcomes})"
    assert after.compiles - before.compiles == 1
    assert after.compile_failures == before.compile_failures
    assert after.requests - before.requests == 64
    assert after.joined_in_flight - before.joined_in_flight == outcomes["joined"]


def test_cached_calls_from_16_processes_are_all_hits(private_daemon, tmp_path):
    request = write_request(hot_kernel, tmp_path / "hot.pb")
    run_load(private_daemon, request, "--once", "--clients=1")  # the compile
    result = run_load(private_daemon, request, "--clients=16", "--seconds=2", "--warmup_s=0.2")
    print("16 cached:", json.dumps(result))
    assert result["errors"] == 0, result["first_error"]
    assert result["calls"] > 16
    assert result["outcomes"]["hit"] == result["calls"]
    assert private_daemon.stats().compiles == 1
