"""Shared pytest fixtures: every Python test talks to a sejitsd of its own,
with a private socket and caches, started once per session; the differential
suites run on every target (`target`)."""

import os
import shutil
import signal
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


class Daemon:
    """A sejitsd process on a private Unix socket and cache."""

    def __init__(self, root):
        self.root = Path(root)
        self.socket = self.root / "sejitsd.sock"
        self.cache = self.root / "cache"
        self.log = self.root / "sejitsd.log"
        self.address = f"unix:{self.socket}"
        self.process = None

    def start(self, *extra):
        command = [daemon_binary(), f"--listen_unix={self.socket}", f"--cache_dir={self.cache}",
                   f"--log_file={self.log}", "--log_level=debug", *extra]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.socket.exists() and self.healthy():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"sejitsd exited with {self.process.returncode}; log: {self.log_text()}")
            time.sleep(0.05)
        raise RuntimeError(f"sejitsd did not become healthy; log: {self.log_text()}")

    def healthy(self):
        import grpc

        channel = grpc.insecure_channel(self.address)
        try:
            reply = channel.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=1)
            return reply == b"\x08\x01"
        except grpc.RpcError:
            return False
        finally:
            channel.close()

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
    instance = Daemon(root).start()
    import sejits

    sejits.config(daemon=instance.address, fallback="error", autostart=False, tuning="off")
    yield instance
    instance.stop()


@pytest.fixture
def python_env(daemon):
    """Environment for a child Python process that uses the session daemon."""
    env = dict(os.environ)
    env["SEJITS_DAEMON"] = daemon.address
    env["SEJITS_FALLBACK"] = "error"
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


TARGETS = ["cpu", "opencl"]
OPENCL_DEVICE = "cpu"  # PoCL's pthread device, which CI installs (deploy/install_deps.sh)


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
