"""Loop nests over different points that share one pass over rows (a
band): F1's interior update and its whole-grid clip and energy run row by
row, each row of v clipped right after it is updated. A band forms only
where every dependence between its nests stays within one row of the
arrays they share; where it does not (a neighbouring row, a transposed or
strided view, a condition), each nest keeps its own pass. Every case is
compared with the plain function on the same inputs, shapes down to an
empty interior, and non-contiguous and Fortran-ordered arguments."""

import numpy as np
import pytest

import sejits
from fuse_snippets import assert_fused_matches, explain_specialized

BANDED = "runs in the pass over rows of loop nest"


@pytest.fixture(autouse=True)
def fuse_settings(daemon):
    sejits.config(fallback="warn", compile="sync")


def interior_then_clip(u, v):
    v[1:-1, 1:-1] += 0.1 * (u[2:, 1:-1] + u[:-2, 1:-1] - 2.0 * u[1:-1, 1:-1])
    return np.where(v > 0.5, 0.5, v), np.sum(v * v) / v.size


def rows_from_the_second(v):
    """The second nest's row r reads v's row r + 1: the band is offset by one row."""
    v[:-1, :] *= 2.0
    return v[1:, :] + 1.0


def three_dimensional(a, b):
    a[1:, :, 1:] -= b[:-1, :, :-1]
    return a * 0.5 + 1.0


def writes_what_the_first_read(u, v):
    """The first nest reads u at rows i and i + 2, the second writes u's row i + 1 (and the
    lengths of v's and u's views are equal only at run time)."""
    v[1:-1, 1:-1] = u[2:, 1:-1] + u[:-2, 1:-1]
    u[1:-1, 1:] = v[1:-1, 1:] * 0.5


def transposed_read(v):
    v[1:-1, 1:-1] += 1.0
    return v.T * 2.0


def every_other_row(v):
    v[1:-1, :] += 1.0
    return v[::2, :] * 2.0


def under_a_condition(v, flag):
    if flag > 0:
        v[1:-1, 1:-1] += 1.0
    return v * 2.0


def grids(shape, rng, layout):
    u, v = rng.random(shape), rng.random(shape)
    if layout == "fortran":
        return np.asfortranarray(u), np.asfortranarray(v)
    if layout == "strided":
        big_u, big_v = rng.random((shape[0] * 2, shape[1] + 3)), rng.random((shape[0] * 2, shape[1] + 3))
        return big_u[::2, 1:shape[1] + 1], big_v[::2, 2:shape[1] + 2]
    return u, v


@pytest.mark.parametrize("layout", ["c", "fortran", "strided"])
@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (3, 3), (7, 13), (67, 41), (300, 200)], ids=str)
def test_an_interior_update_and_a_whole_grid_pass_share_one_pass_over_rows(shape, layout):
    u, v = grids(shape, np.random.default_rng(3), layout)
    assert_fused_matches(interior_then_clip, u, v)
    text = explain_specialized(interior_then_clip, u, v)
    assert "fused: loop nest 2 " + BANDED + " 1" in text
    assert "passes over memory: sejits 1 " in text


@pytest.mark.parametrize("shape", [(1, 4), (2, 3), (9, 8), (300, 200)], ids=str)
def test_a_band_offset_by_a_row(shape):
    rng = np.random.default_rng(5)
    v = rng.random(shape)
    assert_fused_matches(rows_from_the_second, v)
    assert BANDED in explain_specialized(rows_from_the_second, v)


@pytest.mark.parametrize("shape", [(1, 1, 1), (4, 3, 5), (40, 30, 20)], ids=str)
def test_a_band_of_three_dimensional_nests(shape):
    rng = np.random.default_rng(6)
    a, b = rng.random(shape), rng.random(shape)
    assert_fused_matches(three_dimensional, a, b)
    assert BANDED in explain_specialized(three_dimensional, a, b)


@pytest.mark.parametrize("fn, arguments, why", [
    (writes_what_the_first_read, (np.arange(90.0).reshape(9, 10), np.ones((9, 10))), "might be broadcast along the rows"),
    (transposed_read, (np.arange(90.0).reshape(9, 10),), "not whole rows"),
    (every_other_row, (np.arange(90.0).reshape(9, 10),), "not whole rows"),
    (under_a_condition, (np.arange(90.0).reshape(9, 10), 1), "under another condition"),
], ids=lambda p: getattr(p, "__name__", None))
def test_no_band_where_a_dependence_crosses_rows(fn, arguments, why):
    """Each keeps its own pass, says why, and computes what NumPy computes."""
    assert_fused_matches(fn, *arguments)
    text = explain_specialized(fn, *arguments)
    assert BANDED not in text
    assert "not banded" in text and why in text
