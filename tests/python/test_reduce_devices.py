"""Reductions and scans of sejits.opencl device arrays: OpenCL reductions are
not compiled yet, so the map runs on the device and NumPy reduces its result
on the host. The values (and NumPy's errors) must be NumPy's."""

import numpy as np
import pytest

import sejits

sumsq = sejits.reduce("sum")(lambda x, y: (x - y) * (x - y))
peak = sejits.reduce("argmax")(lambda v: v * v)
running = sejits.scan("max")(lambda v: -v)


@pytest.fixture
def context(opencl_device, daemon):
    from sejits import opencl

    return opencl.context(opencl_device)


def test_device_arrays_reduce_to_numpys_values(context):
    rng = np.random.default_rng(9)
    x, y = rng.random((13, 29)), rng.random((13, 29))
    dx, dy = context.asarray(x), context.asarray(y)
    np.testing.assert_allclose(sumsq(dx, dy), np.sum((x - y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(sumsq(dx, dy, axis=0, keepdims=True), np.sum((x - y) ** 2, axis=0, keepdims=True), rtol=1e-12)
    assert peak(dx, axis=1).tolist() == np.argmax(x * x, axis=1).tolist()
    np.testing.assert_array_equal(running(dx, axis=0), np.maximum.accumulate(-x, axis=0))
    assert "then np.sum" in sumsq._last_run


def test_device_arrays_raise_numpys_errors(context):
    empty = context.asarray(np.zeros((0, 3)))
    with pytest.raises(ValueError):
        peak(empty, axis=0)
