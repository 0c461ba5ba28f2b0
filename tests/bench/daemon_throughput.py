"""D1: the daemon under cached Specialize calls from 16 concurrent clients,
each on its own gRPC channel: calls per second, and latency p50/p99."""

import threading
import time

import numpy as np

from measure import BenchFailure, Result, describe, progress

CLIENTS = 16
FULL_ELEMENTS = 2**24  # --size full, as the element-wise cases see it


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


def _client(address, request, deadline, latencies, errors):
    import grpc

    from sejits.v1 import specializer_pb2_grpc

    target = address[len("tcp://"):] if address.startswith("tcp://") else address
    with grpc.insecure_channel(target) as channel:
        stub = specializer_pb2_grpc.SpecializerStub(channel)
        mine = []
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                reply = stub.Specialize(request, timeout=30)
                mine.append(time.perf_counter() - start)
                if reply.outcome != 1:  # HIT: the kernel is cached
                    raise BenchFailure(f"expected a cache hit, got outcome {reply.outcome}")
        except Exception as exc:  # noqa: BLE001 - reported in the result
            errors.append(describe(exc))
        latencies.extend(mine)


def run_daemon_throughput(settings):
    from sejits import _config, _daemon

    result = Result("D1", "sejits")
    try:
        request = _request()
        _daemon.call("Specialize", request)  # compile once; every timed call is a hit
        address = _config.daemon_address()
        seconds = 10.0 if settings.elements >= FULL_ELEMENTS else 2.0
        progress("D1", "sejits", f"{CLIENTS} clients for {seconds:.0f} s")
        latencies, errors = [], []
        deadline = time.perf_counter() + seconds
        threads = [threading.Thread(target=_client, args=(address, request, deadline, latencies, errors))
                   for _ in range(CLIENTS)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        if errors:
            raise BenchFailure(errors[0])
        result.samples = latencies
        result.extra = {"calls_per_s": len(latencies) / elapsed, "p99_s": float(np.percentile(latencies, 99)),
                        "clients": CLIENTS}
        progress("D1", f"{result.extra['calls_per_s']:.0f} calls/s, p50 {1e3 * result.median_s:.2f} ms, "
                       f"p99 {1e3 * result.extra['p99_s']:.2f} ms")
    except Exception as exc:  # noqa: BLE001 - a failed case is reported, never raised
        result.error = describe(exc)
    return [result]
