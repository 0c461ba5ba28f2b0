"""Results, timing loops and the correctness check shared by every case."""

import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from peers import NOT_INSTALLED, peer_of


WARMUP_CALLS = 3


class BenchFailure(Exception):
    """An implementation could not be measured: the reason goes in its result."""


@dataclass(frozen=True)
class Settings:
    elements: int  # array length of the element-wise cases
    stream_triad_gbs: float
    repeats: int | None  # overrides every case's default when set
    grid_edges: dict  # rank -> edge of the stencil cases' grids
    missing_peers: tuple = ()  # optional peers not installed (peers.py): their rows are skipped
    peak_gflops: float | None = None  # double-precision peak (machine.py): the compute-bound limits
    gmm_scale: object = None  # gmm.GmmScale: the GMM cases' sizes and repeats
    sparse_scale: object = None  # sparse.SparseScale: the sparse cases' matrices and repeats
    fuse_scale: object = None  # fuse.FuseScale: the fusion cases' sizes and repeats

    def repeats_or(self, default):
        return self.repeats or default


@dataclass
class Result:
    """One implementation of one case: its timings or the reason it has none."""

    case: str
    impl: str
    samples: list = field(default_factory=list)
    limit_s: float | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)  # case-specific figures (D1: calls/s, p99)
    target: str | None = None  # where it ran, when not the CPU ("opencl")
    skipped: str | None = None  # why it was not run ("not installed"): neither measured nor failed

    @property
    def ok(self):
        return self.error is None and self.skipped is None

    @property
    def failed(self):
        return self.error is not None

    @property
    def median_s(self):
        return statistics.median(self.samples) if self.samples else None

    @property
    def min_s(self):
        return min(self.samples, default=None)

    @property
    def max_s(self):
        return max(self.samples, default=None)

    def to_json(self):
        record = {
            "case": self.case,
            "impl": self.impl,
            "median_s": self.median_s,
            "min_s": self.min_s,
            "max_s": self.max_s,
            "repeats": len(self.samples),
            "limit_s": self.limit_s,
            "ok": self.ok,
        }
        if self.error is not None:
            record["error"] = self.error
        if self.skipped is not None:
            record["skipped"] = self.skipped
        if self.target is not None:
            record["target"] = self.target
        record.update(self.extra)
        return record


def progress(*words):
    print("[bench]", *words, file=sys.stderr, flush=True)


def describe(exc):
    return f"{type(exc).__name__}: {exc}"


def mismatch(result, reference, rtol):
    """Why `result` differs from the NumPy reference, or None if it agrees.

    atol scales with the data: E2 cancels (a*b + c*d - e*f can be near 0), so
    a correct kernel that contracts to FMA differs from NumPy by a few ulps of
    the operands, which a pure relative test would call wrong.
    """
    if not isinstance(result, np.ndarray):
        return f"returned {type(result).__name__}, not an ndarray"
    if result.shape != reference.shape or result.dtype != reference.dtype:
        return f"returned {result.dtype}{result.shape}, expected {reference.dtype}{reference.shape}"
    atol = rtol * float(np.abs(reference).max())
    if np.allclose(result, reference, rtol=rtol, atol=atol):
        return None
    worst = int(np.argmax(np.abs(result - reference)))
    where = worst if result.ndim == 1 else tuple(map(int, np.unravel_index(worst, result.shape)))
    return f"wrong result: element {where} is {float(result.flat[worst])!r}, expected {float(reference.flat[worst])!r}"


def time_calls(case, impl, call, repeats):
    """Wall time of `repeats` separate calls of `call()`."""
    samples = []
    for repeat in range(1, repeats + 1):
        progress(case, impl, f"repeat {repeat}/{repeats}")
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def skipped_if_missing(case, impl, settings, limit_s=None):
    """A "not installed" result if `impl` needs a peer that is missing, else None."""
    if peer_of(impl) in settings.missing_peers:
        progress(case, impl, NOT_INSTALLED)
        return Result(case, impl, limit_s=limit_s, skipped=NOT_INSTALLED)
    return None


def measure_kernel(case, impl, build, reference, rtol, repeats, limit_s=None):
    """Build `impl`, check each warm-up call against `reference`, then time it."""
    result = Result(case, impl, limit_s=limit_s)
    try:
        call = build()
        for warmup in range(1, WARMUP_CALLS + 1):
            progress(case, impl, f"warm-up {warmup}/{WARMUP_CALLS}")
            result.error = mismatch(call(), reference, rtol)
            if result.error:
                return result
        result.samples = time_calls(case, impl, call, repeats)
    except Exception as exc:  # any failure of the implementation is a result
        result.error = describe(exc)
    return result
