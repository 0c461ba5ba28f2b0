"""Out of space: a full file system (a small tmpfs holding the cache) and the
file size limit (RLIMIT_FSIZE on the daemon) are answered RESOURCE_EXHAUSTED
with a clear message, publish nothing half-written, and the cached kernels
keep being served. Eviction keeps the cache under --max_cache_bytes while a
client calls a kernel whose artifact it evicted."""

import errno
import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import numpy as np
import pytest

import sejits

sys.path.insert(0, str(Path(__file__).resolve().parent / "fake_compilers"))
from faults import (SEEDS, FaultDaemon, arrays_for, assert_seeds_served, assert_store_intact,  # noqa: E402
                    check_results, client_of, fault_compiler, outcome_name, seeded_cache, specialize, store_files)


def on_a_full_disk(v):
    return v * 37.5 - 0.25


def over_the_size_limit(v):
    return v * 41.5 + 0.75


@pytest.fixture
def compiler(tmp_path_factory):
    return fault_compiler(tmp_path_factory)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 6 MiB tmpfs at tmp_path/cache; skipped where mounting is not allowed (not root)."""
    mountpoint = tmp_path / "cache"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0755", "tmpfs", str(mountpoint)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill(directory, leave_bytes):
    """Fills the file system of `directory` but for about `leave_bytes`; returns the filler."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as f:
        chunk = b"\0" * 65536
        try:
            while True:
                f.write(chunk)
        except OSError as error:
            assert error.errno == errno.ENOSPC
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave_bytes))
    return filler


@pytest.mark.parametrize("room", [0, 12 * 1024], ids=["no-room", "room-for-the-source"])
def test_a_full_disk_is_resource_exhausted_and_cached_kernels_are_still_served(daemon, compiler, small_tmpfs,
                                                                              tmp_path_factory, tmp_path, room):
    cache = seeded_cache(tmp_path_factory, tmp_path / "seed-copy")
    subprocess.run(["cp", "-a", f"{cache}/.", str(small_tmpfs)], check=True)
    cache = small_tmpfs
    instance = FaultDaemon(tmp_path / "d", compiler, cache).start()
    try:
        filler = fill(cache, room)
        with pytest.raises(grpc.RpcError) as error:
            specialize(instance, on_a_full_disk, 1)
        assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.value.details()
        details = error.value.details()
        assert "'on_a_full_disk'" in details and "No space left on device" in details, details
        assert instance.healthy()
        assert_seeds_served(instance)  # still full: hits need no space
        found = assert_store_intact(cache)  # the failed build left nothing, published nothing
        assert len(found["blobs"]) == 2 and len(found["entries"]) == 2
        stats = instance.stats()
        assert (stats.compiles, stats.compile_failures, stats.cache_entries) == (0, 1, 2)

        filler.unlink()  # space again: the same request compiles
        assert outcome_name(specialize(instance, on_a_full_disk, 1)) == "COMPILED"
        check_results(instance, on_a_full_disk, 1, lambda v: v * 37.5 - 0.25)
        assert_store_intact(cache)
    finally:
        instance.stop()


@pytest.mark.parametrize("limit", [1024, 12 * 1024], ids=["below-the-source", "below-the-artifact"])
def test_over_the_file_size_limit_the_daemon_answers_resource_exhausted_and_survives(daemon, compiler,
                                                                                    tmp_path_factory, tmp_path, limit):
    """RLIMIT_FSIZE on the daemon (and so on its compiler): a write past it
    kills a process with SIGXFSZ. The daemon ignores SIGXFSZ and gets EFBIG
    writing the kernel's source (1 KiB); its compiler, given the default
    back, dies of SIGXFSZ writing the ~20 KiB artifact (12 KiB): both are
    RESOURCE_EXHAUSTED."""
    cache = seeded_cache(tmp_path_factory, tmp_path / "cache")

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    instance = FaultDaemon(tmp_path / "d", compiler, cache).start("--log_level=warn", preexec_fn=limit_file_size)
    try:
        with pytest.raises(grpc.RpcError) as error:
            specialize(instance, over_the_size_limit, 1)
        details = error.value.details()
        assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, details
        assert "'over_the_size_limit'" in details
        if limit == 1024:
            assert "cannot write the kernel source" in details and "File too large" in details, details
        else:
            assert "out of disk space (or over the file size limit)" in details, details
            assert "File size limit exceeded" in details or "File too large" in details, details
        assert instance.process.poll() is None and instance.healthy()
        assert_seeds_served(instance)
        found = assert_store_intact(cache)
        assert len(found["blobs"]) == 2 and len(found["entries"]) == 2
    finally:
        instance.stop()


def evict_first(v):
    return v * 1.5 + 100.0


def evict_second(v):
    return v * 2.5 + 200.0


def evict_third(v):
    return v * 3.5 + 300.0


def test_eviction_keeps_the_cache_under_its_cap_while_a_client_calls_an_evicted_kernel(daemon, compiler,
                                                                                      tmp_path_factory, tmp_path):
    # Room for one artifact and a half (the seeds' size: every artifact here is alike).
    seed_bytes = max(path.stat().st_size for path in
                     store_files(seeded_cache(tmp_path_factory, tmp_path / "seeds"))["blobs"].values())
    cap = seed_bytes * 3 // 2
    instance = FaultDaemon(tmp_path / "d", compiler).start(f"--max_cache_bytes={cap}")
    v = arrays_for(1)[0]
    try:
        with client_of(instance):
            first = sejits.elementwise(evict_first)
            np.testing.assert_array_equal(first(v), v * 1.5 + 100.0)
            first_path = Path(next(iter(first._kernels.values())).info["artifact_path"])
            assert first_path.exists()

            # A thread keeps calling the loaded kernel while the others evict its artifact.
            stop, calls, failures = threading.Event(), [], []

            def keep_calling():
                while not stop.is_set():
                    try:
                        np.testing.assert_array_equal(first(v), v * 1.5 + 100.0)
                        calls.append(1)
                    except Exception as error:  # noqa: BLE001 - reported below
                        failures.append(error)
                        return

            caller = threading.Thread(target=keep_calling)
            caller.start()
            try:
                for fn, scale, offset in ((evict_second, 2.5, 200.0), (evict_third, 3.5, 300.0)):
                    np.testing.assert_array_equal(sejits.elementwise(fn)(v), v * scale + offset)
                    on_disk = sum(path.stat().st_size for path in store_files(instance.cache)["blobs"].values())
                    assert on_disk <= cap and instance.stats().cache_bytes <= cap, (on_disk, cap)
            finally:
                stop.set()
                caller.join()
            assert failures == [] and len(calls) > 0
            assert not first_path.exists()  # evicted from under the loaded kernel, which still computes
            np.testing.assert_array_equal(first(v), v * 1.5 + 100.0)
            stats = instance.stats()
            assert stats.evictions >= 2 and stats.cache_entries == 1

            # A new process (a new dispatcher) asking for the evicted kernel gets it rebuilt.
            again = sejits.elementwise(evict_first)
            np.testing.assert_array_equal(again(v), v * 1.5 + 100.0)
            assert next(iter(again._kernels.values())).info["outcome"] == "compiled"
        assert_store_intact(instance.cache, allow_evicted=True)
    finally:
        instance.stop()
