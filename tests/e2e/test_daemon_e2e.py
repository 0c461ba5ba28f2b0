"""End to end: several processes sharing one daemon, a daemon that dies
under a client, malformed requests from a raw gRPC client."""

import os
import signal
import subprocess
import sys
import textwrap

import grpc
import numpy as np
import pytest

import sejits
from sejits import _config, _daemon
from sejits.v1 import ast_pb2, specializer_pb2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import Daemon, daemon_binary  # noqa: E402

CHILD = textwrap.dedent("""
    import sys, numpy as np, sejits
    kernel = sejits.elementwise(lambda a, b: a * b - 11.5)
    a = np.arange(6.0)
    assert np.array_equal(kernel(a, a), a * a - 11.5)
    print(sejits.stats()["compiles"])
""")


def run_child(env, client_cache):
    env = dict(env, SEJITS_CACHE_DIR=str(client_cache))
    script = client_cache.parent / "child.py"  # kernels need a source file to be captured from
    script.write_text(CHILD)
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def test_a_second_process_hits_the_cache_without_compiling(daemon, python_env, tmp_path):
    compiles_after_first = run_child(python_env, tmp_path / "first")
    before = sejits.stats()
    compiles_after_second = run_child(python_env, tmp_path / "second")  # no client-side memory: an RPC
    after = sejits.stats()
    assert compiles_after_second == compiles_after_first
    assert after["cache_hits"] >= before["cache_hits"] + 1
    # Same client cache as the first process: the handle is remembered, no Specialize RPC at all.
    run_child(python_env, tmp_path / "first")
    assert sejits.stats()["requests"] == after["requests"]


@pytest.fixture
def private_daemon(tmp_path, daemon):
    """A daemon of this test's own, restored to the session daemon afterwards."""
    instance = Daemon(tmp_path / "private").start()
    saved = (_config.settings.daemon, _config.settings.autostart, _config.settings.fallback)
    os.environ["SEJITS_DAEMON_ARGS"] = f"--cache_dir={instance.cache}"
    sejits.config(daemon=instance.address)
    yield instance
    instance.stop(signal.SIGKILL)
    del os.environ["SEJITS_DAEMON_ARGS"]
    sejits.config(daemon=saved[0], autostart=saved[1], fallback=saved[2])


def test_killed_daemon_is_restarted_by_the_client(private_daemon):
    kernel = sejits.elementwise(lambda v: v + 0.25)
    np.testing.assert_array_equal(kernel(np.ones(3)), np.full(3, 1.25))
    private_daemon.stop(signal.SIGKILL)
    sejits.config(autostart=True)
    np.testing.assert_array_equal(kernel(np.ones(3)), np.full(3, 1.25))  # loaded kernels keep working
    np.testing.assert_array_equal(kernel(np.ones(3, dtype=np.float32)), np.full(3, 1.25, dtype=np.float32))
    pid = sejits.stats()["pid"]
    assert pid != private_daemon.process.pid
    os.kill(pid, signal.SIGTERM)


def test_killed_daemon_without_restart_falls_back_with_a_warning(private_daemon):
    kernel = sejits.elementwise(lambda v: v - 0.5)
    kernel(np.ones(2))
    private_daemon.stop(signal.SIGKILL)
    sejits.config(autostart=False, fallback="warn")
    with pytest.warns(sejits.SpecializationWarning, match="no daemon"):
        result = kernel(np.ones(2, dtype=np.int32))
    np.testing.assert_array_equal(result, np.full(2, 0.5))


def raw_call(address, payload):
    channel = grpc.insecure_channel(address)
    try:
        return channel.unary_unary("/sejits.v1.Specializer/Specialize")(payload, timeout=30)
    finally:
        channel.close()


def malformed_requests():
    ast = ast_pb2
    lam = ast.FunctionAst(name="f", args=[ast.Argument(name="x")],
                          body=[ast.Stmt(return_stmt=ast.Return(value=ast.Expr(name=ast.Name(id="x"))))])
    array = specializer_pb2.ArgDescriptor(kind=specializer_pb2.ARRAY, dtype=ast.FLOAT64, rank=1, shape=[3], strides=[8])
    request = specializer_pb2.SpecializeRequest
    return {
        "no specializer": request(function=lam, args=[array]),
        "unknown specializer": request(specializer="fft", function=lam, args=[array]),
        "no function": request(specializer="elementwise", args=[array]),
        "argument count": request(specializer="elementwise", function=lam, args=[array, array]),
        "kind unset": request(specializer="elementwise", function=lam, args=[specializer_pb2.ArgDescriptor(dtype=ast.FLOAT64)]),
        "negative extent": request(specializer="elementwise", function=lam,
                                   args=[specializer_pb2.ArgDescriptor(kind=specializer_pb2.ARRAY, dtype=ast.FLOAT64, rank=1, shape=[-4])]),
        "rank too large": request(specializer="elementwise", function=lam,
                                  args=[specializer_pb2.ArgDescriptor(kind=specializer_pb2.ARRAY, dtype=ast.FLOAT64, rank=99)]),
        "unknown dtype": request(specializer="elementwise", function=lam,
                                 args=[specializer_pb2.ArgDescriptor(kind=specializer_pb2.ARRAY, dtype=77, rank=0)]),
        "empty body": request(specializer="elementwise", function=ast.FunctionAst(name="g"), args=[]),
        "empty expression": request(specializer="elementwise", function=ast.FunctionAst(
            name="h", args=[ast.Argument(name="x")], body=[ast.Stmt(return_stmt=ast.Return(value=ast.Expr()))]), args=[array]),
    }


@pytest.mark.parametrize("name", list(malformed_requests()))
def test_malformed_request_gets_invalid_argument_and_the_daemon_keeps_serving(daemon, name):
    payload = malformed_requests()[name].SerializeToString()
    with pytest.raises(grpc.RpcError) as error:
        raw_call(daemon.address, payload)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    assert daemon.healthy()


def test_undecodable_bytes_are_refused_and_the_daemon_keeps_serving(daemon):
    with pytest.raises(grpc.RpcError) as error:
        raw_call(daemon.address, b"\xff\xff\xff\x01")
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid sejits.v1.SpecializeRequest" in error.value.details()
    assert daemon.healthy()
    assert sejits.elementwise(lambda v: v * 3)(np.ones(2)).tolist() == [3.0, 3.0]


def test_sigterm_shuts_down_cleanly(tmp_path, daemon):
    instance = Daemon(tmp_path / "term").start()
    assert instance.socket.exists()
    assert instance.stop(signal.SIGTERM) == 0
    assert not instance.socket.exists()
    assert "sejitsd stopped" in instance.log_text()


def test_a_second_daemon_on_the_same_socket_refuses_to_start(tmp_path, daemon):
    first = Daemon(tmp_path / "one").start()
    try:
        second = subprocess.run([daemon_binary(), f"--listen_unix={first.socket}", f"--cache_dir={tmp_path / 'c2'}"],
                                capture_output=True, text=True, timeout=30)
        assert second.returncode != 0 and "already serving" in second.stderr
        assert first.healthy()
    finally:
        first.stop()


def test_tcp_without_a_token_listens_on_loopback_only(tmp_path, daemon):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = subprocess.run([daemon_binary(), "--listen_unix=none", f"--listen_tcp=0.0.0.0:{port}",
                              f"--cache_dir={tmp_path / 'c'}"], capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "accepts connections from other machines: give --token_file" in refused.stderr
    process = subprocess.Popen([daemon_binary(), "--listen_unix=none", f"--listen_tcp=127.0.0.1:{port}",
                                f"--cache_dir={tmp_path / 'c'}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=20)
        from sejits.v1 import specializer_pb2_grpc

        stats = specializer_pb2_grpc.SpecializerStub(channel).GetStats(specializer_pb2.GetStatsRequest(), timeout=10)
        assert f"tcp://127.0.0.1:{port}" in stats.listen_addresses
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


def thirteen_minus_one(v):
    return v * 13.0 - 1.0


def test_a_corrupted_artifact_is_detected_removed_and_rebuilt(daemon):
    kernel = sejits.elementwise(thirteen_minus_one)
    kernel(np.ones(4))
    path = next(iter(kernel._kernels.values())).info["artifact_path"]
    before = sejits.stats()
    with open(path, "r+b") as artifact:
        artifact.seek(200)
        byte = artifact.read(1)
        artifact.seek(200)
        artifact.write(bytes([byte[0] ^ 0xFF]))
    fresh = sejits.elementwise(thirteen_minus_one)  # a new dispatcher: the client checks the digest, then asks the daemon
    np.testing.assert_array_equal(fresh(np.ones(4)), np.full(4, 12.0))
    after = sejits.stats()
    assert after["corrupt_artifacts"] == before["corrupt_artifacts"] + 1
    assert after["compiles"] == before["compiles"] + 1
    from sejits import _handle_cache

    assert _handle_cache.file_digest(path) == next(iter(fresh._kernels.values())).info["artifact_digest"]
