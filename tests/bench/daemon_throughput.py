"""D1: the daemon under cached Specialize calls from 16 concurrent client
processes, each on its own gRPC channel over the Unix socket: calls per
second, and latency p50/p99. The load comes from sejits-load
(client-cpp/tools/sejits_load.cc): Python clients would measure the GIL,
not the daemon.

The limit is the same load against grpc-echo (client-cpp/tools/grpc_echo.cc),
a gRPC server that answers every call with a fixed reply and does nothing
else: what gRPC, the kernel and these 16 clients cost on this machine. The
row's limit_s is grpc-echo's p50 latency, and its notes give grpc-echo's
calls/s and the fraction of it sejits reaches."""

import contextlib
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import tempfile

import numpy as np

from measure import BenchFailure, Result, describe, progress

REPO = pathlib.Path(__file__).resolve().parents[2]
CLIENTS = 16
FULL_ELEMENTS = 2**24  # --size full, as the element-wise cases see it
# The target on the 2-core machine.
TARGET_CALLS_PER_S = 20000
TARGET_P99_MS = 5.0


def tool_binary(name, variable):
    """A client-cpp tool of this checkout's build (or $variable, or PATH)."""
    candidates = [os.environ.get(variable)]
    if daemon := os.environ.get("SEJITS_DAEMON_BIN"):  # <build>/server/sejitsd -> <build>/client-cpp/<name>
        candidates.append(str(pathlib.Path(daemon).resolve().parents[1] / "client-cpp" / name))
    candidates += [str(REPO / "build" / "client-cpp" / name), shutil.which(name)]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BenchFailure(f"{name} not found: build it (cmake --build build --target {name}), "
                       f"set {variable} or put it on PATH")


def load_binary():
    return tool_binary("sejits-load", "SEJITS_LOAD_BIN")


def _request():
    """A Specialize request for E1's kernel on two float64 arrays."""
    from sejits import _arguments, _capture, _encode
    from sejits.v1 import specializer_pb2 as pb

    from cases import CASE_E1

    captured = _capture.capture(CASE_E1.kernel)
    request = pb.SpecializeRequest(specializer="elementwise", function=_encode.encode_function(captured))
    for value in (np.ones(8), np.ones(8)):
        request.args.append(_arguments.describe(value, pb, _encode.dtype_code))
    return request


def _run_load(binary, address, request_file, seconds):
    command = [binary, f"--address={address}", f"--request={request_file}", f"--clients={CLIENTS}",
               f"--seconds={seconds}", "--warmup_s=0.5"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise BenchFailure(f"sejits-load exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    run = json.loads(done.stdout.strip().splitlines()[-1])
    if run["errors"]:
        raise BenchFailure(f"{run['errors']} failed calls, the first: {run['first_error']}")
    if run["outcomes"]["hit"] != run["calls"]:
        raise BenchFailure(f"expected only cache hits, got {run['outcomes']}")
    return run


@contextlib.contextmanager
def echo_server(workdir):
    """grpc-echo on a socket in `workdir`; yields its address."""
    socket_path = pathlib.Path(workdir) / "echo.sock"
    server = subprocess.Popen([tool_binary("grpc-echo", "SEJITS_ECHO_BIN"), f"--listen=unix:{socket_path}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if "listening" not in server.stdout.readline():
            raise BenchFailure(f"grpc-echo did not start: {server.stderr.read()[-500:]}")
        yield f"unix:{socket_path}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _median_run(runs):
    """The run with the median rate stands for all (the machine is shared)."""
    return sorted(runs, key=lambda run: run["calls_per_s"])[len(runs) // 2]


def run_daemon_throughput(settings):
    from sejits import _config, _daemon

    result = Result("D1", "sejits")
    try:
        binary = load_binary()
        request = _request()
        _daemon.call("Specialize", request)  # compile once; every timed call is a hit
        address = _config.daemon_address()
        full = settings.elements >= FULL_ELEMENTS
        seconds = 10.0 if full else 3.0
        runs = []
        with tempfile.TemporaryDirectory(prefix="sejits-d1-") as workdir:
            request_file = pathlib.Path(workdir) / "request.pb"
            request_file.write_bytes(request.SerializeToString())
            ceiling_runs = []
            with echo_server(workdir) as echo_address:
                for repeat in range(settings.repeats_or(5 if full else 3)):
                    progress("D1", "sejits", f"repeat {repeat + 1}: {CLIENTS} client processes for {seconds:.0f} s")
                    runs.append(_run_load(binary, address, request_file, seconds))
                    progress("D1", "grpc-echo", f"repeat {repeat + 1}: the same load against a fixed reply")
                    ceiling_runs.append(_run_load(binary, echo_address, request_file, seconds))
        median = _median_run(runs)
        ceiling = _median_run(ceiling_runs)
        best = max(runs, key=lambda run: run["calls_per_s"])
        result.samples = [run["p50_ms"] / 1e3 for run in runs]
        result.limit_s = statistics.median(run["p50_ms"] / 1e3 for run in ceiling_runs)
        result.extra = {
            "calls_per_s": median["calls_per_s"],
            "p50_ms": median["p50_ms"],
            "p99_ms": median["p99_ms"],
            "clients": CLIENTS,
            "calls": median["calls"],
            "seconds": median["seconds"],
            "best_calls_per_s": best["calls_per_s"],
            "best_p99_ms": min(run["p99_ms"] for run in runs),
            "median_p99_ms": statistics.median(run["p99_ms"] for run in runs),
            "meets_target": median["calls_per_s"] >= TARGET_CALLS_PER_S and median["p99_ms"] < TARGET_P99_MS,
            "ceiling_calls_per_s": ceiling["calls_per_s"],
            "ceiling_p99_ms": ceiling["p99_ms"],
            "of_ceiling": round(median["calls_per_s"] / ceiling["calls_per_s"], 3),
            "transport": address.split(":", 1)[0],
        }
        progress("D1", f"{median['calls_per_s']:.0f} calls/s, p50 {median['p50_ms']:.3f} ms, "
                       f"p99 {median['p99_ms']:.3f} ms (best run {best['calls_per_s']:.0f} calls/s; target "
                       f">= {TARGET_CALLS_PER_S} calls/s, p99 < {TARGET_P99_MS} ms); grpc-echo "
                       f"{ceiling['calls_per_s']:.0f} calls/s, p99 {ceiling['p99_ms']:.3f} ms")
    except Exception as exc:  # noqa: BLE001 - a failed case is reported, never raised
        result.error = describe(exc)
    return [result]
