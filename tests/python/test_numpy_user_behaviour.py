"""What a NumPy user expects of a decorated kernel beyond its values:
kernels pickle by reference (spawned pools can ship them), results keep
NumPy's memory order, masked arrays keep their masks, Python ints as large
as uint64's, methods, and the messages of kernels that cannot be specialized.
Each against NumPy, under fallback="error"."""

import concurrent.futures
import multiprocessing
import pickle

import numpy as np
import pytest
from scipy import ndimage

import picklable_kernels as kernels
import sejits
from reference import assert_same


# ---- pickling by reference ------------------------------------------------------

def test_decorated_kernels_carry_the_function_names_and_docs():
    function = kernels.scaled_sum.__wrapped__
    assert kernels.scaled_sum.__module__ == "picklable_kernels" == function.__module__
    assert kernels.scaled_sum.__qualname__ == "scaled_sum"
    assert kernels.scaled_sum.__doc__ == "a * s + b"
    assert kernels.smooth.__qualname__ == "smooth" and kernels.smooth.__module__ == "picklable_kernels"
    assert kernels.Holder.doubled.__qualname__ == "Holder.doubled"


@pytest.mark.parametrize("protocol", [2, 4, pickle.HIGHEST_PROTOCOL])
def test_kernels_pickle_by_reference(protocol, daemon):
    for kernel in (kernels.scaled_sum, kernels.smooth, kernels.Holder.doubled):
        data = pickle.dumps(kernel, protocol=protocol)
        assert b"picklable_kernels" in data and len(data) < 200  # a reference, not the function's state
        assert pickle.loads(data) is kernel


def test_a_kernel_that_is_not_importable_does_not_pickle():
    @sejits.elementwise
    def local(x):
        return x + 1

    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(local)


def _spawn_pool(daemon):
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"),
        initializer=kernels.configure_worker, initargs=(daemon.address,))


def test_a_spawned_process_pool_runs_shipped_kernels_compiled(daemon):
    a, b = np.arange(6.0).reshape(2, 3), np.full((2, 3), 0.5)
    grid = np.random.default_rng(1).random((5, 6))
    with _spawn_pool(daemon) as pool:
        summed, compiled = pool.submit(kernels.call_in_worker, kernels.scaled_sum, a, b, 3.0).result(timeout=300)
        assert compiled
        assert_same(summed, a * 3.0 + b)
        smoothed, compiled = pool.submit(kernels.call_in_worker, kernels.smooth, grid).result(timeout=300)
        assert compiled
        assert_same(smoothed, ndimage.correlate1d(grid, np.full(3, 1.0), axis=1, mode="nearest") / 3.0, rtol=1e-13)
        mapped = list(pool.map(kernels.Holder.doubled, [np.arange(3), np.arange(4)], timeout=300))
    assert_same(mapped[0], 2 * np.arange(3))
    assert_same(mapped[1], 2 * np.arange(4))


def test_multiprocessing_spawn_pool_maps_a_kernel(daemon):
    xs = [np.linspace(0, 1, 5), np.linspace(1, 2, 7)]
    with multiprocessing.get_context("spawn").Pool(1, kernels.configure_worker, (daemon.address,)) as pool:
        results = pool.starmap(kernels.scaled_sum, [(x, 1.0, 2.0) for x in xs])
    for x, result in zip(xs, results):
        assert_same(result, x * 2.0 + 1.0)


def test_stencil_kernel_instances_pickle_and_run_in_a_spawned_process(daemon):
    instance = kernels.Laplacian(center=-4.0)
    assert pickle.loads(pickle.dumps(instance)).center == -4.0
    data = np.random.default_rng(2).random((6, 7))
    with _spawn_pool(daemon) as pool:
        result, _ = pool.submit(kernels.run_stencil_kernel, instance, data).result(timeout=300)
    expected = np.zeros_like(data)
    expected[1:-1, 1:-1] = (-4.0 * data[1:-1, 1:-1] + data[2:, 1:-1] + data[:-2, 1:-1] + data[1:-1, 2:]
                            + data[1:-1, :-2])
    assert_same(result, expected, rtol=1e-13)


# ---- messages ------------------------------------------------------------------

def test_source_of_a_kernel_that_cannot_be_specialized_raises_the_reason(daemon):
    @sejits.elementwise
    def keyed(x):
        return {1: x}[1]

    with pytest.raises(sejits.SpecializationError, match=r"keyed: .*test_numpy_user_behaviour.py:\d+: indexing") as raised:
        keyed.source(np.arange(3.0))
    assert "Rendezvous" not in str(raised.value)


def test_source_of_a_kernel_without_source_raises_the_reason(daemon):
    kernel = sejits.elementwise(eval("lambda x: x + 1"))
    with pytest.raises(sejits.SpecializationError, match="lambda"):
        kernel.source(np.arange(3.0))


def test_source_with_an_unsupported_dtype_raises_the_reason(daemon):
    kernel = sejits.elementwise(lambda x: x + 1)
    with pytest.raises(sejits.SpecializationError, match="complex"):
        kernel.source(np.arange(3.0) + 1j)


def _line_of(fn, text):
    """The file line of the first line of fn's source that contains `text`."""
    import inspect

    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, line in enumerate(lines) if text in line)


def test_an_undefined_name_is_reported_as_python_reports_it(daemon):
    def relative(x):
        return x / (x + epsilon)  # noqa: F821 - the name is undefined on purpose

    kernel = sejits.elementwise(relative)
    with pytest.raises(NameError) as raised:
        kernel(np.arange(3.0))
    assert isinstance(raised.value, sejits.SpecializationError)
    assert raised.value.name == "epsilon"
    line = _line_of(relative, "epsilon")
    assert str(raised.value) == f"relative: {__file__}:{line}: name 'epsilon' is not defined"
    with pytest.raises(NameError, match="name 'epsilon' is not defined"):
        kernel.source(np.arange(3.0))


def test_an_undefined_name_is_the_fallback_reason(daemon):
    kernel = sejits.elementwise(lambda x: x * undefined_scale)  # noqa: F821
    sejits.config(fallback="warn")
    try:
        with pytest.warns(sejits.SpecializationWarning, match=r":\d+: name 'undefined_scale' is not defined"):
            with pytest.raises(NameError, match="name 'undefined_scale' is not defined"):  # Python's own, as written
                kernel(np.arange(3.0))
    finally:
        sejits.config(fallback="error")
    sejits.config(fallback="silent")
    try:
        assert "name 'undefined_scale' is not defined" in kernel.explain(np.arange(3.0))
    finally:
        sejits.config(fallback="error")


def test_a_global_deleted_after_the_first_call_is_reported(daemon):
    globals()["_offset"] = 1.5
    kernel = sejits.elementwise(lambda x: x + _offset)  # noqa: F821
    assert_same(kernel(np.arange(3.0)), np.arange(3.0) + 1.5)
    del globals()["_offset"]
    with pytest.raises(NameError, match="name '_offset' is not defined"):
        kernel(np.arange(3.0))


def test_a_closure_variable_not_assigned_yet_is_reported(daemon):
    def make():
        kernel = sejits.elementwise(lambda x: x + later)
        with pytest.raises(NameError, match="free variable 'later'"):
            kernel(np.arange(3.0))
        later = 2.0
        assert_same(kernel(np.arange(3.0)), np.arange(3.0) + 2.0)

    make()


# ---- memory order of results (NumPy's order="K") ----------------------------------

axpy = sejits.elementwise(lambda a, x, y: a * x + y)
_cube = np.arange(60.0).reshape(3, 4, 5)
LAYOUTS = {
    "C": lambda: (_cube, _cube + 1),
    "F": lambda: (np.asfortranarray(_cube), np.asfortranarray(_cube + 1)),
    "F and C": lambda: (np.asfortranarray(_cube), _cube + 1),
    "C and F": lambda: (_cube, np.asfortranarray(_cube + 1)),
    "transposed": lambda: (_cube.transpose(1, 2, 0), (_cube + 1).transpose(1, 2, 0)),
    "F 2-D": lambda: (np.asfortranarray(_cube[0]), np.asfortranarray(_cube[1])),
    "F sliced": lambda: (np.asfortranarray(_cube)[:, ::2], np.asfortranarray(_cube + 1)[:, ::2]),
    "reversed": lambda: (_cube[::-1, :, ::-1], _cube[::-1, :, ::-1] + 1),
    "C sliced": lambda: (_cube[:, 1:3], _cube[:, ::2]),
    "F with a row": lambda: (np.asfortranarray(_cube), np.arange(5.0)),
    "F with a 0-d array": lambda: (np.asfortranarray(_cube), np.array(2.0)),
    "F single row": lambda: (np.asfortranarray(_cube[:1, 0]), np.asfortranarray(_cube[:1, 1])),
    "F large": lambda: (np.asfortranarray(np.ones((700, 300))), np.asfortranarray(np.full((700, 300), 2.0))),
}


def _assert_laid_out_as(result, expected):
    assert_same(result, expected)
    assert result.flags.c_contiguous == expected.flags.c_contiguous
    assert result.flags.f_contiguous == expected.flags.f_contiguous
    if result.size:
        assert result.strides == expected.strides


@pytest.mark.parametrize("layout", LAYOUTS)
def test_results_are_laid_out_as_numpy_lays_out_a_ufuncs(target, layout):
    x, y = LAYOUTS[layout]()
    expected = 2.0 * x + y
    for _ in range(3):  # the first call (from Python), then the repeat calls (the native fast path)
        _assert_laid_out_as(axpy(2.0, x, y), expected)
    _assert_laid_out_as(axpy(2, x, y), 2 * x + y)  # another signature's first call


def test_fortran_ordered_results_on_the_fast_path_are_native(daemon):
    x = np.asfortranarray(np.random.default_rng(3).random((40, 30)))
    axpy(3.0, x, x)
    result = axpy(3.0, x, x)
    assert axpy._last_call_native
    _assert_laid_out_as(result, 3.0 * x + x)


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.float32, np.bool_])
def test_fortran_ordered_inputs_of_every_kind_and_out(target, dtype):
    rng = np.random.default_rng(4)
    x = np.asfortranarray(rng.integers(0, 3, size=(5, 6, 2)).astype(dtype))
    kernel = sejits.elementwise(lambda p, q: p * q)
    _assert_laid_out_as(kernel(x, x), x * x)
    _assert_laid_out_as(kernel(x, x), x * x)
    out = np.zeros((2, 6, 5), x.dtype).T  # Fortran-ordered out=
    assert kernel(x, x, out=out) is out
    assert_same(out, x * x)


# ---- masked arrays -------------------------------------------------------------

def _masked_inputs():
    x = np.ma.masked_array([1.0, 2.0, 3.0, 4.0], mask=[False, True, False, False])
    y = np.ma.masked_array([0.5, 0.5, 0.0, 2.0], mask=[False, False, False, True])
    return x, y


def test_masked_arrays_are_refused_with_the_reason(target):
    x, y = _masked_inputs()
    kernel = sejits.elementwise(lambda p, q: p / q + 1)
    with pytest.raises(sejits.SpecializationError, match=r"argument 1 is a masked array \(numpy.ma\).*mask"):
        kernel(np.ones(4), y)
    with pytest.raises(sejits.SpecializationError, match="out is a masked array"):
        kernel(np.ones(4), np.ones(4), out=np.ma.masked_array(np.zeros(4)))
    with pytest.raises(sejits.SpecializationError, match="masked array"):
        kernel.source(x, y)
    stencil = sejits.stencil(lambda a: a[-1] + a[1])
    with pytest.raises(sejits.SpecializationError, match="masked array"):
        stencil(x)
    with pytest.raises(sejits.SpecializationError, match="masked array"):
        stencil.iterate(x, steps=2)


def test_masked_arrays_run_as_numpy_masked_operations_under_fallback(target):
    x, y = _masked_inputs()
    kernel = sejits.elementwise(lambda p, q: p / q + 1)
    sejits.config(fallback="silent")
    try:
        for _ in range(2):  # the first call and the repeat calls
            result = kernel(x, y)
            expected = x / y + 1
            assert isinstance(result, np.ma.MaskedArray)
            np.testing.assert_array_equal(result.mask, expected.mask)  # y == 0 is masked too, as np.ma divides
            np.testing.assert_array_equal(result.compressed(), expected.compressed())
        out = np.ma.masked_array(np.zeros(4), mask=False)
        assert kernel(x, y, out=out) is out
        np.testing.assert_array_equal(out.mask, expected.mask)
        np.testing.assert_array_equal(out.compressed(), expected.compressed())
        assert "masked array" in kernel.explain(x, y)
    finally:
        sejits.config(fallback="error")
    assert_same(kernel(x.data, y.data + 1), x.data / (y.data + 1) + 1)  # plain arrays still compile


# ---- Python ints as large as uint64's ---------------------------------------------

@sejits.elementwise
def _add_scalar(x, c):
    return x + c


@sejits.elementwise
def _mixed(x, c, k):
    return (x ^ c) // k + (x > c)


UINT64_INTS = [2**63, 2**63 + 12345, 2**64 - 1]


@pytest.mark.parametrize("value", UINT64_INTS)
def test_python_ints_up_to_uint64_max_work_with_uint64_arrays(target, value):
    x = np.array([0, 1, 2**62, 2**63 - 1, 2**64 - 1, 7], dtype=np.uint64)
    assert_same(_add_scalar(x, value), x + value)
    assert_same(_mixed(x, value, 3), (x ^ value) // 3 + (x > value))
    assert_same(_add_scalar(x[::2], value), x[::2] + value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_uint64_sized_python_int_meets_floats_as_numpy_converts_it(target, dtype):
    x = np.array([-1.5, 0.0, 3.25, np.inf], dtype=dtype)
    assert_same(_add_scalar(x, 2**64 - 1), x + (2**64 - 1))


@sejits.reduce("sum")
def _sum_plus_scalar(x, c):
    return x + c


@sejits.stencil(boundary="nearest")
def _pair_plus_scalar(u, c):
    return u[0] + u[-1] + c


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_uint64_sized_python_int_reaches_reductions_and_stencils_as_a_float(target, dtype):
    # The device gets such a scalar already converted to the float dtype: the
    # kernel must read it as that dtype, not convert it back to uint64.
    x = np.array([-1.5, 0.0, 3.25, 7.0, 2.0], dtype=dtype)
    big = 2**64 - 1
    assert_same(_sum_plus_scalar(x, big), np.sum(x + big))
    padded = np.concatenate([x[:1], x])
    assert_same(_pair_plus_scalar(x, big), x + padded[:-1] + big)


_scaled_and_scale = sejits.elementwise(lambda x, s: (x * s, s))
_scaled_twice = sejits.elementwise(lambda x32, y64, s: x32 * s + y64 * s)
_sum_scaled_twice = sejits.reduce("sum")(lambda x32, y64, s: x32 * s + y64 * s)


def test_a_python_float_read_in_two_dtypes_keeps_its_value(target):
    # A device gets a Python float already converted only where every read of
    # it converts it to that one dtype; here float32 and float64 both read it.
    x, y = np.arange(5, dtype=np.float32), np.arange(5, dtype=np.float64)
    scaled, scale = _scaled_and_scale(x, 0.1)
    assert_same(scaled, x * 0.1)
    assert scale.dtype == np.float64 and np.all(scale == 0.1)
    assert_same(_scaled_twice(x, y, 0.1), x * 0.1 + y * 0.1)
    assert_same(_sum_scaled_twice(x, y, 0.1), np.sum(x * 0.1 + y * 0.1), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint32, np.bool_])
def test_a_uint64_sized_python_int_with_other_ints_is_out_of_bounds(target, dtype):
    x = np.ones(4, dtype=dtype)
    with pytest.raises(OverflowError):
        x + 2**63  # NumPy's behaviour, for reference
    with pytest.raises(OverflowError, match=f"Python integer {2**63} out of bounds for"):
        _add_scalar(x, 2**63)


def test_small_and_uint64_sized_ints_are_told_apart_on_the_fast_path(daemon):
    x = np.arange(5, dtype=np.uint64)
    for value in [3, 2**63 + 1, 5, 2**64 - 1, 0]:  # alternating signatures, each cached
        assert_same(_add_scalar(x, value), x + value)


def test_python_int_arithmetic_beyond_64_bits_runs_as_python(daemon):
    @sejits.elementwise
    def shifted(x, big, small):
        return x + (big + small) % 7

    x = np.arange(4, dtype=np.uint64)
    expected = x + (2**63 + 2**62 + 5) % 7
    assert_same(shifted(x, 2**63, 2**62 + 5), expected)  # Python's exact arithmetic: big + small > 2**64


# ---- decorated methods --------------------------------------------------------

class _Model:
    def __init__(self, scale):
        self.scale = scale

    @sejits.elementwise
    def scaled(self, x):
        return self.scale * x

    @sejits.elementwise
    def doubled(x):  # no self: reached through an instance it is the kernel itself
        return 2 * x


def test_a_method_taking_self_says_why_under_fallback_error(daemon):
    x = np.arange(5.0)
    with pytest.raises(sejits.SpecializationError, match="is a method: its first parameter 'self' is a _Model"):
        _Model(3.0).scaled(x)  # the session runs under fallback="error"


def test_a_method_taking_self_warns_and_runs_as_python(daemon):
    x = np.arange(5.0)
    sejits.config(fallback="warn")
    try:
        with pytest.warns(sejits.SpecializationWarning, match="pass the attributes it reads as arguments") as caught:
            result = _Model(3.0).scaled(x)
    finally:
        sejits.config(fallback="error")
    assert_same(result, 3.0 * x)
    assert caught[0].filename == __file__  # the user's line, not sejits'


def test_a_kernel_without_self_in_a_class_is_the_kernel_through_instances_and_the_class(daemon):
    x = np.arange(4, dtype=np.int32)
    assert _Model(1.0).doubled is _Model.doubled
    assert_same(_Model(1.0).doubled(x), 2 * x)


@sejits.elementwise
def _compare_all(x, c):
    return np.int8(x < c) + 2 * np.int8(x <= c) + 4 * np.int8(x == c) + 8 * np.int8(x != c) + 16 * np.int8(c > x) + 32 * np.int8(c >= x)


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.int8, np.uint8])
def test_comparisons_with_python_ints_are_exact_as_numpy_2s(target, dtype):
    info = np.iinfo(dtype)
    x = np.array([info.min, info.min + 1, 0, 5, info.max - 1, info.max], dtype=dtype)
    for c in [-5, 0, 5, 2**62 + 1, 2**63 - 1, 2**63, 2**63 + 1, 2**64 - 2, 2**64 - 1]:
        expected = (np.int8(1) * (x < c) + 2 * (x <= c) + 4 * (x == c) + 8 * (x != c) + 16 * (c > x) + 32 * (c >= x))
        assert_same(_compare_all(x, c), expected.astype(np.int8))


def test_names_in_the_decorator_are_not_the_kernels(daemon):
    for scale in (2.0,):
        @sejits.stencil(boundary="nearest" if scale else "wrap")
        def smooth(a):
            return (a[0, -1] + a[0, 1]) / 2.0

    grid = np.arange(12.0).reshape(3, 4)
    assert_same(smooth(grid), (ndimage.shift(grid, (0, 1), order=0, mode="nearest")
                               + ndimage.shift(grid, (0, -1), order=0, mode="nearest")) / 2.0)
