"""Element loops whose elements run reductions of their own (k-means'
assignment: each point's argmin over the centroids of a sum over the
coordinates) run 64 elements at a time through the inner loops, where the
innermost loops are short (lane_blocks.h). Each element runs the same
statements in the same order as one at a time, so argmin picks the same
index and sums have the same bits. Every case is compared with the plain
function on element counts around the lane width, views, dtypes, NaN and
ties; inner loops of 32 or more run one element at a time (chosen at run
time), and that path is compared too."""

import numpy as np
import pytest

import sejits
from fuse_snippets import assert_fused_matches, explain_specialized

LANES = "elements at a time through its reductions' loops"


@pytest.fixture(autouse=True)
def fuse_settings(daemon):
    sejits.config(fallback="warn", compile="sync")


def assign(X, C):
    d = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(d, axis=1)


def distances(X, C):
    """A 2-D result: the innermost loop (over the centroids) runs the sum over the coordinates."""
    return np.sqrt(((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2))


def farthest_and_nearest(X, C):
    d = np.abs(X[:, None, :] - C[None, :, :]).max(axis=2)
    return np.argmax(d, axis=1), d.min(axis=1) * 2.0


def row_products(X):
    return X.prod(axis=1) + 1


@pytest.mark.parametrize("points", [1, 2, 63, 64, 65, 127, 1000, 40_000], ids=str)
@pytest.mark.parametrize("dimensions", [1, 3, 8, 31], ids=lambda d: f"{d}-D")
def test_kmeans_assignment_in_lanes_picks_numpy_s_labels(points, dimensions):
    rng = np.random.default_rng(points * 100 + dimensions)
    X, C = rng.random((points, dimensions)), rng.random((16, dimensions))
    actual, expected, _ = assert_fused_matches(assign, X, C)
    np.testing.assert_array_equal(actual, expected)
    assert LANES in explain_specialized(assign, X, C)


@pytest.mark.parametrize("dimensions", [32, 40], ids=lambda d: f"{d}-D")
def test_long_inner_sums_run_one_element_at_a_time_with_the_same_labels(dimensions):
    rng = np.random.default_rng(dimensions)
    X, C = rng.random((300, dimensions)), rng.random((5, dimensions))
    assert_fused_matches(assign, X, C)


@pytest.mark.parametrize("layout", ["fortran", "strided", "transposed"])
def test_lanes_over_views(layout):
    rng = np.random.default_rng(11)
    if layout == "fortran":
        X, C = np.asfortranarray(rng.random((200, 8))), np.asfortranarray(rng.random((7, 8)))
    elif layout == "strided":
        X, C = rng.random((400, 17))[::2, 1::2], rng.random((14, 9))[::2, :8]
    else:
        X, C = rng.random((8, 200)).T, rng.random((8, 7)).T
    assert_fused_matches(assign, X, C)
    assert_fused_matches(distances, X, C)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_lanes_for_each_dtype(dtype):
    rng = np.random.default_rng(12)
    X = (rng.random((131, 5)) * 50).astype(dtype)
    C = (rng.random((9, 5)) * 50).astype(dtype)
    assert_fused_matches(assign, X, C)
    assert_fused_matches(distances, X, C)
    assert_fused_matches(farthest_and_nearest, X, C)


def test_ties_and_nan_choose_numpy_s_index():
    """argmin keeps the first of equal distances, and the first NaN wins, as NumPy's does."""
    X = np.zeros((130, 4))
    C = np.zeros((6, 4))
    C[3] = 1.0
    X[5, 2] = np.nan
    X[70:, :] = 1.0
    C[4] = 1.0  # points 70.. are as near to centroid 3 as to 4: the first, 3
    actual, expected, _ = assert_fused_matches(assign, X, C)
    np.testing.assert_array_equal(actual, expected)
    assert actual[5] == 0 and actual[100] == 3


def test_a_two_dimensional_result_runs_its_columns_in_lanes():
    rng = np.random.default_rng(13)
    X, C = rng.random((37, 6)), rng.random((150, 6))
    assert_fused_matches(distances, X, C)
    assert LANES in explain_specialized(distances, X, C)


def test_max_and_argmax_in_lanes():
    rng = np.random.default_rng(14)
    X, C = rng.standard_normal((517, 3)), rng.standard_normal((11, 3))
    assert_fused_matches(farthest_and_nearest, X, C)


def test_a_reduction_over_the_last_axis_alone_runs_as_before():
    """No loop inside the element loop: no lanes (the row's reduction is the simd loop)."""
    X = np.random.default_rng(15).random((100, 7))
    assert_fused_matches(row_products, X)
    assert LANES not in explain_specialized(row_products, X)


def distances_and_total(X, C):
    d = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    return d, d.sum()


def test_a_result_large_enough_to_stream_runs_in_lanes():
    """16 MiB and more of result: each row's blocks are computed in lanes, then streamed out."""
    rng = np.random.default_rng(16)
    X, C = rng.random((2100, 3)), rng.random((1000, 3))
    assert_fused_matches(distances, X, C)


def test_a_sum_riding_on_the_nest_runs_one_element_at_a_time():
    """The total accumulates in the element loop (one variable for every lane): no lanes, same values."""
    rng = np.random.default_rng(17)
    X, C = rng.random((300, 4)), rng.random((70, 4))
    assert_fused_matches(distances_and_total, X, C)
