"""Random inputs and comparison against NumPy for the differential suites,
and their parameters on the CPU and OpenCL targets."""

import itertools

import numpy as np
import pytest

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


def assert_within_ulps(actual, expected, ulps):
    """Same dtype and shape; floats within `ulps` units in the last place of
    NumPy's value (NaN where NumPy has NaN, infinities equal)."""
    expected = np.asarray(expected)
    actual_array = np.asarray(actual)
    assert actual_array.dtype == expected.dtype, f"dtype {actual_array.dtype} != NumPy's {expected.dtype}"
    assert actual_array.shape == expected.shape, f"shape {actual_array.shape} != NumPy's {expected.shape}"
    if expected.dtype.kind != "f":
        np.testing.assert_array_equal(actual_array, expected)
        return
    with np.errstate(invalid="ignore"):
        error = np.abs(actual_array - expected)
        close = (error <= ulps * np.spacing(np.abs(expected))) | (actual_array == expected)
    close |= np.isnan(actual_array) & np.isnan(expected)
    if not close.all():
        worst = np.argmax(np.where(close, 0, error / np.spacing(np.abs(expected))))
        raise AssertionError(f"{np.count_nonzero(~close)} of {close.size} elements differ by more than {ulps} ulp; "
                             f"e.g. {actual_array.flat[worst]!r} != NumPy's {expected.flat[worst]!r}")


def on_targets(*axes, opencl=None):
    """Parameters for parametrize("a, b, ..., target", ..., indirect=["target"])
    (the `target` fixture of tests/conftest.py): every combination of the axes
    on the CPU, and on OpenCL those that `opencl(a, b, ...)` accepts (all when
    it is None). Each kernel and dtype is an OpenCL program build (about a
    second and a half): the OpenCL runs sample combinations where the CPU runs take all."""
    params = []
    for case in itertools.product(*axes):
        targets = ["cpu"] + (["opencl"] if opencl is None or opencl(*case) else [])
        params += [pytest.param(*case, target, id="-".join(map(_param_id, (*case, target)))) for target in targets]
    return params


def _param_id(value):
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    return str(value)

