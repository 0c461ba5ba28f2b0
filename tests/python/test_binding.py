"""Calls bind arguments exactly as Python does (issue 16, item 3): keywords,
default values, keyword-only parameters, and Python's own TypeError for a
call the function refuses; on the native fast path and the slow path alike."""

import numpy as np
import pytest

import sejits


def axpy_python(a, x, y=None, *, bias=0.0):
    return a * x + (0.0 if y is None else y) + bias


@sejits.elementwise
def axpy(a, x, y=1.0, *, bias=0.0):
    return a * x + y + bias


@sejits.stencil
def weighted(u, w=0.5, *, edge=1.0):
    return w * u[-1] + (1 - w) * u[1] + edge


X = np.arange(6.0)
Y = np.linspace(1, 2, 6)


@pytest.mark.parametrize("args, kwargs, expected", [
    ((2.0, X, Y), {}, 2.0 * X + Y),
    ((2.0, X), {"y": Y}, 2.0 * X + Y),
    ((), {"a": 2.0, "x": X, "y": Y}, 2.0 * X + Y),
    ((), {"y": Y, "x": X, "a": 2.0}, 2.0 * X + Y),
    ((2.0, X), {}, 2.0 * X + 1.0),
    ((2.0,), {"x": X}, 2.0 * X + 1.0),
    ((2.0, X, Y), {"bias": 3.0}, 2.0 * X + Y + 3.0),
    ((2.0, X), {"bias": -1.0}, 2.0 * X + 1.0 - 1.0),
])
def test_every_binding_python_allows(daemon, args, kwargs, expected):
    for _ in range(3):  # the first call specializes; later ones take the fast path where they can
        np.testing.assert_array_equal(axpy(*args, **kwargs), expected)


@pytest.mark.parametrize("args, kwargs", [
    ((2.0,), {}),
    ((2.0, X, Y, 1.0), {}),
    ((2.0, X), {"z": Y}),
    ((2.0, X), {"a": 1.0}),
    ((2.0, X, Y, 0.0), {"bias": 1.0}),
    ((), {"x": X}),
])
def test_wrong_bindings_raise_pythons_error(daemon, args, kwargs):
    with pytest.raises(TypeError) as python_error:
        axpy.__wrapped__(*args, **kwargs)  # the Python function itself: its message is the reference
    with pytest.raises(TypeError) as sejits_error:
        axpy(*args, **kwargs)
    assert str(sejits_error.value) == str(python_error.value)


def test_keywords_with_out_and_fallback_warn(daemon):
    sejits.config(fallback="warn")
    try:
        out = np.empty(6)
        result = axpy(2.0, X, y=Y, out=out)
        assert result is out
        np.testing.assert_array_equal(out, 2.0 * X + Y)
    finally:
        sejits.config(fallback="error")


def test_defaults_on_the_fast_path_after_a_keyword_call(daemon):
    @sejits.elementwise
    def blend(x, y, t=0.25):
        return (1 - t) * x + t * y

    np.testing.assert_array_equal(blend(X, Y, t=0.5), 0.5 * X + 0.5 * Y)
    for _ in range(3):
        np.testing.assert_array_equal(blend(X, Y), 0.75 * X + 0.25 * Y)
    assert "native fast path" in blend.explain(X, Y) or blend._last_call_native


def test_stencil_keywords_and_defaults(daemon):
    u = np.arange(7.0) ** 2

    def expected(w, edge):
        result = np.zeros(7)
        result[1:-1] = w * u[:-2] + (1 - w) * u[2:] + edge
        return result

    np.testing.assert_array_equal(weighted(u), expected(0.5, 1.0))
    np.testing.assert_array_equal(weighted(u, 0.25), expected(0.25, 1.0))
    np.testing.assert_array_equal(weighted(u, edge=2.0, w=0.75), expected(0.75, 2.0))
    np.testing.assert_allclose(weighted.iterate(u, w=0.25, steps=2),
                               weighted(weighted(u, w=0.25), w=0.25), rtol=0, atol=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'v'"):
        weighted(u, v=1.0)


def test_positional_only_parameters(daemon):
    @sejits.elementwise
    def sub(a, b, /, c=0.0):
        return a - b + c

    np.testing.assert_array_equal(sub(X, Y, c=1.0), X - Y + 1.0)
    with pytest.raises(TypeError, match="positional-only"):
        sub(a=X, b=Y)
