"""Random inputs and comparison against NumPy for the differential suites."""

import numpy as np

ALL_DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
              np.float32, np.float64]
INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
FLOAT_DTYPES = [np.float32, np.float64]


def random_array(dtype, shape, rng, low=None, high=None):
    """Random values of `dtype`, spread over a range that exercises signs,
    wrap-around and zeros, never all zeros."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo = info.min if low is None else max(low, info.min)
        hi = info.max if high is None else min(high, info.max)
        return rng.integers(lo, hi, size=shape, dtype=dtype, endpoint=True)
    lo = -10.0 if low is None else low
    hi = 10.0 if high is None else high
    return (rng.random(shape) * (hi - lo) + lo).astype(dtype)


def assert_same(actual, expected, rtol=None):
    """Same dtype, same shape, same values (exact unless a tolerance is given)."""
    expected = np.asarray(expected)
    actual_array = np.asarray(actual)
    assert actual_array.dtype == expected.dtype, f"dtype {actual_array.dtype} != NumPy's {expected.dtype}"
    assert actual_array.shape == expected.shape, f"shape {actual_array.shape} != NumPy's {expected.shape}"
    if rtol is None or expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual_array, expected)
    else:
        np.testing.assert_allclose(actual_array, expected, rtol=rtol, atol=rtol * 1e-3, equal_nan=True)


def tolerance(dtype):
    return 2e-6 if np.dtype(dtype) == np.float32 else 1e-13
