"""The compiled OpenCL reductions and scans (issue 19, specializers/reduce/
lower_opencl.cc), differential against NumPy on sejits.opencl device arrays:
every op over dtypes, axes (int, negative, tuple, None) and keywords (keepdims,
dtype=, out=, initial=, where=), NaN propagation, integer wrap-around, empty
reductions and NumPy's errors, broadcasting maps, scans, a user's operator
(combine=True), the same bits for any work-group size, and float32 sums no
less accurate than NumPy's contiguous pairwise sum.

Results must stay on the device: a DeviceArray of the inputs' context (a
NumPy scalar for a 0-d result), computed by the OpenCL kernel (`_last_run`).
Values: exact for integers, booleans, min, max, argmin/argmax and integer
scans; float sums, means and products within a reordered summation's error
(rtol 1e-12 float64, 1e-5 float32 of the magnitude), against a float64
reference.

Compiles are the cost (each op x argument dtypes x rank x number of reduced
axes x dtype=/initial=/where= is a daemon compile of several seconds): each
test below is one kernel configuration, with many shapes and axes that share
it, and the reducers live at module level so their kernels are cached."""

import math

import numpy as np
import pytest

import sejits
from reference import random_array

OPS = ["sum", "prod", "min", "max", "argmin", "argmax", "any", "all", "mean"]
NUMPY = {"sum": np.sum, "prod": np.prod, "min": np.min, "max": np.max, "argmin": np.argmin, "argmax": np.argmax,
         "any": np.any, "all": np.all, "mean": np.mean}
FLOAT_OPS = ("sum", "prod", "mean")  # the ones a reordered combination may round differently

# One identity map per op (the same source as tests/python/test_reduce.py's).
sum_of = sejits.reduce("sum")(lambda v: v)
prod_of = sejits.reduce("prod")(lambda v: v)
min_of = sejits.reduce("min")(lambda v: v)
max_of = sejits.reduce("max")(lambda v: v)
argmin_of = sejits.reduce("argmin")(lambda v: v)
argmax_of = sejits.reduce("argmax")(lambda v: v)
any_of = sejits.reduce("any")(lambda v: v)
all_of = sejits.reduce("all")(lambda v: v)
mean_of = sejits.reduce("mean")(lambda v: v)
IDENTITY = {"sum": sum_of, "prod": prod_of, "min": min_of, "max": max_of, "argmin": argmin_of, "argmax": argmax_of,
            "any": any_of, "all": all_of, "mean": mean_of}


@sejits.reduce("sum")
def sumsq(x, y):
    d = x - y
    return d * d


count_above = sejits.reduce("sum")(lambda v, t: v > t)

running_sum = sejits.scan("sum")(lambda v: v)
running_prod = sejits.scan("prod")(lambda v: v)
running_min = sejits.scan("min")(lambda v: v)
running_max = sejits.scan("max")(lambda v: v)
running_squares = sejits.scan("sum")(lambda v: v * v)


@sejits.reduce(combine=True, identity=-np.inf)
def logaddexp(a, b):
    m = max(a, b)
    return m + np.log1p(np.exp(-abs(a - b))) if m > -np.inf else m


first = sejits.reduce(combine=True)(lambda a, b: a)  # associative, not commutative
last = sejits.reduce(combine=True)(lambda a, b: b)


@pytest.fixture(scope="module")
def ctx(daemon, opencl_device):
    from sejits import opencl

    return opencl.context(opencl_device)


def ran_on_device(kernel, ctx, what="reduction"):
    assert kernel._last_run == f"the compiled OpenCL {what} on {ctx.name}", kernel._last_run


# ---------------------------------------------------------------- helpers

def seed(*parts):
    """A generator seeded by the test's parameters (stable across runs and processes)."""
    return np.random.default_rng([23] + [sum(map(ord, str(p))) for p in parts])


def inputs(op, dtype, shape, rng, exact_products=False):
    """Random inputs suited to `op`: products that stay finite (floats; powers
    of two with `exact_products`, so that any order gives the same bits) or
    wrap (integers) without collapsing to zero, ties and the dtype's extremes
    for min/max/arg*, zeros for any/all."""
    dtype = np.dtype(dtype)
    if op == "prod":
        if dtype.kind == "f":
            sign = np.where(rng.random(shape) < 0.5, -1, 1)
            if exact_products:  # few factors of 2 or 1/2: no partial product leaves float32's range
                exponent = np.where(rng.random(shape) < 0.002, rng.choice([-1, 1], size=shape), 0)
                return (sign * np.exp2(exponent)).astype(dtype)
            return (random_array(np.float64, shape, rng, 0.5, 1.5) * sign).astype(dtype)
        x = np.asarray(random_array(dtype, shape, rng, -4, 4))
        if dtype.kind in "iu":
            x[x == 0] = 3
        return x
    x = np.asarray(random_array(dtype, shape, rng))
    if dtype == np.bool_:
        return x
    if op in ("any", "all"):
        x[rng.random(shape) < 0.15] = 0
        if x.ndim == 2 and x.shape[0] > 2:
            x[2] = 0
            x[1] = 1
    elif op in ("min", "max", "argmin", "argmax"):
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            specials = np.array([info.min, info.max, 0], dtype)
        else:
            specials = np.array([-10.0, 10.0, 0.0], dtype)
        chosen = rng.random(shape) < 0.3
        x[chosen] = rng.choice(specials, size=int(np.count_nonzero(chosen)))
    return x


def host(value):
    from sejits import opencl

    return value.get() if isinstance(value, opencl.DeviceArray) else value


def numpy_kwargs(kwargs):
    return {k: host(v) for k, v in kwargs.items() if k != "out"}


def on_host(actual, expected, ctx):
    """`actual` where NumPy's `expected` is: a NumPy scalar of the same type for
    a 0-d result, else a DeviceArray of `ctx`; returns its values on the host."""
    from sejits import opencl

    if isinstance(expected, np.generic):
        assert type(actual) is type(expected), f"result {type(actual)!r}, NumPy gives a {type(expected)!r} scalar"
        return actual
    assert isinstance(actual, opencl.DeviceArray), f"result {type(actual)!r}: device inputs give a DeviceArray"
    assert actual.context is ctx
    return actual.get()


def rtol_of(dtype):
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-12


def assert_values(actual, expected, op, mapped, kwargs, what=""):
    """Same dtype and shape as NumPy's `expected`; exact for integers, booleans,
    min, max, arg*, any, all; float sums, products and means within rtol of the
    magnitude (products: of the value) of a float64 reference."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != NumPy's {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != NumPy's {expected.shape}"
    if op not in FLOAT_OPS or expected.dtype.kind != "f":
        np.testing.assert_array_equal(actual, expected, strict=True, err_msg=what)
        return
    keep = {k: v for k, v in kwargs.items() if k in ("axis", "keepdims", "where", "initial")}
    wide = np.asarray(mapped).astype(np.float64)
    with np.errstate(all="ignore"):
        reference = np.asarray(NUMPY[op](wide, **keep), np.float64)
        if op == "prod":
            scale = np.abs(reference)
        else:
            absolute = dict(keep, initial=abs(float(keep["initial"]))) if "initial" in keep else keep
            scale = np.asarray(NUMPY[op](np.abs(wide), **absolute), np.float64)
    a = actual.astype(np.float64)
    rtol = rtol_of(expected.dtype)
    with np.errstate(invalid="ignore"):
        close = (a == reference) | (np.isnan(a) & np.isnan(reference)) \
            | (np.abs(a - reference) <= rtol * scale + np.finfo(expected.dtype).tiny)
    if not np.all(close):
        bad = np.flatnonzero(~np.asarray(close))
        i = bad[0]
        raise AssertionError(f"{what}: {bad.size} of {close.size} values differ beyond rtol {rtol} of the magnitude; "
                             f"e.g. {a.flat[i]!r} != exact {reference.flat[i]!r} (NumPy's {expected.flat[i]!r})")


def check(ctx, kernel, op, args, mapped, **kwargs):
    """kernel(*args, **kwargs) on device arrays is NumPy's `op` of the mapped
    array, where NumPy puts it (or in out=, which it returns), computed by
    the compiled OpenCL reduction."""
    what = f"{op} of {np.asarray(mapped).dtype}{np.shape(mapped)} {numpy_kwargs(kwargs)}"
    with np.errstate(all="ignore"):
        expected = NUMPY[op](mapped, **numpy_kwargs(kwargs))
    actual = kernel(*args, **kwargs)
    out = kwargs.get("out")
    if out is not None:
        assert actual is out, f"{what}: with out=, the result is out itself"
        values = host(out)
    else:
        values = on_host(actual, expected, ctx)
    assert_values(values, expected, op, mapped, kwargs, what)
    return actual


# ---------------------------------------------------------- ops x dtypes sweep

# Every dtype for some op, every op for several dtypes: one compile each.
SWEEP = [("sum", np.bool_), ("sum", np.int8), ("sum", np.uint32), ("sum", np.int64), ("sum", np.float32),
         ("sum", np.float64),
         ("prod", np.int16), ("prod", np.uint64), ("prod", np.float32), ("prod", np.float64),
         ("min", np.int64), ("min", np.uint8), ("min", np.float32),
         ("max", np.uint16), ("max", np.int32), ("max", np.float64),
         ("argmin", np.int8), ("argmin", np.float32),
         ("argmax", np.uint64), ("argmax", np.float64),
         ("any", np.bool_), ("any", np.float32),
         ("all", np.int16), ("all", np.float64),
         ("mean", np.int32), ("mean", np.float32), ("mean", np.float64)]


@pytest.mark.parametrize("op, dtype", SWEEP, ids=lambda v: v if isinstance(v, str) else np.dtype(v).name)
def test_every_op_and_dtype(ctx, op, dtype):
    """One reduced axis of 2-D arrays (one compile per op and dtype): both
    axes, negative axes, keepdims, extents of 1 and primes, and 9000-long axes
    (more lanes than one fold pass takes), along and across memory."""
    kernel = IDENTITY[op]
    rng = seed(op, dtype)
    x = inputs(op, dtype, (11, 7), rng)
    dx = ctx.asarray(x)
    check(ctx, kernel, op, (dx,), x, axis=1)
    ran_on_device(kernel, ctx)
    check(ctx, kernel, op, (dx,), x, axis=0)
    check(ctx, kernel, op, (dx,), x, axis=-2, keepdims=True)
    check(ctx, kernel, op, (dx,), x, axis=-1, keepdims=True)
    for shape in [(1, 13), (13, 1), (2, 3), (37, 31)]:
        y = inputs(op, dtype, shape, rng)
        for axis in (0, 1):
            check(ctx, kernel, op, (ctx.asarray(y),), y, axis=axis)
    for shape, axis in [((3, 9001), 1), ((9001, 3), 0), ((3, 9001), 0), ((9001, 3), 1), ((2, 40000), -1)]:
        y = inputs(op, dtype, shape, rng, exact_products=True)
        check(ctx, kernel, op, (ctx.asarray(y),), y, axis=axis)
        ran_on_device(kernel, ctx)


def test_integer_sums_and_products_wrap_as_numpys(ctx):
    """int64 accumulators wrap (two's complement), as NumPy's do; int8 and
    uint32 sums accumulate in int64/uint64 without wrapping in the input dtype."""
    big = np.full((4, 5000), np.iinfo(np.int64).max // 3, np.int64)
    big[1] = np.iinfo(np.int64).min
    check(ctx, sum_of, "sum", (ctx.asarray(big),), big, axis=1)
    small = np.full((3, 3000), 127, np.int8)
    small[2] = -128
    result = check(ctx, sum_of, "sum", (ctx.asarray(small),), small, axis=1)
    assert result.get().tolist() == [381000, 381000, -384000]
    wide = np.full((2, 1000), np.iinfo(np.uint32).max, np.uint32)
    result = check(ctx, sum_of, "sum", (ctx.asarray(wide),), wide, axis=-1)
    assert result.dtype == np.uint64 and result.get()[0] == 1000 * (2 ** 32 - 1)
    primes = np.array([[3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]] * 2, np.int16)
    primes = np.tile(primes, (1, 4))  # 76 factors: wraps in int64 many times
    check(ctx, prod_of, "prod", (ctx.asarray(primes),), primes, axis=1)
    huge = np.full((2, 300), np.iinfo(np.uint64).max - 2, np.uint64)
    check(ctx, prod_of, "prod", (ctx.asarray(huge),), huge, axis=0)
    check(ctx, prod_of, "prod", (ctx.asarray(huge),), huge, axis=1)


# ------------------------------------------------------ axes of 3-D arrays

AXES_BY_COUNT = {1: [0, 1, 2, -1, -3, (1,), (-2,)], 2: [(0, 2), (2, 0), (-1, 1), (0, 1), (1, 2)], 3: [None, (0, 1, 2), (2, 0, 1)]}
AXIS_CASES = [(op, dtype, count) for op, dtype in [("sum", np.float64), ("min", np.int16), ("mean", np.float32)]
              for count in (1, 2, 3)] + [("any", np.bool_, 2), ("prod", np.int32, 3)]


@pytest.mark.parametrize("op, dtype, count", AXIS_CASES, ids=lambda v: np.dtype(v).name if isinstance(v, type) else str(v))
def test_axes_of_3d_arrays(ctx, op, dtype, count):
    """Int, negative and tuple axes (any order) and None, keepdims, over 3-D
    shapes with 1s and primes (one compile per op and number of reduced axes)."""
    kernel = IDENTITY[op]
    rng = seed("axes", op, dtype, count)
    for shape in [(3, 5, 7), (1, 13, 2), (17, 1, 3), (2, 3, 1000)]:
        x = inputs(op, dtype, shape, rng)
        dx = ctx.asarray(x)
        for axis in AXES_BY_COUNT[count]:
            for keepdims in (False, True):
                check(ctx, kernel, op, (dx,), x, axis=axis, keepdims=keepdims)
        ran_on_device(kernel, ctx)


@pytest.mark.parametrize("count", [1, 3])
def test_argmax_along_each_axis_of_3d_arrays(ctx, count):
    """One int axis (keepdims too), or None: the flat index of the first maximum."""
    rng = seed("argmax3d", count)
    for shape in [(3, 5, 7), (4, 1, 2), (2, 3, 2500)]:
        x = inputs("argmax", np.float64, shape, rng)
        x[0, 0, 0] = x.max()  # ties with the first element
        dx = ctx.asarray(x)
        for axis in ([0, 1, 2, -1, -2] if count == 1 else [None]):
            check(ctx, argmax_of, "argmax", (dx,), x, axis=axis)
            check(ctx, argmax_of, "argmax", (dx,), x, axis=axis, keepdims=True)
        ran_on_device(argmax_of, ctx)


# ------------------------------------------------------------- NaN and inf

@pytest.mark.parametrize("op, dtype", [("min", np.float32), ("max", np.float64), ("argmin", np.float32),
                                       ("argmax", np.float64)], ids=lambda v: v if isinstance(v, str) else np.dtype(v).name)
def test_nan_propagates(ctx, op, dtype):
    """min/max give NaN where a reduced line has one; argmin/argmax give the
    index of the first NaN (also NaNs in several lanes of a long axis, and
    after the best number)."""
    kernel = IDENTITY[op]
    rng = seed("nan", op, dtype)
    x = random_array(dtype, (6, 9001), rng)
    x[1, 4000] = np.nan
    x[2, [17, 5000, 9000]] = np.nan
    x[3, 9000] = np.nan
    x[4, 0] = np.nan
    x[5, 123] = -np.inf if op in ("min", "argmin") else np.inf
    x[5, 7000] = np.nan
    x[0, 33] = np.inf
    x[0, 34] = -np.inf
    dx = ctx.asarray(x)
    check(ctx, kernel, op, (dx,), x, axis=1)
    t = np.ascontiguousarray(x.T)
    check(ctx, kernel, op, (ctx.asarray(t),), t, axis=0)
    small = random_array(dtype, (5, 4), rng)
    small[[1, 3], [2, 0]] = np.nan
    check(ctx, kernel, op, (ctx.asarray(small),), small, axis=0)
    check(ctx, kernel, op, (ctx.asarray(small),), small, axis=1, keepdims=True)
    ran_on_device(kernel, ctx)


def test_nan_is_true_for_any_and_all(ctx):
    x = np.zeros((3, 5000), np.float32)
    x[0, 4321] = np.nan
    x[1, 0] = np.nan
    check(ctx, any_of, "any", (ctx.asarray(x),), x, axis=1)
    assert any_of(ctx.asarray(x), axis=1).get().tolist() == [True, True, False]
    y = np.ones((2, 5000))
    y[0, 17] = np.nan
    y[1, 4999] = 0.0
    check(ctx, all_of, "all", (ctx.asarray(y),), y, axis=1)
    assert all_of(ctx.asarray(y), axis=1).get().tolist() == [True, False]


def test_infinities_in_sums(ctx):
    x = np.zeros((4, 3000))
    x[0, 10] = np.inf
    x[1, [10, 2000]] = [np.inf, -np.inf]
    x[2, 2999] = -np.inf
    x[3] = 1e308
    with np.errstate(over="ignore"):
        check(ctx, sum_of, "sum", (ctx.asarray(x),), x, axis=1)


# ----------------------------------------------------------------- empties

def test_empty_reductions_give_the_identities(ctx):
    empty = np.zeros((0, 5))
    d = ctx.asarray(empty)
    check(ctx, sum_of, "sum", (d,), empty, axis=0)
    check(ctx, sum_of, "sum", (d,), empty, axis=1)
    check(ctx, all_of, "all", (d,), empty, axis=0)
    ints = np.zeros((3, 0), np.int16)
    check(ctx, prod_of, "prod", (ctx.asarray(ints),), ints, axis=1)
    check(ctx, all_of, "all", (ctx.asarray(np.zeros((4, 0))),), np.zeros((4, 0)), axis=1)
    bools = np.zeros((2, 0), np.bool_)
    check(ctx, any_of, "any", (ctx.asarray(bools),), bools, axis=-1)
    result = any_of(ctx.asarray(bools), axis=1)
    assert result.get().tolist() == [False, False]
    assert all_of(ctx.asarray(np.zeros((2, 0))), axis=1).get().tolist() == [True, True]
    assert prod_of(ctx.asarray(ints), axis=1).get().tolist() == [1, 1, 1]


@pytest.mark.parametrize("op", ["min", "max", "argmin", "argmax"])
def test_empty_min_max_and_arg_raise_numpys_error(ctx, op):
    empty = np.zeros((0, 4), np.float32)
    with pytest.raises(ValueError) as numpy_error:
        NUMPY[op](empty, axis=0)
    with pytest.raises(ValueError) as ours:
        IDENTITY[op](ctx.asarray(empty), axis=0)
    assert str(ours.value) == str(numpy_error.value)


# ------------------------------------------------------ views with offsets

def test_device_views_with_offsets(ctx):
    """Inputs, masks and out= that are views into a larger buffer (a nonzero offset)."""
    rng = seed("views")
    x = rng.random((9, 11, 13))
    dx = ctx.asarray(x)
    view, part = dx[2:5], x[2:5]
    check(ctx, sum_of, "sum", (view,), part, axis=1)
    check(ctx, sum_of, "sum", (view,), part, axis=(0, 2))
    check(ctx, sum_of, "sum", (dx[4],), x[4], axis=0)
    check(ctx, sum_of, "sum", (dx[4, 3:9],), x[4, 3:9], axis=-1, keepdims=True)
    row = (rng.random((5, 3001)) * 4 - 2).astype(np.float32)
    check(ctx, sum_of, "sum", (ctx.asarray(row)[3],), row[3])
    masks = rng.random((9, 11, 13)) < 0.5
    check(ctx, sum_of, "sum", (dx[4],), x[4], axis=1, where=ctx.asarray(masks)[6, :, :], initial=0.0)
    big = ctx.zeros((4, 13))
    result = sum_of(dx[1], axis=0, out=big[2])
    expected = np.zeros((4, 13))
    expected[2] = x[1].sum(axis=0)
    np.testing.assert_allclose(big.get(), expected, rtol=1e-12)
    np.testing.assert_allclose(result.get(), expected[2], rtol=1e-12)
    scans = ctx.zeros((3, 11, 13))
    row_out = scans[1]
    assert running_sum(dx[7], axis=0, out=row_out) is row_out
    expected = np.zeros((3, 11, 13))
    expected[1] = np.cumsum(x[7], axis=0)
    np.testing.assert_allclose(scans.get(), expected, rtol=1e-12)
    check_scan(ctx, running_sum, "sum", (dx[2:5][1],), x[3], axis=1)


def test_zero_dimensional_device_array(ctx):
    d = ctx.asarray(np.float64(2.5))
    result = sum_of(d)
    assert type(result) is np.float64 and result == 2.5
    result = max_of(d, axis=0)
    assert type(result) is np.float64 and result == 2.5


# ------------------------------------------------------------------- dtype=

DTYPE_CASES = [("sum", np.int8, np.int8), ("sum", np.int32, np.float32), ("sum", np.float32, np.float64),
               ("prod", np.uint8, np.uint8), ("mean", np.float32, np.float64)]


@pytest.mark.parametrize("op, dtype, into", DTYPE_CASES, ids=lambda v: v if isinstance(v, str) else np.dtype(v).name)
def test_dtype_keyword(ctx, op, dtype, into):
    """dtype= sets the accumulator and the result's dtype (an int8 sum in
    int8 wraps as NumPy's does)."""
    kernel = IDENTITY[op]
    rng = seed("dtype", op, dtype, into)
    for shape in [(11, 7), (3, 9001)]:
        x = inputs(op, dtype, shape, rng)
        dx = ctx.asarray(x)
        for axis in (0, 1, -1):
            check(ctx, kernel, op, (dx,), x, axis=axis, dtype=into)
        check(ctx, kernel, op, (dx,), x, axis=1, dtype=into, keepdims=True)
        ran_on_device(kernel, ctx)


def test_float32_sums_in_float64(ctx):
    x = (seed("f32in64").random((5, 20000)) * 2 - 0.5).astype(np.float32)
    result = sum_of(ctx.asarray(x), axis=1, dtype=np.float64)
    np.testing.assert_allclose(result.get(), np.sum(x.astype(np.float64), axis=1), rtol=1e-12)


# --------------------------------------------------------------------- out=

def test_device_out_is_written_and_returned(ctx):
    x = seed("out").random((13, 29))
    dx = ctx.asarray(x)
    out = ctx.empty((29,), np.float64)
    check(ctx, sum_of, "sum", (dx,), x, axis=0, out=out)
    ran_on_device(sum_of, ctx)
    out = ctx.full((13, 1), 7.0)
    check(ctx, sum_of, "sum", (dx,), x, axis=1, keepdims=True, out=out)
    out = ctx.empty((13,), np.intp)
    check(ctx, argmin_of, "argmin", (ctx.asarray(x.astype(np.float32)),), x.astype(np.float32), axis=1, out=out)
    out = ctx.empty((29,), np.float64)
    check(ctx, mean_of, "mean", (dx,), x, axis=0, out=out)


def test_device_out_that_is_an_input_row(ctx):
    """out= a view of the input: the whole input is read before out changes."""
    x = seed("overlap").random((5, 7))
    dx = ctx.asarray(x)
    result = sum_of(dx, axis=0, out=dx[0])
    np.testing.assert_allclose(result.get(), x.sum(axis=0), rtol=1e-12)
    expected = x.copy()
    expected[0] = x.sum(axis=0)
    np.testing.assert_allclose(dx.get(), expected, rtol=1e-12)


def test_zero_dimensional_device_out(ctx):
    x = seed("zero-d out").random(1001).astype(np.float32)
    out = ctx.empty((), np.float32)
    assert sum_of(ctx.asarray(x), out=out) is out
    np.testing.assert_allclose(out.get(), np.sum(x.astype(np.float64)), rtol=1e-6)


def test_host_out_with_device_inputs(ctx):
    x = seed("host out").random((6, 50))
    out = np.full(6, -1.0)
    check(ctx, sum_of, "sum", (ctx.asarray(x),), x, axis=1, out=out)
    out = np.zeros((1, 50))
    check(ctx, sum_of, "sum", (ctx.asarray(x),), x, axis=0, keepdims=True, out=out)


def test_host_out_of_another_dtype_with_device_inputs(ctx):
    """NumPy casts into an out= of another dtype and returns out itself."""
    x = seed("cast out").random((6, 50)) * 10
    out = np.zeros(6, np.int64)
    result = sum_of(ctx.asarray(x), axis=1, out=out)
    np.testing.assert_array_equal(out, np.sum(x, axis=1, out=np.zeros(6, np.int64)), strict=True)
    assert result is out, f"the result is a {type(result).__name__}, not out (NumPy returns out)"


def test_out_of_another_shape_is_numpys_error(ctx):
    x = seed("bad out").random((6, 5))
    with pytest.raises(ValueError):
        sum_of(ctx.asarray(x), axis=0, out=ctx.empty((6,), np.float64))
    with pytest.raises(ValueError):
        np.sum(x, axis=0, out=np.empty(6))


# ----------------------------------------------------------------- initial=

INITIAL_CASES = [("sum", np.float64, 5.5), ("prod", np.int16, 3), ("min", np.float32, -1.0), ("max", np.int32, 1000)]


@pytest.mark.parametrize("op, dtype, initial", INITIAL_CASES, ids=lambda v: np.dtype(v).name if isinstance(v, type) else str(v))
def test_initial(ctx, op, dtype, initial):
    """initial= counts as an element of every reduced line, the result of an empty one."""
    kernel = IDENTITY[op]
    rng = seed("initial", op, dtype)
    for shape in [(11, 7), (2, 9001)]:
        x = inputs(op, dtype, shape, rng)
        if op == "min":
            x = np.abs(x)
            x[0, :3] = -5  # one line below initial
        dx = ctx.asarray(x)
        for axis in (0, 1):
            check(ctx, kernel, op, (dx,), x, axis=axis, initial=initial)
        check(ctx, kernel, op, (dx,), x, axis=-1, initial=initial, keepdims=True)
        ran_on_device(kernel, ctx)
    empty = np.zeros((0, 4), dtype)
    check(ctx, kernel, op, (ctx.asarray(empty),), empty, axis=0, initial=initial)


# ------------------------------------------------------------------- where=

WHERE_CASES = [("sum", np.float64, None), ("sum", np.int8, 7), ("min", np.float32, 3.0), ("max", np.int8, -100),
               ("any", np.bool_, None), ("all", np.float64, None), ("prod", np.float64, None)]


@pytest.mark.parametrize("op, dtype, initial", WHERE_CASES, ids=lambda v: np.dtype(v).name if isinstance(v, type) else str(v))
def test_where(ctx, op, dtype, initial):
    """where= masks as device arrays, host arrays and broadcast rows or
    columns; lines with no element selected give the identity (or initial)."""
    kernel = IDENTITY[op]
    rng = seed("where", op, dtype)
    extra = {} if initial is None else {"initial": initial}
    for shape in [(11, 7), (3, 9001)]:
        x = inputs(op, dtype, shape, rng, exact_products=True)
        mask = rng.random(shape) < 0.6
        mask[1] = False  # a line with nothing selected
        dx = ctx.asarray(x)
        for axis in (0, 1):
            check(ctx, kernel, op, (dx,), x, axis=axis, where=ctx.asarray(mask), **extra)
            check(ctx, kernel, op, (dx,), x, axis=axis, where=mask, **extra)
        ran_on_device(kernel, ctx)
        row = rng.random(shape[1]) < 0.5
        check(ctx, kernel, op, (dx,), x, axis=0, where=ctx.asarray(row), **extra)
        column = rng.random((shape[0], 1)) < 0.5
        check(ctx, kernel, op, (dx,), x, axis=1, where=column, keepdims=True, **extra)


def test_min_with_where_and_no_initial_is_numpys_error(ctx):
    x = np.arange(12.0).reshape(3, 4)
    mask = x > 3
    with pytest.raises(ValueError) as numpy_error:
        np.min(x, axis=1, where=mask)
    with pytest.raises(ValueError) as ours:
        min_of(ctx.asarray(x), axis=1, where=ctx.asarray(mask))
    assert str(ours.value) == str(numpy_error.value)


# --------------------------------------------------------- NumPy's errors

def test_numpys_errors_for_misuse(ctx):
    dx = ctx.asarray(np.arange(12.0).reshape(3, 4))
    with pytest.raises(np.exceptions.AxisError):
        sum_of(dx, axis=2)
    with pytest.raises(np.exceptions.AxisError):
        sum_of(dx, axis=(0, -3))
    with pytest.raises(TypeError):
        argmax_of(dx, axis=(0, 1))
    with pytest.raises(TypeError):
        argmax_of(dx, axis=0, initial=1.0)
    with pytest.raises(ValueError):
        sum_of(dx, axis=(0, 0))


# -------------------------------------------------------- broadcasting maps

@pytest.mark.parametrize("count", [1, 2])
def test_broadcasting_map(ctx, count):
    """x of shape (n, 1) and y of shape (m,) broadcast to (n, m) with no
    intermediate array, device and host arguments mixed."""
    rng = seed("broadcast", count)
    for n, m in [(37, 211), (1, 5), (3000, 3)]:
        x, y = rng.random((n, 1)), rng.random(m)
        mapped = (x - y) * (x - y)
        dx, dy = ctx.asarray(x), ctx.asarray(y)
        for axis in ([0, 1, -1] if count == 1 else [None, (0, 1), (1, 0)]):
            check(ctx, sumsq, "sum", (dx, dy), mapped, axis=axis)
            check(ctx, sumsq, "sum", (dx, y), mapped, axis=axis, keepdims=True)
            ran_on_device(sumsq, ctx)


def test_maps_with_a_scalar_argument(ctx):
    x = seed("scalar").random((40, 301))
    dx = ctx.asarray(x)
    for threshold in (0.25, 0.5, 0.9):
        for axis in (0, 1):
            check(ctx, count_above, "sum", (dx, threshold), x > threshold, axis=axis)
    ran_on_device(count_above, ctx)


# -------------------------------------------------------------------- scans

def numpy_scan(op, mapped, axis=None, dtype=None):
    if op == "sum":
        return np.cumsum(mapped, axis=axis, dtype=dtype)
    if op == "prod":
        return np.cumprod(mapped, axis=axis, dtype=dtype)
    ufunc = np.minimum if op == "min" else np.maximum
    if axis is None:
        mapped, axis = np.ravel(mapped), 0
    return ufunc.accumulate(mapped, axis=axis, dtype=dtype)


def check_scan(ctx, kernel, op, args, mapped, axis=None, dtype=None, out=None):
    """A scan of device arrays is a DeviceArray with NumPy's dtype, shape and
    values (exact but for float sums and products: a blocked scan's rounding)."""
    from sejits import opencl

    what = f"scan {op} of {np.asarray(mapped).dtype}{np.shape(mapped)} axis={axis} dtype={dtype}"
    with np.errstate(all="ignore"):
        expected = numpy_scan(op, mapped, axis, dtype)
    actual = kernel(*args, axis=axis, dtype=dtype, out=out)
    if out is not None:
        assert actual is out
    assert isinstance(actual, opencl.DeviceArray) and actual.context is ctx, f"{what}: {type(actual)!r}"
    values = actual.get()
    assert values.dtype == expected.dtype, f"{what}: dtype {values.dtype} != NumPy's {expected.dtype}"
    assert values.shape == expected.shape, f"{what}: shape {values.shape} != NumPy's {expected.shape}"
    if op in ("min", "max") or expected.dtype.kind != "f":
        np.testing.assert_array_equal(values, expected, strict=True, err_msg=what)
    else:
        wide = np.asarray(mapped).astype(np.float64)
        reference = numpy_scan(op, wide, axis)
        scale = np.abs(reference) if op == "prod" else numpy_scan("sum", np.abs(wide), axis)
        error = np.abs(values.astype(np.float64) - reference)
        assert np.all(error <= rtol_of(expected.dtype) * scale + 1e-300), \
            f"{what}: worst error {error.max()} (scale {scale.flat[np.argmax(error)]})"
    return actual


SCAN_CASES = [("sum", np.float64, 2), ("sum", np.float32, 1), ("sum", np.int8, 1), ("sum", np.bool_, 2),
              ("prod", np.int32, 2), ("min", np.float32, 2), ("max", np.uint16, 2)]
SCANS = {"sum": running_sum, "prod": running_prod, "min": running_min, "max": running_max}


@pytest.mark.parametrize("op, dtype, ndim", SCAN_CASES, ids=lambda v: np.dtype(v).name if isinstance(v, type) else str(v))
def test_scans(ctx, op, dtype, ndim):
    """Scans along every axis (axis=None flattens), over more than one
    4096-element block, with NaNs for min (they propagate) and wrap-around
    for integer sums and products."""
    kernel = SCANS[op]
    rng = seed("scan", op, dtype, ndim)
    if ndim == 1:
        for shape in [(1,), (13,), (4096,), (10007,)]:
            x = inputs(op, dtype, shape, rng)
            check_scan(ctx, kernel, op, (ctx.asarray(x),), x, axis=0)
            check_scan(ctx, kernel, op, (ctx.asarray(x),), x, axis=-1)
            check_scan(ctx, kernel, op, (ctx.asarray(x),), x)
        x = inputs(op, dtype, (37, 300), rng)  # axis=None flattens: the 1-D kernel
        check_scan(ctx, kernel, op, (ctx.asarray(x),), x)
        ran_on_device(kernel, ctx, "scan")
        return
    for shape in [(11, 7), (1, 9), (9, 1), (3, 9001), (5000, 3), (0, 4), (3, 0)]:
        x = inputs(op, dtype, shape, rng)
        if op == "min" and x.size:
            x[0, -1] = np.nan
            x[-1, 0] = np.nan
        dx = ctx.asarray(x)
        for axis in (0, 1, -1, -2):
            check_scan(ctx, kernel, op, (dx,), x, axis=axis)
        ran_on_device(kernel, ctx, "scan")


def test_scan_of_a_map_and_a_device_out(ctx):
    x = seed("scan map").random((40, 5000)) - 0.5
    dx = ctx.asarray(x)
    check_scan(ctx, running_squares, "sum", (dx,), x * x, axis=1)
    check_scan(ctx, running_squares, "sum", (dx,), x * x, axis=0)
    out = ctx.empty(x.shape, np.float64)
    check_scan(ctx, running_squares, "sum", (dx,), x * x, axis=-1, out=out)
    ran_on_device(running_squares, ctx, "scan")
    out = ctx.empty(x.shape, np.float64)
    check_scan(ctx, running_sum, "sum", (dx,), x, axis=1, out=out)


def test_scan_into_a_host_out_of_another_dtype(ctx):
    """np.cumsum casts into an out= of another dtype and returns out itself."""
    x = seed("scan cast out").random((6, 50)) * 10
    out = np.zeros((6, 50), np.float32)
    result = running_sum(ctx.asarray(x), axis=1, out=out)
    np.testing.assert_array_equal(out, np.cumsum(x, axis=1, out=np.zeros((6, 50), np.float32)), strict=True)
    assert result is out, f"the result is a {type(result).__name__}, not out (NumPy returns out)"


@sejits.scan("sum")
def running_sumsq(x, y):
    d = x - y
    return d * d


def test_scan_of_a_broadcasting_map(ctx):
    """x of shape (n, 1) and y of shape (m,): scans along either axis (axis=None
    flattens the broadcast result, which NumPy's scan does)."""
    rng = seed("scan broadcast")
    x, y = rng.random((30, 1)), rng.random(5000)
    mapped = (x - y) * (x - y)
    dx, dy = ctx.asarray(x), ctx.asarray(y)
    check_scan(ctx, running_sumsq, "sum", (dx, dy), mapped, axis=0)
    check_scan(ctx, running_sumsq, "sum", (dx, dy), mapped, axis=1)
    ran_on_device(running_sumsq, ctx, "scan")
    check_scan(ctx, running_sumsq, "sum", (dx, y), mapped, axis=-1)
    check_scan(ctx, running_sumsq, "sum", (dx, dy), mapped)


def test_scan_dtype_keyword(ctx):
    x = np.full(9000, 100, np.int8)
    x[::7] = -128
    check_scan(ctx, running_sum, "sum", (ctx.asarray(x),), x, axis=0, dtype=np.int8)
    ran_on_device(running_sum, ctx, "scan")


# ------------------------------------------------------ a user's operator

@pytest.mark.parametrize("dtype, axes", [(np.float64, 1), (np.float64, 2), (np.float32, 1)],
                         ids=lambda v: np.dtype(v).name if isinstance(v, type) else str(v))
def test_logaddexp_operator(ctx, dtype, axes):
    """combine=True with identity=-inf is np.logaddexp.reduce, on the device."""
    from sejits import opencl

    rng = seed("lse", dtype, axes)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for shape in [(37, 211), (1, 5), (3, 9001)]:
        x = np.log(rng.random(shape)).astype(dtype)
        dx = ctx.asarray(x)
        for axis in ([0, 1, -1] if axes == 1 else [None, (0, 1)]):
            flat = axis is None or axis == (0, 1)
            expected = np.logaddexp.reduce(x.ravel() if flat else x, axis=0 if flat else axis)
            actual = logaddexp(dx, axis=axis)
            if flat:
                assert type(actual) is type(expected), f"{type(actual)!r}"
                values = actual
            else:
                assert isinstance(actual, opencl.DeviceArray), f"{type(actual)!r}"
                values = actual.get()
            assert np.asarray(values).dtype == expected.dtype
            np.testing.assert_allclose(values, expected, rtol=rtol, atol=rtol)  # values near 0: one ulp of the terms
            ran_on_device(logaddexp, ctx)
        if axes == 1:
            keep = logaddexp(dx, axis=1, keepdims=True)
            assert keep.shape == (shape[0], 1)
            np.testing.assert_allclose(keep.get(), np.logaddexp.reduce(x, axis=1, keepdims=True), rtol=rtol, atol=rtol)
    if axes == 1:
        empty = logaddexp(ctx.asarray(np.zeros((3, 0), dtype)), axis=1)
        assert empty.get().tolist() == [-np.inf] * 3


def test_operator_that_is_not_commutative(ctx):
    x = seed("first").random((13, 3000))
    dx = ctx.asarray(x)
    np.testing.assert_array_equal(first(dx, axis=1).get(), x[:, 0])
    np.testing.assert_array_equal(first(dx, axis=0).get(), x[0])
    ran_on_device(first, ctx)
    with pytest.raises(ValueError, match="zero-size array"):
        first(ctx.asarray(np.zeros((0, 4))), axis=0)



def test_operator_that_is_not_commutative_sees_elements_in_order(ctx):
    """`last` keeps the later element: any interleaving of the elements
    across lanes would give another answer (lengths past the lane minimum,
    and one with fold passes)."""
    for shape, axis in (((33,), None), ((2, 1000), 1), ((1000, 3), 0), ((3000001,), None)):
        x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
        got = last(ctx.asarray(x), axis=axis)
        expected = x[(slice(None),) * (axis if axis is not None else 0) + (-1,)] if axis is not None else x.ravel()[-1]
        np.testing.assert_array_equal(host(got), expected)
    ran_on_device(last, ctx)


def test_mean_with_an_integer_dtype_divides_as_numpy(ctx):
    """NumPy divides the integer sum in float64 and casts back."""
    for x, dtype in ((np.ones(300, np.int8), np.int8), (np.ones(256, np.int16), np.int16),
                     (np.full(3, 2**61 + 1, np.int64), np.int64), (np.arange(7, dtype=np.int32), np.int32)):
        assert host(mean_of(ctx.asarray(x), dtype=dtype)) == np.mean(x, dtype=dtype)


def test_device_mask_with_host_inputs(ctx):
    x = seed("mask").random((4, 9))
    mask = seed("mask2").random((4, 9)) > 0.5
    np.testing.assert_allclose(host(sum_of(x, axis=1, where=ctx.asarray(mask))), np.sum(x, axis=1, where=mask), rtol=1e-12)


def test_device_out_of_another_dtype_is_cast_into(ctx):
    i = seed("cast").integers(0, 100, (5, 6)).astype(np.int32)
    out = ctx.empty((5,), np.int32)  # the sum is int64
    assert sum_of(ctx.asarray(i), axis=1, out=out) is out
    np.testing.assert_array_equal(out.get(), np.sum(i, axis=1))
    running = ctx.empty((5, 6), np.int32)
    assert running_sum(ctx.asarray(i), axis=1, out=running) is running
    np.testing.assert_array_equal(running.get(), np.cumsum(i, axis=1))


# ----------------------------------------- determinism and accuracy (float32)

def variant_sum(ctx, params, dx, perm):
    """The float32 sum over the last axis of dx laid out as `perm`, built with
    the OpenCL variant `params` (request params, as "variant.wg_x")."""
    from sejits import _device_calls, _reduce

    kernel = _reduce._ReductionKernel(sum_of.fn, {"op": "sum", "reduced_dims": "1", **params})
    laid_out = dx._laid_out(dx.shape, perm)
    lookup = kernel._resolve_device(ctx, (laid_out,))
    assert type(lookup.kernel).__name__ == "Kernel", f"variant {params}: {lookup.kernel}"
    out = ctx.empty(laid_out.shape[:-1], lookup.kernel.result_dtype)
    lookup.kernel.call_device(ctx._device, _device_calls.call_items(lookup.args, laid_out.shape), out._descriptor())
    return out.get()


def test_work_group_sizes_give_the_same_bits(ctx):
    """The lanes and their order depend on the shape only: wg_x 1, 64 and 256
    and the default call give the same float32 bits, along and across memory."""
    rng = seed("wg")
    layouts = {"rows (axis 1)": ((7, 30011), (0, 1)), "columns (axis 0)": ((30011, 7), (1, 0)),
               "one long row": ((1, 300007), (0, 1)), "short rows": ((300, 13), (0, 1))}
    for name, (shape, perm) in layouts.items():
        x = (rng.random(shape) * 20 - 7).astype(np.float32)
        dx = ctx.asarray(x)
        axis = perm[-1]
        default = sum_of(dx, axis=axis).get()
        ran_on_device(sum_of, ctx)
        wide = x.astype(np.float64)
        error = np.abs(default - np.sum(wide, axis=axis))
        assert np.all(error <= 1e-5 * np.sum(np.abs(wide), axis=axis)), f"{name}: error {error.max()}"
        assert sum_of(dx, axis=axis).get().tobytes() == default.tobytes(), f"{name}: two calls differ"
        for wg_x in ("1", "64", "256"):
            bits = variant_sum(ctx, {"variant.wg_x": wg_x}, dx, perm)
            assert bits.tobytes() == default.tobytes(), \
                f"{name}: wg_x={wg_x} gives other bits ({np.count_nonzero(bits != default)} of {bits.size} differ)"


def numpy_error_bound(numpy_contiguous, exact):
    """NumPy's contiguous (pairwise) error, or one ulp of its result where that is larger."""
    return max(abs(float(numpy_contiguous) - exact), float(np.spacing(np.asarray(numpy_contiguous))))


def test_float32_sum_of_a_million_tenths(ctx):
    x = np.full(10 ** 6, 0.1, np.float32)
    exact = math.fsum(x.astype(np.float64))
    result = sum_of(ctx.asarray(x))
    ran_on_device(sum_of, ctx)
    assert type(result) is np.float32
    assert abs(float(result) - exact) <= numpy_error_bound(np.sum(x), exact), \
        f"{result!r} vs exact {exact}, NumPy's {np.sum(x)!r}"
    assert sum_of(ctx.asarray(x)).tobytes() == result.tobytes()


def test_float32_sum_with_the_most_lanes(ctx):
    """3,000,017 elements: 65536 lanes (the cap) of about 46 each, then two fold passes."""
    x = (seed("lanes").random(3_000_017) * 2 - 0.5).astype(np.float32)
    exact = math.fsum(x.astype(np.float64))
    result = sum_of(ctx.asarray(x))
    assert type(result) is np.float32
    assert abs(float(result) - exact) <= numpy_error_bound(np.sum(x), exact), \
        f"{result!r} vs exact {exact}, NumPy's {np.sum(x)!r}"


def test_float32_column_sums_of_a_million_tenths(ctx):
    """Along the strided axis, where NumPy adds naively: still within NumPy's contiguous error."""
    x = np.full((10 ** 6, 2), 0.1, np.float32)
    column = np.ascontiguousarray(x[:, 0])
    exact = math.fsum(column.astype(np.float64))
    result = sum_of(ctx.asarray(x), axis=0)
    ran_on_device(sum_of, ctx)
    values = result.get()
    assert values.dtype == np.float32 and values.shape == (2,)
    errors = np.abs(values.astype(np.float64) - exact)
    assert np.all(errors <= numpy_error_bound(np.sum(column), exact)), \
        f"column sums {values}: errors {errors} > NumPy's contiguous {abs(float(np.sum(column)) - exact)} (exact {exact})"
    mean = mean_of(ctx.asarray(x), axis=0).get()
    assert np.all(np.abs(mean.astype(np.float64) - exact / 10 ** 6) <= numpy_error_bound(np.mean(column), exact / 10 ** 6))
