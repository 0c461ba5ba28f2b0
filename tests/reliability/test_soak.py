"""Soak: 16 client processes send cached and uncached requests (every 50th a
new key, so a compile) to one daemon for SEJITS_SOAK_SECONDS (default 300).
After a warm-up, the daemon's resident memory stays within 10% of what it was
then; no call fails; the latency of the cache hits is reported (p50/p99),
printed and written to soak.json in the test's directory (and to
$SEJITS_SOAK_JSON if set)."""

import json
import os
import time
from pathlib import Path

from test_load import Daemon, hot_kernel, run_load, write_request

SOAK_SECONDS = float(os.environ.get("SEJITS_SOAK_SECONDS", "300"))
CLIENTS = 16
UNCACHED_EVERY = 50
RSS_TOLERANCE = 0.10
SAMPLE_EVERY_S = 1.0


def warmup_seconds(duration):
    """Long enough for the allocator's arenas and gRPC's buffers to settle."""
    return min(60.0, max(5.0, 0.2 * duration))


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def test_daemon_memory_and_hit_latency_hold_under_mixed_load(tmp_path):
    daemon = Daemon(tmp_path / "daemon").start("--log_level=info")
    try:
        request = write_request(hot_kernel, tmp_path / "hot.pb")
        run_load(daemon, request, "--once", "--clients=1")  # the hot kernel is cached before the clock starts
        pid = daemon.process.pid
        warmup = warmup_seconds(SOAK_SECONDS)
        load = run_load(daemon, request, f"--clients={CLIENTS}", f"--seconds={SOAK_SECONDS}",
                        f"--uncached_every={UNCACHED_EVERY}", background=True)
        started = time.monotonic()
        samples = []  # (seconds since the start, VmRSS in KiB)
        while load.poll() is None:
            samples.append((round(time.monotonic() - started, 1), rss_kib(pid)))
            time.sleep(SAMPLE_EVERY_S)
        stdout, stderr = load.communicate()
        assert load.returncode == 0, stderr
        result = json.loads(stdout.strip().splitlines()[-1])
        stats = daemon.stats()
        assert daemon.process.poll() is None, "the daemon died under load"
    finally:
        daemon.stop()

    after_warmup = [rss for t, rss in samples if t >= warmup]
    assert after_warmup, f"the load ended before the warm-up ({warmup} s) was over"
    rss_at_warmup, rss_at_end, rss_peak = after_warmup[0], after_warmup[-1], max(after_warmup)
    figures = {
        "seconds": SOAK_SECONDS,
        "clients": CLIENTS,
        "uncached_every": UNCACHED_EVERY,
        "warmup_s": warmup,
        "calls": result["calls"],
        "calls_per_s": result["calls_per_s"],
        "errors": result["errors"],
        "outcomes": result["outcomes"],
        "uncached_requests": result["uncached_requests"],
        "hit_p50_ms": result["hit_p50_ms"],
        "hit_p99_ms": result["hit_p99_ms"],
        "hit_max_ms": result["hit_max_ms"],
        "miss_p50_ms": result["miss_p50_ms"],
        "miss_p99_ms": result["miss_p99_ms"],
        "rss_start_kib": samples[0][1],
        "rss_at_warmup_kib": rss_at_warmup,
        "rss_at_end_kib": rss_at_end,
        "rss_peak_after_warmup_kib": rss_peak,
        "rss_growth_after_warmup": rss_peak / rss_at_warmup - 1,
        "daemon_compiles": stats.compiles,
        "daemon_compile_failures": stats.compile_failures,
        "daemon_cache_entries": stats.cache_entries,
        "daemon_cache_bytes": stats.cache_bytes,
        "rss_samples": samples,
    }
    text = json.dumps(figures)
    (tmp_path / "soak.json").write_text(text + "\n")
    if target := os.environ.get("SEJITS_SOAK_JSON"):
        Path(target).write_text(text + "\n")
    print("soak:", json.dumps({k: v for k, v in figures.items() if k != "rss_samples"}))

    assert result["errors"] == 0, result["first_error"]
    assert result["outcomes"]["hit"] > 0 and result["uncached_requests"] > 0, result
    assert result["outcomes"]["compiled"] == result["uncached_requests"], result["outcomes"]  # a new key compiles once
    assert stats.compile_failures == 0
    assert rss_peak <= (1 + RSS_TOLERANCE) * rss_at_warmup, (
        f"the daemon's RSS grew from {rss_at_warmup} KiB (after {warmup} s) to {rss_peak} KiB")
