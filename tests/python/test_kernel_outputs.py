"""Element-wise kernels with several outputs (issue 18): `return a, b` gives a
tuple of arrays, as NumPy's divmod and modf do, with `out=(o1, o2)`; np.divmod
and np.modf inside a kernel, unpacked or returned. Differential against NumPy
on both targets, with special values and odd layouts."""

import numpy as np
import pytest

import sejits
from reference import assert_same, random_array
from test_numpy_platform import numpy_kernel, poisoned


@sejits.elementwise
def divmod_kernel(x, y):
    return np.divmod(x, y)


@sejits.elementwise
def unpacked(x, y):
    q, r = np.divmod(x, y)
    return r, q * 2


@sejits.elementwise
def modf_kernel(x):
    return np.modf(x)


@sejits.elementwise
def mixed(x, y):
    """Outputs of different dtypes, and a branch returning a tuple."""
    if x > y:
        return x - y, x > 0
    return y * 2, x < 0


def divmod_inputs(dtype, rng):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        specials = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5, -1.5, 7.0], dtype)
        x = np.concatenate([random_array(dtype, 37, rng), specials.repeat(len(specials))])
        y = np.concatenate([random_array(dtype, 37, rng), np.tile(specials, len(specials))])
        return x, y
    info = np.iinfo(dtype)
    extremes = np.array([info.min, info.max, 0, 1, 7] + ([-1, -7] if dtype.kind == "i" else []), dtype)
    x = np.concatenate([random_array(dtype, 37, rng), extremes.repeat(len(extremes))])
    y = np.concatenate([random_array(dtype, 37, rng, low=-9, high=9), np.tile(extremes, len(extremes))])
    return x, y


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint32, np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_divmod_matches_numpy(target, dtype):
    x, y = divmod_inputs(dtype, np.random.default_rng(18))
    with np.errstate(all="ignore"):
        expected_q, expected_r = np.divmod(x, y)
    q, r = divmod_kernel(x, y)
    assert_same(q, expected_q)
    assert_same(r, expected_r)
    r2, q2 = unpacked(x, y)
    assert_same(r2, expected_r)
    with np.errstate(all="ignore"):
        assert_same(q2, expected_q * 2)


def test_python_scalar_and_array(target):
    x = np.arange(-6, 7, dtype=np.int16)
    q, r = divmod_kernel(x, 4)
    expected_q, expected_r = np.divmod(x, 4)
    assert_same(q, expected_q)
    assert_same(r, expected_r)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32], ids=lambda d: np.dtype(d).name)
def test_modf_matches_numpy(target, dtype):
    rng = np.random.default_rng(5)
    x = random_array(dtype, 29, rng)
    if np.dtype(dtype).kind == "f":
        x = np.concatenate([x, np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, -2.0, 2.5, -2.5, 1e30], dtype)])
    expected_fraction, expected_whole = np.modf(x)
    fraction, whole = modf_kernel(x)
    assert_same(fraction, expected_fraction)
    assert_same(whole, expected_whole)
    assert np.array_equal(np.signbit(fraction), np.signbit(expected_fraction))  # -0.0 where NumPy has it
    assert np.array_equal(np.signbit(whole), np.signbit(expected_whole))


def test_outputs_of_different_dtypes(target):
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(50), rng.standard_normal(50)
    first, second = mixed(x, y)
    assert_same(first, np.where(x > y, x - y, y * 2))
    assert_same(second, np.where(x > y, x > 0, x < 0))


@pytest.mark.parametrize("shape", [(1,), (13,), (7, 11), (3, 1, 5)], ids=str)
def test_odd_shapes_and_layouts(target, shape):
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape) * 10
    y = rng.standard_normal(shape) + 3
    for a, b in [(x, y), (np.asfortranarray(x), np.asfortranarray(y)), (x[..., ::-1], y)]:
        q, r = divmod_kernel(a, b)
        expected_q, expected_r = np.divmod(a, b)
        assert_same(q, expected_q)
        assert_same(r, expected_r)
        if target == "cpu":  # laid out as NumPy's: a Fortran-ordered input gives Fortran-ordered results
            assert q.flags.f_contiguous == expected_q.flags.f_contiguous
            assert r.flags.c_contiguous == expected_r.flags.c_contiguous
    # broadcasting a row against a column
    q, r = divmod_kernel(x.reshape(-1, 1)[:5], y.reshape(1, -1)[:, :4])
    expected_q, expected_r = np.divmod(x.reshape(-1, 1)[:5], y.reshape(1, -1)[:, :4])
    assert_same(q, expected_q)
    assert_same(r, expected_r)


def test_zero_rank_gives_numpy_scalars(target):
    q, r = divmod_kernel(np.float64(7.5), np.float64(2.0))
    assert (q, r) == np.divmod(7.5, 2.0)
    assert isinstance(q, np.float64) and isinstance(r, np.float64)


def test_repeated_calls_take_the_same_path(target):
    x, y = np.arange(1.0, 9.0), np.full(8, 3.0)
    for _ in range(3):  # later calls find the kernel in the dispatcher's map
        q, r = divmod_kernel(x, y)
        assert_same(q, np.floor_divide(x, y))
        assert_same(r, np.remainder(x, y))


def test_out_tuple(target):
    x, y = np.arange(-5, 15, dtype=np.int64), np.full(20, 4, np.int64)
    o1, o2 = np.empty(20, np.int64), np.empty(20, np.float64)  # the second casts (same kind)
    result = divmod_kernel(x, y, out=(o1, o2))
    assert result[0] is o1 and result[1] is o2
    expected_q, expected_r = np.divmod(x, y)
    assert_same(o1, expected_q)
    assert_same(o2, expected_r.astype(np.float64))
    # a strided out
    big = np.zeros((2, 20), np.int64)
    divmod_kernel(x, y, out=(big[0], big[1]))
    assert_same(big[0], expected_q)
    assert_same(big[1], expected_r)


def test_out_errors(target):
    x, y = np.arange(6.0), np.full(6, 4.0)
    with pytest.raises(TypeError, match="out must be a tuple of 2 arrays"):
        divmod_kernel(x, y, out=np.empty(6))
    with pytest.raises(ValueError, match="out has 3 arrays, the kernel returns 2 arrays"):
        divmod_kernel(x, y, out=(np.empty(6), np.empty(6), np.empty(6)))
    with pytest.raises(ValueError, match=r"out\[1\] has shape \(5,\), the result has shape \(6,\)"):
        divmod_kernel(x, y, out=(np.empty(6), np.empty(5)))
    with pytest.raises(TypeError, match=r"cannot cast the result from float64 to out\[0\]'s int64"):
        divmod_kernel(x, y, out=(np.empty(6, np.int64), np.empty(6)))
    with pytest.raises(ValueError, match="the kernel returns one array"):
        sejits.elementwise(lambda a: a + 1)(x, out=(np.empty(6), np.empty(6)))


def test_single_output_out_tuple_of_one(target):
    x = np.arange(6.0)
    o = np.empty(6)
    assert sejits.elementwise(lambda a: a * 2)(x, out=(o,)) is o
    assert_same(o, x * 2)


def test_numpy_platform_writes_every_output(daemon):
    x, y = divmod_inputs(np.float64, np.random.default_rng(3))
    args = tuple(sejits._arguments.normalize(a, k) for k, a in enumerate((x, y)))
    kernel, _ = numpy_kernel(divmod_kernel, args)
    q, r = poisoned(x.shape, np.float64), poisoned(x.shape, np.float64)
    kernel(divmod_kernel._kernel_arguments(args)[0] + (q,), r)
    with np.errstate(all="ignore"):
        expected_q, expected_r = np.divmod(x, y)
    assert_same(q, expected_q)
    assert_same(r, expected_r)


def test_the_interface_lists_every_output(daemon):
    x, y = np.arange(4, dtype=np.int32), np.arange(4.0)
    mixed(x, y)
    info = mixed.explain(x, y) if hasattr(mixed, "explain") else None
    assert info is None or "float64" in str(info)
    kernel = next(iter(mixed._kernels.values()))
    assert kernel.info["output_dtypes"] == ("float64", "bool")


def test_refusals_name_the_line(daemon):
    def tuple_in_scalar_context(x, y):
        return np.divmod(x, y) + 1

    with pytest.raises(sejits.SpecializationError, match=r"\.py:\d+: 'numpy\.divmod' returns a tuple: unpack it"):
        sejits.elementwise(tuple_in_scalar_context)(np.ones(3), np.ones(3))

    def unequal(x):
        if x > 0:
            return x, x
        return x

    with pytest.raises(sejits.SpecializationError, match=r"\.py:\d+: the paths of this 'if' return 2 and 1 values"):
        sejits.elementwise(unequal)(np.ones(3))

    def too_many_names(x, y):
        a, b, c = np.divmod(x, y)
        return a

    with pytest.raises(sejits.SpecializationError, match=r"\.py:\d+: cannot unpack 2 values into 3 names"):
        sejits.elementwise(too_many_names)(np.ones(3), np.ones(3))


def test_fallback_returns_a_tuple(daemon):
    @sejits.elementwise
    def uses_a_string(x, y):
        label = "divmod"  # not in the subset: runs as Python
        return np.divmod(x, y)

    x, y = np.arange(5.0), np.full(5, 2.0)
    sejits.config(fallback="silent")
    try:
        q, r = uses_a_string(x, y)
        assert_same(q, np.floor_divide(x, y))
        assert_same(r, np.remainder(x, y))
        o1, o2 = np.empty(5), np.empty(5)
        result = uses_a_string(x, y, out=(o1, o2))
        assert result[0] is o1 and result[1] is o2
        assert_same(o2, np.remainder(x, y))
    finally:
        sejits.config(fallback="error")
