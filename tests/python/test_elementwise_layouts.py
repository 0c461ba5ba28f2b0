"""Shapes, strides and output handling: broadcasting, views, empty and 0-d
arrays, out= (including aliasing) on the CPU and OpenCL targets, and the
CPU's multi-threaded and streaming-store paths."""

import numpy as np
import pytest

import sejits
from reference import assert_same, on_targets

axpy = sejits.elementwise(lambda a, x, y: a * x + y)
square = sejits.elementwise(lambda v: v * v)


def rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize("shape_x, shape_y", [
    ((1,), (1,)), ((13,), (13,)), ((5, 1), (1, 7)), ((3, 1, 4), (5, 1)), ((2, 3, 5, 7), (7,)),
    ((1, 1, 1, 1, 1, 1, 1, 3), (3,)), ((2, 1, 2, 1, 2, 1, 2, 1), (1, 2, 1, 2, 1, 2, 1, 2)), ((0,), (0,)), ((4, 0), (1,)),
])
def test_broadcasting(target, shape_x, shape_y):
    x, y = rng().random(shape_x), rng().random(shape_y)
    assert_same(axpy(2.0, x, y), 2.0 * x + y)


def test_broadcast_mismatch_raises_numpys_error(target):
    with pytest.raises(ValueError, match="broadcast"):
        axpy(2.0, np.ones(3), np.ones(4))


@pytest.mark.parametrize("view", [
    lambda a: a[::2], lambda a: a[::-1], lambda a: a[1:-1:3], lambda a: a.reshape(30, 40).T,
    lambda a: a.reshape(30, 40)[::-2, 5:31:5], lambda a: a.reshape(6, 5, 40)[:, ::2, ::-3],
])
def test_non_contiguous_views(target, view):
    x, y = rng().random(1200), rng().random(1200)
    vx, vy = view(x), view(y)
    assert_same(axpy(3.0, vx, vy), 3.0 * vx + vy)
    assert_same(axpy(3.0, vx, 1.0), 3.0 * vx + 1.0)


def test_zero_dimensional_inputs_give_numpy_scalars(target):
    result = square(np.array(3.0))
    assert type(result) is np.float64 and result == 9.0
    result = axpy(2.0, np.float32(1.5), np.array(1.0, dtype=np.float32))
    assert isinstance(result, np.float32) and result == np.float32(4.0)


def test_python_scalars_only(target):
    assert square(3) == 9 and isinstance(square(3), np.int64)
    assert square(1.5) == 2.25


def test_lists_are_converted(target):
    assert_same(square([1, 2, 3]), np.array([1, 4, 9]))


def test_out_argument(target):
    x = rng().random((4, 5))
    out = np.empty((4, 5))
    returned = axpy(2.0, x, 1.0, out=out)
    assert returned is out
    assert_same(out, 2.0 * x + 1.0)


def test_out_with_another_dtype_casts_same_kind(target):
    x = np.arange(10, dtype=np.float64)
    out = np.empty(10, dtype=np.float32)
    square(x, out=out)
    assert_same(out, (x * x).astype(np.float32))
    with pytest.raises(TypeError, match="cannot cast"):
        square(x, out=np.empty(10, dtype=np.int64))


def test_out_of_the_wrong_shape_raises(target):
    with pytest.raises(ValueError, match="shape"):
        square(np.ones(5), out=np.empty(6))


def test_out_aliasing_an_input(target):
    x = rng().random(1000)
    expected = x * x
    square(x, out=x)
    assert_same(x, expected)


def test_out_overlapping_an_input_shifted(target):
    x = np.arange(20, dtype=np.float64)
    expected = x[:-1] * 2.0 + x[:-1]
    axpy(2.0, x[:-1], x[:-1], out=x[1:])  # NumPy semantics: as if the inputs were read first
    assert_same(x[1:], expected)


def test_large_arrays_use_the_parallel_path(daemon):
    x = rng().random(3_000_017)
    y = rng().random(3_000_017)
    assert_same(axpy(0.5, x, y), 0.5 * x + y)
    strided = x[::3]
    assert_same(axpy(0.5, strided, 1.0), 0.5 * strided + 1.0)


@pytest.mark.parametrize("dtype, target", on_targets([np.int32, np.float32, np.uint8, np.bool_],
                                                     opencl=lambda dtype: dtype in (np.int32, np.bool_)),
                         indirect=["target"])
def test_byte_swapped_and_other_dtypes(target, dtype):
    x = np.arange(12).astype(dtype)
    swapped = x.astype(x.dtype.newbyteorder(">"))
    expected = x * x
    assert_same(square(swapped), expected)


@pytest.mark.parametrize("offset", [0, 1, 3])
def test_streaming_stores_for_large_outputs(daemon, offset):
    # Outputs of 16 MiB or more take the streaming-store path: check misaligned
    # starts, a ragged last block, and an output that is also an input.
    n = (16 << 20) // 8 + 1001
    x = rng().random(n + offset)[offset:]
    out = np.empty(n + offset)[offset:]
    axpy(2.0, x, 0.5, out=out)
    assert_same(out, 2.0 * x + 0.5)
    expected = x * x
    square(x, out=x)
    assert_same(x, expected)
