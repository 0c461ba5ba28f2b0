"""A stencil body returning several values (`return a, b`, issue 18): a
tuple of arrays, one kernel per output, `out=(o1, o2)`; against
scipy.ndimage on both targets, and under the Python fallback."""

import numpy as np
import pytest
from scipy import ndimage

import sejits
from reference import assert_same, tolerance


@sejits.stencil(boundary="nearest")
def gradient(a):
    return (a[0, 1] - a[0, -1]) / 2.0, (a[1, 0] - a[-1, 0]) / 2.0


@sejits.stencil(boundary="wrap")
def sum_and_max(a, weight):
    total = a[-1] + a[0] + a[1]
    return total * weight, max(a[-1], a[0], a[1])


def _gradient_reference(grid):
    return (ndimage.correlate(grid, np.array([[0, 0, 0], [-0.5, 0, 0.5], [0, 0, 0]]), mode="nearest"),
            ndimage.correlate(grid, np.array([[0, -0.5, 0], [0, 0, 0], [0, 0.5, 0]]), mode="nearest"))


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (31, 5)])
def test_a_stencil_returning_two_values_gives_two_arrays(target, shape):
    grid = np.random.default_rng(7).random(shape)
    gx, gy = gradient(grid)
    expected_x, expected_y = _gradient_reference(grid)
    assert_same(gx, expected_x, tolerance(np.float64))
    assert_same(gy, expected_y, tolerance(np.float64))


def test_outputs_of_their_own_dtypes_and_out(target):
    grid = np.random.default_rng(8).integers(-50, 50, 23).astype(np.int32)
    total, peak = sum_and_max(grid, 0.5)
    wrapped = [np.roll(grid, 1), grid, np.roll(grid, -1)]
    assert_same(total, (wrapped[0] + wrapped[1] + wrapped[2]) * 0.5)
    assert_same(peak, np.maximum(np.maximum(wrapped[0], wrapped[1]), wrapped[2]))
    outs = (np.empty(23), np.empty(23, np.int32))
    result = sum_and_max(grid, 0.5, out=outs)
    assert result[0] is outs[0] and result[1] is outs[1]
    assert_same(outs[1], peak)


def test_out_must_be_a_tuple_of_as_many_arrays(daemon):
    with pytest.raises(TypeError, match="returns 2 values: out must be a tuple of 2 arrays"):
        gradient(np.ones((3, 3)), out=np.empty((3, 3)))


def test_iterate_is_refused_with_the_reason(daemon):
    with pytest.raises(TypeError, match="returns several values cannot feed itself"):
        gradient.iterate(np.ones((3, 3)), steps=2)


def test_explain_and_source_describe_each_output(daemon):
    grid = np.ones((4, 5))
    text = gradient.explain(grid)
    assert text.startswith("output 0: ") and "\noutput 1: " in text and "NOT specialized" not in text
    assert gradient.source(grid).count("// output ") == 2


def test_the_python_fallback_computes_each_output(daemon):
    @sejits.stencil(boundary="nearest")
    def with_object(a):
        return a[0, 1] + len("ab"), a[0, -1]  # len() of a string: not a kernel construct

    grid = np.arange(12.0).reshape(3, 4)
    sejits.config(fallback="silent")
    try:
        first, second = with_object(grid)
    finally:
        sejits.config(fallback="error")
    assert_same(first, ndimage.shift(grid, (0, -1), order=0, mode="nearest") + 2)
    assert_same(second, ndimage.shift(grid, (0, 1), order=0, mode="nearest"))
