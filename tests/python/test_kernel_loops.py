"""Loops in kernel bodies (issue 18): `for` over range() with a run-time trip
count, `while`, break, continue and return inside loops, in element-wise
kernels and stencil bodies, on the CPU and OpenCL targets (`target`),
against the same Python function run element by element."""

import numpy as np
import pytest

import sejits
from reference import assert_same
from sejits import _stencil_python
from test_numpy_platform import refusal


def per_element(function, *args):
    """`function` called on each element (NumPy scalars, as a ufunc's inner
    loop sees them; Python scalars as passed), as one array."""
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    values = []
    for index in np.ndindex(shape):
        values.append(function(*(np.broadcast_to(a, shape)[index] if isinstance(a, np.ndarray) else a for a in args)))
    return np.array(values).reshape(shape)


def mandelbrot_for(zr0, zi0, maxiter):
    zr = 0.0
    zi = 0.0
    for i in range(maxiter):
        if zr * zr + zi * zi > 4.0:
            return i
        zr, zi = zr * zr - zi * zi + zr0, 2.0 * zr * zi + zi0
    return maxiter


def mandelbrot_while(cr, ci, maxiter):
    zr = 0.0
    zi = 0.0
    n = 0
    while n < maxiter and zr * zr + zi * zi <= 4.0:
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
        n += 1
    return n


def newton_sqrt(x, steps):
    guess = x if x > 1 else 1.0
    for _ in range(steps):
        guess = 0.5 * (guess + x / guess)
    return guess


def first_multiple_over(x, limit):
    k = 1
    while True:
        if k * x > limit:
            break
        k += 1
    return k


def sum_of_odd_below(n):
    total = 0
    for k in range(n):
        if k % 2 == 0:
            continue
        total += k
    return total


def nested_count(a, b):
    count = 0
    for i in range(a):
        for j in range(i, b):
            if j > 6:
                break
            count += i * j
    return count


def collatz_steps(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def grid(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random(shape) * 3.0 - 2.0, rng.random(shape) * 3.0 - 1.5


@pytest.mark.parametrize("function", [mandelbrot_for, mandelbrot_while])
def test_mandelbrot_escape_counts(target, function):
    kernel = sejits.elementwise(function)
    zr, zi = grid((17, 23))
    for maxiter in (40, 0, 1):
        assert_same(kernel(zr, zi, maxiter), per_element(function, zr, zi, maxiter))


def test_mandelbrot_in_float32_with_an_array_trip_count(target):
    kernel = sejits.elementwise(mandelbrot_for)
    zr, zi = grid((5, 9), seed=3)
    zr, zi = zr.astype(np.float32), zi.astype(np.float32)
    maxiter = np.arange(45, dtype=np.int32).reshape(5, 9)
    # `return i` (a Python int) and `return maxiter` (int32) merge as NumPy
    # merges a Python int with int32, as for returns in if-statements.
    expected = per_element(mandelbrot_for, zr, zi, maxiter).astype(np.int32)
    assert_same(kernel(zr, zi, maxiter), expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_newton_sqrt_with_a_run_time_count(target, dtype):
    kernel = sejits.elementwise(newton_sqrt)
    x = np.array([0.25, 1.0, 2.0, 9.0, 1e6, 3.5], dtype)
    for steps in (0, 3, 30):
        # `1.0` (a Python float) merges with x's dtype, as in an if-statement.
        expected = per_element(newton_sqrt, x, steps).astype(dtype)
        assert_same(kernel(x, steps), expected, 1e-6 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(kernel(x, 30), np.sqrt(x), rtol=1e-6)


def test_while_true_with_break_continue_and_nested_loops(target):
    x = np.array([0.5, 1.0, 3.0, 7.5, 100.0])
    assert_same(sejits.elementwise(first_multiple_over)(x, 20.0), per_element(first_multiple_over, x, 20.0))
    n = np.array([0, 1, 2, 7, 10, 31], np.int64)
    assert_same(sejits.elementwise(sum_of_odd_below)(n), per_element(sum_of_odd_below, n))
    a, b = np.array([0, 1, 3, 5, 9], np.int32), np.array([[2], [8], [12]], np.int32)
    assert_same(sejits.elementwise(nested_count)(a, b), per_element(nested_count, a, b))
    n = np.array([1, 2, 3, 6, 7, 27, 97], np.int64)
    assert_same(sejits.elementwise(collatz_steps)(n), per_element(collatz_steps, n))


def test_zero_trip_loops_keep_their_values(target):
    def shifted(x, n):
        y = x
        for i in range(n, 2 * n - 3):  # no iteration for n <= 3
            y = y * 0.5 + i
        while y > 1e9:
            y = y - 1.0
        return y

    x = np.array([1.0, -2.0, 3.0])
    for n in (0, 3, 4, 6):
        assert_same(sejits.elementwise(shifted)(x, n), per_element(shifted, x, n))


def test_a_carried_int_that_becomes_float_is_promoted(target):
    def halve_until_small(x, n):
        y = 1  # a Python int first, a float after one iteration
        for _ in range(n):
            y = y * 0.5 + x
        return y

    x = np.array([0.25, 1.0, 2.0], np.float32)
    result = sejits.elementwise(halve_until_small)(x, 5)
    assert_same(result, per_element(halve_until_small, x, 5), 1e-6)


def test_long_constant_ranges_become_loops(target):
    def series(x):
        total = 0.0
        term = 1.0
        for k in range(1, 200):  # not unrolled: 199 iterations
            term = term * x / k
            total += term
        return total

    x = np.linspace(-2, 2, 11)
    assert_same(sejits.elementwise(series)(x), per_element(series, x), 1e-14)
    assert "while" in sejits.elementwise(series).source(x)


def test_loops_in_a_stencil_body(target):
    def smooth_then_iterate(a, steps):
        value = 0.25 * a[-1, 0] + 0.25 * a[1, 0] + 0.25 * a[0, -1] + 0.25 * a[0, 1]
        for _ in range(steps):
            value = 0.5 * (value + a[0, 0] / value) if value != 0 else value
        count = 0
        while value > 1.0 and count < 50:
            value = value * 0.5
            count += 1
        return value + count

    kernel = sejits.stencil(boundary="nearest")(smooth_then_iterate)
    a = np.random.default_rng(5).random((9, 12)) * 6 + 0.5
    for steps in (0, 4):
        expected = _stencil_python.run_python(smooth_then_iterate, (a, steps), "nearest", 0.0, None)
        assert_same(kernel(a, steps), expected, 1e-13)


def test_a_loop_that_never_ends_is_refused_with_its_line(daemon):
    def forever(x):
        while True:
            x = x + 1
        return x

    with pytest.raises(sejits.SpecializationError, match=r"\.py:\d+: the condition of this 'while' loop is always true.*"
                                                         r"no 'break' or 'return'"):
        sejits.elementwise(forever)(np.ones(3))

    def unchanged(x, limit):
        y = x
        while x < limit:
            y = y + 1
        return y

    with pytest.raises(sejits.SpecializationError, match=r"nothing the condition of this 'while' loop reads changes"):
        sejits.elementwise(unchanged)(np.ones(3), 2.0)


def test_while_true_ending_only_in_return(target):
    def first_power_over(x):
        p = 1.0
        while True:
            p = p * 2.0
            if p > x:
                return p

    x = np.array([0.5, 3.0, 1000.0])
    assert_same(sejits.elementwise(first_power_over)(x), per_element(first_power_over, x))


def test_the_numpy_platform_refuses_loops(daemon):
    kernel = sejits.elementwise(newton_sqrt)
    error = refusal(kernel, (np.ones(4), 3))
    assert "loop" in error.details()


# ---- the front end's cases: the same on every target, so the CPU only ---------

def return_from_inner_loop(x, n):
    for i in range(n):
        for j in range(n):
            if i * j * x > 10.0:
                return i * 100 + j
    return -1


def break_inner_only(x, n):
    total = 0.0
    for i in range(n):
        j = 0
        while True:
            j += 1
            if j > i:
                break
            total += x * j
    return total


def loop_in_a_branch(x, n):
    if x > 0:
        k = 0
        while k < n:
            if k * x > 5:
                return float(k)
            k += 1
    return x


def unrolled_with_jumps(x):
    total = 0.0
    for k in range(6):  # short and constant: unrolled, jumps as selects
        if k == 1:
            continue
        if x < k:
            break
        if x > 100.0:
            return -x
        total += k * x
    return total


def loop_variable_after_the_loop(x, n):
    i = -1
    y = x
    for i in range(n):
        y, x = x, y + 1.0
    return i + y


def continue_in_while(n):
    k = 0
    odd = 0
    while k < n:
        k += 1
        if k % 3 == 0:
            continue
        odd += k
    return odd


@pytest.mark.parametrize("function, args", [
    (return_from_inner_loop, (np.array([0.1, 0.5, 2.0, 50.0]), 6)),
    (break_inner_only, (np.array([0.5, -1.0, 3.0]), 5)),
    (loop_in_a_branch, (np.array([-1.0, 0.5, 2.0, 10.0]), 4)),
    (unrolled_with_jumps, (np.array([-1.0, 0.5, 2.5, 7.0, 200.0]),)),
    (loop_variable_after_the_loop, (np.array([0.5, 2.0]), 3)),
    (loop_variable_after_the_loop, (np.array([0.5, 2.0]), 0)),
    (continue_in_while, (np.arange(12),)),
], ids=lambda value: getattr(value, "__name__", None))
def test_jumps_and_nesting(daemon, function, args):
    expected = per_element(function, *args)
    result = sejits.elementwise(function)(*args)
    assert_same(result, expected.astype(result.dtype))
    assert result.dtype == expected.dtype or expected.dtype.kind == result.dtype.kind


def test_refusals_name_the_construct(daemon):
    def with_else(x):
        while x > 1:
            x = x / 2
        else:
            x = -x
        return x

    with pytest.raises(sejits.SpecializationError, match=r"\.py:\d+: an 'else' clause on a 'while' loop is not supported"):
        sejits.elementwise(with_else)(np.ones(2))

    def float_range(x):
        total = 0.0
        for k in range(x):
            total += k
        return total

    with pytest.raises(sejits.SpecializationError, match=r"range\(\) takes integers, not float64"):
        sejits.elementwise(float_range)(np.ones(2))


def test_an_unreachable_return_in_a_loop(daemon):
    def break_first(x):
        while x > 0:
            break
            return x  # never runs
        return -x

    x = np.array([1.0, -2.0])
    assert_same(sejits.elementwise(break_first)(x), -x)
