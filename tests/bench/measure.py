"""Results, timing loops and the correctness check shared by every case."""

import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Result:
    """One implementation of one case: its timings or the reason it has none."""

    case: str
    impl: str
    samples: list = field(default_factory=list)
    limit_s: float | None = None
    error: str | None = None

    @property
    def ok(self):
        return self.error is None

    @property
    def median_s(self):
        return statistics.median(self.samples) if self.samples else None

    def to_json(self):
        record = {
            "case": self.case,
            "impl": self.impl,
            "median_s": self.median_s,
            "min_s": min(self.samples, default=None),
            "max_s": max(self.samples, default=None),
            "repeats": len(self.samples),
            "limit_s": self.limit_s,
            "ok": self.ok,
        }
        if self.error is not None:
            record["error"] = self.error
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
    return f"wrong result: element {worst} is {result[worst]!r}, expected {reference[worst]!r}"


def time_calls(case, impl, call, repeats):
    """Wall time of `repeats` separate calls of `call()`."""
    samples = []
    for repeat in range(1, repeats + 1):
        progress(case, impl, f"repeat {repeat}/{repeats}")
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples
