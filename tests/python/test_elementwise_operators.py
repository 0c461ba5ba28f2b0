"""Element-wise operators against NumPy: every dtype, dtype pairs, Python
scalars (NEP 50 weak promotion), and NumPy's integer edge cases; on the CPU
and OpenCL targets (`target`, tests/conftest.py)."""

import operator

import numpy as np
import pytest

import sejits
from reference import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, assert_same, on_targets, random_array, tolerance

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b,
    "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b,
    "pow": lambda a, b: a**b,
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: a == b,
    "ge": lambda a, b: a >= b,
}
EXACT = {"add", "sub", "mul", "floordiv", "mod", "lt", "eq", "ge"}
SHAPE = (7, 13)  # primes: no vector-width multiple
_kernels = {name: sejits.elementwise(fn) for name, fn in BINARY.items()}


def operands(name, dtype, rng):
    a = random_array(dtype, SHAPE, rng)
    b = random_array(dtype, SHAPE, rng)
    if name == "pow" and np.dtype(dtype).kind in "iu":
        b = random_array(dtype, SHAPE, rng, low=0, high=5)  # NumPy raises on negative integer exponents
    if name in ("floordiv", "mod", "truediv"):
        b.flat[::5] = 0  # NumPy's division-by-zero results, including for integers
    return a, b


def numpy_result(fn, *args):
    with np.errstate(all="ignore"):
        return fn(*args)


def every_sixth_dtype(name, dtype):
    """On OpenCL, each operator on a sixth of the dtypes, a different sixth per
    operator: every dtype meets one or two operators (the integer division
    edge cases below run on OpenCL too)."""
    return (list(BINARY).index(name) + ALL_DTYPES.index(dtype)) % 6 == 0


@pytest.mark.parametrize("name, dtype, target", on_targets(BINARY, ALL_DTYPES, opencl=every_sixth_dtype),
                         indirect=["target"])
def test_binary_operator_same_dtype(target, name, dtype):
    rng = np.random.default_rng(hash((name, np.dtype(dtype).name)) % 2**32)
    a, b = operands(name, dtype, rng)
    try:
        expected = numpy_result(BINARY[name], a, b)
    except TypeError:  # NumPy refuses (e.g. bool subtract): sejits must refuse too
        with pytest.raises(sejits.SpecializationError, match="boolean"):
            _kernels[name](a, b)
        return
    assert_same(_kernels[name](a, b), expected, None if name in EXACT else tolerance(expected.dtype))


PAIR_DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64, np.float32, np.float64]
# On OpenCL, a pair for each promotion rule: bool to a number, signed with
# unsigned (a wider signed type, or float64 for 64 bits), a 64-bit integer
# with float32 (float64), float32 with float64.
OPENCL_PAIRS = {(np.bool_, np.int8), (np.int8, np.uint8), (np.int64, np.uint64), (np.uint64, np.float32),
                (np.float32, np.float64)}


@pytest.mark.parametrize("left, right, target",
                         on_targets(PAIR_DTYPES, PAIR_DTYPES, opencl=lambda *pair: pair in OPENCL_PAIRS),
                         indirect=["target"])
def test_add_mixed_dtypes(target, left, right):
    rng = np.random.default_rng(3)
    a, b = random_array(left, SHAPE, rng), random_array(right, SHAPE, rng)
    expected = numpy_result(operator.add, a, b)
    assert_same(_kernels["add"](a, b), expected, tolerance(expected.dtype))


def scalar_on_opencl(dtype, scalar):
    """On OpenCL, each kind of Python scalar with uint8 (uint8, float64, uint8)
    and a float with float32 (float32)."""
    return dtype == np.uint8 or (dtype == np.float32 and type(scalar) is float)


@pytest.mark.parametrize("dtype, scalar, target",
                         on_targets(ALL_DTYPES, [3, 2.5, True],
                                    opencl=scalar_on_opencl),
                         indirect=["target"])
def test_python_scalars_are_weak(target, dtype, scalar):
    rng = np.random.default_rng(5)
    a = random_array(dtype, SHAPE, rng)
    expected = numpy_result(operator.mul, a, scalar)
    assert_same(_kernels["mul"](a, scalar), expected, tolerance(expected.dtype))


def test_numpy_scalars_are_strong(target):
    a = np.arange(10, dtype=np.float32)
    assert_same(_kernels["add"](a, np.float64(0.1)), a + np.float64(0.1))
    assert_same(_kernels["add"](np.int8(5), np.arange(4, dtype=np.int16)), np.int8(5) + np.arange(4, dtype=np.int16))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64], ids=lambda d: np.dtype(d).name)
def test_integer_division_edge_cases(target, dtype):
    info = np.iinfo(dtype)
    a = np.array([info.min, info.min, -7, 7, -7, 7, 0, info.max], dtype=dtype)
    b = np.array([-1, 1, 2, -2, -2, 0, 0, -1], dtype=dtype)
    for name in ("floordiv", "mod"):
        assert_same(_kernels[name](a, b), numpy_result(BINARY[name], a, b))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_float_division_edge_cases(target, dtype):
    values = np.array([-7.5, 7.5, -0.0, 0.0, np.inf, -np.inf, np.nan, 1e-30], dtype=dtype)
    a, b = np.meshgrid(values, values)
    for name in ("truediv", "floordiv", "mod"):
        assert_same(_kernels[name](a, b), numpy_result(BINARY[name], a, b), tolerance(dtype))


def test_integer_power_with_negative_exponent_raises_like_numpy(target):
    a = np.arange(1, 5, dtype=np.int64)
    with pytest.raises(ValueError, match="negative integer powers"):
        a ** np.array([1, -1, 2, 3])
    with pytest.raises(ValueError, match="negative integer powers"):
        _kernels["pow"](a, np.array([1, -1, 2, 3]))


def test_integer_overflow_wraps_like_numpy(target):
    a = np.array([127, -128, 100], dtype=np.int8)
    assert_same(_kernels["add"](a, a), numpy_result(operator.add, a, a))
    assert_same(_kernels["mul"](a, a), numpy_result(operator.mul, a, a))


def test_python_int_out_of_bounds_is_refused_like_numpy(target):
    a = np.arange(5, dtype=np.int8)
    kernel = sejits.elementwise(lambda x: x + 1000)
    with pytest.raises(OverflowError):
        a + 1000
    with pytest.raises(sejits.SpecializationError, match="out of bounds for int8"):
        kernel(a)


@pytest.mark.parametrize("dtype, target",
                         on_targets(ALL_DTYPES, opencl=lambda dtype: dtype in (np.bool_, np.uint64, np.float32)),
                         indirect=["target"])
def test_unary_operators(target, dtype):
    rng = np.random.default_rng(11)
    a = random_array(dtype, SHAPE, rng)
    negate = sejits.elementwise(lambda x: -x)
    logical_not = sejits.elementwise(lambda x: not x)
    if np.dtype(dtype) == np.bool_:
        with pytest.raises(sejits.SpecializationError, match="boolean negative"):
            negate(a)
    else:
        assert_same(negate(a), numpy_result(operator.neg, a))
    assert_same(logical_not(a), np.logical_not(a))


def test_folded_python_int_out_of_bounds_is_refused(target):
    a = np.arange(5, dtype=np.int8)
    with pytest.raises(sejits.SpecializationError, match="-1000 out of bounds for int8"):
        sejits.elementwise(lambda x: x + -1000)(a)
    with pytest.raises(sejits.SpecializationError, match="1000 out of bounds for int8"):
        sejits.elementwise(lambda x: x * (500 + 500))(a)


def test_comparison_with_out_of_range_python_int_is_exact(target):
    a = np.array([-128, -1, 0, 127], dtype=np.int8)
    u = np.array([0, 1, 255], dtype=np.uint8)
    assert_same(sejits.elementwise(lambda x: x < 1000)(a), a < 1000)
    assert_same(sejits.elementwise(lambda x: x > -1000)(a), a > -1000)
    assert_same(sejits.elementwise(lambda x: x == -1)(u), u == -1)
