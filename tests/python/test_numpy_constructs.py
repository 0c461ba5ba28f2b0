"""Everyday NumPy in kernels (issue 18): module constants, bitwise and
logical operators, casts and the common ufuncs, against NumPy on the CPU
and OpenCL targets (`target`) and on the "numpy" platform. Each case runs
over every dtype it accepts; the native kernels sample dtypes (each is a
compile), the numpy platform and the refusals take them all."""

import math

import numpy as np
import pytest

import sejits
from reference import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, assert_same, assert_within_ulps, random_array, tolerance
from test_numpy_platform import elementwise_on_numpy, refusal


# ---- constants ---------------------------------------------------------------

def test_module_constants(target):
    @sejits.elementwise
    def f(x):
        return x * np.pi + np.e - math.pi * math.e + math.tau / x + np.euler_gamma

    @sejits.elementwise
    def special(x):
        if x > 1:
            return np.inf
        if x < -1:
            return -math.inf
        if x == 0:
            return math.nan
        return np.nan if x > 0.5 else x

    for dtype in FLOAT_DTYPES:
        x = random_array(dtype, (3, 7), np.random.default_rng(1))
        expected = x * np.pi + np.e - math.pi * math.e + math.tau / x + np.euler_gamma
        assert_same(f(x), expected, tolerance(dtype))
        x = np.array([2, -2, 0, 0.75, 0.25, -0.5], dtype)
        expected = np.where(x > 1, np.inf, np.where(x < -1, -np.inf, np.where(x == 0, np.nan, np.where(x > 0.5, np.nan, x))))
        assert_same(special(x), expected.astype(dtype))
        assert_same(elementwise_on_numpy(special, x), expected.astype(dtype))


def test_an_unknown_module_attribute_is_named(target):
    with pytest.raises(sejits.SpecializationError, match=r"\.py:\d+: 'numpy\.golden_ratio' is not a constant"):
        sejits.elementwise(lambda x: x * np.golden_ratio)(np.ones(3))
