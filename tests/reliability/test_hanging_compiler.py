"""A compiler that hangs (fake_compilers/gxx_faults.sh sleeps on a marked
kernel) is killed at --compile_timeout_s with its whole process group; the
client gets DEADLINE_EXCEEDED naming the kernel; meanwhile the daemon keeps
serving hits and compiling other kernels; a failed compile is never cached."""

import sys
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

import sejits

sys.path.insert(0, str(Path(__file__).resolve().parent / "fake_compilers"))
from faults import (SEEDS, Background, FaultDaemon, alive, arrays_for, assert_store_intact,  # noqa: E402
                    check_results, client_of, fault_compiler, outcome_name, seeded_cache, specialize, wait_for)

TIMEOUT_S = 2
MARKER = "6161.25"


def hangs_forever(v):
    return v * 6161.25 + 1.0


def compiles_meanwhile(v):
    return v * 0.125 - 7.0


def test_a_hanging_compiler_is_killed_at_the_timeout_and_others_are_served(daemon, tmp_path_factory, tmp_path):
    cache = seeded_cache(tmp_path_factory, tmp_path / "cache")
    instance = FaultDaemon(tmp_path / "d", fault_compiler(tmp_path_factory), cache).start(
        f"--compile_timeout_s={TIMEOUT_S}", env={"SEJITS_FAKE_MARKER": MARKER, "SEJITS_FAKE_ACTION": "hang"})
    try:
        started = time.monotonic()
        hung = Background(instance, hangs_forever, 1)
        compiler_pid = instance.hung_pid()

        # While the compile hangs: hits at once, and another kernel compiles on the second compile job.
        for fn, nargs, reference in SEEDS:
            asked = time.monotonic()
            assert outcome_name(specialize(instance, fn, nargs)) == "HIT"
            assert time.monotonic() - asked < 1.0
            check_results(instance, fn, nargs, reference)
        assert outcome_name(specialize(instance, compiles_meanwhile, 1)) == "COMPILED"
        check_results(instance, compiles_meanwhile, 1, lambda v: v * 0.125 - 7.0)
        assert hung.thread.is_alive(), "the hanging compile ended before the others were served"

        error = hung.result()
        elapsed = hung.finished_at - started
        assert isinstance(error, grpc.RpcError), error
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, error.details()
        assert "'hangs_forever'" in error.details() and f"did not finish within {TIMEOUT_S}s" in error.details()
        assert TIMEOUT_S <= elapsed < TIMEOUT_S + 5, elapsed
        # Killed with its process group, not left sleeping.
        wait_for(lambda: not alive(compiler_pid), "the hung compiler to be gone", timeout_s=2)

        stats = instance.stats()
        assert (stats.compiles, stats.compile_failures) == (1, 1)
        found = assert_store_intact(cache)
        assert len(found["entries"]) == 3  # the seeds and compiles_meanwhile; no entry for the failure

        # Not cached as a failure either: the next call compiles (and hangs) again.
        # What a user sees: a warning naming the kernel and why, NumPy's result.
        (instance.state / "hung.pid").unlink()
        v = arrays_for(1)[0]
        with client_of(instance):
            # compile="sync": the call waits for the compile (with "async" it
            # would run the kernel's NumPy form and warn at a later call).
            sejits.config(fallback="warn", compile="sync")
            with pytest.warns(sejits.SpecializationWarning,
                              match=r"hangs_forever.*DEADLINE_EXCEEDED.*kernel 'hangs_forever'.*did not finish"):
                result = sejits.elementwise(hangs_forever)(v)
            sejits.config(compile="async")
        np.testing.assert_array_equal(result, v * 6161.25 + 1.0)
        assert instance.stats().compile_failures == 2
        assert "did not finish within" in instance.log_text()
        assert instance.healthy()
    finally:
        instance.stop()
