"""sejits.mixture.GaussianMixture's edge cases on the native path only (the
gmm specializer's kernels through the session daemon, fallback="error"),
against scikit-learn 1.9's GaussianMixture: non-contiguous and negatively
strided X, row counts around a 64-row tile (1, 2, 3, 63, 64, 65, 127, 128,
129, ...), one component, one feature, a weight of exactly 0, a component
that loses all its points (also in data around 1e6), duplicated points
(also as a row stride of 0), data offset by 1e4, 128 features with full
covariances and 256 components with diagonal ones.

Bounds: float64 results agree with scikit-learn's to a relative 1e-6 and
float32 ones to 1e-3, normwise per array as test_mixture.assert_close
checks it: |ours - theirs| <= r * (|theirs| + max |theirs|) elementwise.
The fits start from the same explicit weights_init, means_init and
precisions_init with tol=0 and a small max_iter. A non-contiguous array
must give bitwise the results of its contiguous copy (the kernels copy rows
into tiles, so nothing else may change).

Each test checks through explain() that the compiled entry points ran. Six
kernels are compiled, (covariance type, M, D, dtype): (tied, 3, 3, f64),
(diag, 3, 3, f64), (full, 4, 128, f64), (diag, 256, 2, f64),
(spherical, 1, 1, f64) and (full, 2, 1, f32)."""

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn import mixture as sk_mixture  # noqa: E402
from test_mixture import (assert_close, assert_same_fit, blobs, explicit_inits, native, one_blas_thread,  # noqa: E402,F401
                          random_model)

import sejits  # noqa: E402
from sejits.mixture import GaussianMixture, _kernels  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              # scikit-learn's log of a weight of 0
              pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")]

SMALL = ("tied", "diag")  # the two (M=3, D=3, float64) kernels most tests share


@pytest.fixture(autouse=True)
def native_only(native):
    """Every test here runs the daemon's kernels or fails (test_mixture.native)."""


def assert_native(covariance_type, n_components, X):
    """The kernel of this model shape and X's dtype is compiled code, and its last call ran it."""
    text = _kernels.gmm_kernel(covariance_type, n_components, X.shape[1]).explain(X)
    assert "NOT specialized" not in text and "specialized (library kernel of the gmm specializer)" in text, text
    assert "ran the compiled" in text, text


def fit_both(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        warnings.filterwarnings("ignore", "divide by zero encountered in log", RuntimeWarning)
        theirs = sk_mixture.GaussianMixture(**params).fit(X)
        ours = GaussianMixture(**params).fit(X)
    assert_native(params["covariance_type"], params["n_components"], np.asarray(X))
    return ours, theirs


def assert_same_predictions(ours, theirs, X, rtol=1e-6):
    """The fitted models' methods on X (any row count, 1 included) agree."""
    assert_close(ours.score_samples(X), theirs.score_samples(X), rtol, "score_samples")
    assert_close(ours.predict_proba(X), theirs.predict_proba(X), rtol, "predict_proba")
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def unit_precisions(covariance_type, n_components, n_features, dtype=np.float64):
    shape = {"full": (n_components, n_features, n_features), "tied": (n_features, n_features),
             "diag": (n_components, n_features), "spherical": (n_components,)}[covariance_type]
    if covariance_type in ("full", "tied"):
        return np.broadcast_to(np.eye(n_features, dtype=dtype), shape).copy()
    return np.ones(shape, dtype=dtype)


def two_clusters(n_samples, offset=0.0, seed=0):
    """Two unit blobs 6 apart along the first feature, in 3 features, around `offset`."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 3))
    X[n_samples // 2:, 0] += 6.0
    return X + offset


# ---- strides ------------------------------------------------------------------

LAYOUTS = {
    "every_other_row": lambda X: X[::2],
    "reversed_rows": lambda X: X[::-1],
    "every_third_row_reversed": lambda X: X[::-3],
    "fortran_order": lambda X: np.asfortranarray(X),  # X.T of a C-ordered (D, N) array
    "transpose_of_fortran": lambda X: np.asfortranarray(X.T).T,  # C-contiguous again
    "every_other_column_reversed": lambda X: np.repeat(X, 2, axis=1)[:, ::-2],
    "one_row_broadcast": lambda X: np.broadcast_to(X[:1], (130, X.shape[1])),  # row stride 0: duplicates
}


def run_entries(kernel, X, model, resp):
    """Every entry point of `kernel` on X (whatever its strides) from `model`; their outputs."""
    weights, means, chol = model
    log_resp, log_prob_norm = kernel.run("e_step", X, *model)
    outputs = [log_resp, log_prob_norm, kernel.run("score_samples", X, *model), kernel.run("predict", X, *model)]
    outputs += list(kernel.run("m_step", X, resp, 1e-6))
    state = [weights.copy(), means.copy(), chol.copy(), np.zeros_like(chol)]
    bounds = np.zeros(3)
    progress = kernel.run("call", X, 1e-6, 0.0, -np.inf, *state, bounds)
    outputs += [progress, bounds, *state]
    state = [weights.copy(), means.copy(), chol.copy(), np.zeros_like(chol)]
    outputs += [kernel.run("em_iteration", X, 1e-6, *state), *state]
    return outputs


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("covariance_type", SMALL)
def test_strided_X_gives_its_contiguous_copys_results(covariance_type, layout):
    X = LAYOUTS[layout](blobs(389, 3, 3, seed=31))
    dense = np.ascontiguousarray(X)
    kernel = _kernels.gmm_kernel(covariance_type, 3, 3)
    model = random_model(3, 3, covariance_type, np.float64)
    resp = np.exp(kernel.run("e_step", dense, *model)[0])
    # responsibilities through strides too: every other column of a wider array, rows reversed
    wide = np.zeros((resp.shape[0], 6))
    wide[::-1, ::2] = resp
    strided_resp = wide[::-1, ::2]
    for what, (got, expected) in enumerate(zip(run_entries(kernel, X, model, strided_resp),
                                               run_entries(kernel, dense, model, resp))):
        np.testing.assert_array_equal(got, expected, err_msg=f"output {what}")
    assert_native(covariance_type, 3, X)
    ours, theirs = fit_both(X, n_components=3, covariance_type=covariance_type, tol=0, max_iter=3,
                            **explicit_inits(dense, 3, covariance_type))
    assert_same_fit(ours, theirs, dense)
    assert_same_predictions(ours, theirs, X[::-5])


@pytest.mark.parametrize("covariance_type", SMALL)
def test_strided_parameters_and_outputs(covariance_type):
    """Parameter arrays read and updated through their strides; outputs written through out=."""
    X = blobs(130, 3, 3, seed=32)
    kernel = _kernels.gmm_kernel(covariance_type, 3, 3)
    model = random_model(3, 3, covariance_type, np.float64)

    def strided(a):  # the same values, every other element of a buffer reversed on every axis
        buffer = np.zeros(tuple(2 * n for n in a.shape))
        view = buffer[tuple(slice(None, None, -2) for _ in a.shape)]
        view[...] = a
        return view

    log_resp, log_prob_norm = kernel.run("e_step", X, *model)
    outs = (strided(np.zeros_like(log_resp)), strided(np.zeros_like(log_prob_norm)))
    kernel.run("e_step", X, *(strided(a) for a in model), out=outs)
    np.testing.assert_array_equal(outs[0], log_resp)
    np.testing.assert_array_equal(outs[1], log_prob_norm)

    dense_state = [*(a.copy() for a in model), np.zeros_like(model[2])]
    strided_state = [strided(a) for a in dense_state]
    dense_bounds, strided_bounds = np.zeros(4), strided(np.zeros(4))
    kernel.run("call", X, 1e-6, 0.0, -np.inf, *dense_state, dense_bounds)
    kernel.run("call", X, 1e-6, 0.0, -np.inf, *strided_state, strided_bounds)
    np.testing.assert_array_equal(strided_bounds, dense_bounds)
    for got, expected in zip(strided_state, dense_state):
        np.testing.assert_array_equal(got, expected)
    assert_native(covariance_type, 3, X)


# ---- row counts around a tile, one component, one feature, float32 -----------


@pytest.mark.parametrize("n_samples", [3, 63, 64, 65, 127, 128, 129, 193])
@pytest.mark.parametrize("covariance_type", SMALL)
def test_row_counts_around_a_tile(covariance_type, n_samples):
    X = blobs(n_samples, 3, 3, seed=n_samples)
    reg_covar = 1e-6 if n_samples > 3 else 1e-2
    ours, theirs = fit_both(X, n_components=3, covariance_type=covariance_type, tol=0, max_iter=3,
                            reg_covar=reg_covar, **explicit_inits(X, 3, covariance_type))
    assert_same_fit(ours, theirs, X)
    for rows in (X[:1], X[-1:], X[::-1][:2]):
        assert_same_predictions(ours, theirs, rows)
    assert_native(covariance_type, 3, X[:1])


@pytest.mark.parametrize("n_samples", [2, 65, 127, 129])
def test_one_component_one_feature(n_samples):
    X = blobs(n_samples, 1, 1, seed=40 + n_samples)
    ours, theirs = fit_both(X, n_components=1, covariance_type="spherical", tol=0, max_iter=3,
                            weights_init=np.array([1.0]), means_init=X[:1] + 0.5, precisions_init=np.array([0.3]))
    assert_same_fit(ours, theirs, X)
    assert_same_predictions(ours, theirs, X[:1])
    assert_same_predictions(ours, theirs, X[::-2])


@pytest.mark.parametrize("n_samples", [2, 65, 129])
def test_float32_two_components_one_feature(n_samples):
    X = blobs(n_samples, 1, 2, np.float32, seed=50 + n_samples)
    inits = explicit_inits(X, 2, "full", seed=3)
    ours, theirs = fit_both(X, n_components=2, covariance_type="full", tol=0, max_iter=3,
                            reg_covar=1e-6 if n_samples > 2 else 1e-2, **inits)
    assert ours.means_.dtype == np.float32
    assert_same_fit(ours, theirs, X)  # to 1e-3 (float32)
    assert_same_predictions(ours, theirs, X[:1], rtol=1e-3)
    kernel = _kernels.gmm_kernel("full", 2, 1)
    model = (ours.weights_, ours.means_, ours.precisions_cholesky_)
    for name in ("score_samples", "predict"):
        np.testing.assert_array_equal(kernel.run(name, X[::-1], *model),
                                      kernel.run(name, np.ascontiguousarray(X[::-1]), *model))
    assert_native("full", 2, X)


# ---- degenerate parameters and data ----------------------------------------

# A third component's means: near the data (with weight 0) or far from it (it
# loses every point: its responsibilities underflow to exactly 0). Their
# coordinates are numbers x for which (10 eps x) / (10 eps) and x^2 round
# differently: scikit-learn's mean of an empty component is exactly 0 and its
# diag/spherical covariance exactly reg_covar, whatever x is.
NEAR = {0.0: [0.452256, -0.913202, 1.822], 1e4: [9999.084732, 10004.741862, 9998.924047]}
FAR = {0.0: [152.756857, 148.030324, 147.784256], 1e4: [10146.758377, 10145.000014, 10145.604275]}


def three_component_inits(offset, third, covariance_type, weights):
    means = np.array([[offset, offset, offset], [offset + 6.0, offset, offset], third])
    return dict(weights_init=np.array(weights), means_init=means,
                precisions_init=unit_precisions(covariance_type, 3, 3))


@pytest.mark.parametrize("max_iter", [1, 2])
@pytest.mark.parametrize("offset", [0.0, 1e4])
@pytest.mark.parametrize("covariance_type", SMALL)
def test_a_weight_of_zero(covariance_type, offset, max_iter):
    X = two_clusters(200, offset, seed=1)
    ours, theirs = fit_both(X, n_components=3, covariance_type=covariance_type, tol=0, max_iter=max_iter,
                            **three_component_inits(offset, NEAR[offset], covariance_type, [0.6, 0.4, 0.0]))
    assert theirs.weights_[2] < 1e-12
    assert_same_fit(ours, theirs, X)


@pytest.mark.parametrize("max_iter", [1, 3])
@pytest.mark.parametrize("offset", [0.0, 1e4])
@pytest.mark.parametrize("covariance_type", SMALL)
def test_a_component_that_loses_all_its_points(covariance_type, offset, max_iter):
    X = two_clusters(200, offset, seed=2)
    ours, theirs = fit_both(X, n_components=3, covariance_type=covariance_type, tol=0, max_iter=max_iter,
                            **three_component_inits(offset, FAR[offset], covariance_type, [0.4, 0.4, 0.2]))
    assert theirs.weights_[2] < 1e-12
    assert_same_fit(ours, theirs, X)


def test_a_component_lost_far_from_the_origin_keeps_reg_covar():
    """Data around 1e6: the lost component's diag covariance is reg_covar
    exactly in scikit-learn (its responsibilities are 0), not reg_covar plus
    the rounding of terms of size mean^2 ~ 1e12 (which made it negative:
    an ill-defined covariance error where scikit-learn fits). scikit-learn's
    other covariances lose ~1e-4 to its own cancellation at this offset."""
    offset, third = 1e6, [1000148.187108, 1000149.229842, 1000148.933107]
    X = two_clusters(200, offset, seed=3)
    ours, theirs = fit_both(X, n_components=3, covariance_type="diag", tol=0, max_iter=1, reg_covar=1e-6,
                            **three_component_inits(offset, third, "diag", [0.4, 0.4, 0.2]))
    assert theirs.weights_[2] < 1e-12
    np.testing.assert_allclose(theirs.covariances_[2], 1e-6, rtol=1e-12)
    np.testing.assert_allclose(ours.covariances_[2], theirs.covariances_[2], rtol=1e-6)
    np.testing.assert_allclose(ours.precisions_cholesky_[2], theirs.precisions_cholesky_[2], rtol=1e-6)
    assert_close(ours.means_, theirs.means_, 1e-6, "means_")
    assert_close(ours.weights_, theirs.weights_, 1e-6, "weights_")
    assert_close(ours.covariances_[:2], theirs.covariances_[:2], 1e-3, "covariances_")


@pytest.mark.parametrize("covariance_type", SMALL)
def test_log_probability_gaps_around_exps_underflow(covariance_type):
    """Two clusters 38 apart: each point's log-probability under the other
    component is 600 to 850 below its own, across the range where exp's
    result turns subnormal and then 0 (about -708 to -745), where the
    kernels flush exp to 0 (below 2^-1020, to stay on the fast SIMD path).
    scikit-learn's responsibilities there are subnormal or 0; the fits and
    predict_proba agree to the normwise 1e-6."""
    rng = np.random.default_rng(11)
    X = np.concatenate([rng.standard_normal((150, 3)), rng.standard_normal((150, 3)) + [38.0, 0.0, 0.0]])
    means = np.array([[0.0, 0.0, 0.0], [38.0, 0.0, 0.0], [19.0, 0.0, 0.0]])
    ours, theirs = fit_both(X, n_components=3, covariance_type=covariance_type, tol=0, max_iter=2,
                            weights_init=np.array([0.45, 0.45, 0.1]), means_init=means,
                            precisions_init=unit_precisions(covariance_type, 3, 3))
    assert_same_fit(ours, theirs, X)
    assert_same_predictions(ours, theirs, X)


@pytest.mark.parametrize("points", [7, 1])
@pytest.mark.parametrize("covariance_type", SMALL)
def test_duplicated_points(covariance_type, points):
    """Each of a few points repeated (one point: every covariance is reg_covar alone)."""
    distinct = blobs(points, 3, min(points, 3), seed=60)
    X = np.repeat(distinct, 13, axis=0)[np.random.default_rng(0).permutation(13 * points)]
    inits = dict(weights_init=np.array([0.5, 0.3, 0.2]), means_init=distinct[[0, -1, 0]] + [[0.0], [0.0], [0.5]],
                 precisions_init=unit_precisions(covariance_type, 3, 3))
    ours, theirs = fit_both(X, n_components=3, covariance_type=covariance_type, tol=0, max_iter=3, **inits)
    assert_same_fit(ours, theirs, X)


@pytest.mark.parametrize("covariance_type", SMALL)
def test_data_offset_by_1e4(covariance_type):
    X = blobs(777, 3, 3, seed=70) + 1e4
    ours, theirs = fit_both(X, n_components=3, covariance_type=covariance_type, tol=0, max_iter=3,
                            **explicit_inits(X, 3, covariance_type))
    assert_same_fit(ours, theirs, X)
    assert_same_predictions(ours, theirs, X[:1])


# ---- large D, large M ----------------------------------------------------------


def test_full_covariances_in_128_features():
    """Two threads share the rows (their ranges end mid-tile); the fourth
    component starts far from the data and loses every point."""
    X = blobs(1000, 128, 3, seed=80)
    inits = explicit_inits(X, 4, "full", seed=81)
    inits["means_init"][3] += 1e3
    ours, theirs = fit_both(X, n_components=4, covariance_type="full", tol=0, max_iter=2, **inits)
    assert theirs.weights_[3] < 1e-12
    assert_same_fit(ours, theirs, X)
    assert_same_predictions(ours, theirs, X[:1])
    kernel = _kernels.gmm_kernel("full", 4, 128)
    model = (ours.weights_, ours.means_, ours.precisions_cholesky_)
    strided = X[::-3]
    for got, expected in zip(kernel.run("e_step", strided, *model),
                             kernel.run("e_step", np.ascontiguousarray(strided), *model)):
        np.testing.assert_array_equal(got, expected)
    assert_native("full", 4, X)


def test_diagonal_covariances_of_256_components():
    """Many components with few points each, one with a weight of 0; 4099
    rows, enough for two threads."""
    X = blobs(4099, 2, 12, seed=90)
    rng = np.random.default_rng(91)
    weights = rng.uniform(0.5, 1.5, 256)
    weights[17] = 0.0
    weights /= weights.sum()
    inits = dict(weights_init=weights, means_init=X[rng.choice(4099, 256, replace=False)] + 0.01,
                 precisions_init=rng.uniform(0.5, 2.0, size=(256, 2)))
    ours, theirs = fit_both(X, n_components=256, covariance_type="diag", tol=0, max_iter=3, **inits)
    assert_same_fit(ours, theirs, X)
    assert_same_predictions(ours, theirs, X[:1])


# ---- the C++ variants ------------------------------------------------------------


CPU_VARIANTS = [{"variant.mstep": "components", "variant.tile": "32"},
                {"variant.mstep": "components", "variant.tile": "64"},
                {"variant.mstep": "components", "variant.tile": "128"},
                {"variant.passes": "separate"},
                {"variant.passes": "separate", "variant.tile": "32"},
                {"variant.passes": "separate", "variant.mstep": "components", "variant.tile": "128"},
                {"variant.estep": "online"},
                {"variant.estep": "online", "variant.mstep": "components", "variant.tile": "32"},
                {"variant.estep": "online", "variant.passes": "separate", "variant.tile": "128"}]


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_every_cpu_variant_gives_the_default_variants_fit(covariance_type):
    """The M-step's sums split over components (each thread its own
    components, the team walking X together), separate E and M passes (the
    N x M responsibilities kept between them) and the online log-sum-exp
    (blocks of components folded into a running largest term), with each
    tile size,
    against the default variant (fused, split over rows) on 3001 rows
    (several tiles per thread): the same fit (the `call` entry, 3
    iterations) to 1e-12 normwise, the variants' stated bound: the sums only
    add in another order. Separate passes over rows add the same tiles in
    the same order as the default: the same bits."""
    from sejits._library import Array, LibraryKernel
    from sejits.mixture import _reference

    X = blobs(3001, 3, 4, np.float64, seed=21)
    model = random_model(4, 3, covariance_type, np.float64)

    def fitted(kernel):
        state = [np.array(a, copy=True) for a in model]
        state.append(np.zeros_like(state[2]))  # covariances
        bounds = np.zeros(3)
        kernel.run("call", X, 1e-6, 0.0, -np.inf, *state, bounds)
        return [*state, bounds]

    expected = fitted(_kernels.gmm_kernel(covariance_type, 4, 3))
    for variant in CPU_VARIANTS:
        params = {"covariance_type": covariance_type, "n_components": 4, "n_features": 3, **variant}
        kernel = LibraryKernel("gmm", params=params, arguments=[Array("X", ndim=2, dtypes=("float32", "float64"))],
                               reference=_reference.ENTRY_POINTS, name=f"GaussianMixture{params}")
        for what, (got, want) in enumerate(zip(fitted(kernel), expected)):
            if variant == {"variant.passes": "separate"}:
                np.testing.assert_array_equal(got, want, err_msg=f"{variant}, output {what}")
            assert_close(got, want, 1e-12, f"{variant}, output {what}")
        text = kernel.explain(X)
        split = {"rows": "row ranges", "components": "components"}[variant.get("variant.mstep", "rows")]
        assert f"sums split over {split}" in text and "ran the compiled" in text, text
        if variant.get("variant.passes") == "separate":
            assert "separate E and M passes" in text, text
        if variant.get("variant.estep") == "online":
            assert "log-sum-exp online over blocks of 8 components" in text, text


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_online_log_sum_exp_over_several_blocks_and_empty_ones(dtype):
    """The online log-sum-exp (variant.estep=online) with M = 20: blocks of
    8, 8 and 4 components, the first block's weights all zero (every term
    of its block -inf, so the running largest starts at -inf and its sum must
    stay 0), on well-separated blobs whose far terms underflow: every entry's
    fit equals the two-pass variant's to 1e-12 normwise in float64 (1e-6 in
    float32, whose E-step rounds to float)."""
    from sejits._library import Array, LibraryKernel
    from sejits.mixture import _reference

    X = blobs(2003, 5, 20, dtype, seed=8)
    weights, means, chol = random_model(20, 5, "full", dtype)
    weights = weights.copy()
    weights[:8] = 0
    weights /= weights.sum()

    def fitted(variant):
        params = {"covariance_type": "full", "n_components": 20, "n_features": 5, **variant}
        kernel = LibraryKernel("gmm", params=params, arguments=[Array("X", ndim=2, dtypes=("float32", "float64"))],
                               reference=_reference.ENTRY_POINTS, name=f"GaussianMixture{params}")
        state = [weights.copy(), means.copy(), chol.copy(), np.zeros_like(chol)]
        bounds = np.zeros(2)
        kernel.run("call", X, 1e-6, 0.0, -np.inf, *state, bounds)
        assert "ran the compiled" in kernel.explain(X)
        return [*state, bounds]

    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for what, (got, want) in enumerate(zip(fitted({"variant.estep": "online"}), fitted({}))):
        assert np.all(np.isfinite(got)), f"output {what}"
        assert_close(got, want, rtol, f"output {what}")
