"""Helper functions in kernels (issue 18): calls of plain Python functions
(module-level, closures, lambdas, other sejits element-wise kernels) are
inlined, recursively, with Python's argument binding; recursion is refused
with the chain of calls; a changed helper is a new kernel. Differential
against NumPy on both targets."""

import math

import numpy as np
import pytest

import sejits
from reference import assert_same, tolerance

SCALE = 2.5


def clamp(x, lo=0.0, hi=1.0):
    return min(max(x, lo), hi)


def scaled(x):
    return x * SCALE  # a global of this module, read as a constant


def smoothstep(x, edge0, edge1):
    t = clamp((x - edge0) / (edge1 - edge0))
    return t * t * (3 - 2 * t)


def polar(x, y):
    return np.hypot(x, y), np.arctan2(y, x)


@sejits.elementwise
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_module_level_helpers_with_defaults_and_keywords(target):
    @sejits.elementwise
    def kernel(x, a, b):
        return smoothstep(x, a, b) + clamp(x, hi=0.5) + scaled(x)

    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 7))
    t = np.clip((x - -1.0) / (2.0 - -1.0), 0.0, 1.0)
    expected = t * t * (3 - 2 * t) + np.clip(x, 0.0, 0.5) + x * SCALE
    assert_same(kernel(x, -1.0, 2.0), expected, tolerance(np.float64))


def test_closures_lambdas_and_tuple_results(target):
    offset = 3.0
    shift = lambda v: v + offset  # noqa: E731 - a lambda helper

    def rotate(x, y, angle):
        c, s = math.cos(angle), math.sin(angle)
        return c * x - s * y, s * x + c * y

    @sejits.elementwise
    def kernel(x, y):
        u, v = rotate(shift(x), y, 0.25)
        r, phi = polar(u, v)
        return r, phi

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(41), rng.standard_normal(41)
    c, s = math.cos(0.25), math.sin(0.25)
    u, v = c * (x + offset) - s * y, s * (x + offset) + c * y
    r, phi = kernel(x, y)
    assert_same(r, np.hypot(u, v), tolerance(np.float64))
    assert_same(phi, np.arctan2(v, u), tolerance(np.float64))


def test_a_sejits_kernel_is_inlined(target):
    @sejits.elementwise
    def kernel(x):
        return sigmoid(x) * 2 - 1

    x = np.linspace(-30, 30, 61).astype(np.float32)
    assert_same(kernel(x), (1 / (1 + np.exp(-x))) * 2 - 1, tolerance(np.float32))


def test_a_changed_helper_gives_a_new_result(daemon):
    def make(factor):
        def helper(v):
            return v * factor
        return helper

    x = np.arange(5.0)
    global _swappable
    _swappable = make(2.0)

    @sejits.elementwise
    def kernel(v):
        return _swappable(v) + 1

    assert_same(kernel(x), x * 2.0 + 1)
    _swappable = make(10.0)  # another closure: its captured value differs
    assert_same(kernel(x), x * 10.0 + 1)

    def body_a(v):
        return v - 1

    def body_b(v):
        return v + 100

    _swappable = body_a
    assert_same(kernel(x), x - 1 + 1)
    _swappable = body_b  # another body
    assert_same(kernel(x), x + 100 + 1)


def test_a_changed_global_in_a_helper_gives_a_new_result(daemon):
    global SCALE

    @sejits.elementwise
    def kernel(x):
        return scaled(x)

    x = np.arange(4.0)
    saved = SCALE
    try:
        assert_same(kernel(x), x * 2.5)
        SCALE = 4.0
        assert_same(kernel(x), x * 4.0)
    finally:
        SCALE = saved


def even(n):
    return 1 if n <= 0 else odd(n - 1)


def odd(n):
    return 0 if n <= 0 else even(n - 1)


def test_recursion_is_refused_with_the_chain(daemon):
    @sejits.elementwise
    def kernel(x):
        return even(x)

    with pytest.raises(sejits.SpecializationError,
                       match=r"test_kernel_helpers\.py:\d+: recursion: '.*even' \(called at .*test_kernel_helpers\.py:\d+\) "
                             r"calls '.*odd' \(called at .*:\d+\) calls '.*even' again"):
        kernel(np.arange(3))


def test_binding_errors_name_the_helper_and_line(daemon):
    @sejits.elementwise
    def too_many(x):
        return clamp(x, 0.0, 1.0, 2.0)

    with pytest.raises(sejits.SpecializationError, match=r"\.py:\d+: '.*clamp' takes 3 positional arguments but 4 were given"):
        too_many(np.ones(3))

    @sejits.elementwise
    def unknown_keyword(x):
        return clamp(x, top=2.0)

    with pytest.raises(sejits.SpecializationError, match=r"got an unexpected keyword argument 'top'"):
        unknown_keyword(np.ones(3))

    @sejits.elementwise
    def missing(x):
        return smoothstep(x, 1.0)

    with pytest.raises(sejits.SpecializationError, match=r"'.*smoothstep' is missing the argument 'edge1'"):
        missing(np.ones(3))

    @sejits.elementwise
    def tuple_as_value(x):
        return polar(x, x) + 1

    with pytest.raises(sejits.SpecializationError, match=r"'.*polar' returns a tuple of 2 values"):
        tuple_as_value(np.ones(3))


def test_an_error_inside_a_helper_names_its_line(daemon):
    def uses_a_string(v):
        return v + "x"

    @sejits.elementwise
    def kernel(x):
        return uses_a_string(x)

    with pytest.raises(sejits.SpecializationError, match=r"test_kernel_helpers\.py:\d+: string constants are not supported"):
        kernel(np.ones(3))


# ---- helpers in stencil bodies --------------------------------------------------

@sejits.elementwise
def _squared(v):
    return v * v


def test_a_stencil_body_calls_helpers_and_kernels(target):
    from scipy import ndimage

    @sejits.stencil(boundary="nearest")
    def smooth(a):
        return clamp((a[0, -1] + a[0, 1]) / 2.0, hi=0.8) + _squared(a[0, 0])

    grid = np.random.default_rng(5).random((7, 11))
    shifted = [ndimage.shift(grid, (0, s), order=0, mode="nearest") for s in (1, -1)]
    expected = np.clip((shifted[0] + shifted[1]) / 2.0, 0.0, 0.8) + grid * grid
    assert_same(smooth(grid), expected, tolerance(np.float64))
