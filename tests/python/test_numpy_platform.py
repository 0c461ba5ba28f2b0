"""The "numpy" platform: the daemon prints a kernel as a module of vectorized
NumPy (no compiler). Every kernel of the differential suites, on random inputs
of each dtype, odd shapes, views, 0-d arrays, broadcasting and every stencil
boundary, gives exactly the native (cpu-openmp) kernel's values and the
reference's; what has no vectorized form is refused, not looped over; and the
answer needs no compiler and comes at once."""

import math
import time

import grpc
import numpy as np
import pytest

import sejits
from reference import ALL_DTYPES, FLOAT_DTYPES, assert_same, random_array, tolerance
from sejits import _numpy_kernels, _stencil_python
from sejits._elementwise import ElementwiseDispatcher
from sejits._stencil import StencilDispatcher
from sejits.v1 import specializer_pb2 as pb

import test_elementwise_functions as functions
import test_elementwise_operators as operators
import test_stencil as stencils
import test_stencil_variants as variants


# ---- running a kernel on the numpy platform ----------------------------------

def numpy_kernel(dispatcher, args):
    """The daemon's NumPy module for `dispatcher` on `args`: (kernel, result dtype)."""
    kernel, dtype, response = _numpy_kernels.specialize(dispatcher, args)
    assert response.outcome == pb.NUMPY_SOURCE
    assert response.artifact_path == "" and response.artifact_digest == "" and response.artifact_bytes == 0
    assert response.source.startswith("import numpy as np\n")
    code = [line.strip() for line in response.source.splitlines() if not line.lstrip().startswith("#")]
    assert not any(line.startswith(("for ", "while ")) or "np.vectorize" in line for line in code)  # no per-element Python
    return kernel, dtype


def poisoned(shape, dtype):
    """An output whose every element differs from what a kernel writes, most likely."""
    dtype = np.dtype(dtype)
    fill = True if dtype == np.bool_ else 77 if dtype.kind in "iu" else np.nan
    return np.full(shape, fill, dtype)


def elementwise_on_numpy(dispatcher, *args):
    args = tuple(sejits._arguments.normalize(a, k) for k, a in enumerate(args))
    kernel, dtype = numpy_kernel(dispatcher, args)
    shape = np.broadcast_shapes(*(a.shape for a in args if isinstance(a, np.ndarray)))
    out = poisoned(shape, dtype)
    assert kernel(dispatcher._kernel_arguments(args)[0], out) is None  # with the free names read as scalars
    return out


def sampled(*positions, every=8):
    """Whether a combination also meets the native kernel: each one is a
    compile, and the native kernels equal the same references in their own
    suites; a deterministic fraction, spread over every axis, does."""
    return sum(positions) % every == 0


def check_elementwise(dispatcher, args, expected, rtol=None, native=True):
    """The numpy platform's values equal the native kernel's and the
    reference's (the reference's alone where compiling every combination
    would take long: `native=False`)."""
    actual = elementwise_on_numpy(dispatcher, *args)
    if native:
        assert_same(actual, np.asarray(dispatcher(*args)), rtol)
    assert_same(actual, expected, rtol)


def stencil_on_numpy(dispatcher, *args, out=None):
    kernel, dtype = numpy_kernel(dispatcher, args)
    out = np.zeros(np.shape(args[0]), dtype) if out is None else out  # as the native call: "skip" leaves zeros
    assert kernel(dispatcher._kernel_arguments(args)[0], out) is None  # with the free names read as scalars
    return out


def check_stencil(dispatcher, args, rtol=None, native=True, python=True):
    """Against the native sweep and the stencil run point by point as Python."""
    actual = stencil_on_numpy(dispatcher, *args)
    if native:
        assert_same(actual, dispatcher(*args), rtol)
    if not python:
        return
    expected = _stencil_python.run_python(dispatcher.fn, args, dispatcher.boundary, dispatcher.cval, None,
                                          dispatcher.neighborhood)
    assert_same(actual, expected.astype(actual.dtype), rtol)


def refusal(dispatcher, args):
    """The daemon's error for a numpy-platform request."""
    with pytest.raises(grpc.RpcError) as error:
        _numpy_kernels.request(dispatcher, args)
    return error.value


# ---- element-wise operators (test_elementwise_operators.py) -----------------

@pytest.mark.parametrize("name", operators.BINARY)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_binary_operators(daemon, name, dtype):
    rng = np.random.default_rng(hash((name, np.dtype(dtype).name)) % 2**32)
    a, b = operators.operands(name, dtype, rng)
    kernel = operators._kernels[name]
    try:
        expected = operators.numpy_result(operators.BINARY[name], a, b)
    except TypeError:  # NumPy refuses (bool subtract): so does the front end, on every platform
        assert "boolean" in refusal(kernel, (a, b)).details()
        return
    rtol = None if name in operators.EXACT else tolerance(expected.dtype)
    check_elementwise(kernel, (a, b), expected, rtol, sampled(list(operators.BINARY).index(name), ALL_DTYPES.index(dtype), every=3))
    # 0-d arrays, a single element and broadcasting of the same kernel
    check_elementwise(kernel, (a[0, 0].copy().reshape(()), b[1, 1].copy().reshape(())),
                      operators.numpy_result(operators.BINARY[name], a[0, 0], b[1, 1]), rtol)
    check_elementwise(kernel, (a[:1, :1], b[:, :1].T), operators.numpy_result(operators.BINARY[name], a[:1, :1], b[:, :1].T), rtol)


@pytest.mark.parametrize("left", operators.PAIR_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("right", operators.PAIR_DTYPES, ids=lambda d: np.dtype(d).name)
def test_mixed_dtypes(daemon, left, right):
    rng = np.random.default_rng(3)
    a, b = random_array(left, operators.SHAPE, rng), random_array(right, operators.SHAPE, rng)
    expected = operators.numpy_result(lambda x, y: x + y, a, b)
    native = sampled(operators.PAIR_DTYPES.index(left), operators.PAIR_DTYPES.index(right), every=5)
    check_elementwise(operators._kernels["add"], (a, b), expected, tolerance(expected.dtype), native)
    expected = operators.numpy_result(lambda x, y: x < y, a, b)
    check_elementwise(operators._kernels["lt"], (a, b), expected, native=False)


@pytest.mark.parametrize("scalar", [3, 2.5, True, -7, np.float32(1.25), np.int16(-3), np.uint8(200)], ids=repr)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_python_and_numpy_scalars(daemon, dtype, scalar):
    """NEP 50: Python scalars weak, NumPy scalars strong; both operand orders."""
    a = random_array(dtype, operators.SHAPE, np.random.default_rng(5))
    for name in ("mul", "add", "floordiv", "lt"):
        function = operators.BINARY[name]
        try:
            expected = operators.numpy_result(function, a, scalar)
        except (TypeError, OverflowError) as error:
            if isinstance(error, OverflowError):  # a Python int beyond the dtype: NumPy's error, as natively
                with pytest.raises(OverflowError):
                    elementwise_on_numpy(operators._kernels[name], a, scalar)
            continue
        rtol = None if name in operators.EXACT else tolerance(expected.dtype)
        native = name == "mul" and sampled(ALL_DTYPES.index(dtype), every=3)
        check_elementwise(operators._kernels[name], (a, scalar), expected, rtol, native)
        check_elementwise(operators._kernels[name], (scalar, a), operators.numpy_result(function, scalar, a), rtol, native)


def test_scalars_only_give_0d_outputs(daemon):
    for args in [(3, 4), (2.5, 0.0), (-7, 0), (np.float32(1.5), 2), (True, False), (np.int8(100), np.int8(100))]:
        for position, name in enumerate(("add", "mul", "truediv", "floordiv", "mod", "pow", "ge")):
            kernel = operators._kernels[name]
            actual = elementwise_on_numpy(kernel, *args)
            if sampled(position, every=2) or 0 in args or 0.0 in args:  # division by zero: the native values
                assert_same(actual, np.asarray(kernel(*args)))
            try:
                expected = operators.numpy_result(operators.BINARY[name], *args)
            except ZeroDivisionError:  # Python raises on its own scalars; the kernels give NumPy's values
                continue
            assert_same(actual, expected, None if name in operators.EXACT else tolerance(actual.dtype))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint64], ids=lambda d: np.dtype(d).name)
def test_integer_division_edge_cases(daemon, dtype):
    info = np.iinfo(dtype)
    a = np.array([info.min, info.min, 7, 7, 0, info.max, 5, 1], dtype=dtype)
    b = np.array([1, 0, 2, 0, 0, info.max, 3, 1], dtype=dtype)
    if info.min < 0:
        a = np.concatenate([a, np.array([info.min, -7, -7, 7], dtype=dtype)])
        b = np.concatenate([b, np.array([-1, 2, -2, -2], dtype=dtype)])
    for name in ("floordiv", "mod", "truediv"):
        expected = operators.numpy_result(operators.BINARY[name], a, b)
        check_elementwise(operators._kernels[name], (a, b), expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_float_division_edge_cases(daemon, dtype):
    values = np.array([-7.5, 7.5, -0.0, 0.0, np.inf, -np.inf, np.nan, 1e-30], dtype=dtype)
    a, b = np.meshgrid(values, values)
    for name in ("truediv", "floordiv", "mod"):
        check_elementwise(operators._kernels[name], (a, b), operators.numpy_result(operators.BINARY[name], a, b))
    # Python floats: NumPy's results where Python would raise ZeroDivisionError
    kernel = sejits.elementwise(lambda x, s, t: x + s / t + s // t + s % t)
    for s, t in [(1.0, 0.0), (-1.0, 0.0), (0.0, 0.0), (7.5, -2.0)]:
        with np.errstate(all="ignore"):  # s / t is a Python float (weak): the sum keeps the array's dtype
            expected = values + float(np.float64(s) / t) + float(np.float64(s) // t) + float(np.float64(s) % t)
        check_elementwise(kernel, (values, s, t), expected)


def test_integer_power_with_negative_exponent_raises_like_numpy(daemon):
    a = np.arange(1, 5, dtype=np.int64)
    with pytest.raises(ValueError, match="negative integer powers"):
        elementwise_on_numpy(operators._kernels["pow"], a, np.array([1, -1, 2, 3]))


def test_unary_operators(daemon):
    negate = sejits.elementwise(lambda x: -x)
    logical_not = sejits.elementwise(lambda x: not x)
    absolute = sejits.elementwise(lambda x: abs(x))
    for position, dtype in enumerate(ALL_DTYPES):
        a = random_array(dtype, operators.SHAPE, np.random.default_rng(11))
        if np.dtype(dtype) != np.bool_:
            check_elementwise(negate, (a,), operators.numpy_result(lambda x: -x, a), native=sampled(position, every=3))
        check_elementwise(logical_not, (a,), np.logical_not(a), native=sampled(position + 1, every=3))
        check_elementwise(absolute, (a,), np.abs(a), native=sampled(position + 2, every=3))


def test_integer_overflow_wraps_like_numpy(daemon):
    a = np.array([127, -128, 100], dtype=np.int8)
    check_elementwise(operators._kernels["add"], (a, a), operators.numpy_result(lambda x, y: x + y, a, a))
    check_elementwise(operators._kernels["mul"], (a, a), operators.numpy_result(lambda x, y: x * y, a, a))


def test_python_ints(daemon):
    int8 = np.array([1, 2, -3], dtype=np.int8)
    add = sejits.elementwise(lambda a, s: a + s)
    with pytest.raises(OverflowError, match="Python integer 1000 out of bounds for int8"):
        elementwise_on_numpy(add, int8, 1000)
    with pytest.raises(OverflowError, match="Python integer -1 out of bounds for uint8"):
        elementwise_on_numpy(add, np.array([1, 2], dtype=np.uint8), -1)
    check_elementwise(add, (int8, 100), int8 + 100)
    less = sejits.elementwise(lambda a, s: a < s)
    check_elementwise(less, (int8, 1000), int8 < 1000)
    scaled = sejits.elementwise(lambda x, n, m: x * (n * m))
    x = np.array([1.0, 2.0])
    check_elementwise(scaled, (x, 3, 4), x * 12)
    big = 10**10  # n * m beyond int64: exact, as Python (the native kernel asks for Python)
    np.testing.assert_array_equal(elementwise_on_numpy(scaled, x, big, big), x * (big * big))
    power = sejits.elementwise(lambda x, n, k: x * n**k)
    check_elementwise(power, (x, 2, 5), x * 32)
    with pytest.raises(sejits._native.FallbackRequested):
        elementwise_on_numpy(power, x, 2, -1)


def test_folded_constants_out_of_bounds_are_refused_like_the_native_kernel(daemon):
    a = np.arange(5, dtype=np.int8)
    assert "-1000 out of bounds for int8" in refusal(sejits.elementwise(lambda x: x + -1000), (a,)).details()


# ---- functions and control flow (test_elementwise_functions.py) -------------

@pytest.mark.parametrize("name", functions.UNARY_FUNCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16], ids=lambda d: np.dtype(d).name)
def test_numpy_unary_functions(daemon, name, dtype):
    low, high = functions.DOMAIN.get(name, (-10, 10))
    x = random_array(dtype, (5, 11), np.random.default_rng(1), low=low, high=high)
    expected = getattr(np, name)(x)
    native = sampled(functions.UNARY_FUNCTIONS.index(name), [np.float32, np.float64, np.int16].index(dtype), every=3)
    check_elementwise(functions.numpy_kernel(name), (x,), expected, tolerance(expected.dtype), native)
    outside = random_array(dtype, (3, 7), np.random.default_rng(2), low=-20, high=20)  # NaN where out of domain
    with np.errstate(all="ignore"):
        expected = getattr(np, name)(outside)
    check_elementwise(functions.numpy_kernel(name), (outside[:, ::-2],), expected[:, ::-2], tolerance(expected.dtype), native)


@pytest.mark.parametrize("name", ["arctan2", "hypot", "copysign", "maximum", "minimum"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_binary_functions(daemon, name, dtype):
    rng = np.random.default_rng(2)
    x, y = random_array(dtype, (9, 7), rng), random_array(dtype, (9, 7), rng)
    x.flat[::6] = np.nan
    function = getattr(np, name)
    kernel = sejits.elementwise(lambda a, b: function(a, b))
    check_elementwise(kernel, (x, y), function(x, y), tolerance(dtype))
    check_elementwise(kernel, (x, 0.5), function(x, 0.5), tolerance(dtype))


def test_math_module_and_builtins_on_python_scalars(daemon):
    """math.* and builtins on Python floats: NumPy's values (NaN) where math raises."""
    @sejits.elementwise
    def f(x, s):
        return x + math.sqrt(s) + math.log(s) + max(s, 0.5) + abs(s) + math.atan2(s, 1.0)

    x = np.linspace(-1, 1, 7)
    for s in (2.0, -1.0, 0.0):
        with np.errstate(all="ignore"):
            expected = x + np.sqrt(s) + np.log(s) + max(s, 0.5) + abs(s) + np.arctan2(s, 1.0)
        check_elementwise(f, (x, s), expected, 1e-15)


CONTROL_FLOW = [
    "test_math_module_and_builtins", "test_blend_from_the_readme", "test_if_statements_with_returns_and_fallthrough",
    "test_if_statements_that_assign", "test_boolean_operators_follow_python", "test_chained_comparison_and_where",
    "test_closure_and_global_constants", "test_many_sequential_if_statements_do_not_blow_up",
]


@pytest.mark.parametrize("suite_test", CONTROL_FLOW)
def test_control_flow_kernels(daemon, suite_test, monkeypatch):
    """Each test of test_elementwise_functions.py, with every kernel call
    also run on the numpy platform and compared with the native result."""
    original = ElementwiseDispatcher._call_slow
    compared = []

    def call_both(self, *args, out=None):
        result = original(self, *args, out=out)
        native = np.asarray(result)
        assert_same(elementwise_on_numpy(self, *args), native, tolerance(native.dtype))  # NumPy's math functions: within an ulp
        compared.append(self.__name__)
        return result

    monkeypatch.setattr(ElementwiseDispatcher, "_call_slow", call_both)
    monkeypatch.setattr(ElementwiseDispatcher, "__call__", call_both)
    getattr(functions, suite_test)("cpu")
    assert compared


def test_loops_and_folding(daemon):
    x = np.linspace(-2, 2, 9).astype(np.float32)
    kernel = sejits.elementwise(lambda v: v * (2**3 - 1) + (1 / 4) - 7 // 2 + (-7) % 3)
    check_elementwise(kernel, (x,), x * (2**3 - 1) + (1 / 4) - 7 // 2 + (-7) % 3)

    @sejits.elementwise
    def horner(v):
        y = 0.0
        for coefficient in range(5, 0, -1):
            y = y * v + coefficient
        return y

    x = x.astype(np.float64)
    check_elementwise(horner, (x,), (((5.0 * x + 4) * x + 3) * x + 2) * x + 1)


def test_conditionals_over_integers_do_not_raise(daemon):
    """Both branches run under np.where: an integer division by zero in the
    branch not taken gives NumPy's value, never an error."""
    @sejits.elementwise
    def safe_ratio(a, b):
        if b != 0:
            return a // b
        elif a > 0:
            return a % b
        return -a

    a = random_array(np.int32, (37,), np.random.default_rng(4), low=-20, high=20)
    b = random_array(np.int32, (37,), np.random.default_rng(5), low=-3, high=3)
    with np.errstate(all="ignore"):
        expected = np.where(b != 0, a // np.where(b == 0, 1, b), np.where(a > 0, 0, -a))
    check_elementwise(safe_ratio, (a, b), expected)


def test_conditional_integer_power_is_refused(daemon):
    kernel = sejits.elementwise(lambda a, b: a**b if b >= 0 else 0)
    error = refusal(kernel, (np.arange(4), np.arange(4) - 2))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details().startswith("no vectorized NumPy form: a signed integer power inside a conditional")
    # unconditional, or with a constant exponent, it has a form
    check_elementwise(sejits.elementwise(lambda a, b: a**2 if b >= 0 else 0), (np.arange(4), np.arange(4) - 2),
                      np.where(np.arange(4) - 2 >= 0, np.arange(4) ** 2, 0))


# ---- layouts (test_elementwise_layouts.py) ----------------------------------

axpy = sejits.elementwise(lambda a, x, y: a * x + y)
blend = sejits.elementwise(lambda a, x, y: a * x + (1 - a) * y if x > y else y - x)

SHAPE_PAIRS = [((1,), (1,)), ((13,), (13,)), ((5, 1), (1, 7)), ((3, 1, 4), (5, 1)), ((2, 3, 5, 7), (7,)),
               ((1, 1, 1, 1, 1, 1, 1, 3), (3,)), ((2, 1, 2, 1, 2, 1, 2, 1), (1, 2, 1, 2, 1, 2, 1, 2)), ((0,), (0,)),
               ((4, 0), (1,)), ((), (3,)), ((), ())]


@pytest.mark.parametrize("shape_x, shape_y", SHAPE_PAIRS, ids=str)
def test_broadcasting(daemon, shape_x, shape_y):
    rng = np.random.default_rng(7)
    x, y = rng.random(shape_x), rng.random(shape_y)
    check_elementwise(axpy, (2.0, x, y), 2.0 * x + y)
    check_elementwise(blend, (0.25, x, y), np.where(x > y, 0.25 * x + 0.75 * y, y - x))
    check_elementwise(blend, (0.25, y, x), np.where(y > x, 0.25 * y + 0.75 * x, x - y))


@pytest.mark.parametrize("view", [
    lambda a: a[::2], lambda a: a[::-1], lambda a: a[1:-1:3], lambda a: a.reshape(30, 40).T,
    lambda a: a.reshape(30, 40)[::-2, 5:31:5], lambda a: a.reshape(6, 5, 40)[:, ::2, ::-3],
])
def test_non_contiguous_views(daemon, view):
    rng = np.random.default_rng(7)
    vx, vy = view(rng.random(1200)), view(rng.random(1200))
    check_elementwise(axpy, (3.0, vx, vy), 3.0 * vx + vy)
    check_elementwise(blend, (0.5, vx, vy), np.where(vx > vy, 0.5 * vx + 0.5 * vy, vy - vx))
    check_elementwise(axpy, (np.float32(3.0), vx.astype(np.float32), 1.0), np.float32(3.0) * vx.astype(np.float32) + 1.0)


def test_zero_dimensional_arguments_in_one_module(daemon):
    """One module serves every rank: its in-place updates check for 0-d operands."""
    kernel = sejits.elementwise(lambda a, b: (a * 2.0 + 1.0) * 3.0 + b)
    for a, b in [(np.array(1.5), np.arange(4.0)), (np.arange(4.0), np.array(2.0)), (np.array(1.5), np.array(2.0)),
                 (np.arange(6.0).reshape(2, 3), np.arange(3.0))]:
        args = (a, b)
        kernel_function, dtype = numpy_kernel(kernel, args)
        for other in [(np.array(1.5), np.arange(4.0)), (np.arange(3.0), np.array(0.5)), (np.array(1.0), np.array(2.0))]:
            out = poisoned(np.broadcast_shapes(other[0].shape, other[1].shape), dtype)
            kernel_function(other, out)
            assert_same(out, (other[0] * 2.0 + 1.0) * 3.0 + other[1])


# ---- stencils (test_stencil.py, test_stencil_variants.py) -------------------

MODES = stencils.MODES


@pytest.mark.parametrize("boundary", MODES)
@pytest.mark.parametrize("dtype", stencils.DTYPES, ids=lambda d: np.dtype(d).name)
def test_laplace_2d(daemon, boundary, dtype):
    kernel = sejits.stencil(boundary=boundary, cval=1.5)(stencils.laplace_2d)
    for shape in [(7, 13), (1, 1), (2, 3), (3, 2)]:
        check_stencil(kernel, (stencils.random_grid(shape, dtype), 0.25), 1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("boundary", MODES)
@pytest.mark.parametrize("case", stencils.RANK_CASES)
def test_ranks_and_small_grids(daemon, boundary, case):
    function, shapes = stencils.RANK_CASES[case]
    kernel = sejits.stencil(boundary=boundary)(function)
    native = case != "rank4" or sampled(MODES.index(boundary), every=2)
    for shape in shapes:  # including grids smaller than the neighbourhood
        arrays = [stencils.random_grid(shape, np.float64, seed) for seed in range(function.__code__.co_argcount)]
        check_stencil(kernel, tuple(arrays), 1e-14, native)


VARIANT_KERNELS = [
    (variants.smooth_1d, [(1,), (2,), (3,), (13,)], ()),  # reads 3 ahead: pads wider than the grid
    (variants.heat_2d, [(1, 1), (2, 3), (5, 7), (31, 17)], (0.1,)),
    (variants.jacobi_3d, [(2, 3, 5), (17, 11, 13)], ()),
    (variants.int_average_2d, [(1, 2), (6, 5)], ()),
    (variants.line_1d, [(1,), (29,)], ()),
]


@pytest.mark.parametrize("boundary", MODES)
@pytest.mark.parametrize("dtype", variants.DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("function, shapes, rest", VARIANT_KERNELS, ids=lambda v: getattr(v, "__name__", ""))
def test_variant_suite_kernels(daemon, function, shapes, rest, boundary, dtype):
    kernel = sejits.stencil(boundary=boundary, cval=-2.5)(function)
    native = dtype == np.float64 or sampled(MODES.index(boundary), variants.DTYPES.index(dtype), every=4)
    for seed, shape in enumerate(shapes):
        grid = variants.random_grid(shape, dtype, seed)
        check_stencil(kernel, (grid, *rest), 1e-6 if dtype == np.float32 else 1e-13, native)


@pytest.mark.parametrize("boundary", MODES)
def test_several_arrays_and_dtypes(daemon, boundary):
    grid, other = variants.random_grid((5, 7, 11, 6), np.float32, 1), variants.random_grid((5, 7, 11, 6), np.float32, 2)
    native = sampled(MODES.index(boundary), every=2)
    check_stencil(sejits.stencil(boundary=boundary)(variants.asymmetric_4d), (grid, other), 1e-6, native)
    weights = variants.random_grid((9, 8), np.float64, 4)
    ints = variants.random_grid((9, 8), np.int64, 3)
    check_stencil(sejits.stencil(boundary=boundary)(variants.weighted_2d), (ints, weights), 1e-14)
    check_stencil(sejits.stencil(boundary=boundary)(stencils.asymmetric_3d),
                  (stencils.random_grid((3, 5, 7), np.float64), stencils.random_grid((3, 5, 7), np.float64, 1)), 1e-14)


@pytest.mark.parametrize("boundary", MODES)
def test_conditionals_and_views(daemon, boundary):
    @sejits.stencil(boundary=boundary)
    def choose(mask, a, b):
        return a[0, 1] if mask[0, 0] > 0 else b[-1, 0]

    mask = stencils.random_grid((8, 9), np.int32, 1)
    a, b = stencils.random_grid((8, 9), np.float64, 2), stencils.random_grid((8, 9), np.float64, 3)
    # With "constant" and "skip" the native border is every point some read
    # of the kernel would take outside the grid; the Python run, evaluating
    # one branch, computes some of them: there the native kernel is the contract.
    check_stencil(choose, (mask, a, b), python=boundary not in ("constant", "skip"))
    kernel = sejits.stencil(boundary=boundary)(stencils.laplace_2d)
    base = stencils.random_grid((20, 30), np.float64)
    for view in (base[::2, 1::3], base.T, base[::-1, ::-2]):
        check_stencil(kernel, (view, 0.5), 1e-14)


@pytest.mark.parametrize("boundary", MODES)
def test_wide_stencils_and_neighborhoods(daemon, boundary):
    kernel = sejits.stencil(boundary=boundary)(_laplacian_27)
    check_stencil(kernel, (stencils.random_grid((5, 6, 7), np.float64),), 1e-13, sampled(MODES.index(boundary), every=2))
    trailing = sejits.stencil(boundary=boundary, neighborhood=((-5, 0),))(_trailing_mean)
    check_stencil(trailing, (stencils.random_grid((40,), np.float64),), 1e-14)
    check_stencil(trailing, (stencils.random_grid((3,), np.float64),), 1e-14)
    wider = sejits.stencil(boundary=boundary, neighborhood=((-2, 2), (-1, 1)))(stencils.laplace_2d)
    check_stencil(wider, (stencils.random_grid((8, 8), np.float64), 1.0), 1e-14)


def _laplacian_27(a):
    total = 0.0
    for i in range(-1, 2):
        for j in range(-1, 2):
            for k in range(-1, 2):
                total += a[i, j, k] / (1 + abs(i) + abs(j) + abs(k))
    return total - a[0, 0, 0] * 27


def _trailing_mean(a):
    total = 0.0
    for i in range(-5, 1):
        total += a[i]
    return total / 6


def test_skip_keeps_and_constant_overwrites_the_border_of_out(daemon):
    grid = stencils.random_grid((5, 8), np.float64)
    skip = sejits.stencil(boundary="skip")(stencils.laplace_2d)
    out = stencil_on_numpy(skip, grid, 1.0, out=np.full((5, 8), 42.0))
    native = skip(grid, 1.0, out=np.full((5, 8), 42.0))
    assert_same(out, native)
    assert (out[0] == 42).all() and (out[-1] == 42).all() and (out[:, 0] == 42).all() and (out[:, -1] == 42).all()
    constant = sejits.stencil(cval=-7.0)(stencils.laplace_2d)
    out = stencil_on_numpy(constant, grid, 2.0, out=np.full((5, 8), 99.0))
    assert_same(out, constant(grid, 2.0, out=np.full((5, 8), 99.0)))
    ints = sejits.stencil(cval=-7.9)(variants.int_average_2d)  # cval converted as C converts: -7
    grid = variants.random_grid((6, 5), np.int64, 1)
    assert_same(stencil_on_numpy(ints, grid), ints(grid))
    assert (stencil_on_numpy(ints, grid)[0] == -7).all()


def test_empty_grids(daemon):
    for boundary in MODES:
        kernel = sejits.stencil(boundary=boundary)(stencils.laplace_2d)
        out = stencil_on_numpy(kernel, np.ones((0, 5)), 1.0)
        assert out.shape == (0, 5)


def class_kernel_on_numpy(kernel_class, attributes, inputs, output):
    """A StencilKernel's method on the numpy platform, called as its native
    entry is: the input grids, then the output grid (whose ghost cells stay)."""
    dispatcher = kernel_class.sejits_dispatcher
    dispatcher._call_context = (kernel_class(**attributes), (*inputs, output), len(inputs))  # the output's position
    kernel, _ = numpy_kernel(dispatcher, tuple(g.data for g in (*inputs, output)))
    assert kernel(tuple(g.data for g in inputs), output.data) is None


def test_class_style_stencils(daemon):
    import test_stencil_class as classes

    cases = [(classes.Jacobi, {"center": -4.0, "edge": 1.0}, shape, 1, None) for shape in [(26, 31), (5, 3), (2, 2)]]
    sets = [[(0, 0, 0)], [(2, 0, 0), (-2, 0, 0), (0, 1, 0), (0, 0, -1)], [(1, 1, 1), (-1, -2, 0)]]
    cases.append((classes.WeightedSets, {"w0": 2.0, "w1": 0.5, "w2": -1.0}, (6, 7, 5), 2, sets))
    for kernel_class, attributes, shape, ghost_depth, neighbor_definition in cases:
        inputs = classes.grids(shape, ghost_depth=ghost_depth, count=kernel_class.kernel.__wrapped__.__code__.co_argcount - 2)
        fast, slow = classes.run_both(kernel_class, attributes, inputs, shape, ghost_depth=ghost_depth,
                                      neighbor_definition=neighbor_definition)  # native and Python
        output = sejits.StencilGrid(shape, ghost_depth=ghost_depth)
        if neighbor_definition is not None:
            output.neighbor_definition = neighbor_definition
        output.data[...] = 5.0  # as run_both's: the ghost cells keep it
        class_kernel_on_numpy(kernel_class, attributes, inputs, output)
        assert_same(output.data, fast, 1e-14)
        assert_same(output.data, slow, 1e-14)


# ---- no compiler, at once ------------------------------------------------------

FAILING_COMPILER = """#!/bin/sh
echo "$@" >> "{log}"
case "$1" in --version) echo "fake-cc 1.0"; exit 0;; esac
echo "this compiler fails" >&2
exit 1
"""


def test_the_numpy_platform_never_compiles_and_answers_at_once(tmp_path):
    from conftest import Daemon

    log = tmp_path / "compiler.log"
    compiler = tmp_path / "fake-cc"
    compiler.write_text(FAILING_COMPILER.format(log=log))
    compiler.chmod(0o755)
    daemon = Daemon(tmp_path / "daemon").start(f"--compiler={compiler}")
    try:
        with daemon._channel() as channel:
            stub = pb_grpc().SpecializerStub(channel)
            grid = np.random.default_rng(0).random((64, 64))
            kernels = [(sejits.stencil(boundary=mode)(variants.heat_2d), (grid, 0.1)) for mode in MODES]
            kernels += [(functions.numpy_kernel("sin"), (grid,)), (blend, (0.5, grid, grid.T))]
            for dispatcher, args in kernels:
                request = dispatcher._build_request(args, dispatcher._capture(), platform="numpy")
                request.tuning.mode = pb.TUNING_ONLINE  # no tuning on this platform, whatever is asked
                request.tuning.shape_class = "call:64x64:c"
                start = time.perf_counter()
                response = stub.Specialize(request, timeout=10)
                elapsed = time.perf_counter() - start
                assert response.outcome == pb.NUMPY_SOURCE and response.source
                assert elapsed < 0.5, f"the numpy platform took {elapsed:.3f} s"
                assert response.specialize_seconds < 0.1
                assert response.tuning.state in (pb.TuningPlan.STATE_UNSPECIFIED, pb.TuningPlan.UNTUNED)
                kernel = _numpy_kernels.load(response.source, response.entry_symbol)
                out = np.zeros(grid.shape)
                kernel(args, out)
                assert np.isfinite(out).all()
            # the native platform, on the same daemon, needs the (failing) compiler
            request = blend._build_request((0.5, grid, grid), blend._capture())
            with pytest.raises(grpc.RpcError, match="compil"):
                stub.Specialize(request, timeout=30)
        stats = daemon.stats()
        assert stats.compiles == 0 and stats.cache_entries == 0
        # The native request's compile only (and the runtime header's precompile it starts).
        invocations = [line for line in log.read_text().splitlines()
                       if line != "--version" and "c++-header" not in line]
        assert len(invocations) == 1, invocations
    finally:
        daemon.stop()


def pb_grpc():
    from sejits.v1 import specializer_pb2_grpc

    return specializer_pb2_grpc
