"""Accuracy of float sums and means (issue 19): never worse than NumPy's
pairwise summation of a contiguous axis, also along the strided axes where
NumPy itself falls back to naive accumulation. The reference is the exact
sum (math.fsum of the values, in float64); the bound is NumPy's own error on
a contiguous copy of each reduced line (or one unit in the last place, where
NumPy happens to round exactly). A few arrays of 10**7 elements: these tests
take seconds, mostly in math.fsum."""

import math

import numpy as np
import pytest

import sejits

# OpenCL reductions are not compiled yet (the map runs on the device, then
# NumPy): only the on_targets cases sampled for OpenCL run there
# (tests/conftest.py). Each OpenCL case costs a program build.
OPENCL_ONLY_WHERE_SAMPLED = True

sum_of = sejits.reduce("sum")(lambda v: v)
mean_of = sejits.reduce("mean")(lambda v: v)

N = 10 ** 7


@pytest.fixture(scope="module")
def tenths():
    """np.full((10**7, 2), 0.1, np.float32), the exact sum of one column, and NumPy's
    contiguous sum and mean of it (error 0.085 on 1,000,000.015; its strided sum is 1,087,937)."""
    x = np.full((N, 2), 0.1, np.float32)
    column = np.ascontiguousarray(x[:, 0])
    exact = math.fsum(column.astype(np.float64))
    return x, exact, np.sum(column), np.mean(column)


def bound(numpy_contiguous, exact, slack=1.0):
    """NumPy's contiguous error, or one ulp of the result where that is smaller."""
    numpy_error = abs(float(numpy_contiguous) - exact)
    return slack * max(numpy_error, float(np.spacing(np.asarray(numpy_contiguous))))


def test_float32_sum_along_a_strided_axis(target, tenths):
    x, exact, numpy_sum, _ = tenths
    result = sum_of(x, axis=0)
    assert result.dtype == np.float32 and result.shape == (2,)
    errors = np.abs(result.astype(np.float64) - exact)
    assert np.all(errors <= bound(numpy_sum, exact)), \
        f"sums {result} of 10**7 x 0.1f: error {errors} > NumPy's contiguous {abs(float(numpy_sum) - exact)} " \
        f"(exact {exact}; NumPy's strided sum is {np.sum(x, axis=0)})"


def test_float32_sum_contiguous(target, tenths):
    x, exact, numpy_sum, _ = tenths
    column = np.ascontiguousarray(x[:, 0])
    result = sum_of(column)
    assert type(result) is np.float32
    assert abs(float(result) - exact) <= bound(numpy_sum, exact), f"{result!r} vs exact {exact}, NumPy {numpy_sum!r}"


def test_float32_mean_along_a_strided_axis(target, tenths):
    x, exact, _, numpy_mean = tenths
    result = mean_of(x, axis=0)
    assert result.dtype == np.float32 and result.shape == (2,)
    exact_mean = exact / N
    errors = np.abs(result.astype(np.float64) - exact_mean)
    assert np.all(errors <= bound(numpy_mean, exact_mean, slack=2.0)), \
        f"means {result}: error {errors}, NumPy's contiguous mean {numpy_mean!r} (exact {exact_mean})"


def test_float64_random_sum_along_a_strided_axis(target):
    rng = np.random.default_rng(1919)
    x = rng.random((2 ** 22, 2)) - 0.25
    result = sum_of(x, axis=0)
    assert result.dtype == np.float64 and result.shape == (2,)
    for column in range(2):
        values = np.ascontiguousarray(x[:, column])
        exact = math.fsum(values)
        # Random data: another pairwise order may lose a few ulps where NumPy's lost none;
        # naive accumulation loses hundreds.
        assert abs(result[column] - exact) <= bound(np.sum(values), exact, slack=4.0), \
            f"column {column}: {result[column]!r} vs exact {exact!r}, NumPy contiguous {np.sum(values)!r}"


def test_float32_random_sum_along_a_middle_axis(target):
    rng = np.random.default_rng(1920)
    x = rng.random((16, 2 ** 18, 2), dtype=np.float32)
    result = sum_of(x, axis=1)
    assert result.dtype == np.float32 and result.shape == (16, 2)
    lines = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    numpy_contiguous = np.sum(lines, axis=-1)
    for index in np.ndindex(16, 2):
        exact = math.fsum(lines[index].astype(np.float64))
        assert abs(float(result[index]) - exact) <= bound(numpy_contiguous[index], exact, slack=4.0), \
            f"{index}: {result[index]!r} vs exact {exact!r}, NumPy contiguous {numpy_contiguous[index]!r}"
