"""The powers kernel's two ways over one matrix, PA1 and level by level,
chosen by timing (see PowersWays)."""


class PowersWays:
    """PA1 or level by level, for one pattern, k, basis and dtype: where the
    analysis allows PA1, the first call runs it and the second goes level by
    level, each timed; later calls take the faster. Both give the same bits
    (every row's sum in the same order), so the choice changes only speed.
    (On a 2-core AMD EPYC VM, a 2-D Poisson A^8 x took 85 ms by PA1 and 68 ms
    level by level: its product runs near the memory bandwidth, and PA1's
    wavefront pays for its many streams more than it saves in traffic.)"""

    def __init__(self, plan, run):
        self.plan, self.run = plan, run  # run: the kernel's "call" (LibraryKernel.direct)
        self.seconds = {}

    def next(self):
        if not self.plan.pa1:
            return "level by level"
        for way in ("PA1", "level by level"):
            if way not in self.seconds:
                return way
        return min(self.seconds, key=self.seconds.get)

    def blocks(self, way):
        return self.plan.blocks if way == "PA1" else self.plan.blocks[:0]

    def took(self, way, seconds):
        self.seconds.setdefault(way, seconds)

    def describe(self):
        if not self.plan.pa1:
            return "level by level (the analysis allows no PA1)"
        timed = ", ".join(f"{way} {seconds * 1e3:.3g} ms" for way, seconds in self.seconds.items())
        if len(self.seconds) < 2:
            return f"timing the two ways on the first calls ({timed or 'none yet'})"
        return f"{self.next()} chosen: timed on the first calls, {timed}"
