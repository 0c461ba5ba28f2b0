"""Fixtures of the cluster suites: a central sejitsd on TCP that requires a
bearer token, and the environment of workers that have no C compiler and
no daemon of their own."""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cluster_checks import COMPILERS

REPO = Path(__file__).resolve().parents[2]
# Besides Python, a Spark executor runs the JVM and its launcher scripts
# (bash through /usr/bin/env, dirname), and the JVM calls getconf PAGESIZE,
# setsid (probing for process groups) and rm (cleaning its temporary dirs).
WORKER_TOOLS = ("java", "bash", "dirname", "getconf", "setsid", "rm")


def daemon_binary():
    return os.environ.get("SEJITS_DAEMON_BIN") or str(REPO / "build" / "server" / "sejitsd")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CentralDaemon:
    """sejitsd on a loopback TCP port with a token, no Unix socket."""

    def __init__(self, root):
        self.root = Path(root)
        self.cache = self.root / "daemon-cache"
        self.log = self.root / "sejitsd.log"
        self.token = secrets.token_hex(16)
        self.target = f"127.0.0.1:{free_port()}"
        self.address = f"tcp://{self.target}"
        self.process = None

    def start(self):
        token_file = self.root / "token"
        token_file.write_text(self.token + "\n")
        token_file.chmod(0o600)
        command = [daemon_binary(), "--listen_unix=none", f"--listen_tcp={self.target}", f"--token_file={token_file}",
                   f"--cache_dir={self.cache}", f"--log_file={self.log}"]
        with open(self.root / "stderr", "w") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline, last_error = time.monotonic() + 20, None
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                self.stats()
                return self
            except Exception as error:  # noqa: BLE001 - not answering yet
                last_error = error
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sejitsd did not answer at {self.address} (exit status {self.process.returncode}, "
                           f"last error {last_error}); stderr: {(self.root / 'stderr').read_text()}")

    def stats(self):
        """The GetStats reply, asked with the token as the workers send it."""
        import grpc

        from sejits.v1 import specializer_pb2, specializer_pb2_grpc

        with grpc.insecure_channel(self.target) as channel:
            stub = specializer_pb2_grpc.SpecializerStub(channel)
            return stub.GetStats(specializer_pb2.GetStatsRequest(), timeout=2,
                                 metadata=[("authorization", f"Bearer {self.token}")])

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture(scope="session")
def compilerless_bin(tmp_path_factory):
    """A directory to be a worker's whole PATH: Python and WORKER_TOOLS, no compiler."""
    bin_dir = tmp_path_factory.mktemp("worker-bin")
    for name in ("python3", "python"):
        # A script, not a symlink: a virtual environment's python is found through its own path.
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        script.chmod(0o755)
    for tool in WORKER_TOOLS:
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    assert not any(shutil.which(name, path=str(bin_dir)) for name in COMPILERS)
    return bin_dir


@pytest.fixture(scope="module")
def central_daemon(tmp_path_factory):
    """One per test module, so that its counters count that module's kernels."""
    daemon = CentralDaemon(tmp_path_factory.mktemp("central")).start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def worker_env(central_daemon, compilerless_bin, tmp_path_factory):
    """The whole sejits setup of a worker: the central daemon over TCP with its
    token, no daemon of its own, errors instead of NumPy fallbacks."""
    return {"SEJITS_DAEMON": central_daemon.address, "SEJITS_TOKEN": central_daemon.token,
            "SEJITS_AUTOSTART": "0", "SEJITS_CACHE_DIR": str(tmp_path_factory.mktemp("worker-cache")),
            "SEJITS_FALLBACK": "error", "SEJITS_TUNING": "off", "PATH": str(compilerless_bin)}
