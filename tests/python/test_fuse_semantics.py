"""sejits.fuse against NumPy's semantics on random inputs, one rule at a time:
every dtype NumPy computes in, odd and empty shapes, non-contiguous and
Fortran-ordered arguments, broadcasting and its errors, in-place casting
errors, aliasing (overlapping slices, the same array passed twice, an
argument returned), and the point of fusing: no full-size temporaries. Each
case runs the function and its fused form on identical copies of the inputs;
whether fuse specializes a case or runs it as written is not asserted
(except by the memory test, which only a fused loop nest can pass)."""

import math
import tracemalloc
import warnings

import numpy as np
import pytest

import sejits
from fuse_snippets import assert_fused_matches, assert_same_value, clone_arguments, explain_specialized, fused
from reference import ALL_DTYPES, random_array


@pytest.fixture(autouse=True)
def fuse_settings(daemon):
    """fallback="warn": fuse runs what it cannot fuse as written (the session
    is under "error"); compile="sync": calls wait for their compile rather
    than run NumPy meanwhile. restored_settings (conftest) puts both back."""
    sejits.config(fallback="warn", compile="sync")


def quietly(fn, *arguments):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sejits.SpecializationWarning)
        return fn(*arguments)


# ---- dtypes ------------------------------------------------------------------------

def select_by_comparison(a, b):
    """Valid for every dtype: for bools, * is and, + is or; ints wrap as NumPy's do."""
    return np.where(a > b, a * b, a + b), a >= b


def with_python_scalars(a):
    """NEP 50: Python scalars take the array's dtype (bool + 1 is int64)."""
    return a * 3 + 1, np.where(a < 2, a, 2)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_elementwise_with_comparison_and_where(dtype):
    rng = np.random.default_rng(1)
    a, b = random_array(dtype, (5, 11), rng), random_array(dtype, (5, 11), rng)
    assert_fused_matches(select_by_comparison, a, b)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_with_python_scalars(dtype):
    rng = np.random.default_rng(2)
    with np.errstate(all="ignore"):
        assert_fused_matches(with_python_scalars, random_array(dtype, (37,), rng, low=-100, high=100))


def test_mixed_dtypes_promote_as_numpy_does():
    rng = np.random.default_rng(3)
    for left, right in [(np.int8, np.uint8), (np.int32, np.float32), (np.uint64, np.int64), (np.float32, np.float64),
                        (np.bool_, np.int16), (np.uint32, np.float32)]:
        assert_fused_matches(select_by_comparison, random_array(left, (9,), rng, low=-50, high=50),
                             random_array(right, (9,), rng, low=-50, high=50))


def add_300(a):
    return a + 300


def test_a_python_int_out_of_the_arrays_range_raises_overflow_error_as_numpy_does():
    """NumPy 2: int8 array + 300 is an OverflowError, not a wrap nor a promotion."""
    a = np.arange(4, dtype=np.int8)
    with pytest.raises(OverflowError):
        add_300(a)
    with pytest.raises(OverflowError):
        quietly(fused(add_300), a.copy())


def plus_square_of(x, n):
    """n * n is Python's exact product: beyond int64 it is NumPy's OverflowError with an int64 array."""
    return x + n * n


def filled_with(x):
    return np.full_like(x, 2**40), np.full_like(x, 70000, dtype=np.int16)


@pytest.mark.parametrize("dtype", [np.int64, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [3, -(2**31), 2**40, 2**64], ids=str)
def test_python_int_arithmetic_is_exact_or_numpy_s_overflow_error(dtype, n):
    x = np.arange(6).astype(dtype)
    try:
        plus_square_of(x.copy(), n)  # NumPy decides: a result, or OverflowError
    except OverflowError:
        with pytest.raises(OverflowError):
            quietly(fused(plus_square_of), x.copy(), n)
        return
    assert_fused_matches(plus_square_of, x, n)


def test_full_like_with_a_python_int_the_dtype_cannot_hold_raises_overflow_error():
    with pytest.raises(OverflowError):
        filled_with(np.zeros(3, np.int32))
    with pytest.raises(OverflowError):
        quietly(fused(filled_with), np.zeros(3, np.int32))
    with pytest.raises(OverflowError):  # 2**40 fits a float64 array; 70000 does not fit int16
        quietly(fused(filled_with), np.zeros(3, np.float64))


# ---- shapes ------------------------------------------------------------------------

def magnitude_and_row_sums(x):
    y = np.sqrt(np.abs(x)) * 2.0 - x
    return y, y.sum(axis=-1), np.sum(y)


@pytest.mark.parametrize("shape", [(1,), (7,), (7, 13), (1, 1), (13, 1), (1, 13), (3, 5, 7), (0,), (0, 5), (5, 0)],
                         ids=str)
def test_odd_and_empty_shapes(shape):
    rng = np.random.default_rng(4)
    assert_fused_matches(magnitude_and_row_sums, random_array(np.float64, shape, rng))


def largest(x):
    return np.max(x)


def test_max_of_an_empty_array_raises_value_error_as_numpy_does():
    with pytest.raises(ValueError):
        largest(np.zeros((0,)))
    with pytest.raises(ValueError):
        quietly(fused(largest), np.zeros((0,)))


# ---- methods that are NumPy functions, the math module on numbers, the operators' ufuncs ----

def clipped_and_rounded(x, lo):
    return x.clip(lo, 1.0).round(2), np.round(x * 10.0)


def decayed(x, t, rate):
    return x * math.exp(-rate * t) + math.sqrt(2.0) * np.sign(x)


def ufunc_forms(a, b):
    total = np.add(a, np.multiply(b, 2.0))
    return np.subtract(total, np.divide(a, 3.0)), np.greater_equal(a, b), np.negative(b)


def math_of_an_array(x):
    return math.sqrt(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_methods_math_and_ufunc_forms(dtype):
    rng = np.random.default_rng(14)
    x, y = random_array(dtype, (9, 13), rng), random_array(dtype, (9, 13), rng)
    for fn, arguments in [(clipped_and_rounded, (x, -0.5)), (decayed, (x, 0.3, 2)), (ufunc_forms, (x, y))]:
        assert_fused_matches(fn, *arguments)
        explain_specialized(fn, *arguments)


def test_the_math_module_on_an_array_runs_as_written_so_numpy_raises():
    with pytest.raises(TypeError):
        math_of_an_array(np.ones(3))
    with pytest.raises(TypeError):
        quietly(fused(math_of_an_array), np.ones(3))
    assert "the math module takes numbers" in fused(math_of_an_array).explain(np.ones(3))


# ---- NaN in min and max -----------------------------------------------------------

def extremes(x):
    """Row and column maxima and minima, whole-array ones, and a max that
    rides the pass computing y (a reduction over another nest's values)."""
    y = x * 2.0
    return x.max(axis=1), x.min(axis=0), np.max(x), np.min(x), y, np.max(y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(1, 1), (3, 31), (5, 32), (4, 33), (3, 1000), (2, 40000)], ids=str)
@pytest.mark.parametrize("where", ["none", "first", "last", "middle", "all", "every row"])
def test_min_and_max_propagate_nan_as_numpy_does(dtype, shape, where):
    """NaN anywhere in a row makes its max and min NaN, wherever it sits in
    the vector lanes and whichever thread's part holds it; -inf and +inf
    are ordinary values."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[rng.integers(x.size)] = -np.inf
    x.flat[rng.integers(x.size)] = np.inf
    positions = {"none": [], "first": [0], "last": [x.size - 1], "middle": [x.size // 2], "all": list(range(x.size)),
                 "every row": [r * shape[1] + rng.integers(shape[1]) for r in range(shape[0])]}[where]
    for position in positions:
        x.flat[position] = np.nan
    assert_fused_matches(extremes, x)
    explain_specialized(extremes, x)


# ---- Ellipsis ----------------------------------------------------------------------

def differences_along_the_last_axis(x):
    return x[..., 1:] - x[..., :-1], x[0, ...] * 2.0, x[..., None, 0] + 1.0, x[...].sum(axis=-1)


def set_the_first_column_then_shift(x):
    x[..., 0] = 1.0
    x[...] += 0.5
    return x


def two_ellipses(x):
    return x[..., 0, ...] * 2.0


@pytest.mark.parametrize("shape", [(4,), (3, 5), (2, 3, 4), (2, 1, 3, 2)], ids=str)
def test_ellipsis_takes_the_axes_the_other_items_leave(shape):
    x = np.random.default_rng(11).random(shape)
    assert_fused_matches(differences_along_the_last_axis, x)
    assert_fused_matches(set_the_first_column_then_shift, x)
    explain_specialized(differences_along_the_last_axis, x)


def test_two_ellipses_raise_index_error_as_numpy_does():
    with pytest.raises(IndexError):
        two_ellipses(np.ones((2, 3)))
    with pytest.raises(IndexError):
        quietly(fused(two_ellipses), np.ones((2, 3)))


# ---- NumPy's fast paths for powers -------------------------------------------------

def square_and_root(x):
    return x ** 2, x ** 0.5, np.power(x, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_square_and_square_root_take_numpys_paths(dtype):
    """x ** 0.5 is sqrt (NaN for -inf, -0.0 for -0.0; C's pow gives inf and +0.0); x ** 2 is x * x."""
    x = np.array([-np.inf, -0.0, 0.0, 4.0, 2.5, np.nan, 1e300 if dtype == np.float64 else 1e30], dtype=dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        expected = square_and_root(x)
        actual = quietly(fused(square_and_root), x.copy())
    for got, want in zip(actual, expected):
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    explain_specialized(square_and_root, x)


# ---- reductions over the first axis (column reductions) --------------------------------

def column_statistics(x):
    return x.sum(axis=0), x.max(axis=0), x.min(axis=0, keepdims=True), (x > 1).any(axis=0), x.prod(axis=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(1, 1), (5, 1), (1, 7), (13, 600), (600, 3), (37, 1031)], ids=str)
@pytest.mark.parametrize("layout", ["c", "fortran", "strided"])
def test_reductions_over_the_first_axis(dtype, shape, layout):
    """Read row by row into blocks of column accumulators where the rows are
    contiguous, else down each column: NumPy's values either way, NaN included."""
    rng = np.random.default_rng(12)
    x = (rng.random((shape[0], 2 * shape[1])) * 2.5).astype(dtype)
    x = {"c": x[:, :shape[1]].copy(), "fortran": np.asfortranarray(x[:, :shape[1]]), "strided": x[:, ::2]}[layout]
    if np.dtype(dtype).kind == "f" and x.size > 3:
        x[x.shape[0] // 2, x.shape[1] - 1] = np.nan
    with np.errstate(over="ignore"):
        assert_fused_matches(column_statistics, x)
    if layout == "c" and dtype == np.float64:
        assert "column_acc" in fused(column_statistics).source(x)


# ---- layouts -----------------------------------------------------------------------

def scaled_sum(a, b):
    return a * 2.0 + b


def add_in_place(a, b):
    a += b


def _views(base, kind):
    return {"every_other": lambda: base[::2],
            "reversed": lambda: base[::-1],
            "transposed": lambda: base.T,
            "column_steps": lambda: base[:, ::3],
            "fortran": lambda: np.asfortranarray(base)}[kind]()


@pytest.mark.parametrize("kind", ["every_other", "reversed", "transposed", "column_steps", "fortran"])
def test_non_contiguous_and_fortran_arguments(kind):
    rng = np.random.default_rng(5)
    a_base, b_base = random_array(np.float64, (12, 18), rng), random_array(np.float64, (12, 18), rng)
    a, b = _views(a_base, kind), _views(b_base, kind)
    assert_fused_matches(scaled_sum, a, b, layout=True)


@pytest.mark.parametrize("kind", ["every_other", "reversed", "transposed", "column_steps"])
def test_in_place_update_of_a_view_reaches_its_base(kind):
    rng = np.random.default_rng(6)
    base, b = random_array(np.float64, (12, 18), rng), random_array(np.float64, (12, 18), rng)
    fused_base = base.copy()
    plain_view, fused_view = _views(base, kind), _views(fused_base, kind)
    b_view = np.ascontiguousarray(_views(b, kind))
    assert add_in_place(plain_view, b_view) is None
    assert quietly(fused(add_in_place), fused_view, b_view.copy()) is None
    assert_same_value(fused_base, base, "the view's base")


# ---- broadcasting ------------------------------------------------------------------

def outer_difference(row, column):
    return row - column, np.abs(row + column).max(axis=0)


@pytest.mark.parametrize("row_shape, column_shape", [((1, 9), (6, 1)), ((9,), (6, 1)), ((1, 1), (6, 9)),
                                                     ((4, 1, 9), (6, 1)), ((9,), (1,))], ids=str)
def test_broadcasting(row_shape, column_shape):
    rng = np.random.default_rng(7)
    assert_fused_matches(outer_difference, random_array(np.float64, row_shape, rng),
                         random_array(np.float64, column_shape, rng))


@pytest.mark.parametrize("left, right", [((3,), (4,)), ((2, 3), (3, 2)), ((5, 2), (4, 5, 3))], ids=str)
def test_broadcasting_errors_raise_value_error_as_numpy_does(left, right):
    a, b = np.ones(left), np.ones(right)
    with pytest.raises(ValueError) as plain:
        outer_difference(a, b)
    with pytest.raises(ValueError) as fused_error:
        quietly(fused(outer_difference), a.copy(), b.copy())
    assert "broadcast" in str(plain.value) and "broadcast" in str(fused_error.value)


# ---- in-place casting --------------------------------------------------------------

def test_in_place_add_of_floats_into_ints_raises_numpys_ufunc_type_error():
    """a += b with a int32 and b float64 cannot cast under same_kind: NumPy's
    UFuncTypeError (a TypeError), and a unchanged, in both."""
    a, b = np.arange(6, dtype=np.int32), np.linspace(0.0, 1.0, 6)
    fused_a = a.copy()
    with pytest.raises(TypeError) as plain:
        add_in_place(a, b)
    with pytest.raises(TypeError) as fused_error:
        quietly(fused(add_in_place), fused_a, b.copy())
    ufunc_type_error = next(k for k in type(plain.value).__mro__ if k.__name__ == "UFuncTypeError")
    assert isinstance(fused_error.value, ufunc_type_error), f"{type(fused_error.value)} is not a {ufunc_type_error}"
    assert_same_value(fused_a, a)


def test_in_place_add_of_ints_into_floats_is_allowed():
    rng = np.random.default_rng(8)
    assert_fused_matches(add_in_place, random_array(np.float32, (10,), rng), random_array(np.int16, (10,), rng))


# ---- np.errstate --------------------------------------------------------------------

def reciprocal_and_root(x):
    return 1.0 / x, np.sqrt(x - 1.0)


@pytest.mark.parametrize("setting", [{"divide": "raise"}, {"invalid": "raise"}, {"all": "raise"}], ids=str)
def test_errstate_raise_runs_the_function_so_numpy_raises(setting):
    x = np.array([2.0, 0.0, 0.5])
    with np.errstate(**setting):
        with pytest.raises(FloatingPointError):
            reciprocal_and_root(x.copy())
        with pytest.raises(FloatingPointError):
            quietly(fused(reciprocal_and_root), x.copy())
    assert "np.errstate(" in fused(reciprocal_and_root).explain(x).split("last call:")[-1]
    assert_fused_matches(reciprocal_and_root, x)  # outside it: NumPy's inf and nan, fused


# ---- aliasing ----------------------------------------------------------------------

def shift_right_plus_one(a):
    a[1:] = a[:-1] + 1


def shift_left_doubled(a):
    a[:-1] = a[1:] * 2


def add_shifted_in_place(a):
    """A ufunc whose output overlaps its input: NumPy computes as if from a copy."""
    a[1:] += a[:-1]


@pytest.mark.parametrize("fn", [shift_right_plus_one, shift_left_doubled, add_shifted_in_place], ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_overlapping_slices_read_the_right_side_first(fn, dtype):
    rng = np.random.default_rng(9)
    assert_fused_matches(fn, random_array(dtype, (23,), rng, low=-100, high=100))


def first_element_then_update(a):
    """a[0] is a NumPy scalar: the value before the update."""
    first = a[0]
    a += 1.0
    return first * 2.0


def corner_then_rows_updated(a):
    corner = a[1, -1]
    a[1:] += 10
    return a * corner


def swap_forward(x):
    """The swap of a bubble pass: t holds x[i] while x[i] is overwritten."""
    for i in range(3):
        t = x[i]
        x[i] = x[i + 1]
        x[i + 1] = t
    return x


def element_updated_by_name(a):
    """r += 1 rebinds the scalar r; a is untouched."""
    r = a[2]
    r += 1
    return a + r


def astype_same_then_update(a):
    """astype copies, even to the same dtype: the update must not reach a."""
    b = a.astype(np.float64)
    b += 1.0
    return b * 1.0, a.copy()


def astype_same_then_store(a):
    b = a.astype(np.int64)
    b[0] = 99
    return b + 0


def unary_plus_then_update(a):
    b = +a
    b *= 3
    return b, a * 1


@pytest.mark.parametrize("fn, dtype, shape", [
    (first_element_then_update, np.float64, (5,)), (corner_then_rows_updated, np.float64, (4, 3)),
    (swap_forward, np.float64, (6,)), (element_updated_by_name, np.int64, (7,)),
    (astype_same_then_update, np.float64, (3, 4)), (astype_same_then_store, np.int64, (5,)),
    (unary_plus_then_update, np.int32, (9,))], ids=lambda v: getattr(v, "__name__", None))
def test_copies_numpy_makes_do_not_see_later_updates(fn, dtype, shape):
    rng = np.random.default_rng(11)
    assert_fused_matches(fn, random_array(dtype, shape, rng, low=-50, high=50))
    explain_specialized(fn, random_array(dtype, shape, rng, low=-50, high=50))


def write_out_read_in(out, inp):
    out[1:] = inp[:-1] * 2.0
    return out.sum()


def add_reversed(a, b):
    a += b[::-1]
    return a


def doubled_twice(x):
    y = x * 2
    return y, y, x, x


def test_one_array_returned_twice_is_one_object_as_in_numpy():
    actual, _, _ = assert_fused_matches(doubled_twice, np.arange(5.0))
    assert actual[0] is actual[1] and actual[2] is actual[3]


@pytest.mark.parametrize("fn", [write_out_read_in, add_reversed], ids=lambda f: f.__name__)
def test_the_same_array_passed_twice(fn):
    x = np.random.default_rng(10).random(17)
    _, _, (fused_x, fused_y) = assert_fused_matches(fn, x, x)
    assert fused_x is fused_y  # the copies alias as the originals do


def double_and_return(a):
    a *= 2
    return a


@pytest.mark.parametrize("dtype", [np.int32, np.float64])
def test_a_returned_argument_is_the_argument_itself(dtype):
    plain = np.arange(12, dtype=dtype).reshape(3, 4)
    a = plain.copy()
    assert double_and_return(plain) is plain
    result = quietly(fused(double_and_return), a)
    assert result is a
    assert_same_value(a, plain)


def interior_view(a):
    return a[1:-1]


def test_a_returned_view_of_an_argument_is_a_view():
    """NumPy returns a view: writing through the result changes the argument; so must the fused result."""
    a = np.arange(10.0)
    result = quietly(fused(interior_view), a)
    assert np.shares_memory(result, a) and result.base is not None
    result[0] = -1.0
    assert a[1] == -1.0


# ---- memory ------------------------------------------------------------------------

def four_statements(a, b, c):
    t = a * b
    u = t + c
    v = np.sqrt(np.abs(u))
    return v * 2.0 - a


def _peak_bytes(fn, *arguments):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn(*arguments)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def test_fused_temporaries_do_not_reach_memory():
    """The issue's memory test: on 1e6 float64 the fused call allocates its
    output and at most 64 KiB more; NumPy allocates full-size temporaries."""
    rng = np.random.default_rng(11)
    a, b, c = (rng.random(1_000_000) for _ in range(3))
    fused_four = fused(four_statements)
    quietly(fused_four, a, b, c)  # compiled and loaded before measuring
    expected, numpy_peak = _peak_bytes(four_statements, a, b, c)
    result, fused_peak = _peak_bytes(lambda *x: quietly(fused_four, *x), a, b, c)
    assert_same_value(result, expected)
    assert fused_peak <= result.nbytes + 64 * 1024, f"fused peak {fused_peak} bytes for an output of {result.nbytes}"
    assert numpy_peak > fused_peak, f"NumPy's peak {numpy_peak} is not above the fused one {fused_peak}"
    assert "specialized (fuse)" in fused_four.explain(a, b, c)


# ---- found by differential probing -------------------------------------------------

def assert_same_outcome(fn, *arguments):
    """fn and its fused form on copies of the arguments: the same values and
    arguments afterwards, or the same exception type, with the arguments
    left as NumPy leaves them."""
    try:
        fn(*clone_arguments(arguments))
    except (OverflowError, ValueError) as plain:
        fused_arguments = clone_arguments(arguments)
        with pytest.raises(type(plain)):
            quietly(fused(fn), *fused_arguments)
        numpy_arguments = clone_arguments(arguments)
        with pytest.raises(type(plain)):
            fn(*numpy_arguments)
        assert_same_value(fused_arguments, numpy_arguments, "arguments after the error")
        return
    assert_fused_matches(fn, *arguments)


def case_id(value):
    """A parameter's name in test ids: the same in every pytest-xdist worker (no addresses)."""
    return getattr(value, "__name__", None) or str(value)


def non_float_tests(a):
    return np.isnan(a), np.isinf(a), np.isfinite(a).sum(), np.signbit(a)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.uint64], ids=lambda d: np.dtype(d).name)
def test_isnan_isfinite_signbit_of_integers_are_arrays_of_the_arguments_shape(dtype):
    """For integers NumPy's answers are the same for every element, but
    they are arrays of a's shape (and counts of a's size), not one scalar."""
    a = random_array(dtype, (3, 7), np.random.default_rng(12))
    actual, _, _ = assert_fused_matches(non_float_tests, a)
    assert actual[0].shape == a.shape and actual[2] == a.size
    explain_specialized(non_float_tests, a)


def view_of_computed_updated(a):
    b = a * 1
    v = b[1:]
    v += 10
    return b


def computed_updated_under_its_view(a):
    b = a * 2
    u = b[1:]
    b += 1
    return u * 1


def transposed_computed_row_set(a):
    b = a + 1
    w = b.T
    w[0] += 100
    return b


def reversed_computed_element_set(a):
    b = a * 3
    c = b[::-1]
    c[0] = -1
    return b, c


def view_of_view_updated_in_loop(a):
    b = a - 1
    v = b[1:]
    w = v[::2]
    for _ in range(3):
        w += 1
    return b


@pytest.mark.parametrize("fn", [view_of_computed_updated, computed_updated_under_its_view, transposed_computed_row_set,
                                reversed_computed_element_set, view_of_view_updated_in_loop], ids=lambda f: f.__name__)
def test_a_view_of_a_computed_array_shares_its_updates(fn):
    """`v = b[1:]` of a computed b is a view in NumPy: an update through
    either name changes both (fuse runs these as written)."""
    a = random_array(np.float64, (4, 5) if fn is transposed_computed_row_set else (9,), np.random.default_rng(13))
    assert_fused_matches(fn, a)


def compared_then_added(a, s):
    return a > s, a + s


def compared_then_maximum(a, s):
    return a < s, np.maximum(a, s)


@pytest.mark.parametrize("fn", [compared_then_added, compared_then_maximum], ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype, s", [(np.uint8, -2), (np.int8, 300), (np.uint8, 7)], ids=case_id)
def test_a_python_int_compared_and_computed_with_keeps_numpys_range_check(fn, dtype, s):
    """Comparing with a Python int the dtype cannot hold is exact in NumPy,
    and arithmetic with it is OverflowError: the comparison must not
    lift the arithmetic's check (it did where the comparison came first)."""
    assert_same_outcome(fn, random_array(dtype, (11,), np.random.default_rng(14)), s)


def clip_below(a, s):
    return np.clip(a, s, None)


def where_positive(a, s):
    return np.where(a > 0, a, s)


@pytest.mark.parametrize("fn", [clip_below, where_positive], ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype, s", [(np.uint8, -2), (np.int8, -1000), (np.int8, 200), (np.int16, 5)], ids=case_id)
def test_clip_and_where_take_python_ints_the_dtype_cannot_hold_as_numpy_does(fn, dtype, s):
    """np.clip's bounds and np.where's branches accept such a Python int
    (NumPy gives values where no OverflowError is its own)."""
    assert_same_outcome(fn, random_array(dtype, (13,), np.random.default_rng(15)), s)


def fill_slice(a):
    a[1:] = 300
    return a


def fill_with_nan(a):
    a[:] = np.nan
    return a


def fill_with_infinity(a):
    a[1:] = np.inf
    return a


def fill_with_truncated(a):
    a[::2] = -1.75
    return a


def fill_with_argument(a, x):
    a[:] = x
    return a


@pytest.mark.parametrize("fn, dtype", [(fill_slice, np.int8), (fill_slice, np.uint8), (fill_with_nan, np.int32),
                                       (fill_with_infinity, np.int64), (fill_with_truncated, np.int16),
                                       (fill_slice, np.int16)], ids=case_id)
def test_python_numbers_stored_into_integer_arrays_are_converted_as_numpy_does(fn, dtype):
    """NumPy converts a Python number as int() does: truncated, OverflowError
    out of the dtype's range, ValueError for NaN; the array is unchanged
    when it raises."""
    assert_same_outcome(fn, np.arange(5, dtype=dtype))


@pytest.mark.parametrize("x", [float("nan"), 2.5, 1e30, 7, 70000], ids=case_id)
def test_a_python_number_argument_stored_into_an_integer_array(x):
    assert_same_outcome(fill_with_argument, np.arange(4, dtype=np.int16), x)


def increment_and_sum(w):
    w += 1
    return w.sum()


def test_an_argument_whose_strides_overlap_is_updated_once_per_element_as_numpy_does():
    """A view made with as_strided can reach one element from several
    indices; NumPy's in-place add then follows its own buffering, which
    fuse leaves to NumPy (it runs the function as written)."""
    base, fused_base = np.arange(6.0), np.arange(6.0)
    view = np.lib.stride_tricks.as_strided(base, (3, 3), (8, 8))
    fused_view = np.lib.stride_tricks.as_strided(fused_base, (3, 3), (8, 8))
    expected = increment_and_sum(view)
    assert_same_value(quietly(fused(increment_and_sum), fused_view), expected)
    assert_same_value(fused_base, base)
