"""The powers kernel's two ways over one matrix, PA1 and level by level,
chosen by timing (see PowersWays)."""


class PowersWays:
    """PA1 or level by level, for one pattern, k, basis and dtype: where the
    analysis allows PA1, the first calls run the two ways in turn, TRIALS
    times each, and later calls take the one with the shorter best time.
    More than one trial, because the first call pays for the first touch of
    its fresh output's pages (about 20 ms of a 4M-row A^8 x) and the later
    ones reuse it (see RecycledOutputs). Both ways give the same bits (every
    row's sum in the same order), so the choice changes only speed.
    (On a 2-core AMD EPYC VM, a 2-D Poisson A^8 x took 68 ms by PA1 and
    86 ms level by level in a C++ test; where the product runs near the
    memory bandwidth and the cache is small, PA1's wavefront can pay for
    its many streams more than it saves in traffic.)"""

    TRIALS = 2

    def __init__(self, plan, run, trial_run):
        # The kernel's "call" (LibraryKernel.direct): `run` once decided, its calls the samples of the variants'
        # tuning; `trial_run` (the served variant, untimed by the tuning) while the two ways are being timed.
        self.plan, self.run, self.trial_run = plan, run, trial_run
        self.seconds = {}

    def next(self):
        if not self.plan.pa1:
            return "level by level"
        trials = {way: len(self.seconds.get(way, ())) for way in ("PA1", "level by level")}
        fewest = min(trials, key=trials.get)
        if trials[fewest] < self.TRIALS:
            return fewest
        return min(self.seconds, key=lambda way: min(self.seconds[way]))

    def runner(self):
        return self.run if self.decided() or not self.plan.pa1 else self.trial_run

    def blocks(self, way):
        return self.plan.blocks if way == "PA1" else self.plan.blocks[:0]

    def took(self, way, seconds):
        self.seconds.setdefault(way, []).append(seconds)

    def decided(self):
        return self.plan.pa1 and all(len(self.seconds.get(way, ())) >= self.TRIALS for way in ("PA1", "level by level"))

    def describe(self):
        if not self.plan.pa1:
            return "level by level (the analysis allows no PA1)"
        timed = ", ".join(f"{way} {min(seconds) * 1e3:.3g} ms" for way, seconds in self.seconds.items())
        if not self.decided():
            return f"timing the two ways on the first calls ({timed or 'none yet'})"
        return f"{self.next()} chosen: best of the first calls, {timed}"
