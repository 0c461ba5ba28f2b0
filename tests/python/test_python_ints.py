"""Python ints in kernels: exact like Python where both operands are Python
ints, refused like NumPy 2 where they do not fit an array's dtype; on the
CPU and OpenCL targets."""

import numpy as np
import pytest

import sejits
from reference import assert_same

int8 = np.array([1, 2, -3], dtype=np.int8)
uint8 = np.array([1, 2, 3], dtype=np.uint8)
add = sejits.elementwise(lambda a, s: a + s)
less = sejits.elementwise(lambda a, s: a < s)
greater = sejits.elementwise(lambda a, s: a > s)


def test_python_int_argument_out_of_bounds_raises_overflow_error(target):
    with pytest.raises(OverflowError, match="Python integer 1000 out of bounds for int8"):
        int8 + 1000
    with pytest.raises(OverflowError, match="Python integer 1000 out of bounds for int8"):
        add(int8, 1000)
    with pytest.raises(OverflowError, match="Python integer -1 out of bounds for uint8"):
        add(uint8, -1)
    assert_same(add(int8, 100), int8 + 100)


def test_comparisons_with_python_int_arguments_are_exact(target):
    assert_same(less(int8, 1000), int8 < 1000)
    assert_same(greater(uint8, -1), uint8 > -1)
    assert_same(less(int8, 2), int8 < 2)


def test_python_int_constant_chosen_by_an_if_is_checked(target):
    def kernel(a):
        y = 1000
        if a > 0:
            y = 1
        return a + y

    with pytest.raises(sejits.SpecializationError, match="1000 out of bounds for int8"):
        sejits.elementwise(kernel)(np.array([5, -3], dtype=np.int8))


@pytest.mark.parametrize("kernel, expected", [
    (lambda x: x / 2**64, lambda x: x / 2**64),
    (lambda x: x / 2**63, lambda x: x / 2**63),
    (lambda x: x * (10000000000 * 10000000000), lambda x: x * (10000000000 * 10000000000)),
    (lambda x: x * 2 ** -1, lambda x: x * 2 ** -1),
])
def test_python_int_constants_never_wrap(target, kernel, expected):
    x = np.array([3e19, 1.0, -2.5])
    sejits.config(fallback="silent")
    try:
        assert_same(sejits.elementwise(kernel)(x), expected(x))
    finally:
        sejits.config(fallback="error")


def test_python_int_arguments_that_overflow_64_bits_run_as_python(target):
    scaled = sejits.elementwise(lambda x, n, m: x * (n * m))
    x = np.array([1.0, 2.0])
    assert_same(scaled(x, 3, 4), x * 12)
    big = 10**10
    np.testing.assert_array_equal(scaled(x, big, big), x * (big * big))  # 1e20: beyond int64, exact in Python
    power = sejits.elementwise(lambda x, n, k: x * n**k)
    np.testing.assert_array_equal(power(x, 2, -1), x * 0.5)


def test_builtin_max_and_min_follow_python_with_nan(target):
    a = np.array([1.0, np.nan, 2.0])
    b = np.array([np.nan, 1.0, 3.0])
    py_max = np.array([max(p, q) for p, q in zip(a, b)])
    py_min = np.array([min(p, q) for p, q in zip(a, b)])
    assert_same(sejits.elementwise(lambda p, q: max(p, q))(a, b), py_max)
    assert_same(sejits.elementwise(lambda p, q: min(p, q))(a, b), py_min)
    assert_same(sejits.elementwise(lambda p, q: np.maximum(p, q))(a, b), np.maximum(a, b))


def test_square_root_power_matches_numpy(target):
    x = np.array([-0.0, -np.inf, 4.0, np.inf, -1.0])
    with np.errstate(all="ignore"):
        assert_same(sejits.elementwise(lambda v: v**0.5)(x), x**0.5)
