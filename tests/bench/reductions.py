"""Suite "reductions": R1, R2r/R2c, R3 and SC1 against numpy, numexpr and numba.

Each case is an element-wise map written once, as a user would, and an op
over its values: NumPy runs the op on the map's array (its temporaries
included), sejits folds the map into `sejits.reduce(op)` or
`sejits.scan("sum")`, numba inlines the map, njit-compiled, into a loop. The
maps are module-level functions: sejits reads their source.

Limits count the bytes that must move: every input read once, plus the
output where it is as large as the inputs (SC1). R2 reads two float64 inputs
once, 16 B per element; its m results are negligible (BENCHMARKS.md's 24 B
for R2 also counts an output that is not there).
"""

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cases import random_inputs
from measure import measure_kernel, progress, skipped_if_missing
from reduction_impls import REDUCTION_IMPLS, numpy_result

DEFAULT_REPEATS = 10
SEED = 20240604
SUM_RTOL = 1e-10  # sejits sums in NumPy's pairwise order, the peers in theirs: last bits differ
EXACT = 0.0  # argmax: the same index, no tolerance


def square(x):
    return x * x


def squared_difference(a, b):
    d = a - b
    return d * d


def product(a, b):
    return a * b


@dataclass(frozen=True)
class ReductionCase:
    name: str
    description: str
    op: str  # a key of reduction_impls.NUMPY_FUNCTIONS
    map: Callable  # element-wise map: what sejits folds and numba inlines
    axis: int | None
    matrix: bool  # inputs are a square matrix (as many elements as the vector cases'), not a vector
    bytes_per_element: int  # inputs read once, plus the output where it is as large (SC1)
    rtol: float
    numexpr: str | None = None  # the same reduction in numexpr's language; None: numexpr has no such op

    @property
    def arity(self):
        return self.map.__code__.co_argcount

    @property
    def arg_names(self):
        return self.map.__code__.co_varnames[: self.arity]

    def shape(self, elements):
        """The inputs' shape: `elements` values in a vector, or the square
        matrix of about as many (2^20: 1024^2, 2^24: 4096^2)."""
        if self.matrix:
            edge = math.isqrt(elements)
            return (edge, edge)
        return (elements,)


REDUCTION_CASES = [
    ReductionCase("R1", "sum(x*x)", "sum", square, None, False, 8, SUM_RTOL, "sum(x*x)"),
    ReductionCase("R2r", "sum((a-b)**2, axis=1)", "sum", squared_difference, 1, True, 16, SUM_RTOL,
                  "sum((a-b)**2, axis=1)"),
    ReductionCase("R2c", "sum((a-b)**2, axis=0)", "sum", squared_difference, 0, True, 16, SUM_RTOL,
                  "sum((a-b)**2, axis=0)"),
    ReductionCase("R3", "argmax(a*b)", "argmax", product, None, False, 16, EXACT),
    ReductionCase("SC1", "cumsum(x*x)", "cumsum", square, None, False, 16, SUM_RTOL),  # read 8 B, write 8 B
]


def limit_s(case, elements, stream_triad_gbs):
    """The case's bytes on `elements` input elements at the machine's STREAM-triad bandwidth."""
    return case.bytes_per_element * elements / (stream_triad_gbs * 1e9)


def implementations(case):
    """The implementations that have `case`: numexpr reduces with sum and
    prod only (no argmax, no scans), so R3 and SC1 have no numexpr row."""
    return {impl: build for impl, build in REDUCTION_IMPLS.items() if impl != "numexpr" or case.numexpr}


def run_reductions(settings):
    repeats = settings.repeats_or(DEFAULT_REPEATS)
    results = []
    for case in REDUCTION_CASES:
        shape = case.shape(settings.elements)
        elements = math.prod(shape)
        progress(case.name, f"{case.description} on {'x'.join(map(str, shape))} float64")
        inputs = [x.reshape(shape) for x in random_inputs(case.arity, elements, SEED)]
        reference = np.asarray(numpy_result(case, inputs))
        case_limit_s = limit_s(case, elements, settings.stream_triad_gbs)
        for impl, build in implementations(case).items():
            if skipped := skipped_if_missing(case.name, impl, settings, case_limit_s):
                results.append(skipped)
                continue
            out = np.full(reference.shape, np.nan)  # touched, so page faults stay out of the timings
            build_impl = functools.partial(build, case, inputs, out)
            results.append(measure_kernel(case.name, impl, build_impl, reference, case.rtol, repeats, case_limit_s))
    return results
