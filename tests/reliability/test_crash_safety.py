"""kill -9 of the daemon during a compile, during an artifact write, during
an index write and during a tuning database write; a compiler killed under
the daemon. Afterwards the next daemon starts on the same cache, serves every
old entry (HIT, NumPy's results), holds nothing half-written, and the killed
request compiles cleanly.

The writes are hit deterministically by the daemon's test-only crash points
(SEJITS_TEST_CRASH_AT, codegen/atomic_file.h: the daemon kills itself with
SIGKILL there) and by a fake compiler that hangs (fake_compilers/gxx_faults.sh)."""

import json
import os
import signal
import sys
import time
from pathlib import Path

import grpc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fake_compilers"))
from faults import (Background, FaultDaemon, alive, assert_seeds_served, assert_store_intact,  # noqa: E402
                    check_results, fault_compiler, outcome_name, seeded_cache, specialize, store_files, wait_for)


def killed_during_compile(v):
    return v * 4242.5 - 1.0


def killed_while_publishing(v):
    return v * 515.75 + 2.0


def killed_compiler(v):
    return v * 8181.5 + 3.0


@pytest.fixture
def cache(daemon, tmp_path_factory, tmp_path):
    """A copy of the seeded cache (the session daemon sets the client's environment up)."""
    return seeded_cache(tmp_path_factory, tmp_path / "cache")


@pytest.fixture
def compiler(tmp_path_factory):
    return fault_compiler(tmp_path_factory)


@pytest.mark.parametrize("action", ["hang", "half"])
def test_kill_9_during_a_compile_or_the_artifact_write(cache, compiler, tmp_path, action):
    """`hang`: the compiler is running; `half`: it has written half the
    shared object. The daemon is killed with SIGKILL then."""
    first = FaultDaemon(tmp_path / "first", compiler, cache).start(
        env={"SEJITS_FAKE_MARKER": "4242.5", "SEJITS_FAKE_ACTION": action})
    killed = Background(first, killed_during_compile, 1)
    compiler_pid = first.hung_pid()
    if action == "half":
        partial = list((cache / "store" / "tmp").rglob("kernel.so"))
        assert len(partial) == 1 and partial[0].stat().st_size > 0
    assert first.kill9() == -signal.SIGKILL
    error = killed.result()
    assert isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.UNAVAILABLE, error
    # Its compiler dies with it (PR_SET_PDEATHSIG) rather than running on.
    wait_for(lambda: not alive(compiler_pid), "the killed daemon's compiler to exit", timeout_s=5)

    second = FaultDaemon(tmp_path / "second", compiler, cache).start()
    found = assert_store_intact(cache)  # the build directory (and its partial kernel.so) is gone
    assert len(found["blobs"]) == 2
    assert_seeds_served(second)
    assert outcome_name(specialize(second, killed_during_compile, 1)) == "COMPILED"
    check_results(second, killed_during_compile, 1, lambda v: v * 4242.5 - 1.0)
    stats = second.stats()
    assert (stats.compiles, stats.compile_failures, stats.cache_entries) == (1, 0, 3)
    assert_store_intact(cache)
    second.stop()


@pytest.mark.parametrize("point", ["publish-file", "atomic-write:/index/"])
def test_kill_9_while_publishing_the_artifact_or_its_index_entry(cache, compiler, tmp_path, point):
    """publish-file: the artifact is complete and synced in the build
    directory, not yet renamed into the store. atomic-write:/index/: the blob
    is in the store, half of its index entry is written."""
    first = FaultDaemon(tmp_path / "first", compiler, cache).start(env={"SEJITS_TEST_CRASH_AT": point})
    with pytest.raises(grpc.RpcError) as error:
        specialize(first, killed_while_publishing, 1)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    assert first.process.wait(timeout=20) == -signal.SIGKILL
    assert f"reached crash point {point.split(':')[0]}" in first.log_text()
    before = store_files(cache)
    if point == "publish-file":
        assert len(before["blobs"]) == 2 and len(before["work_dirs"]) == 1
    else:  # a blob that no entry names, and the partial entry in its temporary file
        assert len(before["blobs"]) == 3 and len(before["entries"]) == 2
        assert [path.name.startswith(".tmp.") for path in before["temporaries"]] == [True]

    second = FaultDaemon(tmp_path / "second", compiler, cache).start()
    # A partial index entry is left in its temporary file (never read: see the
    # report of issue 7 on cleaning index/.tmp.* at start), never published.
    assert_store_intact(cache, allow_temporaries=True)
    assert_seeds_served(second)
    assert outcome_name(specialize(second, killed_while_publishing, 1)) == "COMPILED"
    assert outcome_name(specialize(second, killed_while_publishing, 1)) == "HIT"
    check_results(second, killed_while_publishing, 1, lambda v: v * 515.75 + 2.0)
    found = assert_store_intact(cache, allow_temporaries=True)
    stats = second.stats()
    # The blob left by the killed daemon is the one the rebuild stores (same
    # bytes, same digest): counted once.
    assert len(found["blobs"]) == 3 and stats.cache_entries == 3
    assert stats.cache_bytes == sum(path.stat().st_size for path in found["blobs"].values())
    second.stop()


def tuning_records(prefix, count):
    """`count` JSON lines of tuning records (an export's format)."""
    return "".join(json.dumps({
        "kernel_key": f"{prefix}{index:05d}", "kernel_name": f"mod.{prefix}{index}", "shape_class": "call:4096:c",
        "platform": "p" * 16, "platform_description": "test platform", "origin": "local",
        "variants": [{"variant": "unroll=2", "samples": [1e-3, 2e-3, 1.5e-3]}],
    }) + "\n" for index in range(count))


def import_records(daemon, jsonl, source):
    from sejits.v1 import specializer_pb2 as pb

    channel, stub = daemon.stub()
    with channel:
        return stub.ImportTuning(pb.ImportTuningRequest(jsonl=jsonl, source_name=source), timeout=60)


def listed_keys(daemon):
    from sejits.v1 import specializer_pb2 as pb

    channel, stub = daemon.stub()
    with channel:
        return sorted(record.kernel_key for record in stub.ListTuning(pb.TuningQuery(), timeout=30).records)


def test_kill_9_during_a_tuning_database_write(daemon, compiler, tmp_path):
    cache = tmp_path / "cache"
    first = FaultDaemon(tmp_path / "first", compiler, cache).start()
    assert import_records(first, tuning_records("kept", 3), "first").imported == 3
    assert first.stop() == 0

    # 3000 records in one transaction: SQLite spills pages into the WAL before the commit that never comes.
    second = FaultDaemon(tmp_path / "second", compiler, cache).start(env={"SEJITS_TEST_CRASH_AT": "tuning-db-write:second"})
    with pytest.raises(grpc.RpcError) as error:
        import_records(second, tuning_records("lost", 3000), "second")
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    assert second.process.wait(timeout=20) == -signal.SIGKILL
    assert "reached crash point tuning-db-write" in second.log_text()

    third = FaultDaemon(tmp_path / "third", compiler, cache).start()
    assert "QUARANTINED" not in third.log_text()  # nothing corrupt: the WAL rolled the transaction back
    assert listed_keys(third) == ["kept00000", "kept00001", "kept00002"]
    assert import_records(third, tuning_records("new", 2), "third").imported == 2
    assert len(listed_keys(third)) == 5
    third.stop()


def test_a_compiler_killed_under_the_daemon_is_run_again(cache, compiler, tmp_path):
    """Someone (the OOM killer, an operator) kills the compiler with SIGKILL:
    the daemon compiles once more and the request succeeds."""
    instance = FaultDaemon(tmp_path / "d", compiler, cache).start(
        env={"SEJITS_FAKE_MARKER": "8181.5", "SEJITS_FAKE_ACTION": "hang-once"})
    request = Background(instance, killed_compiler, 1)
    pid = instance.hung_pid()
    assert_seeds_served(instance)  # the daemon serves others meanwhile
    signal_time = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    reply = request.result()
    assert not isinstance(reply, Exception), reply
    assert outcome_name(reply) == "COMPILED"
    assert request.finished_at - signal_time < 30
    check_results(instance, killed_compiler, 1, lambda v: v * 8181.5 + 3.0)
    stats = instance.stats()
    assert (stats.compiles, stats.compile_failures) == (1, 0)
    assert "was killed by SIGKILL from outside; compiling" in instance.log_text()
    assert_store_intact(cache)
    instance.stop()
