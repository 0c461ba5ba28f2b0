"""Shared pytest fixtures: every Python test talks to a sejitsd of its own,
with a private socket and caches, started once per session; the differential
suites run on every target (`target`)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def daemon_binary():
    explicit = os.environ.get("SEJITS_DAEMON_BIN")
    if explicit:
        return explicit
    built = REPO / "build" / "server" / "sejitsd"
    if built.exists():
        return str(built)
    found = shutil.which("sejitsd")
    if found:
        return found
    pytest.exit("sejitsd not found: build it (./deploy/build.sh) or set SEJITS_DAEMON_BIN", returncode=2)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Daemon:
    """A sejitsd process with a private cache, on a private Unix socket
    (`unix=True`) and/or a loopback TCP port (`tcp=True`) that requires
    `token` if one is given. `address` is the Unix one when there is one."""

    def __init__(self, root, unix=True, tcp=False, token=None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket = self.root / "sejitsd.sock" if unix else None
        self.tcp_target = f"127.0.0.1:{free_port()}" if tcp else None
        self.token = token
        self.cache = self.root / "cache"
        self.log = self.root / "sejitsd.log"
        self.address = f"unix:{self.socket}" if unix else f"tcp://{self.tcp_target}"
        self.tcp_address = f"tcp://{self.tcp_target}" if tcp else None
        self.process = None

    def command(self, *extra):
        command = [daemon_binary(), f"--listen_unix={self.socket}" if self.socket else "--listen_unix=none",
                   f"--cache_dir={self.cache}", f"--log_file={self.log}", "--log_level=debug"]
        if self.tcp_target:
            command.append(f"--listen_tcp={self.tcp_target}")
        if self.token:
            token_file = self.root / "token"
            token_file.write_text(self.token + "\n")
            token_file.chmod(0o600)
            command.append(f"--token_file={token_file}")
        return command + list(extra)

    def start(self, *extra):
        # stderr repeats the log: a file, never a pipe nobody reads (it would fill and block the daemon).
        with open(self.root / "stderr", "w") as stderr:
            self.process = subprocess.Popen(self.command(*extra), stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.healthy():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"sejitsd exited with {self.process.returncode}: {(self.root / 'stderr').read_text()}")
            time.sleep(0.05)
        raise RuntimeError(f"sejitsd did not become healthy; log: {self.log_text()}")

    def _channel(self):
        import grpc

        return grpc.insecure_channel(f"unix:{self.socket}" if self.socket else self.tcp_target)

    def healthy(self):
        import grpc

        if self.socket and not self.socket.exists():
            return False
        with self._channel() as channel:
            try:
                return channel.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=1) == b"\x08\x01"
            except grpc.RpcError:
                return False

    def stats(self):
        """The daemon's GetStats reply (a sejits.v1.Stats message)."""
        from sejits.v1 import specializer_pb2, specializer_pb2_grpc

        metadata = [("authorization", f"Bearer {self.token}")] if self.token else []
        with self._channel() as channel:
            stub = specializer_pb2_grpc.SpecializerStub(channel)
            return stub.GetStats(specializer_pb2.GetStatsRequest(), timeout=5, metadata=metadata)

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)
        return self.process.returncode if self.process else None

    def log_text(self):
        return self.log.read_text() if self.log.exists() else "(no log)"


@pytest.fixture(scope="session")
def daemon(tmp_path_factory):
    root = tmp_path_factory.mktemp("sejitsd")
    os.environ["SEJITS_CACHE_DIR"] = str(root / "client-cache")
    os.environ["SEJITS_DAEMON"] = f"unix:{root / 'sejitsd.sock'}"
    os.environ["SEJITS_AUTOSTART"] = "0"
    # The differential suites run the default variants; tests/e2e/test_tuning_e2e.py tunes.
    os.environ["SEJITS_TUNING"] = "off"
    os.environ["SEJITS_DAEMON_BIN"] = daemon_binary()
    # --enable_test_specializers: the test-only library kernel test_column_stats
    # (tests/python/test_library_kernel_protocol.py); nothing else changes.
    instance = Daemon(root).start("--enable_test_specializers")
    import sejits

    sejits.config(daemon=instance.address, fallback="error", autostart=False, tuning="off")
    yield instance
    instance.stop()


@pytest.fixture(autouse=True)
def restored_settings():
    """Whatever a test sets with sejits.config (fallback, tuning, target...)
    ends with it: the next test on this worker starts from the settings the
    session's (and its module's) fixtures made, in whatever order the tests run."""
    from sejits import _config

    before = dict(vars(_config.settings))
    yield
    changed = {name: value for name, value in before.items() if getattr(_config.settings, name) != value}
    if changed:
        _config.config(**changed)


@pytest.fixture
def tuning_daemon(tmp_path, daemon):
    """A daemon with a tuning database (and a client cache) of its own;
    online tuning in this process. The settings are put back by restored_settings."""
    instance = Daemon(tmp_path / "tuning").start()
    saved_cache = os.environ.get("SEJITS_CACHE_DIR")
    os.environ["SEJITS_CACHE_DIR"] = str(tmp_path / "client-cache")
    import sejits

    sejits.config(daemon=instance.address, tuning="online", tuning_budget=None)
    yield instance
    instance.stop(signal.SIGKILL)
    os.environ["SEJITS_CACHE_DIR"] = saved_cache


@pytest.fixture
def python_env(daemon):
    """Environment for a child Python process that uses the session daemon."""
    env = dict(os.environ)
    env["SEJITS_DAEMON"] = daemon.address
    env["SEJITS_FALLBACK"] = "error"
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


TARGETS = ["cpu", "opencl"]
# PoCL's pthread device, which CI installs (deploy/install_deps.sh);
# SEJITS_TEST_OPENCL_DEVICE=gpu runs the OpenCL cases on a GPU (deploy/gpu/opencl_tests.py).
OPENCL_DEVICE = os.environ.get("SEJITS_TEST_OPENCL_DEVICE", "cpu")


def _chooses_its_targets(item):
    for marker in item.iter_markers("parametrize"):
        names = marker.args[0]
        if "target" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return True
    return False


def pytest_collection_modifyitems(config, items):
    """A module with OPENCL_ONLY_WHERE_SAMPLED runs on OpenCL only the cases
    it samples for it (on_targets); its other tests run on the CPU."""
    kept = [item for item in items
            if not (getattr(getattr(item, "module", None), "OPENCL_ONLY_WHERE_SAMPLED", False)
                    and getattr(item, "callspec", None) is not None and item.callspec.params.get("target") == "opencl"
                    and not _chooses_its_targets(item))]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(scope="session")
def opencl_device():
    """The DeviceInfo the OpenCL runs use; where there is none, the test is skipped saying why."""
    from sejits import opencl

    try:
        return opencl.select_device(OPENCL_DEVICE)
    except opencl.OpenCLUnavailable as error:
        pytest.skip(f"no OpenCL {OPENCL_DEVICE} device here ({error}); install pocl-opencl-icd to run on it")


@pytest.fixture(params=TARGETS)
def target(request, daemon):
    """"cpu" or "opencl": where the test's kernels run. On "opencl" the calls
    stay NumPy in, NumPy out (sejits.target("opencl")): host arrays are copied
    to the device and the results back."""
    if request.param == "cpu":
        yield "cpu"
        return
    request.getfixturevalue("opencl_device")
    import sejits

    with sejits.target("opencl", device=OPENCL_DEVICE):
        yield "opencl"
