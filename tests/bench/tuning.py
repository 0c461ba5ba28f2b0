"""Suite "tuning": what autotuning buys on E2 and S2.

Per case, three rows of sejits, each measured as its own suite measures
sejits (E2: `kernel(*inputs)`, S2: `kernel.iterate(grid, steps=STEPS)`):

- `sejits-default`: tuning off, the variant used before any tuning;
- `sejits-tuned`: online tuning (coordinate descent, the default budget)
  from an empty tuning database, then the chosen variant;
- `sejits-exhaustive`: every variant of the space timed, then the best.

A tuned row first calls the kernel until tuning has settled (its entry in
the dispatcher's map is a kernel, no longer a TuningSession), checking every
call's result, and reports how many tuning samples that took (`tuning_calls`:
the calls the session timed; calls made while candidates compile in the
background run the served variant and are not counted), the wall time it
took (`tuning_s`), the chosen `variant`, and its median relative to the other rows' (`vs_default`,
`vs_exhaustive`). The target: tuned within 5% of exhaustive, never slower
than default.

Each tuned row starts from scratch: the daemon's tuning records of the
kernel are deleted (only that kernel's: with no private daemon, the run
shares the user's) and the client's handle cache is a new, empty one.
"""

import contextlib
import functools
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

import elementwise
import stencil
from cases import ELEMENTWISE_CASES, random_inputs
from impls import sejits_elementwise, sejits_impl
from measure import BenchFailure, Result, describe, measure_kernel, mismatch, progress
from stencil_impls import sejits_impl as sejits_stencil_iterate_impl
from stencil_impls import sejits_stencil

MAX_TUNING_SECONDS = 600  # a search that has not settled by then is reported as an error
PROGRESS_EVERY_S = 2.0  # seconds between progress lines


@dataclass
class Target:
    """One case as the tuning rows need it."""

    name: str
    kernel_name: str  # the Python function's name: the daemon's tuning records are filed under it
    default_build: Callable  # () -> call: the suite's own sejits implementation
    new_call: Callable  # () -> (dispatcher, call): a fresh dispatcher, empty maps
    map_name: str  # the dispatcher's map whose entry tuning replaces
    reference: np.ndarray
    rtol: float
    repeats: int
    limit_s: float


def e2_target(settings):
    """E2 as the elementwise suite measures its "sejits" row."""
    case = next(c for c in ELEMENTWISE_CASES if c.name == "E2")
    n = settings.elements
    inputs = random_inputs(case.arity, n, elementwise.SEED)
    out = np.full(n, np.nan)

    def new_call():
        kernel = sejits_elementwise(case.kernel)
        return kernel, lambda: kernel(*inputs)  # what impls.sejits_impl times

    return Target(
        case.name,
        case.kernel.__qualname__,
        functools.partial(sejits_impl, case, inputs, out),
        new_call,
        "_kernels",
        case.kernel(*inputs),
        case.rtol,
        settings.repeats_or(elementwise.DEFAULT_REPEATS),
        elementwise.limit_s(case, n, settings.stream_triad_gbs),
    )


def s2_target(settings):
    """S2 as the stencil suite measures its "sejits" row (iterate)."""
    case = next(c for c in stencil.STENCIL_CASES if c.name == "S2")
    shape = (settings.grid_edges[case.ndim],) * case.ndim
    points = int(np.prod(shape))
    grid = stencil.random_grid(shape, stencil.SEED)
    steps = stencil.STEPS

    def new_call():
        kernel = sejits_stencil(case.point)
        return kernel, lambda: kernel.iterate(grid, steps=steps)  # what stencil_impls.sejits_impl times

    small = points <= stencil.SMALL_GRID_POINTS
    return Target(
        case.name,
        case.point.__qualname__,
        functools.partial(sejits_stencil_iterate_impl, case, grid, steps),
        new_call,
        "_iterate_kernels",
        stencil.reference_sweeps(case, grid, steps),
        case.rtol,
        settings.repeats_or(stencil.SMALL_GRID_REPEATS if small else stencil.LARGE_GRID_REPEATS),
        steps * stencil.BYTES_PER_POINT * points / (settings.stream_triad_gbs * 1e9),
    )


def reset_tuning(kernel_name):
    """Delete the daemon's tuning records of `kernel_name`, so that its search starts from scratch."""
    from sejits import _daemon
    from sejits.v1 import specializer_pb2 as pb

    # The daemon's filter also matches key prefixes ("e2" would match keys
    # "e2..."): delete by the full keys of the records filed under this name.
    records = _daemon.call("ListTuning", pb.TuningQuery(kernel=kernel_name)).records
    keys = {record.kernel_key for record in records if record.kernel_name == kernel_name and record.kernel_key}
    return sum(_daemon.call("ResetTuning", pb.TuningQuery(kernel=key)).deleted for key in sorted(keys))


def tuning_state(dispatcher, map_name):
    """(settled kernel or None, the tuning sessions in the map)."""
    from sejits import _tuning

    entries = list(getattr(dispatcher, map_name).values())
    sessions = [entry for entry in entries if type(entry) is _tuning.TuningSession]
    if not entries or sessions:
        return None, sessions
    if any(entry is None for entry in entries):
        raise BenchFailure(f"the dispatcher's {map_name} holds no kernel (no entry point to tune)")
    return entries[0], []


def settle(target, impl, dispatcher, call):
    """Call until tuning has settled, checking every result: (kernel, timed
    calls, seconds). Timed calls are the session's own count of its samples."""
    started = time.monotonic()
    next_progress, calls, sessions = started, 0, {}
    while time.monotonic() - started < MAX_TUNING_SECONDS:
        calls += 1
        wrong = mismatch(call(), target.reference, target.rtol)
        if wrong:
            raise BenchFailure(f"tuning call {calls}: {wrong}")
        kernel, current = tuning_state(dispatcher, target.map_name)
        sessions.update((id(session), session) for session in current)
        timed = sum(session._calls for session in sessions.values())
        if kernel is not None:
            return kernel, timed, time.monotonic() - started
        if time.monotonic() >= next_progress:
            progress(target.name, impl, f"tuning: {calls} calls, {timed} timed")
            next_progress += PROGRESS_EVERY_S
    raise BenchFailure(f"tuning did not settle within {MAX_TUNING_SECONDS} s ({calls} calls, {timed} timed)")


def tuned_row(target, impl, mode, stack):
    """Tune from scratch in `mode`, then measure the kernel it chose."""
    import sejits

    try:
        deleted = reset_tuning(target.kernel_name)
        progress(target.name, impl, f"{mode} tuning from scratch ({deleted} records of {target.kernel_name} deleted)")
        # The client's handle cache keeps settled choices: a fresh one makes it ask the daemon.
        os.environ["SEJITS_CACHE_DIR"] = stack.enter_context(tempfile.TemporaryDirectory(prefix="sejits-tuning-"))
        sejits.config(tuning=mode, tuning_budget=None)
        dispatcher, call = target.new_call()
        kernel, calls, seconds = settle(target, impl, dispatcher, call)
    except Exception as exc:  # any failure of the implementation is a result
        return Result(target.name, impl, limit_s=target.limit_s, error=describe(exc))
    summary = kernel.info.get("tuning") or {}
    extra = {"tuning_calls": calls, "tuning_s": round(seconds, 1), "variant": summary.get("variant", ""), "state": summary.get("state", "")}
    progress(target.name, impl, f"settled after {seconds:.1f} s, {calls} timed calls: {extra['state']} {extra['variant']}"
             + (f" ({summary['reason']})" if summary.get("reason") else ""))
    result = measure_kernel(target.name, impl, lambda: call, target.reference, target.rtol, target.repeats,
                            target.limit_s)
    result.extra = extra
    return result


def add_ratios(rows):
    """vs_default and vs_exhaustive: a tuned row's median over theirs."""
    base = {impl: row.median_s for impl, row in rows.items() if row.ok and row.median_s}
    for impl in ("sejits-tuned", "sejits-exhaustive"):
        row = rows.get(impl)
        if row is None or not row.ok:
            continue
        for key, other in (("vs_default", "sejits-default"), ("vs_exhaustive", "sejits-exhaustive")):
            if other != impl and other in base:
                row.extra[key] = row.median_s / base[other]


def target_rows(target, stack):
    import sejits

    progress(target.name, "sejits-default: tuning off")
    sejits.config(tuning="off")
    rows = {"sejits-default": measure_kernel(target.name, "sejits-default", target.default_build, target.reference,
                                             target.rtol, target.repeats, target.limit_s)}
    rows["sejits-tuned"] = tuned_row(target, "sejits-tuned", "online", stack)
    rows["sejits-exhaustive"] = tuned_row(target, "sejits-exhaustive", "exhaustive", stack)
    add_ratios(rows)
    for impl, row in rows.items():
        ratios = ", ".join(f"{key} {row.extra[key]:.3f}" for key in ("vs_default", "vs_exhaustive") if key in row.extra)
        if ratios:
            progress(target.name, impl, ratios)
    return list(rows.values())


def run_tuning(settings):
    import sejits

    saved = (sejits.config().tuning, sejits.config().tuning_budget, os.environ.get("SEJITS_CACHE_DIR"))
    results = []
    with contextlib.ExitStack() as stack:
        try:
            for make_target in (e2_target, s2_target):
                target = make_target(settings)
                results += target_rows(target, stack)
        finally:
            # The suites after this one measure the default variant, on the run's caches.
            sejits.config(tuning=saved[0], tuning_budget=saved[1])
            if saved[2] is None:
                os.environ.pop("SEJITS_CACHE_DIR", None)
            else:
                os.environ["SEJITS_CACHE_DIR"] = saved[2]
    return results
