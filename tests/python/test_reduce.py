"""Reductions over an element-wise map (issue 19): sejits.reduce(op)(map)
called with NumPy's keywords (axis, keepdims, dtype, out, initial, where)
gives what the NumPy function of the same name gives for the mapped array:
same dtype, shape and scalar type, exact for integers, booleans, min, max,
argmin and argmax, and for float sums, products and means within what a
reordered pairwise summation may differ by. Differential against NumPy on
both targets.

Compiles are the cost here (kernel x argument dtypes x op x number of reduced
axes x dtype=): the dtype sweep uses one identity map per op with one reduced
axis, and the other tests reuse those signatures (float64, one reduced axis)
wherever what they check allows."""

import numpy as np
import pytest

import sejits
from reference import ALL_DTYPES, FLOAT_DTYPES, on_targets, random_array

# Each OpenCL case costs a compile and a program build (all of this module
# on OpenCL takes 8 minutes here): only the on_targets cases sampled for
# OpenCL, and the tests that name both targets, run there (tests/conftest.py).
# test_reduce_opencl.py sweeps the device path.
OPENCL_ONLY_WHERE_SAMPLED = True

OPS = ["sum", "prod", "min", "max", "argmin", "argmax", "any", "all", "mean"]
NUMPY = {"sum": np.sum, "prod": np.prod, "min": np.min, "max": np.max, "argmin": np.argmin, "argmax": np.argmax,
         "any": np.any, "all": np.all, "mean": np.mean}
EXACT_OPS = {"min", "max", "argmin", "argmax", "any", "all"}

# One identity map per op: the dtype and keyword sweeps.
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


peak = sejits.reduce("max")(lambda v: abs(v))
where_max = sejits.reduce("argmax")(lambda a, b: a * b)
count_above = sejits.reduce("sum")(lambda v, t: v > t)
any_above = sejits.reduce("any")(lambda v, t: v > t)
hypot_sum = sejits.reduce("sum")(lambda x, y: np.sqrt(x * x + y * y))


@sejits.reduce("mean")
def affine_mean(x, a, b):
    t = a * x
    u = t + b
    return u * u - x


@sejits.reduce("min")
def clipped_min(x, lo):
    y = np.where(x < lo, lo, x)
    return y - lo


# ---------------------------------------------------------------- helpers

def rtol_of(dtype):
    """What a reordered (pairwise) float sum may differ by, relative to the sum of magnitudes."""
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-12


def inputs(op, dtype, shape, rng):
    """Random inputs suited to `op`: products that stay finite (floats) or
    wrap (integers) without collapsing to zero, ties and the dtype's extremes
    for min/max/arg*, zeros (whole rows too) for any/all."""
    dtype = np.dtype(dtype)
    if op == "prod":
        if dtype.kind == "f":
            sign = np.where(rng.random(shape) < 0.5, -1, 1).astype(dtype)
            return np.asarray(random_array(dtype, shape, rng, 0.5, 1.5) * sign)
        x = np.asarray(random_array(dtype, shape, rng, -4, 4))
        if dtype.kind in "iu":
            x[x == 0] = 3
        return x
    x = np.asarray(random_array(dtype, shape, rng))
    if dtype == np.bool_:
        return x
    if op in ("any", "all"):
        x[rng.random(shape) < 0.15] = 0
        if x.ndim >= 2 and x.shape[0] > 2:
            x[2] = 0
    elif op in ("min", "max", "argmin", "argmax"):
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            specials = np.array([info.min, info.max, 0], dtype)
        else:
            specials = np.array([-10.0, 10.0, 0.0], dtype)
        chosen = rng.random(shape) < 0.3
        x[chosen] = rng.choice(specials, size=int(np.count_nonzero(chosen)))
    return x


def _magnitude(op, mapped, kwargs):
    """NumPy's reduction of |mapped| in float64, with the same axes, mask and initial:
    the scale a reordered sum's rounding error is relative to."""
    keep = {k: v for k, v in kwargs.items() if k in ("axis", "keepdims", "where")}
    if "initial" in kwargs:
        keep["initial"] = abs(float(kwargs["initial"]))
    absolute = np.abs(np.asarray(mapped).astype(np.float64))
    with np.errstate(all="ignore"):
        return np.asarray(NUMPY[op](absolute, **keep), dtype=np.float64)


def assert_reduced(actual, expected, op, mapped, kwargs):
    """`actual` is NumPy's `expected`: NumPy scalar where NumPy gives one (of the same
    type), else an array; same dtype and shape; exact for ints, bools, min, max, arg*,
    any, all; float sums, products and means within a reordered summation's error."""
    if isinstance(expected, np.generic):
        assert type(actual) is type(expected), f"result {type(actual)!r}, NumPy gives a {type(expected)!r} scalar"
    else:
        assert isinstance(actual, np.ndarray), f"result {type(actual)!r}, NumPy gives an ndarray"
    expected_array, actual_array = np.asarray(expected), np.asarray(actual)
    assert actual_array.dtype == expected_array.dtype, f"dtype {actual_array.dtype} != NumPy's {expected_array.dtype}"
    assert actual_array.shape == expected_array.shape, f"shape {actual_array.shape} != NumPy's {expected_array.shape}"
    if op in EXACT_OPS or expected_array.dtype.kind != "f":
        np.testing.assert_array_equal(actual_array, expected_array, strict=True)
        return
    rtol = rtol_of(expected_array.dtype)
    a, e = actual_array.astype(np.float64), expected_array.astype(np.float64)
    if op == "prod":
        scale = np.abs(e)
    else:
        scale = np.broadcast_to(_magnitude(op, mapped, kwargs), e.shape)
    with np.errstate(invalid="ignore"):
        same = (a == e) | (np.isnan(a) & np.isnan(e))
        close = same | (np.abs(a - e) <= rtol * scale + np.finfo(expected_array.dtype).tiny)
    if not np.all(close):
        bad = np.flatnonzero(~np.asarray(close))
        i = bad[0]
        raise AssertionError(f"{bad.size} of {close.size} values differ beyond rtol {rtol} of the magnitude; "
                             f"e.g. {a.flat[i]!r} != NumPy's {e.flat[i]!r}")


def check(kernel, op, args, mapped, **kwargs):
    """Call `kernel(*args, **kwargs)` and compare with NumPy's `op` on the
    mapped array `mapped` (NumPy gets a copy of out=)."""
    numpy_kwargs = dict(kwargs)
    if kwargs.get("out") is not None:
        numpy_kwargs["out"] = kwargs["out"].copy()
    with np.errstate(all="ignore"):
        expected = NUMPY[op](mapped, **numpy_kwargs)
    actual = kernel(*args, **kwargs)
    if kwargs.get("out") is not None:
        assert actual is kwargs["out"], "with out=, the result is out itself (as NumPy returns it)"
    assert_reduced(actual, expected, op, mapped, kwargs)
    return actual


def seed(*parts):
    """A generator seeded by the test's parameters (stable across runs and processes)."""
    return np.random.default_rng([19] + [sum(map(ord, str(p))) for p in parts])


def _opencl_sample(op, dtype):
    # Each (op, dtype) is an OpenCL build: a sparse diagonal that still puts every dtype and every op through it.
    return OPS.index(op) == ALL_DTYPES.index(dtype) or (op == OPS[-1] and ALL_DTYPES.index(dtype) >= len(OPS))


# ------------------------------------------------------- ops x dtypes sweep

@pytest.mark.parametrize("op, dtype, target", on_targets(OPS, ALL_DTYPES, opencl=_opencl_sample), indirect=["target"])
def test_every_op_and_dtype(target, op, dtype):
    """One reduced axis everywhere (one compile per op and dtype): along
    contiguous, strided and negative-stride axes, keepdims, and a full
    reduction of a 1-D array (a NumPy scalar)."""
    x = inputs(op, dtype, (11, 7), seed(op, dtype))
    kernel = IDENTITY[op]
    check(kernel, op, (x,), x, axis=1)
    check(kernel, op, (x,), x, axis=-2, keepdims=True)
    check(kernel, op, (x.T,), x.T, axis=1)
    view = x[::-2, ::-3]
    check(kernel, op, (view,), view, axis=0)
    flat = x.ravel()
    check(kernel, op, (flat,), flat)
    check(kernel, op, (flat[::-2],), flat[::-2], axis=-1, keepdims=True)


# --------------------------------------------------- axes and keepdims (float64)

AXES = [None, 0, 1, 2, -1, -3, (0, 2), (2, 0), (-1, 1), (0, 1, 2), (1,)]


@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("op", ["sum", "prod", "min", "any", "mean"])
def test_axes_and_keepdims(target, op, axis):
    x = inputs(op, np.float64, (3, 5, 7), seed(op, "axes"))
    for keepdims in (False, True):
        check(IDENTITY[op], op, (x,), x, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("op", ["sum", "min"])
def test_empty_axis_tuple_reduces_nothing(target, op):
    # axis=() is NumPy's "reduce no axis": the mapped array in the result dtype (int8 sums give int64).
    x = random_array(np.int8, (4, 3), seed(op, "noaxis"))
    check(IDENTITY[op], op, (x,), x, axis=())
    check(IDENTITY[op], op, (x,), x, axis=(), keepdims=True)


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, -2])
@pytest.mark.parametrize("op", ["argmin", "argmax"])
def test_arg_reductions_with_ties(target, op, axis):
    """The first index among equal extremes; one int axis or None (flattened), keepdims."""
    x = seed(op, axis).integers(0, 4, (3, 5, 7)).astype(np.float64)
    for keepdims in (False, True):
        check(IDENTITY[op], op, (x,), x, axis=axis, keepdims=keepdims)
    view = x[:, ::-1, ::2]
    check(IDENTITY[op], op, (view,), view, axis=axis)


@pytest.mark.parametrize("target", ["cpu", "opencl"], indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8])
def test_arg_reductions_of_long_ranges(target, dtype):
    """Ranges of many blocks of 256 values and many parallel chunks: the first
    extreme wins however blocks and chunks split it, and the first NaN ends
    the search."""
    rng = seed("long arg", dtype)
    n = 3 * 65536 + 4099
    x = (rng.integers(0, 50, n) if np.dtype(dtype).kind in "iu" else rng.random(n) * 50).astype(dtype)
    for spot in (n - 1, 70000, 255, 256, 65536, 65535):  # a new extreme at each block and chunk edge
        x[spot] = 60
        x[n - 1 - spot] = 0
        for op in ("argmax", "argmin"):
            check(IDENTITY[op], op, (x,), x)
            check(IDENTITY[op], op, (x[::-3],), x[::-3])
    if np.dtype(dtype).kind == "f":
        for spot in (200000, 70001, 256):
            x[spot] = np.nan
            for op in ("argmax", "argmin"):
                check(IDENTITY[op], op, (x,), x)
        rows = x[: 2 * 100003].reshape(2, -1)
        for op in ("argmax", "argmin"):
            check(IDENTITY[op], op, (rows,), rows, axis=1)


# ---------------------------------------------------------- special values

@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_nan_propagates(target, dtype):
    """min/max give NaN where a NaN is reduced, argmin/argmax the first NaN's index;
    sums and means propagate it; NaN is true for any/all."""
    x = random_array(dtype, (6, 9), seed(dtype, "nan"))
    x[1, 4] = x[1, 7] = x[4, 0] = x[5, 8] = np.nan
    x[2, 3], x[3, 5] = np.inf, -np.inf
    for op in ("min", "max", "argmin", "argmax"):
        check(IDENTITY[op], op, (x,), x, axis=1)
        check(IDENTITY[op], op, (x,), x, axis=0)
        check(IDENTITY[op], op, (x.ravel(),), x.ravel())
        check(IDENTITY[op], op, (x[::-1].ravel(),), x[::-1].ravel())
        check(IDENTITY[op], op, (x[2],), x[2])  # infinities, no NaN
    for op in ("sum", "mean", "any", "all"):
        check(IDENTITY[op], op, (x,), x, axis=1)
    assert np.isnan(max_of(x.ravel())) and argmax_of(x.ravel()) == 13 and argmin_of(x.ravel()) == 13
    zeros = np.array([0.0, -0.0, np.nan, 0.0], dtype)
    check(any_of, "any", (zeros,), zeros)
    check(all_of, "all", (zeros,), zeros)
    check(any_of, "any", (zeros[:2],), zeros[:2])
    check(all_of, "all", (zeros[2:3],), zeros[2:3])


def test_infinities(target):
    x = np.array([[1.0, np.inf, -np.inf, 2.0], [np.inf, np.inf, 1.0, 0.0], [-np.inf, 3.0, -np.inf, 1.0]])
    for op in ("sum", "max", "min", "argmax", "argmin", "mean"):
        check(IDENTITY[op], op, (x,), x, axis=1)
        check(IDENTITY[op], op, (x,), x, axis=0)


@pytest.mark.parametrize("target", ["cpu", "opencl"], indirect=True)
@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.int32, np.int8, np.uint8], ids=lambda d: np.dtype(d).name)
def test_integer_reductions_are_exact(target, dtype):
    """Full-range values: int64/uint64 sums and products wrap as NumPy's do;
    narrower ints accumulate in int64/uint64; means are float64 of the values."""
    rng = seed(dtype, "exact")
    x = random_array(dtype, 6007, rng)
    odd = x | 1  # odd factors: a wrapping product that never collapses to 0
    for op, values in (("sum", x), ("prod", odd), ("min", x), ("max", x), ("argmin", x), ("argmax", x)):
        check(IDENTITY[op], op, (values,), values)
        check(IDENTITY[op], op, (values[::-3],), values[::-3], axis=0)
    check(mean_of, "mean", (x,), x)
    grid, odd_grid = x[:6000].reshape(60, 100), odd[:6000].reshape(60, 100)
    check(sum_of, "sum", (grid,), grid, axis=0)
    check(prod_of, "prod", (odd_grid,), odd_grid, axis=1)


# ------------------------------------------------------------------ dtype=

DTYPE_CASES = [("sum", np.int8, np.int8), ("sum", np.int32, np.float64), ("sum", np.float64, np.float32),
               ("sum", np.bool_, np.bool_), ("sum", np.uint16, np.int16), ("prod", np.uint8, np.uint8),
               ("prod", np.int16, np.float64), ("mean", np.int16, np.float32), ("mean", np.float32, np.float64)]


@pytest.mark.parametrize("op, dtype, into", DTYPE_CASES, ids=lambda v: v if isinstance(v, str) else np.dtype(v).name)
def test_dtype_keyword(target, op, dtype, into):
    """dtype= is the accumulator and result dtype: int8 sums wrap in int8, bool sums
    with dtype=bool are logical or, float64 summed in float32..."""
    x = inputs(op, dtype, (9, 13), seed(op, dtype, into))
    check(IDENTITY[op], op, (x,), x, axis=1, dtype=into)
    check(IDENTITY[op], op, (x,), x, axis=0, dtype=into, keepdims=True)
    check(IDENTITY[op], op, (x.ravel(),), x.ravel(), dtype=into)


def test_float32_summed_in_float64(target):
    # float32 accumulation loses the 1s next to 2**24; dtype=float64 (NumPy) keeps them, exactly.
    x = np.array([2.0 ** 24, 1.0, 1.0, 1.0, 2.0 ** 24, 1.0, -(2.0 ** 24), 1.0], np.float32)
    result = sum_of(x, dtype=np.float64)
    assert type(result) is np.float64 and result == 2.0 ** 24 + 5


# -------------------------------------------------------------------- out=

def test_out(target):
    rng = seed("out")
    x = random_array(np.float64, (9, 7), rng)
    check(sum_of, "sum", (x,), x, axis=0, out=np.empty(7))
    check(sum_of, "sum", (x,), x, axis=1, keepdims=True, out=np.empty((9, 1)))
    check(sum_of, "sum", (x.ravel(),), x.ravel(), out=np.empty(()))  # a 0-d out: returned as is, not a scalar
    check(sum_of, "sum", (x,), x, axis=0, out=np.empty((7, 3))[:, 1])  # a strided out
    check(sum_of, "sum", (x,), x, axis=1, out=np.empty(18)[::-2])  # a negative-stride out
    check(sum_of, "sum", (x,), x, axis=0, out=np.empty(7, np.float32))  # NumPy accumulates in out's dtype
    check(min_of, "min", (x,), x, axis=1, out=np.empty(9))
    check(max_of, "max", (x,), x, axis=0, keepdims=True, out=np.empty((1, 7)))
    check(argmax_of, "argmax", (x,), x, axis=1, out=np.empty(9, np.int64))
    check(argmin_of, "argmin", (x,), x, axis=0, keepdims=True, out=np.empty((1, 7), np.int64))
    check(mean_of, "mean", (x,), x, axis=0, out=np.empty(7))
    check(any_of, "any", (x > 5,), x > 5, axis=1, out=np.empty(9, np.bool_))
    check(all_of, "all", (x > -9,), x > -9, axis=0, out=np.empty(7, np.bool_))


def test_out_dtype_is_the_accumulator(target):
    x = np.array([2.0 ** 24, 1.0, 1.0, 1.0, 2.0 ** 24, 1.0, -(2.0 ** 24), 1.0], np.float32)
    out = np.empty((), np.float64)
    assert sum_of(x, out=out) is out and out == 2.0 ** 24 + 5
    small = np.array([[100, 100, 100], [-128, -1, 7]], np.int8)
    check(sum_of, "sum", (small,), small, axis=1, out=np.empty(2, np.int8))  # wraps in int8
    check(sum_of, "sum", (small,), small, axis=1, out=np.empty(2, np.int64))


# ---------------------------------------------------------------- initial=

def test_initial(target):
    rng = seed("initial")
    x = random_array(np.float64, (8, 5), rng)
    check(sum_of, "sum", (x,), x, axis=1, initial=1.5)
    check(sum_of, "sum", (x.ravel(),), x.ravel(), initial=-3)
    check(prod_of, "prod", (x,), x, axis=0, initial=2.0, keepdims=True)
    check(min_of, "min", (x,), x, axis=1, initial=-1.0)
    check(max_of, "max", (x,), x, axis=0, initial=5.0)
    check(max_of, "max", (x.ravel(),), x.ravel(), initial=100.0)
    small = random_array(np.int8, (8, 5), rng)
    check(sum_of, "sum", (small,), small, axis=1, initial=100)  # counted once per output, in int64
    check(max_of, "max", (small,), small, axis=0, initial=120)
    u8 = random_array(np.uint8, (8, 5), rng, 1, 5)
    check(prod_of, "prod", (u8,), u8, axis=1, initial=3)
    check(sum_of, "sum", (np.arange(3),), np.arange(3), initial=1.5)  # NumPy casts the initial to int64: 4


def test_initial_on_empty_axes(target):
    empty = np.empty((0, 3))
    check(sum_of, "sum", (empty,), empty, axis=0, initial=2.0)
    check(prod_of, "prod", (empty,), empty, axis=0, initial=2.0)
    check(max_of, "max", (empty,), empty, axis=0, initial=-np.inf)
    check(min_of, "min", (empty.ravel(),), empty.ravel(), initial=7.0)


# ------------------------------------------------------------------ where=

def test_where(target):
    rng = seed("where")
    x = random_array(np.float64, (5, 7), rng)
    mask = rng.random((5, 7)) < 0.6
    row_mask = rng.random((1, 7)) < 0.5
    for op in ("sum", "prod", "any", "all", "mean"):
        check(IDENTITY[op], op, (x,), x, axis=1, where=mask)
    check(sum_of, "sum", (x,), x, axis=0, where=row_mask, keepdims=True)  # a mask broadcast to the map's shape
    check(sum_of, "sum", (x.ravel(),), x.ravel(), where=mask.ravel())
    check(sum_of, "sum", (x,), x, axis=1, where=mask, initial=10.0)
    check(min_of, "min", (x,), x, axis=1, where=mask, initial=0.0)
    check(max_of, "max", (x,), x, axis=0, where=mask, initial=-np.inf, keepdims=True)
    check(sum_of, "sum", (x.T,), x.T, axis=-1, where=mask.T)
    check(mean_of, "mean", (x,), x, axis=(0, 1), where=mask, keepdims=True)


def test_where_all_false(target):
    x = random_array(np.float64, (4, 6), seed("nowhere"))
    nothing = np.zeros((4, 6), bool)
    check(sum_of, "sum", (x,), x, axis=1, where=nothing)
    check(prod_of, "prod", (x,), x, axis=1, where=nothing)
    check(any_of, "any", (x,), x, axis=1, where=nothing)
    check(all_of, "all", (x,), x, axis=1, where=nothing)
    check(max_of, "max", (x,), x, axis=1, where=nothing, initial=-5.0)
    ints = random_array(np.int16, (4, 6), seed("nowhere-int"))
    check(sum_of, "sum", (ints,), ints, axis=0, where=ints > 0)


# ---------------------------------------------------------- shapes and views

SHAPES = [((1,), None), ((1, 1), 1), ((1, 5, 1), 1), ((13,), 0), ((7, 1), 0), ((2, 3, 5, 7), 2), ((2, 3, 5, 7), (1, 3)),
          ((0,), None), ((0, 3), 1), ((0, 3), 0), ((3, 0), 0), ((3, 0), 1), ((4, 0, 3), (0, 2)), ((), None), ((1,), ())]


def _empty_reduced(shape, axis):
    axes = range(len(shape)) if axis is None else ([axis] if isinstance(axis, int) else axis)
    return any(shape[a] == 0 for a in axes)


def _applies(op, shape, axis):
    """max/argmax of an empty axis raise (test_reduce_errors covers that), a
    mean of one is NaN with a warning, and argmax takes one int axis."""
    kept = [n for i, n in enumerate(shape) if axis is not None and i not in np.atleast_1d(np.array(axis, int)) % len(shape)]
    if op in ("max", "argmax", "mean") and _empty_reduced(shape, axis) and int(np.prod(kept)) > 0:
        return False
    return not (op == "argmax" and isinstance(axis, tuple))


@pytest.mark.parametrize("op, shape, axis", [(op, shape, axis) for op in ["sum", "prod", "max", "argmax", "any", "all", "mean"]
                                             for shape, axis in SHAPES if _applies(op, shape, axis)], ids=str)
def test_shapes(target, op, shape, axis):
    """Lengths of 1, primes, empty arrays (sum 0, prod 1, any False, all True
    over an empty axis; an empty result where the empty axis is kept) and 0-d."""
    x = inputs(op, np.float64, shape, seed(op, shape))
    check(IDENTITY[op], op, (x,), x, axis=axis)
    if op != "argmax" or axis is not None:
        check(IDENTITY[op], op, (x,), x, axis=axis, keepdims=True)


def test_empty_inputs_give_the_identities(target):
    empty = np.empty(0, np.int8)
    for op, value, kind in (("sum", 0, np.int64), ("prod", 1, np.int64), ("any", False, np.bool_),
                            ("all", True, np.bool_)):
        result = IDENTITY[op](empty)
        assert type(result) is kind and result == value
    assert type(sum_of(np.empty(0))) is np.float64 and sum_of(np.empty(0)) == 0.0
    assert type(prod_of(np.empty(0, np.float32))) is np.float32 and prod_of(np.empty(0, np.float32)) == 1.0


def test_zero_dimensional_and_python_scalars(target):
    for op in ("sum", "prod", "max", "argmax", "any", "mean"):
        check(IDENTITY[op], op, (np.array(2.5),), np.array(2.5))
        check(IDENTITY[op], op, (3,), np.asarray(3))
        check(IDENTITY[op], op, (np.float32(-1.5),), np.asarray(np.float32(-1.5)))
    check(sum_of, "sum", (np.array(7, np.int8),), np.array(7, np.int8))
    check(any_of, "any", (0.0,), np.asarray(0.0))


VIEWS = [lambda a: a[::2], lambda a: a[::-1], lambda a: a[1:-1:3], lambda a: a.reshape(30, 40).T,
         lambda a: a.reshape(30, 40)[::-2, 5:31:5], lambda a: a.reshape(6, 5, 40)[:, ::2, ::-3]]


@pytest.mark.parametrize("view", range(len(VIEWS)))
def test_non_contiguous_views(target, view):
    x = VIEWS[view](random_array(np.float64, 1200, seed("views")))
    for op in ("sum", "max", "argmin", "mean", "all"):
        kernel = IDENTITY[op]
        check(kernel, op, (x,), x, axis=-1)
        check(kernel, op, (x,), x, axis=0, keepdims=True)
        if x.ndim == 3 and op != "argmin":
            check(kernel, op, (x,), x, axis=(0, 2))
    ints = VIEWS[view](random_array(np.int32, 1200, seed("views-int")))
    check(sum_of, "sum", (ints,), ints, axis=0)


def test_broadcast_from_zero_strides(target):
    x = np.broadcast_to(random_array(np.float64, (1, 7), seed("b0")), (9, 7))
    check(sum_of, "sum", (x,), x, axis=0)
    check(argmax_of, "argmax", (x,), x, axis=1)


# ---------------------------------------------------------------- the maps

@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1), (1, 0)], ids=str)
def test_broadcasting_map(target, axis):
    rng = seed("sumsq", axis)
    x, y = random_array(np.float64, (5, 1), rng), random_array(np.float64, (1, 7), rng)
    d = x - y
    for keepdims in (False, True):
        check(sumsq, "sum", (x, y), d * d, axis=axis, keepdims=keepdims)
    check(sumsq, "sum", (x, y[0]), d * d, axis=axis)  # y as a 1-D (7,)


@pytest.mark.parametrize("target", ["cpu", "opencl"], indirect=True)
def test_map_dtypes_follow_numpy_promotion(target):
    rng = seed("promote")
    x, y = random_array(np.float32, (5, 1), rng), random_array(np.float32, (1, 7), rng)
    check(sumsq, "sum", (x, y), (x - y) * (x - y), axis=1)
    i = random_array(np.int16, (5, 1), rng, -100, 100)
    check(sumsq, "sum", (i, y), (i - y) * (i - y), axis=0)  # int16 with float32: float32
    a, b = random_array(np.int32, (6, 7), rng), random_array(np.int32, (6, 7), rng)
    check(sumsq, "sum", (a, b), (a - b) * (a - b), axis=1)  # wrapping int32 map, int64 sum


def test_lambda_maps(target):
    rng = seed("lambdas")
    v = random_array(np.float32, (6, 9), rng)
    check(peak, "max", (v,), np.abs(v), axis=1)
    check(peak, "max", (v.ravel(),), np.abs(v.ravel()))
    ints = random_array(np.int8, (6, 9), rng)
    ints[0, 0] = -128  # abs(-128) is -128 in int8, as in NumPy
    check(peak, "max", (ints,), np.abs(ints), axis=0)
    u, w = random_array(np.float64, (4, 9), rng), random_array(np.float64, (4, 9), rng)
    check(where_max, "argmax", (u, w), u * w, axis=1)
    check(where_max, "argmax", (u, w), u * w, axis=0, keepdims=True)
    check(where_max, "argmax", (u[:, :1], w[:1]), u[:, :1] * w[:1], axis=1)  # (4,1) x (1,9)
    result = sejits.reduce("max")(lambda t: abs(t))(v)  # a lambda decorated where it is called
    assert type(result) is np.float32 and result == np.max(np.abs(v))


def test_maps_with_scalar_arguments(target):
    rng = seed("scalars")
    x64 = random_array(np.float64, (7, 11), rng)
    x32 = random_array(np.float32, (7, 11), rng)
    check(count_above, "sum", (x64, 0.5), x64 > 0.5, axis=1)  # bools summed in int64
    check(count_above, "sum", (x64, 0.5), x64 > 0.5)
    check(any_above, "any", (x64, 9.5), x64 > 9.5, axis=0)
    check(affine_mean, "mean", (x64, 2.5, 3), (2.5 * x64 + 3) * (2.5 * x64 + 3) - x64, axis=1)
    # Python scalars are weak (NEP 50): a float32 map stays float32.
    t = np.float32(2.5) * x32 + np.float32(-1)
    check(affine_mean, "mean", (x32, 2.5, -1), t * t - x32, axis=1)
    check(affine_mean, "mean", (x32, 2.5, -1), t * t - x32)
    check(clipped_min, "min", (x64, 0.25), np.where(x64 < 0.25, 0.25, x64) - 0.25, axis=0)
    y = random_array(np.float64, (1, 11), rng)
    check(hypot_sum, "sum", (x64, y), np.sqrt(x64 * x64 + y * y), axis=0)
    check(hypot_sum, "sum", (x64, 2.0), np.sqrt(x64 * x64 + 4.0), axis=1)
