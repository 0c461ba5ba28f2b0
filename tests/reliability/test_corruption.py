"""Corruption on disk: an artifact with flipped bytes is caught by its digest
before it is served, removed, rebuilt and counted; damaged index entries are
rebuilt; a tuning database that SQLite cannot read is quarantined at start
with a clear log line and replaced by an empty one (never a crash loop).
(The client's own digest check is tests/e2e/test_daemon_e2e.py's
test_a_corrupted_artifact_is_detected_removed_and_rebuilt.)"""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fake_compilers"))
from faults import (SEEDS, FaultDaemon, assert_seeds_served, assert_store_intact, check_results,  # noqa: E402
                    fault_compiler, outcome_name, seeded_cache, specialize, store_files)


@pytest.fixture
def compiler(tmp_path_factory):
    return fault_compiler(tmp_path_factory)


@pytest.fixture
def cache(daemon, tmp_path_factory, tmp_path):
    return seeded_cache(tmp_path_factory, tmp_path / "cache")


def flip_bytes_in_place(path, offsets):
    """Flips bytes without changing the file's size or its modification time."""
    stat = path.stat()
    with open(path, "r+b") as f:
        for offset in offsets:
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_flipped_artifact_is_detected_before_it_is_served_removed_and_rebuilt(cache, compiler, tmp_path):
    instance = FaultDaemon(tmp_path / "d", compiler, cache).start()
    fn, nargs, reference = SEEDS[0]
    first = specialize(instance, fn, nargs)
    assert outcome_name(first) == "HIT"  # its digest was checked once: a later check must not be skipped
    blob = Path(first.artifact_path)
    flip_bytes_in_place(blob, [200, blob.stat().st_size // 2])

    again = specialize(instance, fn, nargs)
    assert outcome_name(again) == "COMPILED"
    assert again.artifact_digest == first.artifact_digest  # the same code, rebuilt
    stats = instance.stats()
    assert (stats.corrupt_artifacts, stats.compiles) == (1, 1)
    assert f"artifact {first.artifact_digest} is corrupt" in instance.log_text()
    found = assert_store_intact(cache)
    assert first.artifact_digest in found["blobs"]
    check_results(instance, fn, nargs, reference)
    assert_seeds_served(instance)
    instance.stop()


def test_damaged_index_entries_are_rebuilt_and_the_rest_is_served(cache, compiler, tmp_path):
    index = cache / "store" / "index"
    # The key of each seed, as the daemon answers it.
    probe = FaultDaemon(tmp_path / "probe", compiler, cache).start()
    keys = {fn.__name__: specialize(probe, fn, nargs).key for fn, nargs, _ in SEEDS}
    assert probe.stop() == 0
    triple = index / keys["seed_triple"][:2] / keys["seed_triple"][2:]
    product = index / keys["seed_product"][:2] / keys["seed_product"][2:]
    triple.write_bytes(os.urandom(300))  # garbage
    text = product.read_text()
    product.write_text(text[:text.index("interface=")])  # the digest, its metadata cut off
    stray = index / "zz" / "not-a-key"
    stray.parent.mkdir()
    stray.write_bytes(os.urandom(64))

    instance = FaultDaemon(tmp_path / "d", compiler, cache).start()
    for fn, nargs, reference in SEEDS:
        assert outcome_name(specialize(instance, fn, nargs)) == "COMPILED", fn.__name__
        assert outcome_name(specialize(instance, fn, nargs)) == "HIT", fn.__name__
        check_results(instance, fn, nargs, reference)
    log = instance.log_text()
    assert f"index entry {keys['seed_triple']} is malformed" in log
    assert f"index entry {keys['seed_product'][:12]} has unreadable metadata; rebuilding" in log
    stats = instance.stats()
    assert (stats.compiles, stats.compile_failures, stats.cache_entries) == (2, 0, 2)
    found = store_files(cache)
    assert found["bad_entries"] == [stray] and found["bad_blobs"] == []
    instance.stop()


def tuning_db_with_records(compiler, root, cache, count=300):
    """A tuning database of `count` records, written by a daemon that then stopped."""
    from sejits.v1 import specializer_pb2 as pb

    writer = FaultDaemon(root, compiler, cache).start()
    jsonl = "".join(json.dumps({
        "kernel_key": f"k{index:05d}", "kernel_name": f"mod.k{index}", "shape_class": "call:64:c",
        "platform": "f" * 16, "platform_description": "test", "origin": "local",
        "variants": [{"variant": "unroll=4", "samples": [1e-4] * 8}],
    }) + "\n" for index in range(count))
    channel, stub = writer.stub()
    with channel:
        assert stub.ImportTuning(pb.ImportTuningRequest(jsonl=jsonl, source_name="t"), timeout=60).imported == count
    assert writer.stop() == 0
    return cache / "tuning.db"


def damage_garbage(path):
    path.write_bytes(os.urandom(64 * 1024))


def damage_truncated(path):
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 3)


def damage_overwritten_pages(path):
    data = bytearray(path.read_bytes())
    for offset in range(4096, len(data), 4096):
        data[offset:offset + 512] = os.urandom(512)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [damage_garbage, damage_truncated, damage_overwritten_pages],
                         ids=["garbage", "truncated", "overwritten-pages"])
def test_a_corrupted_tuning_database_is_quarantined_at_start(daemon, compiler, tmp_path, damage):
    from sejits.v1 import specializer_pb2 as pb

    cache = tmp_path / "cache"
    db = tuning_db_with_records(compiler, tmp_path / "writer", cache)
    damage(db)
    damaged = db.read_bytes()
    # A stale log beside it must not be replayed into the new database (SQLite drops an invalid one; a valid one moves along).
    (cache / "tuning.db-wal").write_bytes(os.urandom(4096))

    instance = FaultDaemon(tmp_path / "d", compiler, cache).start()
    log = instance.log_text()
    assert f"QUARANTINED corrupt tuning database {db}" in log, log[-3000:]
    quarantined = sorted(cache.glob("tuning.db.corrupt-*"))
    assert quarantined and quarantined[0].read_bytes() == damaged  # kept for a post-mortem
    assert "without tuning" not in log
    channel, stub = instance.stub()
    with channel:
        assert list(stub.ListTuning(pb.TuningQuery(), timeout=30).records) == []
        jsonl = json.dumps({"kernel_key": "fresh", "kernel_name": "mod.fresh", "shape_class": "call:8:c",
                            "platform": "f" * 16, "variants": [{"variant": "unroll=2", "samples": [1e-3]}]})
        assert stub.ImportTuning(pb.ImportTuningRequest(jsonl=jsonl, source_name="t"), timeout=30).imported == 1
    # Compiling still works, and the daemon restarts on its new database without quarantining again.
    assert outcome_name(specialize(instance, SEEDS[0][0], 1)) == "COMPILED"
    assert instance.stop() == 0
    again = FaultDaemon(tmp_path / "again", compiler, cache).start()
    assert "QUARANTINED" not in again.log_text()
    channel, stub = again.stub()
    with channel:
        assert [record.kernel_key for record in stub.ListTuning(pb.TuningQuery(), timeout=30).records] == ["fresh"]
    assert sorted(cache.glob("tuning.db.corrupt-*")) == quarantined
    again.stop()


def test_an_index_that_is_not_a_directory_is_quarantined_and_leftovers_removed(cache, compiler, tmp_path):
    index = cache / "store" / "index"
    leftover = next(index.glob("*/")) / ".tmp.0123abcd.4242.0"
    leftover.write_bytes(b"half an entry")
    blobs_before = sorted(p.name for p in (cache / "store" / "blobs").rglob("*.so"))
    moved = cache / "store" / "index-original"
    index.rename(moved)
    index.write_bytes(os.urandom(100))  # a file where the index directory belongs

    instance = FaultDaemon(tmp_path / "d", compiler, cache).start()
    assert "QUARANTINED as" in instance.log_text()
    assert index.is_dir() and list((cache / "store").glob("index.corrupt-*"))
    for fn, nargs, reference in SEEDS:  # no index: rebuilt, to the same artifacts
        assert outcome_name(specialize(instance, fn, nargs)) == "COMPILED", fn.__name__
        check_results(instance, fn, nargs, reference)
    assert sorted(p.name for p in (cache / "store" / "blobs").rglob("*.so")) == blobs_before
    instance.stop()

    # The original index back, with a half-written entry left in it: removed
    # at start, and every old entry is a hit again.
    shutil.rmtree(index)
    moved.rename(index)
    assert leftover.exists()
    instance = FaultDaemon(tmp_path / "d2", compiler, cache).start()
    assert not leftover.exists()
    assert_seeds_served(instance)
    instance.stop()
