"""What sejits.fuse tells its user: explain() gives the passes over memory
next to NumPy's, each loop nest, and why a store did not join the nest
before it; source() shows the loop nests; a function outside the subset
names the construct and the user's line. Also what the statements of the
subset mean when they interact: stores inside `if`, unrolled loops, values
named before an in-place update of what they read."""

import inspect

import numpy as np
import pytest

import sejits


@pytest.fixture(autouse=True)
def fuse_settings(daemon):
    sejits.config(fallback="warn", compile="sync")


def two_prices(S, K, r):
    d = np.log(S / K) + r
    return S * np.exp(-d * d), K * np.exp(-d * d)


def interior_then_whole(u, v):
    v[1:-1] += 0.5 * (u[2:] - u[:-2])
    return np.where(v > 0.0, v, 0.0), np.sum(v * v)


def test_stores_over_the_same_points_share_one_pass():
    S, K = np.linspace(1.0, 2.0, 50), np.linspace(2.0, 1.0, 50)
    fused = sejits.fuse(two_prices)
    text = fused.explain(S, K, 0.1)
    assert "passes over memory: sejits 1 (one per loop nest)" in text
    assert "fused into one pass" in text
    expected = two_prices(S, K, 0.1)
    for got, want in zip(fused(S, K, 0.1), expected):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    source = fused.source(S, K, 0.1)
    assert source.count("// loop nest") == 1


def softmax(x):
    m = x.max(axis=1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=1, keepdims=True)


def test_numpys_passes_count_its_reductions():
    """NumPy's softmax: max, subtract, exp, sum, divide, five passes; sejits' one nest."""
    text = sejits.fuse(softmax).explain(np.ones((4, 8), np.float32))
    assert "passes over memory: sejits 1 (one per loop nest), NumPy about 5" in text


def dead_locals(x):
    scratch = np.empty_like(x)
    scratch[...] = np.exp(x)  # never read again
    y = x + 1.0
    y[0] = 5.0  # y is never read either
    kept = np.zeros_like(x)
    kept[1:] = x[1:] * 2.0
    kept[0] = -1.0
    return x * 3.0, kept.sum()


def test_stores_into_locals_nothing_reads_are_removed():
    x = np.linspace(-1.0, 1.0, 9)
    fused = sejits.fuse(dead_locals)
    for got, want in zip(fused(x), dead_locals(x)):
        np.testing.assert_allclose(got, want, rtol=1e-14)
    text = fused.explain(x)
    removed = [line for line in text.splitlines() if "removed:" in line]
    assert len(removed) == 3, text
    assert all("nothing reads or returns it afterwards" in line for line in removed)
    assert "exp(" not in fused.source(x)


def centred_columns(a):
    return a - a.sum(axis=0) / a.shape[0]


def centred_middle_axis(x):
    return x - x.max(axis=1, keepdims=True)


@pytest.mark.parametrize("layout", ["c", "fortran", "view"])
def test_a_reduction_an_outer_axis_does_not_feed_is_computed_once(layout):
    """a.sum(axis=0) varies along the inner axis only: computed into a buffer
    first, not once per row; the nests run in the arrays' memory order."""
    a = np.random.default_rng(8).random((37, 23))
    a = {"c": a, "fortran": np.asfortranarray(a), "view": a[::2, 1:]}[layout]
    fused = sejits.fuse(centred_columns)
    np.testing.assert_allclose(fused(a), centred_columns(a), rtol=1e-12, atol=1e-14)  # sums in another order
    assert "computed once, not once per outer index" in fused.explain(a)
    x = np.random.default_rng(9).random((5, 7, 3))
    np.testing.assert_array_equal(sejits.fuse(centred_middle_axis)(x), centred_middle_axis(x))
    assert "computed once, not once per outer index" in sejits.fuse(centred_middle_axis).explain(x)


def test_explain_says_why_a_store_starts_a_new_nest():
    u, v = np.linspace(0.0, 1.0, 40), np.linspace(-1.0, 1.0, 40)
    text = sejits.fuse(interior_then_whole).explain(u, v)
    assert "not fused" in text and "different extents" in text
    assert "different number of dimensions" in text  # the 0-d sum after the 1-D where


def test_a_fallback_names_the_construct_and_the_users_line():
    def scan(x):
        return np.cumsum(x)

    text = sejits.fuse(scan).explain(np.ones(5))
    line = inspect.getsourcelines(scan)[1] + 1
    assert "NOT specialized" in text
    assert f":{line}:" in text and "cumsum" in text


def test_stores_under_if_run_only_on_their_branch():
    def damp(v, rate, on):
        if on:
            v *= 1.0 - rate
        else:
            v += rate
        return v.sum()

    fused = sejits.fuse(damp)
    for on in (True, False):
        v1, v2 = np.linspace(0.0, 1.0, 33), np.linspace(0.0, 1.0, 33)
        expected = damp(v1, 0.25, on)
        got = fused(v2, 0.25, on)
        np.testing.assert_allclose(got, expected, rtol=1e-13)
        np.testing.assert_array_equal(v2, v1)
    assert "specialized (fuse)" in fused.explain(np.ones(3), 0.25, True)


def test_an_unrolled_loop_uses_its_index_in_slices():
    def smear(a):
        out = np.zeros_like(a)
        for k in range(3):
            out[k:] += a[:a.shape[0] - k] if False else a[: len(a) - k]
        return out

    def smear_constant(a):
        out = np.zeros_like(a)
        for k in range(1, 4):
            out[k:] += a[:-k]
        return out

    a = np.arange(10.0)
    fused = sejits.fuse(smear_constant)
    np.testing.assert_array_equal(fused(a), smear_constant(a))
    assert "specialized (fuse)" in fused.explain(a)
    assert "NOT specialized" in sejits.fuse(smear).explain(a)  # `x if c else y` on arrays: np.where is the way


def test_a_value_named_before_an_update_keeps_the_old_contents():
    def keep_old(a):
        before = a * 2.0
        a[:] = 0.0
        return before + a

    a1, a2 = np.arange(6.0), np.arange(6.0)
    expected = keep_old(a1)
    fused = sejits.fuse(keep_old)
    np.testing.assert_array_equal(fused(a2), expected)
    np.testing.assert_array_equal(a2, a1)
    assert "stored in a buffer" in fused.explain(np.arange(6.0))


def test_one_kernel_serves_every_shape_of_the_same_ranks():
    def centre(x):
        return x - x.mean(axis=0, keepdims=True)

    fused = sejits.fuse(centre)
    for shape in [(3, 4), (17, 1), (1, 9), (64, 33)]:
        x = np.random.default_rng(len(shape)).random(shape)
        np.testing.assert_allclose(fused(x), centre(x), rtol=1e-12, atol=1e-15)
    assert len(fused._kernels) == 1


def test_a_store_reads_what_an_earlier_store_of_its_nest_wrote():
    """Two stores over the same points share a nest; the second reads the
    element the first just wrote (not the memory before it)."""

    def chained(x):
        y = np.full(x.shape, 2.5)
        z = np.empty_like(x)
        z[:] = y * 2 + x
        y += z
        return y, z

    x = np.arange(7.0)
    fused = sejits.fuse(chained)
    for got, want in zip(fused(x), chained(x)):
        np.testing.assert_array_equal(got, want)
    assert "specialized (fuse)" in fused.explain(x)


def test_new_arrays_from_shapes():
    def build(x, y):
        out = np.zeros(x.shape)
        out[1:] = x[1:] - x[:-1]
        grid = np.ones((len(x), 3), dtype=np.float32) * y
        column = x[:, np.newaxis] + grid
        e = np.empty((x.shape[0],))
        e[:] = np.full(x.shape, 2.5) * 2
        return out, column, e, np.full((2, 2), 7)

    x = np.arange(5.0)
    fused = sejits.fuse(build)
    for got, want in zip(fused(x, 1.5), build(x, 1.5)):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert "specialized (fuse)" in fused.explain(x, 1.5)


def test_a_view_of_a_local_array_is_returned_with_its_values():
    """A transposed or sliced local comes back with NumPy's values and shape
    (the random-program fuzzer's find: `return t0.T` came back untransposed);
    a view of an argument runs as written, since it must alias the argument."""

    def local_views(a):
        t0 = np.ones_like(a) * a
        return t0.T, t0[1:, ::2]

    def argument_view(a):
        a *= 2.0
        return a[1:]

    a = np.arange(6.0).reshape(2, 3)
    fused = sejits.fuse(local_views)
    for got, want in zip(fused(a), local_views(a)):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert "specialized (fuse)" in fused.explain(a)

    b1, b2 = np.arange(5.0), np.arange(5.0)
    result = sejits.fuse(argument_view)(b2)
    expected = argument_view(b1)
    np.testing.assert_array_equal(result, expected)
    assert np.shares_memory(result, b2)
    np.testing.assert_array_equal(b2, b1)


def test_large_outputs_streamed_equal_numpy():
    """Outputs of 16 MiB or more are written with streaming stores, in
    blocks: 1-D (parallel over blocks) and 2-D (blocks of each row, with a
    sum riding the same pass)."""

    def scaled(x, s):
        return x * s + 1.0, np.sqrt(np.abs(x))

    def clipped_and_energy(v):
        energy = np.sum(v * v) / v.size
        return np.where(v > 0.5, 0.5, v), energy

    rng = np.random.default_rng(7)
    x = rng.standard_normal(2_300_001)  # 18.4 MB, not a whole number of blocks
    for got, want in zip(sejits.fuse(scaled)(x, 3.0), scaled(x, 3.0)):
        np.testing.assert_array_equal(got, want)
    v = rng.random((1_031, 2_053))  # 16.9 MB
    fused = sejits.fuse(clipped_and_energy)
    got, got_energy = fused(v)
    want, want_energy = clipped_and_energy(v)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got_energy, want_energy, rtol=1e-12)
    assert "accumulated in loop nest" in fused.explain(v)
