"""Math functions, control flow and captured constants against NumPy, on the
CPU and OpenCL targets (`target`, tests/conftest.py)."""

import math

import numpy as np
import pytest

import sejits
from reference import assert_same, assert_within_ulps, on_targets, random_array, tolerance

UNARY_FUNCTIONS = ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "exp", "expm1", "log",
                   "log1p", "log2", "log10", "sqrt", "fabs", "floor", "ceil", "trunc", "abs"]
DOMAIN = {"arcsin": (-1, 1), "arccos": (-1, 1), "log": (0, 10), "log2": (0, 10), "log10": (0, 10),
          "log1p": (-0.9, 10), "sqrt": (0, 10), "cosh": (-5, 5), "sinh": (-5, 5), "exp": (-5, 5), "expm1": (-5, 5)}
# OpenCL's built-in math functions are within a few ulp of the exact result
# (the spec's bounds: 2 to 6 ulp in float32), as NumPy's are; sqrt is
# correctly rounded there (-cl-fp32-correctly-rounded-divide-sqrt), the rest
# of these functions are exact.
INEXACT_ON_OPENCL = {"sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "exp", "expm1", "log",
                     "log1p", "log2", "log10", "arctan2", "hypot"}
OPENCL_ULPS = 8


def assert_matches_numpy(target, name, actual, expected):
    if target == "cpu":
        assert_same(actual, expected, tolerance(expected.dtype))
    else:
        assert_within_ulps(actual, expected, OPENCL_ULPS if name in INEXACT_ON_OPENCL else 0)


# On OpenCL, every function in float32, two in float64, and abs (which
# stays int16) on int16.
UNARY_ON_OPENCL = {np.float32: set(UNARY_FUNCTIONS), np.float64: {"sin", "expm1"}, np.int16: {"abs"}}


def numpy_kernel(name):
    function = getattr(np, name)
    return sejits.elementwise(lambda x: function(x))


@pytest.mark.parametrize("name, dtype, target",
                         on_targets(UNARY_FUNCTIONS, [np.float32, np.float64, np.int16],
                                    opencl=lambda name, dtype: name in UNARY_ON_OPENCL[dtype]),
                         indirect=["target"])
def test_numpy_unary_function(target, name, dtype):
    low, high = DOMAIN.get(name, (-10, 10))
    x = random_array(dtype, (5, 11), np.random.default_rng(1), low=low, high=high)
    expected = getattr(np, name)(x)
    assert_matches_numpy(target, name, numpy_kernel(name)(x), expected)


@pytest.mark.parametrize("name, dtype, target",
                         on_targets(["arctan2", "hypot", "copysign", "maximum", "minimum"], [np.float32, np.float64],
                                    opencl=lambda name, dtype: dtype == np.float32 or name == "maximum"),
                         indirect=["target"])
def test_numpy_binary_function(target, name, dtype):
    rng = np.random.default_rng(2)
    x, y = random_array(dtype, (9, 7), rng), random_array(dtype, (9, 7), rng)
    x.flat[::6] = np.nan  # maximum/minimum propagate NaN
    function = getattr(np, name)
    kernel = sejits.elementwise(lambda a, b: function(a, b))
    expected = function(x, y)
    assert_matches_numpy(target, name, kernel(x, y), expected)


def test_math_module_and_builtins(target):
    @sejits.elementwise
    def f(x, y):
        return math.sqrt(abs(x)) + max(x, y, 0.5) - min(x, y) + math.atan2(y, x) + math.fabs(y)

    x, y = random_array(np.float64, 101, np.random.default_rng(3)), random_array(np.float64, 101, np.random.default_rng(4))
    expected = np.sqrt(np.abs(x)) + np.maximum(np.maximum(x, y), 0.5) - np.minimum(x, y) + np.arctan2(y, x) + np.fabs(y)
    assert_same(f(x, y), expected, 1e-13)


def test_integer_abs_min_max_keep_dtype(target):
    a = np.array([-128, -5, 0, 7, 127], dtype=np.int8)
    assert_same(sejits.elementwise(lambda v: abs(v))(a), np.abs(a))
    assert_same(sejits.elementwise(lambda v, w: max(v, w))(a, a[::-1].copy()), np.maximum(a, a[::-1]))


def test_sin_of_int8_is_refused_because_numpy_gives_float16(target):
    with pytest.raises(sejits.SpecializationError, match="float16"):
        sejits.elementwise(lambda v: np.sin(v))(np.arange(3, dtype=np.int8))


def test_blend_from_the_readme(target):
    @sejits.elementwise
    def blend(a, x, y):
        t = a * x + (1 - a) * y
        return t if t > 0 else 0.0

    rng = np.random.default_rng(5)
    x, y = rng.random(1000) - 0.5, rng.random(1000) - 0.5
    t = 0.3 * x + (1 - 0.3) * y
    assert_same(blend(0.3, x, y), np.where(t > 0, t, 0.0))


def test_if_statements_with_returns_and_fallthrough(target):
    @sejits.elementwise
    def classify(x):
        if x < -1:
            return -1.0
        elif x > 1:
            y = x * 2
            return y
        if x == 0:
            return 0.5
        return x

    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    expected = np.select([x < -1, x > 1, x == 0], [-1.0, x * 2, 0.5], x)
    assert_same(classify(x), expected)


def test_if_statements_that_assign(target):
    @sejits.elementwise
    def clamp(x, low, high):
        y = x
        if x < low:
            y = low
        else:
            if x > high:
                y = high
        y += 1
        return y

    x = np.linspace(-2, 2, 17)
    assert_same(clamp(x, -1.0, 1.0), np.clip(x, -1.0, 1.0) + 1)


def test_boolean_operators_follow_python(target):
    @sejits.elementwise
    def f(x, y):
        return (x > 0 and y > 0) or not (x < -1)

    @sejits.elementwise
    def g(x, y):
        return x and y  # y where x is true, else x

    rng = np.random.default_rng(6)
    x, y = rng.integers(-3, 3, 50).astype(np.float64), rng.integers(-3, 3, 50).astype(np.float64)
    assert_same(f(x, y), ((x > 0) & (y > 0)) | ~(x < -1))
    assert_same(g(x, y), np.where(x != 0, y, x))


def test_chained_comparison_and_where(target):
    kernel = sejits.elementwise(lambda x: np.where(0 < x < 1, x, -x))
    x = np.linspace(-2, 2, 41)
    assert_same(kernel(x), np.where((0 < x) & (x < 1), x, -x))


SCALE = 2.5


def test_closure_and_global_constants(target):
    offset = np.float32(1.5)

    @sejits.elementwise
    def f(x):
        return x * SCALE + offset

    x = np.arange(10, dtype=np.float32)
    assert_same(f(x), x * SCALE + offset)


# The front end's work, the same on every target: the CPU only.
def test_constant_folding_keeps_numpy_semantics(daemon):
    kernel = sejits.elementwise(lambda x: x * (2**3 - 1) + (1 / 4) - 7 // 2 + (-7) % 3)
    x = np.arange(6, dtype=np.float32)
    assert_same(kernel(x), x * (2**3 - 1) + (1 / 4) - 7 // 2 + (-7) % 3)


def test_many_sequential_if_statements_do_not_blow_up(target):
    @sejits.elementwise
    def count_thresholds(x):
        n = 0
        if x > 0.05: n += 1
        if x > 0.10: n += 1
        if x > 0.15: n += 1
        if x > 0.20: n += 1
        if x > 0.25: n += 1
        if x > 0.30: n += 1
        if x > 0.35: n += 1
        if x > 0.40: n += 1
        if x > 0.45: n += 1
        if x > 0.50: n += 1
        if x > 0.55: n += 1
        if x > 0.60: n += 1
        if x > 0.65: n += 1
        if x > 0.70: n += 1
        if x > 0.75: n += 1
        if x > 0.80: n += 1
        if x > 0.85: n += 1
        if x > 0.90: n += 1
        if x > 0.95:
            n += 1
        else:
            n -= 0
        return n

    x = np.random.default_rng(8).random(1000)
    thresholds = np.round(np.arange(1, 20) * 0.05, 2)  # the literals above
    assert_same(count_thresholds(x), (x[:, None] > thresholds).sum(axis=1).astype(np.int64))


def test_variable_assigned_on_one_path_only_is_reported(target):
    def kernel(x):
        if x > 0:
            y = x
        return y

    with pytest.raises(sejits.SpecializationError, match="'y' is not defined here"):
        sejits.elementwise(kernel)(np.ones(2))


# The front end's work, the same on every target: the CPU only.
def test_loops_over_constant_ranges_are_unrolled(daemon):
    @sejits.elementwise
    def horner(x):
        y = 0.0
        for coefficient in range(5, 0, -1):
            y = y * x + coefficient
        return y

    x = np.linspace(-2, 2, 9)
    assert_same(horner(x), (((5.0 * x + 4) * x + 3) * x + 2) * x + 1)
