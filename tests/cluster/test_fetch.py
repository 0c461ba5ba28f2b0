"""Artifact transfer over RPC against a fake daemon written with grpcio: a
corrupted or interrupted FetchArtifact stream leaves nothing behind in the
client's directory, a fetched digest is a local hit afterwards (in this
process and in a new one), and a node daemon (--upstream) neither stores
nor caches an artifact that does not match its digest."""

import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import pytest

import sejits
from sejits import _artifacts, _config
from sejits.v1 import specializer_pb2 as pb
from sejits.v1 import specializer_pb2_grpc

from .conftest import CentralDaemon, daemon_binary

CHUNK_BYTES = 4096  # several chunks per artifact, so that a stream can break in the middle
SETTINGS = ("daemon", "token", "autostart", "fallback", "tuning")


def blend(a, b):
    """The kernel; called undecorated, it is also NumPy's reference."""
    return 2.0 * a + b * b


BLEND_SCRIPT = textwrap.dedent("""
    import sys

    import numpy as np

    import sejits
    from sejits import _artifacts


    def blend(a, b):
        return 2.0 * a + b * b


    print(_artifacts._fetch(sys.argv[1]))
    a, b = np.linspace(0, 1, 100), np.linspace(1, 2, 100)
    np.testing.assert_allclose(sejits.elementwise(blend)(a, b), 2.0 * a + b * b, rtol=1e-14)
    print("results ok")
""")


def inputs():
    return np.linspace(-1.0, 1.0, 1000), np.linspace(0.5, 3.0, 1000)


@pytest.fixture(scope="module")
def real_artifact(tmp_path_factory):
    """blend(float64[:], float64[:]) compiled by a real sejitsd: its
    SpecializeResponse and the artifact's bytes, fetched over RPC."""
    central = CentralDaemon(tmp_path_factory.mktemp("real")).start()
    try:
        kernel = sejits.elementwise(blend)
        request = kernel._build_request(inputs(), kernel._capture())
        metadata = [("authorization", f"Bearer {central.token}")]
        with grpc.insecure_channel(central.target) as channel:
            stub = specializer_pb2_grpc.SpecializerStub(channel)
            response = stub.Specialize(request, timeout=120, metadata=metadata)
            blob = b"".join(chunk.data for chunk in stub.FetchArtifact(
                pb.FetchArtifactRequest(digest=response.artifact_digest), timeout=30, metadata=metadata))
    finally:
        central.stop()
    assert hashlib.sha256(blob).hexdigest() == response.artifact_digest
    assert len(blob) > 2 * CHUNK_BYTES
    return response, blob


class FakeDaemon(specializer_pb2_grpc.SpecializerServicer):
    """Answers every Specialize with the real response and streams the
    artifact's bytes as `mode` says: "good", "corrupt" (one byte flipped)
    or "interrupt" (one chunk, then UNAVAILABLE). Counts the calls."""

    def __init__(self, response, blob):
        self.response = response
        self.blob = blob
        self.mode = "good"
        self.calls = {"Specialize": 0, "FetchArtifact": 0}
        self._lock = threading.Lock()
        self.server = None
        self.address = None

    def _count(self, method):
        with self._lock:
            self.calls[method] += 1

    def Specialize(self, request, context):
        self._count("Specialize")
        return self.response

    def FetchArtifact(self, request, context):
        self._count("FetchArtifact")
        if request.digest != self.response.artifact_digest:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no artifact {request.digest[:12]}")
        data = self.blob
        if self.mode == "corrupt":
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]
        for start in range(0, len(data), CHUNK_BYTES):
            yield pb.ArtifactChunk(data=data[start:start + CHUNK_BYTES], total_bytes=len(data))
            if self.mode == "interrupt":
                context.abort(grpc.StatusCode.UNAVAILABLE, "the fake daemon broke the stream")

    def GetStats(self, request, context):
        return pb.Stats(version="fake")

    def start(self):
        self.server = grpc.server(ThreadPoolExecutor(max_workers=8))
        specializer_pb2_grpc.add_SpecializerServicer_to_server(self, self.server)
        health = grpc.unary_unary_rpc_method_handler(lambda request, context: b"\x08\x01")  # SERVING, as raw bytes
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": health}),))
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.address = f"tcp://127.0.0.1:{port}"
        return self

    def stop(self):
        self.server.stop(grace=None)


@pytest.fixture
def fake(real_artifact):
    server = FakeDaemon(*real_artifact).start()
    yield server
    server.stop()


@pytest.fixture
def client_cache(tmp_path, monkeypatch):
    """This process's sejits settings for one test, restored afterwards, and
    an empty client cache directory."""
    saved = {name: getattr(_config.settings, name) for name in SETTINGS}
    cache = tmp_path / "client-cache"
    monkeypatch.setenv("SEJITS_CACHE_DIR", str(cache))
    yield cache
    sejits.config(**saved)


def use_daemon(address):
    sejits.config(daemon=address, token="", autostart=False, fallback="error", tuning="off")


def files_under(directory):
    return sorted(str(p.relative_to(directory)) for p in Path(directory).rglob("*") if p.is_file())


def test_corrupted_artifact_is_refused_and_leaves_nothing(fake, client_cache):
    fake.mode = "corrupt"
    use_daemon(fake.address)
    digest = fake.response.artifact_digest
    with pytest.raises(sejits.SpecializationError, match=r"digest mismatch") as raised:
        sejits.elementwise(blend)(*inputs())
    assert digest[:12] in str(raised.value)
    assert fake.calls["FetchArtifact"] == 1
    assert files_under(client_cache / "artifacts") == []


def test_interrupted_stream_leaves_nothing_and_is_not_remembered(fake, client_cache):
    fake.mode = "interrupt"
    use_daemon(fake.address)
    kernel = sejits.elementwise(blend)
    with pytest.raises(sejits.SpecializationError, match="UNAVAILABLE"):
        kernel(*inputs())
    assert fake.calls["FetchArtifact"] == 1
    assert files_under(client_cache / "artifacts") == []
    # A broken transfer is not final: the next call fetches again.
    fake.mode = "good"
    np.testing.assert_allclose(kernel(*inputs()), blend(*inputs()), rtol=1e-14)
    assert fake.calls["FetchArtifact"] == 2
    digest = fake.response.artifact_digest
    assert files_under(client_cache / "artifacts") == [f"{digest[:2]}/{digest[2:]}.so"]


def test_fetched_digest_is_a_local_hit_in_this_process_and_the_next(fake, client_cache, tmp_path):
    use_daemon(fake.address)
    digest = fake.response.artifact_digest
    path = _artifacts._fetch(digest)
    assert path == str(client_cache / "artifacts" / digest[:2] / f"{digest[2:]}.so")
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest
    assert fake.calls["FetchArtifact"] == 1
    assert _artifacts._fetch(digest) == path
    np.testing.assert_allclose(sejits.elementwise(blend)(*inputs()), blend(*inputs()), rtol=1e-14)
    assert fake.calls == {"Specialize": 1, "FetchArtifact": 1}

    script = tmp_path / "fetch_again.py"
    script.write_text(BLEND_SCRIPT)
    env = dict(os.environ, SEJITS_DAEMON=fake.address, SEJITS_CACHE_DIR=str(client_cache), SEJITS_AUTOSTART="0",
               SEJITS_FALLBACK="error", SEJITS_TUNING="off")
    env.pop("SEJITS_TOKEN", None)
    child = subprocess.run([sys.executable, str(script), digest], env=env, capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert child.stdout.splitlines() == [path, "results ok"]
    assert fake.calls["FetchArtifact"] == 1


class NodeDaemon:
    """sejitsd on a Unix socket with no compiler: every miss goes to `upstream`."""

    def __init__(self, root, upstream):
        self.root = Path(root)
        self.socket = self.root / "node.sock"
        self.cache = self.root / "node-cache"
        command = [daemon_binary(), f"--listen_unix={self.socket}", f"--cache_dir={self.cache}",
                   f"--log_file={self.root / 'node.log'}", "--compiler=none", f"--upstream={upstream}"]
        with open(self.root / "node.stderr", "w") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 20
        while not self._serving():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the node sejitsd did not start: {(self.root / 'node.stderr').read_text()}")
            time.sleep(0.05)

    def _serving(self):
        if not self.socket.exists():
            return False
        with grpc.insecure_channel(f"unix:{self.socket}") as channel:
            try:
                return channel.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=1) == b"\x08\x01"
            except grpc.RpcError:
                return False

    def stats(self):
        with grpc.insecure_channel(f"unix:{self.socket}") as channel:
            return specializer_pb2_grpc.SpecializerStub(channel).GetStats(pb.GetStatsRequest(), timeout=5)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def test_node_daemon_neither_stores_nor_caches_a_corrupted_artifact(fake, client_cache, tmp_path):
    fake.mode = "corrupt"
    node = NodeDaemon(tmp_path, fake.address)
    try:
        use_daemon(f"unix:{node.socket}")
        kernel = sejits.elementwise(blend)
        with pytest.raises(sejits.SpecializationError, match=r"DATA_LOSS.*does not match its digest"):
            kernel(*inputs())
        stats = node.stats()
        # Nothing was stored: no index entry, no blob.
        assert (stats.upstream_requests, stats.upstream_failures) == (1, 1)
        assert (stats.cache_entries, stats.cache_bytes) == (0, 0)
        assert fake.calls == {"Specialize": 1, "FetchArtifact": 1}

        fake.mode = "good"
        np.testing.assert_allclose(kernel(*inputs()), blend(*inputs()), rtol=1e-14)
        stats = node.stats()
        assert (stats.upstream_requests, stats.upstream_failures, stats.cache_entries) == (2, 1, 1)
        assert fake.calls == {"Specialize": 2, "FetchArtifact": 2}
    finally:
        node.stop()
