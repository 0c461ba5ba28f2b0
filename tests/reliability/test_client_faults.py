"""The client when its daemon fails: killed during a compile, restarted
between calls, its socket file removed, a stale socket left by a dead daemon,
a daemon that hangs (SIGSTOP). Each ends in a restarted daemon, the daemon
binding its socket again, or the Python fallback with one warning, within a
bounded time, and every result is NumPy's. The client runs in a child process (a fresh one, as a user's
program would be) that reports each call as a JSON line."""

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sejits import _daemon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import Daemon, daemon_binary  # noqa: E402

COMPILE_S = 4  # the slow compiler's wait: the window in which a test kills or stops the daemon
RETRY_AFTER_S = _daemon._RETRY_AFTER_S  # after an outage, calls fall back at once this long

SLOW_COMPILER = """#!/bin/sh
# A kernel's compile (a *.cc argument) leaves a mark, then waits; the daemon's
# other uses of the compiler (--version) are g++'s at once.
for arg in "$@"; do
  case "$arg" in
    *.cc) touch "{marker}"; sleep {seconds} ;;
  esac
done
exec g++ "$@"
"""

CLIENT = """
import json, sys, time, warnings

import numpy as np

import sejits


def scale(a, b):
    return a * b + 1.5


def shift(a, b):
    return a - b * 0.25


def blend(a, b):
    return (a + b) * 0.5


PLAIN = {"scale": scale, "shift": shift, "blend": blend}
KERNELS = {name: sejits.elementwise(fn) for name, fn in PLAIN.items()}


def specialized(kernel, args):
    found = kernel._kernels.get(kernel._signature(args))
    return found is not None and type(found).__name__ != "Fallback"


def main(plan):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a repeated warning is recorded too
        for step in plan["steps"]:
            while step.get("wait_for") and not __import__("os").path.exists(step["wait_for"]):
                time.sleep(0.02)
            time.sleep(step.get("sleep", 0))
            name, dtype = step["kernel"], np.dtype(step.get("dtype", "float64"))
            args = (np.linspace(-2, 3, 101).astype(dtype), np.linspace(1, 4, 101).astype(dtype))
            start = time.time()
            result = KERNELS[name](*args)
            end = time.time()
            expected = PLAIN[name](*args)  # NumPy's
            assert result.dtype == expected.dtype, (name, result.dtype, expected.dtype)
            np.testing.assert_allclose(result, expected, rtol=1e-6)
            print(json.dumps({"kernel": name, "start": start, "end": end,
                              "specialized": specialized(KERNELS[name], args)}), flush=True)
    pid = None
    if plan.get("report_pid"):
        try:
            pid = sejits.stats()["pid"]
        except Exception as error:
            print(f"no pid: {error}", file=sys.stderr)
    print(json.dumps({"warnings": [str(w.message) for w in caught if issubclass(w.category, sejits.SpecializationWarning)],
                      "pid": pid}), flush=True)


main(json.loads(sys.argv[1]))
"""


def step(kernel, dtype="float64", **options):
    return dict(options, kernel=kernel, dtype=dtype)


class Client:
    """A child process calling kernels as `steps` say; its lines are read as they come."""

    def __init__(self, root, env, steps, report_pid):
        script = root / "client.py"  # kernels need a source file to be captured from
        script.write_text(CLIENT)
        self.stderr_path = root / "client.stderr"
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen([sys.executable, str(script), json.dumps({"steps": steps, "report_pid": report_pid})],
                                            env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def next(self, timeout=60):
        """The next call's report (or the summary at the end)."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.process.kill()
            pytest.fail(f"the client hung for {timeout} s:\n{self.stderr_path.read_text()}")
        if line is None:
            self.process.wait()
            pytest.fail(f"the client failed ({self.process.returncode}):\n{self.stderr_path.read_text()}")
        return line

    def finish(self, timeout=60):
        """The remaining calls' reports and the summary (warnings, daemon pid)."""
        lines = []
        while not lines or "warnings" not in lines[-1]:
            lines.append(self.next(timeout))
        assert self.process.wait(timeout=timeout) == 0, self.stderr_path.read_text()
        return lines[:-1], lines[-1]


class Scene:
    """A private daemon (not started yet), its socket, the client's
    environment, and at the end every daemon of the test killed."""

    def __init__(self, root):
        self.root = root
        self.daemon = Daemon(root / "d")
        self.socket = self.daemon.socket
        self.marker = root / "compiling"
        self.pids = []  # daemons the clients started

    def start_daemon(self, slow=False):
        extra = []
        if slow:
            compiler = self.root / "slow-compiler.sh"
            compiler.write_text(SLOW_COMPILER.format(marker=self.marker, seconds=COMPILE_S))
            compiler.chmod(0o755)
            extra.append(f"--compiler={compiler}")
        return self.daemon.start(*extra)

    def client(self, steps, autostart, report_pid=False):
        env = dict(os.environ)
        env.pop("SEJITS_HEALTH_TIMEOUT_S", None)  # the defaults are what the bounds below are about
        # compile="sync": these faults hit a call that waits for its compile
        # (with "async" the call would run the kernel's NumPy form meanwhile).
        env.update(SEJITS_DAEMON=self.daemon.address, SEJITS_AUTOSTART="1" if autostart else "0",
                   SEJITS_FALLBACK="warn", SEJITS_TUNING="off", SEJITS_COMPILE="sync", SEJITS_CACHE_DIR=str(self.root / "client-cache"),
                   SEJITS_DAEMON_BIN=daemon_binary(), SEJITS_DAEMON_ARGS=f"--cache_dir={self.root / 'restarted-cache'}",
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        return Client(self.root, env, steps, report_pid)

    def wait_for_compile(self, client):
        deadline = time.monotonic() + 60
        while not self.marker.exists():
            assert client.process.poll() is None, f"the client exited: {client.stderr_path.read_text()}"
            assert time.monotonic() < deadline, "the compile did not start"
            time.sleep(0.02)

    def cleanup(self):
        pids = list(self.pids)
        if self.daemon.process and self.daemon.process.poll() is None:
            pids.append(self.daemon.process.pid)
        for pid in pids:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        if self.daemon.process:
            self.daemon.process.wait(timeout=20)
        if self.daemon.healthy():  # one a client started and could not report
            os.kill(self.daemon.stats().pid, signal.SIGKILL)


@pytest.fixture
def scene(tmp_path):
    instance = Scene(tmp_path)
    yield instance
    instance.cleanup()


def assert_one_warning(summary, *phrases):
    assert len(summary["warnings"]) == 1, summary["warnings"]
    for phrase in ("runs as plain Python/NumPy: no daemon", *phrases):
        assert phrase in summary["warnings"][0]


def assert_quick(calls, bound_s):
    """Every call (the one that met the failure and the fallbacks after it) ended within `bound_s`."""
    slowest = max(call["end"] - call["start"] for call in calls)
    assert slowest < bound_s, [round(call["end"] - call["start"], 2) for call in calls]


# ---- 1. killed during a compile ----------------------------------------------


def test_a_daemon_killed_during_a_compile_is_restarted_and_the_call_completes(scene):
    scene.start_daemon(slow=True)
    client = scene.client([step("scale"), step("shift"), step("scale", "float32")], autostart=True, report_pid=True)
    scene.wait_for_compile(client)
    killed_at = time.time()
    scene.daemon.stop(signal.SIGKILL)
    calls, summary = client.finish()
    scene.pids.append(summary["pid"])
    assert all(call["specialized"] for call in calls), calls
    # The socket closed: UNAVAILABLE at once, then a restart and a g++ compile, not the 300 s deadline.
    assert calls[0]["end"] - killed_at < 20
    assert summary["warnings"] == []
    assert summary["pid"] not in (None, scene.daemon.process.pid)


def test_a_daemon_killed_during_a_compile_without_autostart_falls_back_once(scene):
    scene.start_daemon(slow=True)
    steps = [step("scale"), step("scale"), step("shift"), step("blend", "float32"), step("shift", "int32")]
    client = scene.client(steps, autostart=False)
    scene.wait_for_compile(client)
    killed_at = time.time()
    scene.daemon.stop(signal.SIGKILL)
    calls, summary = client.finish()
    assert not any(call["specialized"] for call in calls), calls
    assert calls[0]["end"] - killed_at < 5
    assert_quick(calls[1:], 1)
    assert_one_warning(summary)


# ---- 2. restarted between calls ------------------------------------------------


def test_a_daemon_restarted_between_calls_serves_the_next_calls(scene):
    scene.start_daemon()
    restarted = scene.root / "restarted"
    steps = [step("scale"), step("shift", wait_for=str(restarted)), step("scale", "float32"), step("scale")]
    client = scene.client(steps, autostart=False, report_pid=True)  # no autostart: the new daemon is the test's
    assert client.next()["specialized"]
    old_pid = scene.daemon.process.pid
    scene.daemon.stop()
    scene.daemon.start()
    restarted.touch()
    calls, summary = client.finish()
    assert all(call["specialized"] for call in calls), calls  # the last one: loaded before the restart
    assert summary["warnings"] == []
    assert summary["pid"] == scene.daemon.process.pid != old_pid


# ---- 3. the socket file removed ------------------------------------------------


def test_a_connected_client_keeps_its_daemon_when_the_socket_file_is_removed(scene):
    scene.start_daemon()
    removed = scene.root / "removed"
    client = scene.client([step("scale"), step("shift", wait_for=str(removed)), step("blend", "float32")], autostart=True)
    assert client.next()["specialized"]
    scene.socket.unlink()
    removed.touch()
    calls, summary = client.finish()
    assert all(call["specialized"] for call in calls), calls  # its connection outlives the file
    assert summary["warnings"] == []


def test_a_removed_socket_file_is_bound_again_by_its_daemon(scene):
    # The daemon checks its socket file every 2 s; a new client then reaches it.
    scene.start_daemon()
    original = scene.socket.stat().st_ino
    scene.socket.unlink()
    deadline = time.monotonic() + 10
    while not (scene.socket.is_socket() and scene.socket.stat().st_ino != original):
        assert time.monotonic() < deadline, "the daemon did not bind its socket again"
        time.sleep(0.1)
    calls, summary = scene.client([step("scale"), step("shift", "float32")], autostart=False).finish()
    assert all(call["specialized"] for call in calls), calls
    assert summary["warnings"] == []
    assert "was removed or replaced; listening on a new one" in scene.daemon.log_text()


# ---- 4. a stale socket ---------------------------------------------------------


def leave_stale_socket(scene, how):
    if how == "killed":
        scene.start_daemon()
        scene.daemon.stop(signal.SIGKILL)
    else:
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(str(scene.socket))
    assert scene.socket.is_socket()


@pytest.mark.parametrize("how", ["killed", "bound"])
def test_a_stale_socket_is_replaced_by_a_started_daemon(scene, how):
    leave_stale_socket(scene, how)
    calls, summary = scene.client([step("scale"), step("shift")], autostart=True, report_pid=True).finish()
    scene.pids.append(summary["pid"])
    assert all(call["specialized"] for call in calls), calls
    assert summary["warnings"] == []
    assert summary["pid"] is not None


@pytest.mark.parametrize("how", ["killed", "bound"])
def test_a_stale_socket_without_autostart_falls_back_once(scene, how):
    leave_stale_socket(scene, how)
    calls, summary = scene.client([step("scale"), step("shift"), step("blend", "float32")], autostart=False).finish()
    assert not any(call["specialized"] for call in calls), calls
    assert_quick(calls, 1)  # nobody listens: refused at once
    assert_one_warning(summary)


# ---- 5. a daemon that hangs --------------------------------------------------------


@pytest.mark.parametrize("autostart", [True, False], ids=["autostart", "no-autostart"])
def test_a_stopped_daemon_makes_a_new_client_fall_back_once_within_bounds(scene, autostart):
    scene.start_daemon()
    os.kill(scene.daemon.process.pid, signal.SIGSTOP)
    try:
        steps = [step("scale"), step("shift"), step("scale", "float32"), step("blend")]
        calls, summary = scene.client(steps, autostart=autostart).finish()
    finally:
        os.kill(scene.daemon.process.pid, signal.SIGCONT)
    assert not any(call["specialized"] for call in calls), calls
    # The first call waits one health check (2 s), the others none (or one, once the retry pause is over).
    assert_quick(calls, 10)
    assert calls[-1]["end"] - calls[0]["start"] < 30
    assert_one_warning(summary)


def test_a_daemon_stopped_during_a_compile_fails_the_call_within_bounds_and_recovers(scene):
    scene.start_daemon(slow=True)
    continued = scene.root / "continued"
    steps = [step("scale"), step("shift"), step("blend", "float32"),
             # Continued, once the client's retry pause is over: the daemon serves again.
             step("scale", wait_for=str(continued), sleep=RETRY_AFTER_S + 0.5)]
    client = scene.client(steps, autostart=False)
    scene.wait_for_compile(client)
    stopped_at = time.time()
    os.kill(scene.daemon.process.pid, signal.SIGSTOP)
    try:
        hung = [client.next(), client.next(), client.next()]
    finally:
        os.kill(scene.daemon.process.pid, signal.SIGCONT)
    continued.touch()
    recovered, summary = client.finish()
    assert not any(call["specialized"] for call in hung), hung
    # Two unanswered health checks (5 s apart, 2 s each) give the call up, not its 300 s deadline.
    assert hung[0]["end"] - stopped_at < 30
    assert_quick(hung[1:], 1)
    assert all(call["specialized"] for call in recovered), recovered
    assert_one_warning(summary, "stopped answering during Specialize")


def test_an_artifact_evicted_between_the_answer_and_the_load_is_asked_for_again(daemon, monkeypatch):
    import numpy as np

    import sejits

    def evicted_kernel(a):
        return a * 3.25 - 0.5

    answers = []
    kernel = sejits.elementwise(evicted_kernel)
    real_send = type(kernel)._send

    def send_then_evict(self, request):
        handle = real_send(self, request)
        answers.append(handle)
        if len(answers) == 1:  # the daemon's eviction, between its answer and this process's load
            os.unlink(handle.artifact_path)
        return handle

    monkeypatch.setattr(type(kernel), "_send", send_then_evict)
    x = np.linspace(-3, 3, 11)
    np.testing.assert_array_equal(kernel(x), x * 3.25 - 0.5)
    assert len(answers) == 2
    assert answers[1].outcome == "compiled" and os.path.exists(answers[1].artifact_path)
