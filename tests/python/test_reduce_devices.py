"""Reductions and scans of sejits.opencl device arrays and of NumPy arrays on
the OpenCL target: the compiled OpenCL reduction runs on the device. Device
inputs give device results (a NumPy scalar for a 0-d result, a device array
with keepdims); host inputs on the OpenCL target are copied in, reduced on
the device and come back as NumPy. The values and NumPy's errors are NumPy's.
tests/python/test_reduce_opencl.py is the differential sweep."""

import numpy as np
import pytest

import sejits
from sejits import opencl

sumsq = sejits.reduce("sum")(lambda x, y: (x - y) * (x - y))
peak = sejits.reduce("argmax")(lambda v: v * v)
running = sejits.scan("max")(lambda v: -v)
smallest = sejits.reduce("min")(lambda v: v)
average = sejits.reduce("mean")(lambda v: v)


@sejits.reduce(combine=True, identity=-np.inf)
def logaddexp(a, b):
    m = max(a, b)
    return m + np.log1p(np.exp(-abs(a - b))) if m > -np.inf else m


@pytest.fixture
def context(opencl_device, daemon):
    return opencl.context(opencl_device)


@pytest.fixture
def opencl_target(context):
    with sejits.target("opencl", device=context.name):
        yield context


def rng():
    return np.random.default_rng(9)


def on_device(result, context, expected, rtol=None):
    """`result` is a DeviceArray of `context` holding NumPy's `expected`."""
    assert isinstance(result, opencl.DeviceArray), f"{type(result).__name__} is not a DeviceArray"
    assert result.context is context
    values = result.get()
    assert values.dtype == expected.dtype and values.shape == expected.shape, (values.dtype, values.shape)
    if rtol is None:
        np.testing.assert_array_equal(values, expected, strict=True)
    else:
        np.testing.assert_allclose(values, expected, rtol=rtol)


def ran_on(kernel, context, what="reduction"):
    assert kernel._last_run == f"the compiled OpenCL {what} on {context.name}", kernel._last_run


def test_device_arrays_reduce_on_the_device(context):
    x, y = rng().random((13, 29)), rng().random((13, 29)) * 2
    dx, dy = context.asarray(x), context.asarray(y)
    d2 = (x - y) * (x - y)
    total = sumsq(dx, dy)
    ran_on(sumsq, context)
    assert type(total) is np.float64
    np.testing.assert_allclose(total, np.sum(d2), rtol=1e-12)
    on_device(sumsq(dx, dy, axis=0), context, np.sum(d2, axis=0), rtol=1e-12)
    ran_on(sumsq, context)
    on_device(sumsq(dx, dy, axis=1, keepdims=True), context, np.sum(d2, axis=1, keepdims=True), rtol=1e-12)
    on_device(sumsq(dx, dy, keepdims=True), context, np.sum(d2, keepdims=True), rtol=1e-12)  # 0-d with keepdims: (1, 1)
    on_device(peak(dx, axis=1), context, np.argmax(x * x, axis=1))
    ran_on(peak, context)
    on_device(peak(dx, axis=-2, keepdims=True), context, np.argmax(x * x, axis=0, keepdims=True))
    on_device(running(dx, axis=0), context, np.maximum.accumulate(-x, axis=0))
    ran_on(running, context, "scan")
    on_device(running(dx), context, np.maximum.accumulate(-x.ravel()))


def test_full_reductions_are_numpy_scalars(context):
    x = rng().integers(-1000, 1000, (7, 11), dtype=np.int32)
    dx = context.asarray(x)
    assert type(smallest(dx)) is np.int32 and smallest(dx) == x.min()
    ran_on(smallest, context)
    mean = average(dx)
    assert type(mean) is np.float64
    np.testing.assert_allclose(mean, np.mean(x), rtol=1e-12)
    where = peak(dx)
    assert type(where) is np.intp and where == np.argmax(x.astype(np.int64) * x)


def test_host_arrays_on_the_opencl_target(opencl_target):
    context = opencl_target
    x, y = rng().random((13, 29)), rng().random(29)
    d2 = (x - y) * (x - y)
    total = sumsq(x, y)
    assert type(total) is np.float64
    np.testing.assert_allclose(total, np.sum(d2), rtol=1e-12)
    ran_on(sumsq, context)
    cols = sumsq(x, y, axis=0)
    assert type(cols) is np.ndarray and cols.shape == (29,)
    np.testing.assert_allclose(cols, np.sum(d2, axis=0), rtol=1e-12)
    ran_on(sumsq, context)
    kept = sumsq(x, y, axis=1, keepdims=True)
    assert type(kept) is np.ndarray
    np.testing.assert_allclose(kept, np.sum(d2, axis=1, keepdims=True), rtol=1e-12)
    where = peak(x, axis=0)
    assert type(where) is np.ndarray
    np.testing.assert_array_equal(where, np.argmax(x * x, axis=0), strict=True)
    ran_on(peak, context)
    scanned = running(x, axis=1)
    assert type(scanned) is np.ndarray
    np.testing.assert_array_equal(scanned, np.maximum.accumulate(-x, axis=1), strict=True)
    ran_on(running, context, "scan")
    lse = logaddexp(np.log(x), axis=1)
    assert type(lse) is np.ndarray
    np.testing.assert_allclose(lse, np.logaddexp.reduce(np.log(x), axis=1), rtol=1e-12)
    ran_on(logaddexp, context)


def test_host_and_device_arguments_mixed(context):
    x, y = rng().random((5, 3000)), rng().random(3000)
    result = sumsq(context.asarray(x), y, axis=1)
    on_device(result, context, np.sum((x - y) * (x - y), axis=1), rtol=1e-12)
    ran_on(sumsq, context)


def test_keywords_on_the_device(context):
    x = rng().random((9, 40)) - 0.5
    dx = context.asarray(x)
    mask = x > -0.2
    on_device(smallest(dx, axis=1, where=context.asarray(mask), initial=0.25), context,
              np.min(x, axis=1, where=mask, initial=0.25))
    on_device(smallest(dx, axis=1, where=mask, initial=0.25), context, np.min(x, axis=1, where=mask, initial=0.25))
    ran_on(smallest, context)
    on_device(sumsq(dx, 0.0, axis=0, dtype=np.float32), context, np.sum(x * x, axis=0, dtype=np.float32), rtol=1e-5)
    on_device(sumsq(dx, 0.0, axis=0, initial=10.0), context, np.sum(x * x, axis=0, initial=10.0), rtol=1e-12)
    ran_on(sumsq, context)


def test_out_on_the_device_and_on_the_host(context):
    x = rng().random((6, 7))
    dx = context.asarray(x)
    out = context.empty((7,), np.float64)
    assert sumsq(dx, 1.0, axis=0, out=out) is out
    np.testing.assert_allclose(out.get(), np.sum((x - 1) ** 2, axis=0), rtol=1e-12)
    ran_on(sumsq, context)
    host_out = np.empty(6)
    assert sumsq(dx, 1.0, axis=1, out=host_out) is host_out
    np.testing.assert_allclose(host_out, np.sum((x - 1) ** 2, axis=1), rtol=1e-12)
    scan_out = context.empty((6, 7), np.float64)
    assert running(dx, axis=1, out=scan_out) is scan_out
    np.testing.assert_array_equal(scan_out.get(), np.maximum.accumulate(-x, axis=1))


def test_combine_operator_on_the_device(context):
    x = np.log(rng().random((37, 211)))
    dx = context.asarray(x)
    on_device(logaddexp(dx, axis=1), context, np.logaddexp.reduce(x, axis=1), rtol=1e-12)
    ran_on(logaddexp, context)
    total = logaddexp(dx, axis=None)
    assert type(total) is np.float64
    np.testing.assert_allclose(total, np.logaddexp.reduce(x.ravel()), rtol=1e-12)


def test_device_arrays_raise_numpys_errors(context):
    empty = context.asarray(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="empty sequence"):
        peak(empty, axis=0)
    with pytest.raises(ValueError, match="zero-size array"):
        smallest(empty, axis=0)
    dx = context.asarray(rng().random((4, 5)))
    with pytest.raises(ValueError, match="initial"):
        smallest(dx, axis=0, where=context.asarray(np.ones((4, 5), bool)))
    with pytest.raises(TypeError):
        peak(dx, axis=(0, 1))
    with pytest.raises(np.exceptions.AxisError):
        sumsq(dx, dx, axis=-3)
    with pytest.raises(ValueError):
        sumsq(dx, dx, axis=0, out=context.empty((4,), np.float64))
    # The empty sum is 0, as NumPy's, and stays on the device.
    on_device(sumsq(empty, empty, axis=0), context, np.zeros(3))
