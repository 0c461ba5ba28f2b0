"""Arguments a reduction meets in the wild, against NumPy: a scalar before
the arrays, ndarray subclasses, an `out` of another dtype, 0-d inputs with
an axis, axes NumPy refuses, Fortran-ordered data (the same bits as C
order), a user's operator on transposed data, and a float32 mean whose count
float32 cannot hold."""

import numpy as np
import pytest

import sejits
from reference import assert_same

# OpenCL reductions are not compiled yet: these run on the CPU (tests/conftest.py).
OPENCL_ONLY_WHERE_SAMPLED = True

axpy_sum = sejits.reduce("sum")(lambda a, x, y: a * x + y)
sum_of = sejits.reduce("sum")(lambda v: v)
prod_of = sejits.reduce("prod")(lambda v: v)
mean_of = sejits.reduce("mean")(lambda v: v)
max_of = sejits.reduce("max")(lambda v: v)
argmax_of = sejits.reduce("argmax")(lambda v: v)
running = sejits.scan("sum")(lambda v: v)
first_nonzero = sejits.reduce(combine=True, identity=0.0)(lambda a, b: a if a != 0 else b)


def rng():
    return np.random.default_rng(1919)


def test_a_scalar_before_the_arrays(target):
    x, y = rng().random((2, 9, 11))
    mask = x > 0.4
    assert_same(axpy_sum(2.0, x, y), np.sum(2.0 * x + y), rtol=1e-12)
    assert_same(axpy_sum(np.float32(3), x, y, axis=1), np.sum(np.float32(3) * x + y, axis=1), rtol=1e-12)
    assert_same(axpy_sum(2.0, x, y, axis=0, where=mask), np.sum(2.0 * x + y, axis=0, where=mask), rtol=1e-12)


def test_ndarray_subclasses_are_arrays(target, tmp_path):
    x = rng().random((12, 12))
    mapped = np.memmap(tmp_path / "m.dat", dtype=np.float64, mode="w+", shape=(12, 12))
    mapped[:] = rng().random((12, 12))
    assert_same(axpy_sum(1.0, x, mapped, axis=0), np.sum(x + np.asarray(mapped), axis=0), rtol=1e-12)
    assert_same(running(mapped, axis=0), np.cumsum(np.asarray(mapped), axis=0), rtol=1e-12)


@pytest.mark.parametrize("values, out_dtype", [(np.full(10000, 1.3), np.int64), ([1.5, 2.7], np.int64), ([1, -1], np.bool_),
                                               ([2.0 ** 24, 1, 1, 1, 1], np.float32), ([3, 4], np.float64)], ids=str)
def test_an_out_of_another_dtype_is_cast_into_as_numpy_does(target, values, out_dtype):
    values = np.asarray(values)
    for kernel, function in ((sum_of, np.sum), (prod_of, np.prod)):
        out, expected = np.zeros((), out_dtype), np.zeros((), out_dtype)
        assert kernel(values, out=out) is out
        function(values, out=expected)
        assert_same(out, expected)
    out, expected = np.zeros(len(values), out_dtype), np.zeros(len(values), out_dtype)
    running(values, out=out)
    np.cumsum(values, out=expected)
    assert_same(out, expected)


def test_zero_dimensional_inputs_take_axis_zero(target):
    x = np.array(3.5)
    assert_same(sum_of(x, axis=0), np.sum(x, axis=0))
    assert_same(argmax_of(x, axis=-1), np.argmax(x, axis=-1))
    assert_same(max_of(x, axis=0), np.max(x, axis=0))
    with pytest.raises(np.exceptions.AxisError):  # as NumPy: a tuple of axes is checked against rank 0
        max_of(x, axis=(0,))


@pytest.mark.parametrize("axis", [[0, 1], True], ids=str)
def test_axes_numpy_refuses(target, axis):
    x = rng().random((3, 4))
    with pytest.raises(TypeError):
        np.sum(x, axis=axis)
    with pytest.raises(TypeError):
        sum_of(x, axis=axis)


def test_fortran_order_gives_the_bits_of_c_order(target):
    x = rng().random((301, 257)) * 100 - 30
    fortran = np.asfortranarray(x)
    for axis in (None, (0, 1), 0, 1):
        assert sum_of(fortran, axis=axis).tobytes() == sum_of(x, axis=axis).tobytes(), axis
    np.testing.assert_allclose(sum_of(fortran), np.sum(x), rtol=1e-12)


def test_a_user_operator_on_transposed_data_combines_in_c_order(target):
    x = np.array([[0.0, 1.0], [2.0, 0.0]]).T
    assert first_nonzero(x) == 2.0  # C order of x: 0, 2, 1, 0
    assert first_nonzero(x, axis=(0, 1)) == 2.0
    assert_same(first_nonzero(x, axis=1), np.array([2.0, 1.0]))


def test_float32_mean_divides_by_the_count_as_numpy(target):
    # 4097**2 is odd and above 2**24, so float32 cannot hold the count: NumPy
    # divides the float32 sum by an int64 count in float64, then rounds once.
    x = np.zeros((4097, 4097), np.float32)
    x[0, 0], x[5, 7] = 999_000.0, 1_000.0  # an exact float32 sum of 1e6
    assert_same(mean_of(x), np.mean(x))
    assert mean_of(x) != np.float32(np.float32(1e6) / np.float32(x.size))
