"""Globals and closure variables are read at every call (issue 16, item 2):
the result is what the Python function computes with the values current at
the call, for element-wise kernels, stencils, iterate and StencilKernel."""

import numpy as np
import pytest

import sejits

dt = 0.1
scale = 2
shift = 1  # a stencil offset: part of the kernel's key
use_abs = np.abs


@sejits.elementwise
def step(u, v):
    return u + dt * v


@sejits.elementwise
def scaled(a):
    return a * scale


@sejits.stencil
def shifted(a):
    return a[shift] * dt


@sejits.elementwise
def through_ref(a):
    return use_abs(a)


def test_global_float_followed_without_a_new_compile(daemon):
    global dt
    u, v = np.arange(5.0), np.ones(5)
    try:
        np.testing.assert_array_equal(step(u, v), u + 0.1 * v)
        dt = 0.05
        np.testing.assert_array_equal(step(u, v), u + 0.05 * v)
        dt = -3.0
        np.testing.assert_array_equal(step(u, v), u - 3.0 * v)
        # One kernel serves every value: dt is a scalar argument.
        assert len([k for k in step._kernels.values() if type(k).__name__ == "Kernel"]) == 1
        assert "dt (passed as scalar arguments)" in step.explain(u, v)
    finally:
        dt = 0.1


def test_global_changing_type_follows_numpy_promotion(daemon):
    global scale
    a = np.arange(4, dtype=np.float32)
    try:
        assert scaled(a).dtype == np.float32
        scale = np.float64(2.5)  # a strong float64 scalar: the result is float64, as in NumPy
        result = scaled(a)
        assert result.dtype == np.float64
        np.testing.assert_array_equal(result, a * np.float64(2.5))
        scale = 3
        np.testing.assert_array_equal(scaled(np.arange(4)), np.arange(4) * 3)
    finally:
        scale = 2


def test_closure_variable_changed_between_calls(daemon):
    factor = 1.5

    @sejits.elementwise
    def times(a):
        return a * factor

    x = np.arange(6.0)
    np.testing.assert_array_equal(times(x), x * 1.5)
    factor = 4.0
    np.testing.assert_array_equal(times(x), x * 4.0)
    factor = 0.0
    np.testing.assert_array_equal(times(x), x * 0.0)


def test_structural_global_is_a_key(daemon):
    global shift, dt
    a = np.arange(8.0) ** 2
    try:
        expected = np.zeros(8)
        expected[:-1] = a[1:] * 0.1
        np.testing.assert_array_equal(shifted(a), expected)
        shift, dt = 2, 0.5
        expected = np.zeros(8)
        expected[:-2] = a[2:] * 0.5
        np.testing.assert_array_equal(shifted(a), expected)
        shift = 1
        expected = np.zeros(8)
        expected[:-1] = a[1:] * 0.5
        np.testing.assert_array_equal(shifted(a), expected)
    finally:
        shift, dt = 1, 0.1


def test_global_function_rebound(daemon):
    global use_abs
    x = np.linspace(-2, 2, 9)
    try:
        np.testing.assert_array_equal(through_ref(x), np.abs(x))
        use_abs = np.exp
        np.testing.assert_allclose(through_ref(x), np.exp(x), rtol=1e-15)
    finally:
        use_abs = np.abs


def test_stencil_closure_and_iterate_follow_changes(daemon):
    k = 0.25

    @sejits.stencil(boundary="nearest")
    def diffuse(a):
        return a[0] + k * (a[-1] - 2 * a[0] + a[1])

    def reference(a, steps, k):
        for _ in range(steps):
            padded = np.pad(a, 1, mode="edge")
            a = padded[1:-1] + k * (padded[:-2] - 2 * padded[1:-1] + padded[2:])
        return a

    a = np.random.default_rng(0).random(64)
    np.testing.assert_allclose(diffuse(a), reference(a, 1, 0.25), rtol=1e-14)
    np.testing.assert_allclose(diffuse.iterate(a, steps=5), reference(a, 5, 0.25), rtol=1e-13)
    k = 0.1
    np.testing.assert_allclose(diffuse(a), reference(a, 1, 0.1), rtol=1e-14)
    np.testing.assert_allclose(diffuse.iterate(a, steps=5), reference(a, 5, 0.1), rtol=1e-13)


class Weighted(sejits.StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = self.center * in_grid[x] * dt


def test_stencil_kernel_reads_attributes_and_globals_at_each_call(daemon):
    global dt
    grid, out = sejits.StencilGrid((6, 6)), sejits.StencilGrid((6, 6))
    grid.data[...] = np.arange(36.0).reshape(6, 6)
    kernel = Weighted(center=2.0)
    try:
        kernel.kernel(grid, out)
        np.testing.assert_array_equal(out.data[1:-1, 1:-1], grid.data[1:-1, 1:-1] * 2.0 * 0.1)
        dt = 0.5
        kernel.kernel(grid, out)
        np.testing.assert_array_equal(out.data[1:-1, 1:-1], grid.data[1:-1, 1:-1] * 2.0 * 0.5)
        kernel.center = 3.0
        kernel.kernel(grid, out)
        np.testing.assert_array_equal(out.data[1:-1, 1:-1], grid.data[1:-1, 1:-1] * 3.0 * 0.5)
    finally:
        dt = 0.1


def test_global_that_stops_being_a_number_falls_back(daemon):
    global dt
    u, v = np.arange(3.0), np.ones(3)
    try:
        step(u, v)
        dt = "text"
        with pytest.raises(sejits.SpecializationError, match="'dt' .* now holds a str"):
            step(u, v)
    finally:
        dt = 0.1
    np.testing.assert_array_equal(step(u, v), u + 0.1 * v)
