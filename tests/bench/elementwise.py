"""Suite "elementwise": E1-E3 against numpy, numexpr and numba."""

import functools

import numpy as np

from cases import ELEMENTWISE_CASES, random_inputs
from impls import ELEMENTWISE_IMPLS
from measure import measure_kernel, progress, skipped_if_missing

DEFAULT_REPEATS = 10
SEED = 20240601


def limit_s(case, n, stream_triad_gbs):
    """The case's bytes on `n` elements at the machine's STREAM-triad bandwidth."""
    return case.bytes_per_element * n / (stream_triad_gbs * 1e9)


def run_elementwise(settings):
    n = settings.elements
    repeats = settings.repeats_or(DEFAULT_REPEATS)
    results = []
    for case in ELEMENTWISE_CASES:
        progress(case.name, f"{case.numexpr} on {n} float64")
        inputs = random_inputs(case.arity, n, SEED)
        reference = case.kernel(*inputs)
        case_limit_s = limit_s(case, n, settings.stream_triad_gbs)
        for impl, build in ELEMENTWISE_IMPLS.items():
            if skipped := skipped_if_missing(case.name, impl, settings, case_limit_s):
                results.append(skipped)
                continue
            out = np.full(n, np.nan)  # touched, so page faults stay out of the timings
            build_impl = functools.partial(build, case, inputs, out)
            results.append(
                measure_kernel(case.name, impl, build_impl, reference, case.rtol, repeats, case_limit_s)
            )
    return results
