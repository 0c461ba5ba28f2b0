"""Scans over an element-wise map (issue 19): sejits.scan(op)(map) is
np.cumsum, np.cumprod, np.minimum.accumulate and np.maximum.accumulate of the
mapped array, with their axis, dtype= and out= (axis=None flattens in C
order, as np.cumsum does). Differential against NumPy on both targets; float
sums and products within a reordered (parallel) scan's rounding."""

import numpy as np
import pytest

import sejits
from reference import ALL_DTYPES, on_targets, random_array

# OpenCL reductions are not compiled yet (the map runs on the device, then
# NumPy): only the on_targets cases sampled for OpenCL run there
# (tests/conftest.py). Each OpenCL case costs a program build.
OPENCL_ONLY_WHERE_SAMPLED = True

SCAN_OPS = ["sum", "prod", "min", "max"]

running_sum = sejits.scan("sum")(lambda v: v)
running_prod = sejits.scan("prod")(lambda v: v)
running_min = sejits.scan("min")(lambda v: v)
running_max = sejits.scan("max")(lambda v: v)
IDENTITY = {"sum": running_sum, "prod": running_prod, "min": running_min, "max": running_max}

running = sejits.scan("sum")(lambda v: v * v)
widest_gap = sejits.scan("max")(lambda a, b: a - b)


@sejits.scan("prod")
def growth(rate, years):
    r = 1.0 + rate
    return np.where(years > 0, r, 1.0)


def numpy_scan(op, mapped, axis=None, dtype=None, out=None):
    if op == "sum":
        return np.cumsum(mapped, axis=axis, dtype=dtype, out=out)
    if op == "prod":
        return np.cumprod(mapped, axis=axis, dtype=dtype, out=out)
    ufunc = np.minimum if op == "min" else np.maximum
    if axis is None:
        mapped, axis = np.ravel(mapped), 0
    return ufunc.accumulate(mapped, axis=axis, dtype=dtype, out=out)


def check(kernel, op, args, mapped, **kwargs):
    numpy_kwargs = dict(kwargs)
    if kwargs.get("out") is not None:
        numpy_kwargs["out"] = kwargs["out"].copy()
    with np.errstate(all="ignore"):
        expected = numpy_scan(op, mapped, **numpy_kwargs)
    actual = kernel(*args, **kwargs)
    if kwargs.get("out") is not None:
        assert actual is kwargs["out"], "with out=, the result is out itself"
    assert isinstance(actual, np.ndarray), f"a scan gives an ndarray, not {type(actual)!r}"
    assert actual.dtype == expected.dtype, f"dtype {actual.dtype} != NumPy's {expected.dtype}"
    assert actual.shape == expected.shape, f"shape {actual.shape} != NumPy's {expected.shape}"
    if op in ("min", "max") or expected.dtype.kind != "f":
        np.testing.assert_array_equal(actual, expected, strict=True)
        return
    rtol = 1e-5 if expected.dtype == np.float32 else 1e-12
    if op == "sum":  # relative to the running sum of magnitudes: cancellation is no excuse
        scale = np.abs(numpy_scan("sum", np.abs(np.asarray(mapped).astype(np.float64)), axis=axis_of(kwargs)))
        scale = scale.reshape(expected.shape)
    else:
        scale = np.abs(expected.astype(np.float64))
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    with np.errstate(invalid="ignore"):
        close = (a == e) | (np.isnan(a) & np.isnan(e)) | (np.abs(a - e) <= rtol * scale)
    assert np.all(close), f"{np.count_nonzero(~close)} of {close.size} differ, e.g. " \
                          f"{a[~close][:3]} != NumPy's {e[~close][:3]}"


def axis_of(kwargs):
    return kwargs.get("axis")


def seed(*parts):
    return np.random.default_rng([190] + [sum(map(ord, str(p))) for p in parts])


def inputs(op, dtype, shape, rng):
    dtype = np.dtype(dtype)
    if op == "prod":
        if dtype.kind == "f":
            return random_array(dtype, shape, rng, 0.5, 1.5) * np.where(rng.random(shape) < 0.5, -1, 1).astype(dtype)
        x = random_array(dtype, shape, rng, -4, 4)
        return x | 1 if dtype.kind in "iu" else x
    return random_array(dtype, shape, rng)


SCAN_DTYPES = {"sum": [np.dtype(d).name for d in ALL_DTYPES],
               "prod": ["bool", "uint16", "int64", "float64"],
               "min": ["int16", "uint64", "float32", "float64"],
               "max": ["bool", "int8", "uint32", "float64"]}
SWEEP = [f"{op}-{dtype}" for op in SCAN_OPS for dtype in SCAN_DTYPES[op]]


@pytest.mark.parametrize("case, target", on_targets(SWEEP, opencl=lambda case: SWEEP.index(case) % 3 == 0),
                         indirect=["target"])
def test_every_op_and_dtype(target, case):
    """One compile per op and dtype: every axis of a 2-D array, negative axes,
    axis=None (C-order flattening, also of a transposed view), strided views."""
    op, dtype = case.split("-")
    x = inputs(op, dtype, (9, 11), seed(case))
    kernel = IDENTITY[op]
    for axis in (0, 1, -1, -2, None):
        check(kernel, op, (x,), x, axis=axis)
    check(kernel, op, (x.T,), x.T, axis=None)
    check(kernel, op, (x.T,), x.T, axis=1)
    view = x[::-2, ::3]
    check(kernel, op, (view,), view, axis=0)
    check(kernel, op, (x[4],), x[4], axis=0)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3, None], ids=str)
@pytest.mark.parametrize("op", SCAN_OPS)
def test_every_axis_of_3d_arrays(target, op, axis):
    x = inputs(op, np.float64, (3, 5, 7), seed(op, axis))
    check(IDENTITY[op], op, (x,), x, axis=axis)
    view = x[:, ::-1, 1::2]
    check(IDENTITY[op], op, (view,), view, axis=axis)


@pytest.mark.parametrize("op", ["sum", "max"])
def test_shapes(target, op):
    for shape, axis in [((1,), 0), ((1, 1), 1), ((0,), 0), ((0, 3), 0), ((0, 3), 1), ((3, 0), 1), ((0,), None),
                        ((13,), None), ((2, 1, 3), 1), ((2, 3, 5, 7), 2)]:
        x = inputs(op, np.float64, shape, seed(op, shape))
        check(IDENTITY[op], op, (x,), x, axis=axis)
    result = running_sum(np.array(2.5))  # a 0-d input scans as one element, as np.cumsum does
    assert isinstance(result, np.ndarray) and result.shape == (1,) and result[0] == 2.5


def test_nan_propagates(target):
    x = random_array(np.float64, (4, 9), seed("nan"))
    x[1, 3] = x[2, 0] = x[3, 8] = np.nan
    x[0, 2], x[0, 5] = np.inf, -np.inf
    for op in SCAN_OPS:
        check(IDENTITY[op], op, (x,), x, axis=1)
        check(IDENTITY[op], op, (x,), x, axis=0)


def test_integer_scans_are_exact(target):
    rng = seed("ints")
    for dtype in (np.int64, np.uint64, np.int8):
        x = random_array(dtype, 5003, rng)
        check(running_sum, "sum", (x,), x, axis=0)  # int64/uint64 wrap as NumPy's
        check(running_prod, "prod", (x | 1,), x | 1, axis=0) if dtype != np.uint64 else None
        check(running_max, "max", (x,), x, axis=0) if dtype != np.int8 else None


def test_long_float_scan(target):
    x = random_array(np.float64, 6001, seed("long"))
    check(running_sum, "sum", (x,), x, axis=0)
    check(running_sum, "sum", (x[::-1],), x[::-1], axis=None)
    check(running_max, "max", (x,), x, axis=0)


DTYPE_CASES = [("sum", "int8", "int8"), ("sum", "int32", "float64"), ("sum", "float64", "float32"),
               ("sum", "bool", "int16"), ("prod", "int16", "float64"), ("max", "int16", "float64"),
               ("min", "float32", "float64")]


@pytest.mark.parametrize("op, dtype, into", DTYPE_CASES)
def test_dtype_keyword(target, op, dtype, into):
    x = inputs(op, dtype, (6, 8), seed(op, dtype, into))
    check(IDENTITY[op], op, (x,), x, axis=1, dtype=np.dtype(into))
    check(IDENTITY[op], op, (x,), x, axis=0, dtype=np.dtype(into))
    check(IDENTITY[op], op, (x,), x, axis=None, dtype=np.dtype(into))


def test_out(target):
    x = random_array(np.float64, (6, 8), seed("out"))
    check(running_sum, "sum", (x,), x, axis=1, out=np.empty((6, 8)))
    check(running_sum, "sum", (x,), x, axis=0, out=np.empty((8, 6)).T)  # a transposed out
    check(running_sum, "sum", (x,), x, axis=None, out=np.empty(96)[::-2])  # flattened into a strided out
    check(running_max, "max", (x,), x, axis=0, out=np.empty((6, 8)))
    check(running_min, "min", (x,), x, axis=None, out=np.empty(48))
    check(running_prod, "prod", (x * 0.1 + 1,), x * 0.1 + 1, axis=1, out=np.empty((6, 8)))
    check(running_sum, "sum", (x,), x, axis=1, out=np.empty((6, 8), np.float32))  # accumulates in out's dtype
    ints = random_array(np.int8, (6, 8), seed("out-int"))
    check(running_sum, "sum", (ints,), ints, axis=1, out=np.empty((6, 8), np.int8))  # wraps in int8
    buffer = x.copy()
    expected = np.cumsum(x, axis=1)
    assert running_sum(buffer, axis=1, out=buffer) is buffer  # in place
    np.testing.assert_allclose(buffer, expected, rtol=1e-12)


def test_maps(target):
    rng = seed("maps")
    x = random_array(np.float64, (5, 7), rng)
    check(running, "sum", (x,), x * x, axis=-1)
    check(running, "sum", (x,), x * x, axis=None)
    x32 = random_array(np.float32, (5, 7), rng)
    check(running, "sum", (x32,), x32 * x32, axis=0)
    a, b = random_array(np.float64, (5, 1), rng), random_array(np.float64, (1, 7), rng)
    for axis in (0, 1, None):
        check(widest_gap, "max", (a, b), np.broadcast_to(a - b, (5, 7)), axis=axis)
    check(widest_gap, "max", (x, 0.5), x - 0.5, axis=1)  # a Python float argument
    rate, years = random_array(np.float64, 12, rng, 0.0, 0.1), rng.integers(-1, 3, 12)
    check(growth, "prod", (rate, years), np.where(years > 0, 1.0 + rate, 1.0), axis=0)
    result = sejits.scan("min")(lambda v: -v)(x, axis=1)  # a lambda decorated where it is called
    np.testing.assert_array_equal(result, np.minimum.accumulate(-x, axis=1))
