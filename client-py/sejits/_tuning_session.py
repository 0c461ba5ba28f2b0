"""Online tuning wired to the daemon: a _tuning.TuningSession whose
candidates are loaded from the daemon's answers to the request with each
candidate's params (the plan gives them), whose timings are reported with
ReportTimings; and the timed call a session's calls go through."""

import time

from sejits import _config, _daemon, _request, _tuning


def start(request, summary, served, *, send, load, install):
    """A session timing the plan's candidates on the next calls. `served`
    is the kernel the daemon served; `send(request)` answers a Handle;
    `load(handle, label)` gives what a candidate's calls run;
    `install(kernel, summary)` puts the outcome in place."""

    def load_candidate(label):
        return load(send(_request.untuned_copy(request, params=_tuning.variant_params(summary, label))), label)

    def report(reports, finish):
        return _tuning.plan_summary(_daemon.call("ReportTimings", _request.timings_report(request, reports, finish)))

    def refresh():
        return send(request).tuning

    budget = _config.settings.tuning_budget
    if budget is None and _config.settings.tuning == "online":
        budget = _tuning.DEFAULT_BUDGET
    served.info["tuning"] = summary
    return _tuning.TuningSession(summary, served, load=load_candidate, report=report, refresh=refresh, install=install,
                                 budget=budget)


def call_timed(kernel, call, units=1):
    """call(kernel); for a tuning session, with the kernel it picks, timed
    (per unit of work: iterate's sweeps)."""
    if type(kernel) is not _tuning.TuningSession:
        return call(kernel)
    session = kernel
    kernel, label = session.next()
    started = time.perf_counter()
    try:
        result = call(kernel)
    except Exception as error:
        session.fail(label, f"{type(error).__name__}: {error}")
        raise
    session.record(label, time.perf_counter() - started, units)
    return result
