"""End to end: a kernel loaded from the client's on-disk handle cache is one
the daemon it talks to would serve today. A daemon with another build
identity (here a test-only specializer version suffix, as an upgrade would
bring) at the same address makes a fresh process ask again and load the new
daemon's artifact, never the old one; with the same daemon still running a
fresh process loads the remembered kernel without any RPC."""

import ctypes
import glob
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import Daemon, daemon_binary  # noqa: E402

UPGRADE = "--testing_specializer_version_suffix=-upgraded"

# Prints what the process ran: whether the result was right, whether grpc was
# imported, and the build identity embedded in each sejits artifact mapped
# into the process (/proc/self/maps), by path.
CHILD = textwrap.dedent("""
    import ctypes, json, sys
    import numpy as np
    import sejits

    kernel = sejits.elementwise(lambda a, b: a * 3.0 - b)
    a, b = np.arange(8.0), np.full(8, 0.5)
    ok = bool(np.array_equal(kernel(a, b), a * 3.0 - b))
    roots = sys.argv[1:]
    loaded = {}
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if path.startswith(tuple(roots)) and path not in loaded:
                stamp = (ctypes.c_char * 64).in_dll(ctypes.CDLL(path), "sejits_build_identity")
                loaded[path] = stamp.value.decode()
    print(json.dumps({"ok": ok, "grpc": "grpc" in sys.modules, "loaded": loaded}))
""")


@pytest.fixture
def world(tmp_path):
    """A directory for one daemon at a time (same socket or port, same
    artifact cache, as after an upgrade in place) and one client cache."""
    root = tmp_path / "world"
    root.mkdir()
    (root / "child.py").write_text(CHILD)  # kernels need a source file to be captured from
    started = []
    yield root, started
    for daemon in started:
        daemon.stop(signal.SIGKILL)


def start(world, transport, *flags, like=None):
    """A daemon in `world`; `like`: at the same address as that one."""
    root, started = world
    daemon = Daemon(root, unix=transport == "unix", tcp=transport == "tcp")
    if like is not None and transport == "tcp":
        daemon.tcp_target, daemon.address, daemon.tcp_address = like.tcp_target, like.address, like.tcp_address
    started.append(daemon)
    return daemon.start(*flags)


def run_process(world, address, autostart=False, daemon_args=""):
    """A fresh Python process calling the kernel with the world's client cache."""
    root, _ = world
    env = dict(os.environ, SEJITS_DAEMON=address, SEJITS_CACHE_DIR=str(root / "client-cache"),
               SEJITS_AUTOSTART="1" if autostart else "0", SEJITS_FALLBACK="error", SEJITS_TUNING="off",
               SEJITS_DAEMON_BIN=daemon_binary(), SEJITS_DAEMON_ARGS=daemon_args,
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    roots = [str(root / "cache"), str(root / "client-cache")]
    result = subprocess.run([sys.executable, str(root / "child.py"), *roots], env=env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"], "wrong result"
    return report


def remembered_handle(world):
    root, _ = world
    handles = glob.glob(str(root / "client-cache" / "client" / "handles" / "*" / "*.json"))
    assert len(handles) == 1, handles  # one kernel, one signature
    with open(handles[0]) as f:
        return json.load(f)


def embedded_identity(path):
    return (ctypes.c_char * 64).in_dll(ctypes.CDLL(path), "sejits_build_identity").value.decode()


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_with_the_same_daemon_a_fresh_process_loads_the_remembered_kernel_without_specialize(world, transport):
    daemon = start(world, transport)
    identity = daemon.stats().build_identity
    first = run_process(world, daemon.address)
    assert set(first["loaded"].values()) == {identity}
    assert remembered_handle(world).get("build_identity") == identity
    requests = daemon.stats().requests

    second = run_process(world, daemon.address)
    assert daemon.stats().requests == requests  # no Specialize arrived
    assert second["loaded"] == first["loaded"]
    if transport == "unix":
        assert not second["grpc"]  # the identity came from the file beside the socket: no RPC at all


@pytest.mark.parametrize("transport,stop", [("unix", signal.SIGTERM), ("unix", signal.SIGKILL), ("tcp", signal.SIGTERM)],
                         ids=["unix-stopped", "unix-killed", "tcp-stopped"])
def test_after_an_upgrade_a_fresh_process_loads_the_new_daemons_kernel_never_the_old_one(world, transport, stop):
    old = start(world, transport)
    old_identity = old.stats().build_identity
    run_process(world, old.address)
    old_handle = remembered_handle(world)
    old.stop(stop)

    new = start(world, transport, UPGRADE, like=old)
    new_identity = new.stats().build_identity
    assert new_identity != old_identity
    after_upgrade = run_process(world, new.address)

    # The new daemon built its own artifact, which says it built it; the old
    # artifact, still in the store, was never mapped into the process.
    assert set(after_upgrade["loaded"].values()) == {new_identity}
    assert not any(os.path.samefile(path, old_handle["artifact_path"]) for path in after_upgrade["loaded"])
    assert embedded_identity(old_handle["artifact_path"]) == old_identity  # still there, not loaded
    assert new.stats().compiles == 1
    new_handle = remembered_handle(world)  # replaced after the RPC
    assert (old_handle.get("build_identity"), new_handle.get("build_identity")) == (old_identity, new_identity)
    assert new_handle["artifact_digest"] != old_handle["artifact_digest"]

    # From now on the new daemon's kernel is remembered: no Specialize again.
    requests = new.stats().requests
    remembered = run_process(world, new.address)
    assert new.stats().requests == requests
    assert remembered["loaded"] == after_upgrade["loaded"]


def test_a_killed_daemons_identity_file_is_not_trusted_and_the_upgraded_daemon_is_started(world):
    root, _ = world
    old = start(world, "unix")
    old_identity = old.stats().build_identity
    run_process(world, old.address)
    old_handle = remembered_handle(world)
    old.stop(signal.SIGKILL)
    identity_file = f"{old.socket}.identity"
    assert open(identity_file).read().split()[0] == old_identity  # left behind by the killed daemon

    # No daemon runs: the fresh process trusts no handle, and its RPC starts
    # the (upgraded) daemon, whose kernel it loads.
    after = run_process(world, old.address, autostart=True, daemon_args=f"--cache_dir={root / 'cache'} {UPGRADE}")
    new_identity, new_pid = open(identity_file).read().split()
    try:
        assert set(after["loaded"].values()) == {new_identity}
        assert new_identity != old_identity
        assert remembered_handle(world)["artifact_digest"] != old_handle["artifact_digest"]
    finally:
        if int(new_pid) != old.process.pid:
            os.kill(int(new_pid), signal.SIGTERM)


def test_a_node_daemon_has_its_own_identity_and_serves_what_its_upstream_built(world, tmp_path):
    """A node daemon (--compiler=none, --upstream) serves the artifacts its
    store holds under its own keys: its identity is over those keys' inputs
    (its version, specializers, its compiler identity 'none', ABI), stable
    across restarts; an artifact the upstream built carries the upstream's."""
    upstream = Daemon(tmp_path / "upstream", unix=False, tcp=True, token="node-token").start()
    node_flags = ("--compiler=none", f"--upstream={upstream.tcp_address}", f"--upstream_token_file={upstream.root / 'token'}")
    try:
        node = start(world, "unix", *node_flags)
        node_identity, upstream_identity = node.stats().build_identity, upstream.stats().build_identity
        assert node_identity and node_identity != upstream_identity
        first = run_process(world, node.address)
        assert set(first["loaded"].values()) == {upstream_identity}
        assert remembered_handle(world)["build_identity"] == node_identity
        node.stop()

        restarted = start(world, "unix", *node_flags)
        assert restarted.stats().build_identity == node_identity
        again = run_process(world, restarted.address)
        assert restarted.stats().requests == 0  # remembered: no Specialize
        assert again["loaded"] == first["loaded"]
        restarted.stop()

        upgraded = start(world, "unix", *node_flags, UPGRADE)
        assert upgraded.stats().build_identity != node_identity
        run_process(world, upgraded.address)
        assert upgraded.stats().requests == 1  # asked again: its keys changed
        assert remembered_handle(world)["build_identity"] == upgraded.stats().build_identity
    finally:
        upstream.stop()


def test_sejits_status_and_stats_show_the_build_identity(world):
    daemon = start(world, "unix")
    identity = daemon.stats().build_identity
    env = dict(os.environ, SEJITS_DAEMON=daemon.address, SEJITS_AUTOSTART="0",
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    for command in ("status", "stats"):
        result = subprocess.run([sys.executable, "-m", "sejits.cli", command], env=env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0 and identity in result.stdout, result.stdout + result.stderr
    assert identity in daemon.log_text()  # logged at start
