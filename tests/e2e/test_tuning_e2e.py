"""End to end: online tuning on real calls, the choice remembered by the
daemon's tuning database across processes and restarts, offline tuning by
the daemon, `sejits tune`, and identical results from every variant."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import sejits
from sejits import _config, _tuning
from sejits._elementwise import ElementwiseDispatcher

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import Daemon  # noqa: E402

SLOW_MICROSECONDS = 3000  # the default variant busy-waits this long: tuning must move away from it
N = 1 << 16


def blend(a, x, y):
    return a * x + (1 - a) * y


class SlowDefault(ElementwiseDispatcher):
    """blend, with the test-only param that makes its default variant slow."""

    def _params(self):
        return {"test.slow_default_us": str(SLOW_MICROSECONDS)}


class Variant(ElementwiseDispatcher):
    """blend with one variant named explicitly (no tuning then)."""

    def __init__(self, fn, params):
        super().__init__(fn)
        self.variant_params = params

    def _params(self):
        return dict(self.variant_params)


CHILD = textwrap.dedent(f"""
    import sys, time, numpy as np, sejits
    from sejits._elementwise import ElementwiseDispatcher

    def blend(a, x, y):
        return a * x + (1 - a) * y

    class SlowDefault(ElementwiseDispatcher):
        def _params(self):
            return {{"test.slow_default_us": "{SLOW_MICROSECONDS}"}}

    sejits.config(tuning="online", fallback="error")
    kernel = SlowDefault(blend)
    x, y = np.linspace(0, 1, {N}), np.linspace(1, 2, {N})
    start = time.perf_counter()
    z = kernel(0.25, x, y)
    first = time.perf_counter() - start
    assert np.array_equal(z, 0.25 * x + 0.75 * y)
    print(type(next(iter(kernel._kernels.values()))).__name__)
    print(kernel.explain(0.25, x, y))
""")


def inputs():
    return np.linspace(0, 1, N), np.linspace(1, 2, N)


def tune_until_settled(kernel, args, reference, calls, timeout_s=600):
    """Calls the kernel until its session has installed a kernel; returns how
    many calls the session counted (its samples and warm-ups: calls made while
    candidates compile in the background run the served variant, untimed)."""
    session, deadline = None, time.monotonic() + timeout_s
    while (session._calls if session else 0) < calls and time.monotonic() < deadline:
        result = kernel(*args)
        np.testing.assert_array_equal(result, reference)  # trying variants never changes results
        installed = next(iter(kernel._kernels.values()))
        if type(installed).__name__ == "TuningSession":
            session = installed
        elif type(installed).__name__ == "Kernel":
            return (session._calls if session else 1), installed.info["tuning"]
        if session is not None and session._building:
            time.sleep(0.005)
    raise AssertionError(f"tuning did not settle within {calls} calls: {kernel.explain(*args)}")


def run_child(tmp_path, address, name):
    script = tmp_path / f"{name}.py"
    script.write_text(CHILD)
    env = dict(os.environ, SEJITS_DAEMON=address, SEJITS_CACHE_DIR=str(tmp_path / f"{name}-cache"),
               SEJITS_TUNING="online", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_slow_default_is_tuned_away_within_the_budget_and_remembered(tuning_daemon, tmp_path):
    budget = 300  # a full search: two coordinate passes and the confirmation against the default (~150 calls)
    sejits.config(tuning_budget=budget)
    kernel = SlowDefault(blend)
    x, y = inputs()
    calls, summary = tune_until_settled(kernel, (0.25, x, y), 0.25 * x + 0.75 * y, budget + 1)
    assert calls <= budget
    assert summary["state"] == "chosen" and summary["reason"] == "search complete", summary
    assert "spin_us=0" in summary["variant"]
    timed = {label: median for label, count, median, _ in summary["variants"] if count}
    slow = [median for label, median in timed.items() if f"spin_us={SLOW_MICROSECONDS}" in label]
    assert slow and min(slow) >= SLOW_MICROSECONDS * 1e-6  # the slow variant was measured as slow
    assert timed[summary["variant"]] < min(slow)
    explained = kernel.explain(0.25, x, y)
    assert "tuning:      chosen" in explained and "<- used" in explained

    # A new process (no client memory) starts with the chosen variant and tries nothing.
    out = run_child(tmp_path, tuning_daemon.address, "second")
    assert out.splitlines()[0] == "Kernel"  # the chosen kernel itself, not a tuning session
    assert "tuning:      chosen" in out and summary["variant"] in out and "still to time" not in out

    # ... and so does one after the daemon restarted.
    tuning_daemon.stop()
    tuning_daemon.start()
    out = run_child(tmp_path, tuning_daemon.address, "after-restart")
    assert out.splitlines()[0] == "Kernel"
    assert "tuning:      chosen" in out and summary["variant"] in out


def test_a_spent_budget_chooses_the_best_timed_variant(tuning_daemon):
    sejits.config(tuning_budget=10)  # the spin_us round (2 variants x 6 calls) does not even finish
    kernel = SlowDefault(blend)
    x, y = inputs()
    calls, summary = tune_until_settled(kernel, (0.5, x, y), 0.5 * x + 0.5 * y, 11)
    assert calls == 10
    assert summary["state"] == "chosen" and "budget" in summary["reason"]
    assert "spin_us=0" in summary["variant"]


def test_short_calls_are_not_tuned(tuning_daemon):
    kernel = sejits.elementwise(blend)
    x, y = np.ones(100), np.zeros(100)
    calls, summary = tune_until_settled(kernel, (0.5, x, y), np.full(100, 0.5), 3)
    assert calls == 2  # the warm-up call, then one timed call under the threshold
    assert summary["state"] == "untuned" and "not worth tuning" in summary["reason"]
    again = sejits.elementwise(blend)  # a new dispatcher, as in a new process: the client remembers the outcome
    np.testing.assert_array_equal(again(0.5, x, y), np.full(100, 0.5))
    explained = again.explain(0.5, x, y)
    assert "handle cache (no RPC)" in explained and "not worth tuning" in explained


def test_offline_mode_times_variants_in_the_daemon(tmp_path, daemon):
    instance = Daemon(tmp_path / "offline").start("--tuning_mode=offline")
    saved = (_config.settings.daemon, _config.settings.tuning)
    sejits.config(daemon=instance.address, tuning="online")
    try:
        kernel = SlowDefault(blend)
        x, y = inputs()
        reference = 0.125 * x + 0.875 * y
        np.testing.assert_array_equal(kernel(0.125, x, y), reference)
        session = next(iter(kernel._kernels.values()))
        assert session.summary["state"] == "offline_pending"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            np.testing.assert_array_equal(kernel(0.125, x, y), reference)
            installed = next(iter(kernel._kernels.values()))
            if type(installed).__name__ == "Kernel":
                break
            # The user's calls run the served variant only: the daemon times the rest.
            assert len(session._kernels) == 1 and not session._timed
            time.sleep(0.2)
        summary = installed.info["tuning"]
        assert summary["state"] == "chosen", summary
        assert "spin_us=0" in summary["variant"]
    finally:
        instance.stop(signal.SIGKILL)
        sejits.config(daemon=saved[0], tuning=saved[1])


def test_tune_cli_show_export_reset_import(tuning_daemon, tmp_path):
    kernel = SlowDefault(blend)
    x, y = inputs()
    tune_until_settled(kernel, (0.25, x, y), 0.25 * x + 0.75 * y, 400)
    env = dict(os.environ, SEJITS_DAEMON=tuning_daemon.address, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))

    def cli(*args):
        result = subprocess.run([sys.executable, "-m", "sejits.cli", "tune", *args], env=env, capture_output=True,
                                text=True, timeout=60)
        return result.returncode, result.stdout + result.stderr

    code, shown = cli("show", "--kernel", "blend")
    assert code == 0 and "variant" in shown and "median ms" in shown and "*" in shown
    assert f"spin_us={SLOW_MICROSECONDS}" in shown
    exported = tmp_path / "records.jsonl"
    code, out = cli("export", str(exported))
    assert code == 0 and "exported 1 records" in out
    records = [json.loads(line) for line in exported.read_text().splitlines()]
    assert records[0]["kernel_name"] == "blend" and records[0]["choice"]["variant"]
    code, out = cli("reset")
    assert code == 0 and "deleted 1" in out
    assert "no records" in cli("show")[1]
    code, out = cli("import", str(exported))
    assert code == 0 and "imported 1 records" in out
    code, shown = cli("show")
    assert "imported from" in shown and records[0]["choice"]["variant"] in shown
    assert "kept 1 existing" in cli("import", str(exported))[1]


def variant_params_to_check():
    """Each value of each element-wise parameter once, and two combinations."""
    singles = [{"variant.threads": "half"}, {"variant.threads": "1"}, {"variant.chunk": "4096"},
               {"variant.chunk": "65536"}, {"variant.unroll": "2"}, {"variant.unroll": "4"},
               {"variant.streaming_stores": "0"}, {"variant.parallel_threshold": "8192"}]
    return singles + [{"variant.threads": "1", "variant.unroll": "4", "variant.chunk": "4096"},
                      {"variant.unroll": "2", "variant.streaming_stores": "0", "variant.parallel_threshold": "131072"}]


@pytest.mark.parametrize("params", variant_params_to_check(), ids=lambda p: ",".join(f"{k[8:]}={v}" for k, v in p.items()))
def test_every_elementwise_variant_gives_identical_results(daemon, params):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(100003)  # prime: remainder loops of every unroll
    y = rng.standard_normal(100003)
    i, j = rng.integers(-1000, 1000, 70001, dtype=np.int32), rng.integers(1, 1000, 70001, dtype=np.int32)
    default, variant = sejits.elementwise(blend), Variant(blend, params)
    for args in [(0.3, x, y), (0.3, x[::3], y[::3]), (0.3, x[:7], y[:7]), (2, i, j), (0.5, x.reshape(1, -1), y[:1])]:
        np.testing.assert_array_equal(variant(*args), default(*args))
    assert "variant:" in variant.explain(0.3, x, y)


@sejits.stencil(boundary="nearest")
def diffuse(a):
    return 0.5 * a[0, 0] + 0.125 * (a[1, 0] + a[-1, 0] + a[0, 1] + a[0, -1])


def test_stencil_call_and_iterate_are_tuned_with_identical_results(tuning_daemon):
    grid = np.random.default_rng(3).random((600, 512))  # calls well above the 100 us worth tuning
    reference = grid
    for _ in range(4):
        reference = diffuse._run_python((reference,), None)
    signature, deadline = None, time.monotonic() + 600
    while time.monotonic() < deadline:  # candidates compile in the background: calls meanwhile are no samples
        result = diffuse.iterate(grid, steps=4)
        np.testing.assert_array_equal(result, reference)
        signature = signature or next(iter(diffuse._iterate_kernels))
        entry = diffuse._iterate_kernels[signature]
        if type(entry) is not _tuning.TuningSession:
            break
        if entry._building:
            time.sleep(0.005)
    summary = entry.info["tuning"]
    assert summary["state"] == "chosen", summary
    assert summary["shape_class"].startswith("iterate:")
    assert sum(1 for label, count, *_ in summary["variants"] if count and label.startswith("temporal_depth=")) >= 5
