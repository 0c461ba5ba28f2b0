"""Suite "elementwise": E1-E3 against numpy, numexpr and numba."""

import functools

import numpy as np

from cases import ELEMENTWISE_CASES, random_inputs
from impls import ELEMENTWISE_IMPLS
from measure import measure_kernel, progress

DEFAULT_REPEATS = 10
SEED = 20240601


def run_elementwise(settings):
    n = settings.elements
    repeats = settings.repeats_or(DEFAULT_REPEATS)
    results = []
    for case in ELEMENTWISE_CASES:
        progress(case.name, f"{case.numexpr} on {n} float64")
        inputs = random_inputs(case.arity, n, SEED)
        reference = case.kernel(*inputs)
        limit_s = case.bytes_per_element * n / (settings.stream_triad_gbs * 1e9)
        for impl, build in ELEMENTWISE_IMPLS.items():
            out = np.full(n, np.nan)  # touched, so page faults stay out of the timings
            build_impl = functools.partial(build, case, inputs, out)
            results.append(
                measure_kernel(case.name, impl, build_impl, reference, case.rtol, repeats, limit_s)
            )
    return results
