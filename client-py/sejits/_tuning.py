"""Online tuning on the user's own calls.

The daemon answers a kernel's first request with a plan: the variant it
serves (the chosen one when the tuning database knows it) and, while
undecided, the candidates to time. A TuningSession then runs each candidate
on the next calls: one warm-up call, then `samples_per_variant` timed ones
(wall time around the native call only), reports them, and receives the next
candidates, until the daemon's search is done or the budget of calls is
spent. Then the chosen kernel takes the session's place in the dispatcher's
map, and calls go straight to it. Every variant computes the same results.
"""

import threading
import time

# Calls shorter than this are not worth tuning: the variants cannot differ
# by more than the call overhead.
MIN_TUNABLE_SECONDS = 100e-6
DEFAULT_BUDGET = 200  # calls, in "online" mode: two coordinate passes and the confirmation fit
OFFLINE_POLL_SECONDS = 1.0
OFFLINE_PATIENCE_SECONDS = 300.0
MODES = ("online", "exhaustive", "off")


def _c_contiguous(array):
    """NumPy's C-contiguous flag; for a sejits.opencl device array, the same test on its strides."""
    flags = getattr(array, "flags", None)
    return flags.c_contiguous if flags is not None else array._is_contiguous()


def tuning_scope(entry, arrays):
    """The entry role whose calls are timed, then the arrays' exact shapes
    and layout: the key under which the handle cache remembers a tuned
    handle. Not sent: the request names the role (TuningRequest.entry), and
    the daemon computes the shape class from the request's args (its plan says it)."""
    shapes = ",".join("x".join(str(int(extent)) for extent in a.shape) for a in arrays)
    layout = "".join("c" if _c_contiguous(a) else "s" for a in arrays)
    return f"{entry}:{shapes}:{layout}"


def plan_summary(plan):
    """A TuningPlan message as a plain dict (kept with the handle, shown by explain)."""
    # Here, not at the top: sessions and explain() run on handle-cache hits, which import no protobuf.
    from sejits.v1 import specializer_pb2 as pb

    record = plan.record
    return {
        "state": pb.TuningPlan.State.Name(plan.state).lower(),
        "variant": plan.variant,
        "variant_params": dict(plan.variant_params),
        "candidates": list(plan.candidates),
        "samples_per_variant": plan.samples_per_variant,
        "reason": plan.reason,
        "space": [(p.name, list(p.values), p.default_value) for p in plan.space],
        # The daemon's, from the request's args (the record's when an older daemon answered).
        "shape_class": plan.shape_class or record.shape_class,
        "candidate_params": {label: dict(params.params) for label, params in plan.candidate_params.items()},
        "variants": [(v.variant, len(v.samples), v.median_seconds, v.errors) for v in record.variants],
        "choice": record.choice.variant if record.HasField("choice") else "",
    }


def variant_params(summary, label):
    """The request params that select the variant `label`, as the daemon's
    plan gives them: derived by the daemon alone."""
    try:
        return dict(summary["candidate_params"][label])
    except KeyError:
        raise LookupError(f"the daemon's plan gives no request params for variant {label!r}") from None


class TuningSession:
    """Tuning of one signature and entry point ("call" or "iterate").

    `load(label)` gives the kernel of a variant, `report(reports, finish)`
    sends timings and returns the next plan summary, `refresh()` asks the
    daemon for the plan again (offline tuning), `install(kernel, summary)`
    puts the outcome in the dispatcher's map."""

    def __init__(self, summary, served, *, load, report, refresh, install, budget):
        self.summary = summary
        # Every plan's candidate params, gathered in the first summary's own
        # dict: `load` may hold that summary while later rounds name new labels.
        self._params = summary.setdefault("candidate_params", {})
        self._served = served
        self._kernels = {summary["variant"]: served}
        # Offline, the daemon times the candidates: user calls run the served variant only.
        self._queue = list(summary["candidates"]) if summary["state"] == "trying" else []
        self._load, self._report, self._refresh, self._install = load, report, refresh, install
        self._budget = budget
        self._calls = 0
        self._warm = set()
        self._pending = {}  # label -> [seconds] not reported yet
        self._timed = {}  # label -> samples taken in this round
        self._errors = {}
        self._started = time.monotonic()
        self._polled = self._started
        self._lock = threading.Lock()
        self._served_label = summary["variant"]
        self._worth_it = None  # known after the served variant's first timed call
        self._building = set()  # candidates being compiled in the background
        self.done = False

    # What callers read from a kernel: the served variant's.
    @property
    def info(self):
        return self._served.info

    @property
    def result_dtype(self):
        return self._served.result_dtype

    @property
    def served(self):
        """The variant the daemon served (what calls of other entries run while the session times these)."""
        return self._served

    @property
    def library(self):
        return self._served.library

    def next(self):
        """(kernel, label) for this call; label None: not a tuning sample.
        The candidates of a round take turns, so that a slow phase of the
        machine spreads over all of them."""
        with self._lock:
            if self.done or not self._queue:
                return self._served, None
            if self._worth_it is None:  # no candidate is built before the calls prove long enough
                return self._served, self._served_label
            if not self._round_built():
                return self._served, None  # calls run the served variant while the candidates compile
            if not self._queue:
                return self._served, None
            label = min(self._queue, key=lambda name: (name in self._warm) + self._timed.get(name, 0))
            return self._kernels[label], label

    def record(self, label, seconds=None, units=1):
        """After a call made with next()'s kernel: its wall time, for
        `units` of work (iterate's sweeps: samples are per sweep)."""
        with self._lock:
            if self.done:
                return
            if label is None:
                self._poll_offline()
                return
            self._calls += 1
            if label not in self._warm:
                self._warm.add(label)  # the first call pays for page faults and thread start-up
            else:
                self._pending.setdefault(label, []).append(seconds / units)
                self._timed[label] = self._timed.get(label, 0) + 1
                if self._worth_it is None:  # the whole call's time against the call overhead
                    self._worth_it = seconds >= MIN_TUNABLE_SECONDS
                    if not self._worth_it:
                        self._finish_untuned(f"calls take {1e6 * seconds:.0f} us, under {1e6 * MIN_TUNABLE_SECONDS:.0f} us: "
                                             "not worth tuning", too_short=True)
                        return
            needed = max(1, self.summary["samples_per_variant"])
            if all(self._timed.get(name, 0) >= needed for name in self._queue):
                self._send(finish=False)
            elif self._budget is not None and self._calls >= self._budget:
                self._send(finish=True)

    def fail(self, label, error):
        """A call made with next()'s kernel raised: that variant is reported as failing and not run again."""
        with self._lock:
            if self.done or label is None:
                return
            self._calls += 1
            self._errors[label] = error
            if label in self._queue:
                self._queue.remove(label)
            self._pending.pop(label, None)
            if not self._queue:
                self._send(finish=False)

    # ---- under the lock ------------------------------------------------------

    def _round_built(self):
        """Whether every candidate of the round is built. They compile in
        the background, all of them before any is timed (the daemon's
        compiles would disturb the timings), never on a user's call."""
        missing = [label for label in self._queue if label not in self._kernels and label not in self._building]
        for label in missing:
            self._building.add(label)
            threading.Thread(target=self._build, args=(label,), name="sejits-tuning-build", daemon=True).start()
        return not self._building

    def _build(self, label):
        try:
            kernel, error = self._load(label), None
        except Exception as failure:  # noqa: BLE001 - a variant that cannot be built is reported, not run
            kernel, error = None, f"{type(failure).__name__}: {failure}"
        with self._lock:
            self._building.discard(label)
            if self.done:
                return
            if error is None:
                self._kernels[label] = kernel
            else:
                self._errors[label] = error
                if label in self._queue:
                    self._queue.remove(label)
                if not self._queue and not self._building:
                    self._send(finish=False)

    def _send(self, finish):
        reports = [(label, samples, "") for label, samples in self._pending.items()]
        reports += [(label, [], error) for label, error in self._errors.items()]
        self._pending, self._errors = {}, {}
        try:
            summary = self._report(reports, finish)
        except Exception as error:  # noqa: BLE001 - tuning must never break a call
            self._finish_untuned(f"tuning stopped: {error}")
            return
        self._adopt(summary)

    def _adopt(self, summary):
        self._params.update(summary.get("candidate_params", {}))
        summary["candidate_params"] = self._params
        self.summary = summary
        if summary["state"] == "chosen":
            self._finish(summary)
        elif summary["state"] == "trying":
            self._queue = list(summary["candidates"])
            self._timed = {}  # each round takes its own samples (a confirmation round re-times known variants)
            if not self._queue:
                self._finish_untuned("the daemon's plan has no candidates left")
        elif summary["state"] == "offline_pending":
            self._queue = []
        elif summary["state"] == "untuned":
            self._finish_untuned(summary["reason"])

    def _finish(self, summary):
        label = summary["variant"]
        kernel = self._kernels.get(label)
        if kernel is None:
            try:
                kernel = self._load(label)
            except Exception as error:  # noqa: BLE001
                summary = dict(summary, reason=f"{summary['reason']}; the chosen variant failed to load ({error}), "
                               "the served one runs")
                kernel = self._served
        self._served = kernel
        self.done = True
        self.summary = summary
        self._install(kernel, summary)

    def _finish_untuned(self, reason, too_short=False):
        self.summary = dict(self.summary, state="untuned", reason=reason, candidates=[], too_short=too_short)
        self.done = True
        self._install(self._served, self.summary)

    def _poll_offline(self):
        """Offline tuning: the daemon times the candidates; ask now and then."""
        if self.summary["state"] != "offline_pending":
            return
        now = time.monotonic()
        if now - self._started > OFFLINE_PATIENCE_SECONDS:
            self._finish_untuned("offline tuning did not finish in time; the served variant runs")
        elif now - self._polled >= OFFLINE_POLL_SECONDS:
            self._polled = now
            try:
                self._adopt(self._refresh())
            except Exception as error:  # noqa: BLE001
                self._finish_untuned(f"tuning stopped: {error}")


def describe(summary, calls_note=""):
    """explain()'s lines about tuning."""
    if not summary or not (summary.get("variant") or summary.get("reason")):
        return []  # tuning off, or nothing to tune
    lines = [f"  tuning:      {summary['state']}: variant {summary['variant'] or 'default'}"
             + (f" [{summary['shape_class']}]" if summary.get("shape_class") else "")]
    if summary.get("reason"):
        lines.append(f"               ({summary['reason']})")
    for label, samples, median, errors in summary.get("variants", []):
        used = " <- used" if label == summary["variant"] else ""
        error_text = f", {errors} errors" if errors else ""
        lines.append(f"    {label or 'default':<48} {samples:>3} samples, median {1e3 * median:9.3f} ms{error_text}{used}")
    if summary.get("candidates"):
        lines.append(f"    still to time: {', '.join(summary['candidates'])}")
    if calls_note:
        lines.append(f"    {calls_note}")
    return lines
