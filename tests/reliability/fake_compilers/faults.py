"""Shared by the fault tests of tests/reliability: a sejitsd whose compiler is
gxx_faults.sh (g++, or a fault on request) and whose environment the test
chooses, raw Specialize calls, results checked against NumPy through the
Python client, and a reader of the artifact store's files.

Every daemon here runs the same compiler path, so that the request keys of
one daemon are the keys of the next one on the same cache (the compiler's
path is part of the key)."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/: the shared Daemon helper
from conftest import Daemon  # noqa: E402

_compiler = None
_seeded = None


def fault_compiler(tmp_path_factory):
    """gxx_faults.sh, copied once per session to a path of its own (executable)."""
    global _compiler
    if _compiler is None:
        target = tmp_path_factory.getbasetemp() / "reliability-compiler" / "gxx-faults"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(HERE / "gxx_faults.sh", target)
        target.chmod(0o755)
        _compiler = target
    return _compiler


class FaultDaemon(Daemon):
    """A sejitsd on its own socket and log (`root`), with the cache `cache`
    (default root/cache), gxx_faults.sh as its compiler, 2 compile jobs, and
    the fake compiler's state directory `state`."""

    def __init__(self, root, compiler, cache=None):
        super().__init__(root)
        if cache is not None:
            self.cache = Path(cache)
        self.compiler = compiler
        self.state = self.root / "fake-state"
        self.state.mkdir(exist_ok=True)

    def command(self, *extra):
        return super().command(f"--compiler={self.compiler}", "--compile_jobs=2", *extra)

    def start(self, *extra, env=None, preexec_fn=None):
        environment = dict(os.environ, SEJITS_FAKE_STATE=str(self.state), **(env or {}))
        with open(self.root / "stderr", "a") as stderr:
            self.process = subprocess.Popen(self.command(*extra), env=environment, preexec_fn=preexec_fn,
                                            stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.healthy():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"sejitsd exited with {self.process.returncode}: {self.log_text()[-3000:]}")
            time.sleep(0.05)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"sejitsd did not become healthy; log: {self.log_text()[-3000:]}")

    def kill9(self):
        self.process.kill()
        return self.process.wait(timeout=20)

    def stub(self):
        import grpc

        from sejits.v1 import specializer_pb2_grpc

        channel = grpc.insecure_channel(f"unix:{self.socket}")
        return channel, specializer_pb2_grpc.SpecializerStub(channel)

    def hung_pid(self, timeout_s=30):
        """The pid of the fake compiler that hangs, once it does."""
        path = self.state / "hung.pid"
        wait_for(path.exists, "the fake compiler to hang", timeout_s)
        return int(path.read_text())


def wait_for(condition, what, timeout_s=20):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def alive(pid):
    """Whether process `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# ---- requests -------------------------------------------------------------

def arrays_for(nargs, n=37):
    return tuple(np.linspace(-2.0, 3.0, n) + index for index in range(nargs))


def request_for(fn, nargs):
    """The Specialize request the Python client sends for fn on float64 vectors (tuning off)."""
    import sejits

    kernel = sejits.elementwise(fn)
    return kernel._build_request(arrays_for(nargs), kernel._capture())


def specialize(daemon, fn, nargs, timeout=60):
    """A raw Specialize of fn; raises grpc.RpcError when the daemon refuses."""
    channel, stub = daemon.stub()
    with channel:
        return stub.Specialize(request_for(fn, nargs), timeout=timeout)


class Background:
    """specialize() on a thread: .result() is the reply or the RpcError."""

    def __init__(self, daemon, fn, nargs, timeout=60):
        self.outcome = None
        self.finished_at = None

        def run():
            try:
                self.outcome = specialize(daemon, fn, nargs, timeout)
            except Exception as error:  # noqa: BLE001 - handed to the test
                self.outcome = error
            self.finished_at = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self, timeout_s=60):
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the request did not finish"
        return self.outcome


@contextmanager
def client_of(daemon):
    """The in-process Python client pointed at `daemon`, errors raised (no NumPy fallback)."""
    import sejits
    from sejits import _config

    saved = (_config.settings.daemon, _config.settings.autostart, _config.settings.fallback)
    sejits.config(daemon=daemon.address, autostart=False, fallback="error")
    try:
        yield
    finally:
        sejits.config(daemon=saved[0], autostart=saved[1], fallback=saved[2])


def check_results(daemon, fn, nargs, reference):
    """Runs fn through the client on `daemon` and compares with NumPy; returns the client's kernel info."""
    import sejits

    arrays = arrays_for(nargs)
    with client_of(daemon):
        kernel = sejits.elementwise(fn)
        np.testing.assert_array_equal(kernel(*arrays), reference(*arrays))
    return next(iter(kernel._kernels.values())).info


def outcome_name(reply):
    from sejits.v1 import specializer_pb2 as pb

    return pb.CacheOutcome.Name(reply.outcome)


# ---- seed kernels: a cache with entries that must survive every fault --------

def seed_triple(v):
    return v * 3.0 + 0.5


def seed_product(u, v):
    return u * v - 2.25


SEEDS = [(seed_triple, 1, lambda v: v * 3.0 + 0.5), (seed_product, 2, lambda u, v: u * v - 2.25)]


def seeded_cache(tmp_path_factory, destination):
    """A copy at `destination` of a cache that holds the SEEDS, compiled once per session."""
    global _seeded
    if _seeded is None:
        root = tmp_path_factory.mktemp("reliability-seed")
        seeder = FaultDaemon(root, fault_compiler(tmp_path_factory)).start()
        try:
            for fn, nargs, _ in SEEDS:
                assert outcome_name(specialize(seeder, fn, nargs)) == "COMPILED"
        finally:
            assert seeder.stop() == 0
        _seeded = seeder.cache
    # Without the precompiled header (20 MB, codegen/precompiled_header.h): the
    # copies go to small file systems, where a daemon builds none.
    shutil.copytree(_seeded, destination, symlinks=True, ignore=shutil.ignore_patterns("*.gch"))
    return Path(destination)


def assert_seeds_served(daemon):
    """Every seed is a HIT on `daemon` and computes what NumPy computes."""
    for fn, nargs, reference in SEEDS:
        assert outcome_name(specialize(daemon, fn, nargs)) == "HIT", fn.__name__
        check_results(daemon, fn, nargs, reference)


# ---- the store's files -------------------------------------------------------

def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_digest(text):
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def store_files(cache):
    """What the artifact store holds on disk: intact blobs by digest, blobs
    whose content does not match their name, readable index entries (key ->
    digest), unreadable ones, temporaries (.tmp.*) and build directories."""
    store = Path(cache) / "store"
    found = {"blobs": {}, "bad_blobs": [], "entries": {}, "bad_entries": [], "temporaries": [], "work_dirs": []}
    for path in sorted((store / "blobs").rglob("*")):
        if not path.is_file():
            continue
        if path.name.startswith(".tmp."):
            found["temporaries"].append(path)
            continue
        digest = path.parent.name + path.name.removesuffix(".so")
        if sha256(path) == digest:
            found["blobs"][digest] = path
        else:
            found["bad_blobs"].append(path)
    for path in sorted((store / "index").rglob("*")):
        if not path.is_file():
            continue
        if path.name.startswith(".tmp."):
            found["temporaries"].append(path)
            continue
        lines = path.read_bytes().decode(errors="replace").split("\n")
        if is_digest(lines[0]) and any(line.startswith("interface=entry ") for line in lines[1:]):
            found["entries"][path.parent.name + path.name] = lines[0]
        else:
            found["bad_entries"].append(path)
    if (store / "tmp").is_dir():
        found["work_dirs"] = sorted((store / "tmp").iterdir())
    return found


def assert_store_intact(cache, allow_temporaries=False, allow_evicted=False):
    """Nothing half-written is published: every blob matches its digest,
    every index entry is complete and names a blob that is there (unless
    evicted), no build is left in store/tmp (a daemon empties it at start)."""
    found = store_files(cache)
    assert found["bad_blobs"] == [] and found["bad_entries"] == [], found
    assert found["work_dirs"] == [], found["work_dirs"]
    missing = {key: digest for key, digest in found["entries"].items() if digest not in found["blobs"]}
    assert allow_evicted or missing == {}, f"index entries naming no blob: {missing}"
    if not allow_temporaries:
        assert found["temporaries"] == [], found["temporaries"]
    return found
