"""A private sejitsd with an empty cache, for the first-call cases."""

import contextlib
import os
import pathlib
import shutil
import subprocess
import time

from measure import BenchFailure

REPO = pathlib.Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


def daemon_binary():
    # This checkout's build before one on PATH: an installed sejitsd may be older.
    candidates = [
        os.environ.get("SEJITS_DAEMON_BIN"),
        str(REPO / "build" / "server" / "sejitsd"),
        shutil.which("sejitsd"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BenchFailure("sejitsd not found: set SEJITS_DAEMON_BIN, build build/server/sejitsd or put it on PATH")


def _wait_for_socket(process, socket_path, log_path):
    deadline = time.monotonic() + START_TIMEOUT_S
    while not os.path.exists(socket_path):
        if process.poll() is not None:
            raise BenchFailure(f"sejitsd exited with {process.returncode}: {_tail(log_path)}")
        if time.monotonic() > deadline:
            raise BenchFailure(f"sejitsd did not listen within {START_TIMEOUT_S} s: {_tail(log_path)}")
        time.sleep(0.01)


def _tail(path, chars=500):
    return pathlib.Path(path).read_text(errors="replace")[-chars:].strip()


def _stop(process):
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def fresh_daemon(workdir):
    """Run sejitsd on a socket and an empty cache in `workdir`.

    Yields the environment that points a client at it, with an empty
    client-side cache too.
    """
    workdir = pathlib.Path(workdir)
    socket_path = workdir / "sock"
    log_path = workdir / "sejitsd.log"
    for cache in ("cache", "client-cache"):
        (workdir / cache).mkdir()
    command = [daemon_binary(), f"--listen_unix={socket_path}", f"--cache_dir={workdir / 'cache'}"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_socket(process, socket_path, log_path)
        yield {"SEJITS_DAEMON": f"unix:{socket_path}", "SEJITS_CACHE_DIR": str(workdir / "client-cache")}
    finally:
        _stop(process)
