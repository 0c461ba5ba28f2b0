"""sejits.mixture.GaussianMixture against scikit-learn's (the oracle), on
both of its paths: "native" (the gmm specializer's kernels through the
session daemon; until the daemon has them, the reference after one
SpecializationWarning) and "reference" (every entry point run by the NumPy
reference in the client).

Bounds: float64 results agree with scikit-learn's to 1e-6, float32 ones to
1e-3 (scikit-learn's float32 diag/spherical forms lose digits to
cancellation; ours compute in float64 and round). "Agree to r" is normwise
per array: |ours - theirs| <= r * (|theirs| + max |theirs|) elementwise.
The fits start from the same explicit weights_init, means_init and
precisions_init with tol=0 and a fixed max_iter, so both run the same
iterations.

test_mixture_behaviour.py has initialisation, n_init, warm_start, verbose,
sampling and degenerate data; test_mixture_validation.py the errors and
scikit-learn's estimator checks."""

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
from sklearn import mixture as sk_mixture  # noqa: E402
from sklearn.mixture import _gaussian_mixture as sk_gm  # noqa: E402

import sejits  # noqa: E402
from sejits.mixture import GaussianMixture, _estimator, _kernels  # noqa: E402

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def rtol_for(dtype):
    return 1e-3 if np.dtype(dtype) == np.float32 else 1e-6


@pytest.fixture(autouse=True)
def one_blas_thread():
    """scikit-learn's BLAS calls on one thread: on a small, busy machine two
    BLAS threads spinning against the native kernels' OpenMP threads (and
    other processes) made these tests several times slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


# ---- the two paths -----------------------------------------------------------


class ReferenceOnly:
    """A gmm kernel whose every role runs the client's NumPy reference."""

    def __init__(self, kernel):
        self.kernel = kernel

    def run(self, role, *values):
        return self.kernel.reference_run(role, *values)


@pytest.fixture
def native(daemon):
    """The estimator's kernels through the daemon, never the reference: a
    kernel the daemon cannot build fails the test."""
    sejits.config(fallback="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error", sejits.SpecializationWarning)
        yield "native"


@pytest.fixture
def reference(monkeypatch):
    monkeypatch.setattr(_estimator, "gmm_kernel", lambda *key: ReferenceOnly(_kernels.gmm_kernel(*key)))
    return "reference"


@pytest.fixture(params=["native", "reference"])
def path(request):
    return request.getfixturevalue(request.param)


def kernel_for(path, covariance_type, n_components, n_features):
    kernel = _kernels.gmm_kernel(covariance_type, n_components, n_features)
    return kernel if path == "native" else ReferenceOnly(kernel)


# ---- data and starting points ----------------------------------------------


def blobs(n_samples, n_features, n_centers, dtype=np.float64, seed=0, spread=3.0):
    """Gaussian blobs around n_centers random centers."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(max(n_centers, 1), n_features))
    X = centers[rng.integers(0, len(centers), n_samples)] + rng.normal(size=(n_samples, n_features))
    return X.astype(dtype)


def random_precisions(covariance_type, n_components, n_features, rng, scale=1.0):
    """Well-conditioned symmetric positive-definite precisions of the covariance type's shape."""
    def spd():
        A = rng.normal(size=(n_features, n_features))
        return (A @ A.T / n_features + np.eye(n_features)) * scale

    if covariance_type == "full":
        return np.stack([spd() for _ in range(n_components)])
    if covariance_type == "tied":
        return spd()
    if covariance_type == "diag":
        return rng.uniform(0.5, 2.0, size=(n_components, n_features)) * scale
    return rng.uniform(0.5, 2.0, size=n_components) * scale


def explicit_inits(X, n_components, covariance_type, seed=1):
    """weights_init, means_init, precisions_init in X's dtype (so both fits stay in it)."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 1.5, n_components)
    weights /= weights.sum()
    rows = rng.choice(X.shape[0], n_components, replace=X.shape[0] < n_components)
    means = X[rows].astype(np.float64) + 0.1 * rng.normal(size=(n_components, X.shape[1]))
    spread = float(np.var(X.astype(np.float64))) + 1.0
    precisions = random_precisions(covariance_type, n_components, X.shape[1], rng, scale=1.0 / spread)
    return {"weights_init": weights.astype(X.dtype), "means_init": means.astype(X.dtype),
            "precisions_init": precisions.astype(X.dtype)}


# ---- comparison --------------------------------------------------------------


def assert_close(ours, theirs, rtol, what=""):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} != {theirs.dtype}"
    scale = float(np.max(np.abs(theirs))) if theirs.size else 0.0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_same_labels(ours, theirs, proba, dtype):
    """Equal labels, except (float32) where the two most probable components are within the bound."""
    mismatched = np.flatnonzero(ours != theirs)
    if np.dtype(dtype) == np.float64:
        assert mismatched.size == 0, f"labels differ at {mismatched[:10]}"
        return
    if mismatched.size == 0:
        return
    top_two = np.sort(proba[mismatched], axis=1)[:, -2:]
    assert np.all(top_two[:, 1] - top_two[:, 0] < 1e-2), f"labels differ at {mismatched[:10]}"


def assert_same_fit(ours, theirs, X, rtol=None):
    """Every fitted attribute and method's result agrees with scikit-learn's."""
    rtol = rtol_for(X.dtype) if rtol is None else rtol
    for name in FITTED:
        assert_close(getattr(ours, name), getattr(theirs, name), rtol, name)
    assert ours.n_iter_ == theirs.n_iter_ and ours.converged_ == theirs.converged_
    assert ours.n_features_in_ == theirs.n_features_in_
    assert type(ours.lower_bound_) is type(theirs.lower_bound_)
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=rtol)
    assert len(ours.lower_bounds_) == len(theirs.lower_bounds_)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=rtol)
    proba = theirs.predict_proba(X)
    assert_close(ours.predict_proba(X), proba, rtol, "predict_proba")
    assert_close(ours.score_samples(X), theirs.score_samples(X), rtol, "score_samples")
    assert_same_labels(ours.predict(X), theirs.predict(X), proba, X.dtype)
    for method in ("score", "bic", "aic"):
        np.testing.assert_allclose(getattr(ours, method)(X), getattr(theirs, method)(X), rtol=rtol, err_msg=method)


def fit_both(X, **params):
    """(ours, scikit-learn's), fitted on X with the same parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        theirs = sk_mixture.GaussianMixture(**params).fit(X)
        ours = GaussianMixture(**params).fit(X)
    return ours, theirs


# ---- the differential matrix -----------------------------------------------

# (N, D, M): every N in {2, 3, 1000, 20011}, D in {1, 3, 17} and M in {1, 2, 5} appears. Each new
# (covariance type, M, D, dtype) is a native compile of a few seconds: the native path takes the
# shapes whose (D, M) other tests share, and D = M = 1 in float64 only.
BOTH = (np.float64, np.float32)
CASES = ([("native", shape, dtype) for shape in [(2, 3, 2), (3, 3, 2), (20011, 17, 5)] for dtype in BOTH]
         + [("native", (1000, 1, 1), np.float64)]
         + [("reference", shape, dtype) for shape in [(2, 17, 2), (3, 3, 2), (1000, 1, 5), (1000, 17, 1),
                                                       (20011, 3, 2)] for dtype in BOTH])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("path, shape, dtype", CASES, indirect=["path"],
                         ids=[f"{p}-N{n}-D{d}-M{m}-{t.__name__}" for p, (n, d, m), t in CASES])
def test_explicit_inits_match_sklearn(path, shape, covariance_type, dtype):
    n_samples, n_features, n_components = shape
    X = blobs(n_samples, n_features, n_components, dtype, seed=n_samples + n_features)
    # Two or three samples in 17 dimensions leave the covariances singular but for reg_covar.
    reg_covar = 1e-6 if n_samples > 3 else 1e-2
    max_iter = 3 if n_samples > 3 else 5
    ours, theirs = fit_both(X, n_components=n_components, covariance_type=covariance_type, tol=0,
                            max_iter=max_iter, reg_covar=reg_covar,
                            **explicit_inits(X, n_components, covariance_type))
    assert_same_fit(ours, theirs, X)
    assert ours.n_iter_ == max_iter and not ours.converged_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_stays_float32_and_other_dtypes_become_float64(native, covariance_type):
    X32 = blobs(300, 3, 2, np.float32)
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0, init_params="random_from_data",
                            max_iter=5).fit(X32)
    for name in FITTED:
        assert getattr(model, name).dtype == np.float32, name
    assert isinstance(model.lower_bound_, np.float32) and all(isinstance(b, np.float32) for b in model.lower_bounds_)
    assert model.predict_proba(X32).dtype == np.float32 and model.score_samples(X32).dtype == np.float32
    assert model.predict(X32).dtype == np.int64
    # As NumPy promotes in scikit-learn: float64 data on a float32 model computes in float64.
    assert model.score_samples(X32.astype(np.float64)).dtype == np.float64
    X_int = np.rint(X32 * 10).astype(np.int64)
    fitted_on_ints = GaussianMixture(2, covariance_type=covariance_type, random_state=0,
                                     init_params="random_from_data", max_iter=3).fit(X_int)
    assert fitted_on_ints.means_.dtype == np.float64


@pytest.mark.parametrize("covariance_type, offset", [("full", 1e4), ("diag", 300.0)])
def test_float32_keeps_its_digits_far_from_the_origin(path, covariance_type, offset):
    """Unit-spread data far from the origin: the direct (x - mu) forms keep
    the float32 fit within 2e-4 of the float64 fit of the same numbers
    (scikit-learn's float32 forms lose about 1e-3 and more there). The diag
    offset is smaller: scikit-learn's diag formula itself carries a bias of
    10 eps mu^2 / nk, which float32's eps makes visible beyond |mu| ~ 1e3."""
    X = (blobs(4000, 3, 2, np.float64, seed=5) + offset).astype(np.float32)
    inits = explicit_inits(X, 2, covariance_type)
    upcast = {k: v.astype(np.float64) for k, v in inits.items()}
    upcast["weights_init"] /= upcast["weights_init"].sum()
    params = dict(n_components=2, covariance_type=covariance_type, tol=0, max_iter=3)
    exact = sk_mixture.GaussianMixture(**params, **upcast).fit(X.astype(np.float64))
    ours = GaussianMixture(**params, **inits).fit(X)
    np.testing.assert_allclose(ours.covariances_, exact.covariances_, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(ours.means_, exact.means_, rtol=1e-6)
    np.testing.assert_allclose(ours.lower_bound_, exact.lower_bound_, rtol=1e-5)


def test_list_and_dataframe_inputs(native):
    X = blobs(60, 3, 2)
    params = dict(n_components=2, random_state=0, init_params="random_from_data", max_iter=4, tol=0)
    from_list = GaussianMixture(**params).fit(X.tolist())
    from_array = GaussianMixture(**params).fit(X)
    np.testing.assert_array_equal(from_list.means_, from_array.means_)
    np.testing.assert_array_equal(from_list.predict(X.tolist()), from_array.predict(X))
    assert from_list.bic(X.tolist()) == from_array.bic(X)
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(X, columns=["a", "b", "c"])
    from_frame = GaussianMixture(**params).fit(frame)
    assert list(from_frame.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_array_equal(from_frame.means_, from_array.means_)


# ---- the entry points, role by role (the contract the daemon's kernels keep) ----


def random_model(n_components, n_features, covariance_type, dtype, seed=3):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 1.5, n_components)
    weights /= weights.sum()
    means = rng.normal(scale=2.0, size=(n_components, n_features))
    precisions = random_precisions(covariance_type, n_components, n_features, rng)
    precisions_cholesky = sk_gm._compute_precision_cholesky_from_precisions(precisions, covariance_type, xp=np)
    return tuple(np.ascontiguousarray(a, dtype=dtype) for a in (weights, means, precisions_cholesky))


def sk_weighted_log_prob(X, weights, means, precisions_cholesky, covariance_type):
    return (sk_gm._estimate_log_gaussian_prob(X, means, precisions_cholesky, covariance_type, xp=np)
            + np.log(weights))


def sk_m_step(X, resp, reg_covar, covariance_type):
    nk, means, covariances = sk_gm._estimate_gaussian_parameters(X, resp, reg_covar, covariance_type, xp=np)
    return nk, means, covariances, sk_gm._compute_precision_cholesky(covariances, covariance_type, xp=np)


def exact_m_step(X, resp, reg_covar, covariance_type):
    """scikit-learn's M-step formulas (nk = sum resp + 10 eps of X's dtype,
    tied and diag uncentered) evaluated in float64: the oracle of float32
    runs, whose scikit-learn results carry float32's cancellation."""
    eps10 = 10 * np.finfo(X.dtype).eps
    X, resp = X.astype(np.float64), resp.astype(np.float64)
    nk = resp.sum(axis=0) + eps10
    means = resp.T @ X / nk[:, None]
    eye = np.eye(X.shape[1])
    if covariance_type == "full":
        covariances = np.stack([((resp[:, k] * (X - means[k]).T) @ (X - means[k])) / nk[k] + reg_covar * eye
                                for k in range(len(nk))])
    elif covariance_type == "tied":
        covariances = (X.T @ X - (nk * means.T) @ means) / nk.sum() + reg_covar * eye
    else:
        covariances = resp.T @ (X * X) / nk[:, None] - means ** 2 + reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    return nk, means, covariances, sk_gm._compute_precision_cholesky(covariances, covariance_type, xp=np)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_entry_points_match_sklearn(path, covariance_type, dtype):
    """Each role against scikit-learn's functions: in float64 directly; for
    float32 against the same formulas evaluated in float64 on the same
    numbers, to 1e-4."""
    n_components, n_features = 2, 3
    X = blobs(5003, n_features, n_components, dtype, seed=11)  # more than one chunk of rows
    kernel = kernel_for(path, covariance_type, n_components, n_features)
    weights, means, chol = random_model(n_components, n_features, covariance_type, dtype)
    rtol = 1e-4 if dtype == np.float32 else 1e-6

    def as_sklearn(values):
        return tuple(a.astype(dtype) for a in values)

    upcast = [a.astype(np.float64) for a in (X, weights, means, chol)]
    weighted = sk_weighted_log_prob(*upcast, covariance_type)
    norm = sklearn.utils._array_api._logsumexp(weighted, axis=1)
    log_resp, log_prob_norm = kernel.run("e_step", X, weights, means, chol)
    expected_resp, expected_norm = as_sklearn((weighted - norm[:, None], norm))
    assert_close(log_resp, expected_resp, rtol, "e_step log_resp")
    assert_close(log_prob_norm, expected_norm, rtol, "e_step log_prob_norm")
    assert_close(kernel.run("score_samples", X, weights, means, chol), expected_norm, rtol, "score_samples")
    labels = kernel.run("predict", X, weights, means, chol)
    assert labels.dtype == np.int64
    assert_same_labels(labels, weighted.argmax(axis=1), np.exp(weighted - norm[:, None]), dtype)

    # Responsibilities that sum to 1 per row, and one-hot rows at a few samples only (k-means++ starts).
    one_hot = np.zeros((X.shape[0], n_components), dtype=dtype)
    one_hot[[7, 4000], np.arange(n_components)] = 1
    for label, resp in (("soft", np.exp(log_resp)), ("one-hot", one_hot)):
        expected = (sk_m_step(X, resp, 1e-6, covariance_type) if dtype == np.float64
                    else as_sklearn(exact_m_step(X, resp, 1e-6, covariance_type)))
        got = kernel.run("m_step", X, resp, 1e-6)
        for what, ours, theirs in zip(("nk", "means", "covariances", "precisions_cholesky"), got, expected):
            assert_close(ours, theirs, rtol, f"m_step {what} ({label} resp)")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_em_loop_entry_points_match_sklearn(path, covariance_type):
    """"call" (the whole loop) and "em_iteration" (one step) update the
    parameters in place as scikit-learn's E-step then M-step do, record each
    E-step's bound, and stop when it moves less than tol."""
    n_components, n_features, reg_covar = 2, 3, 1e-6
    X = blobs(3000, n_features, n_components, seed=12)
    kernel = kernel_for(path, covariance_type, n_components, n_features)
    weights, means, chol = random_model(n_components, n_features, covariance_type, np.float64)
    covariances = np.zeros_like(chol)

    expected = []
    w, m, c = weights.copy(), means.copy(), chol.copy()
    for _ in range(4):
        weighted = sk_weighted_log_prob(X, w, m, c, covariance_type)
        norm = sklearn.utils._array_api._logsumexp(weighted, axis=1)
        expected.append(float(norm.mean()))
        nk, m, cov, c = sk_m_step(X, np.exp(weighted - norm[:, None]), reg_covar, covariance_type)
        w = nk / nk.sum()

    state = [weights.copy(), means.copy(), chol.copy(), covariances.copy()]
    bound = kernel.run("em_iteration", X, reg_covar, *state)
    assert bound.shape == (1,) and bound.dtype == np.float64
    np.testing.assert_allclose(bound[0], expected[0], rtol=1e-10)

    bounds = np.zeros(4)
    state = [weights.copy(), means.copy(), chol.copy(), covariances.copy()]
    progress = kernel.run("call", X, reg_covar, 0.0, -np.inf, *state, bounds)
    assert progress.dtype == np.float64 and list(progress) == [4.0, 0.0]
    np.testing.assert_allclose(bounds, expected, rtol=1e-10)
    for what, ours, theirs in zip(("weights", "means", "precisions_cholesky", "covariances"), state, (w, m, c, cov)):
        assert_close(ours, theirs, 1e-6, what)

    # A tolerance the second step's change is under: converged after 2; the rest of `bounds` untouched.
    bounds = np.full(5, 7.0)
    state = [weights.copy(), means.copy(), chol.copy(), covariances.copy()]
    progress = kernel.run("call", X, reg_covar, abs(expected[1] - expected[0]) * 1.0001, -np.inf, *state, bounds)
    assert list(progress) == [2.0, 1.0]
    np.testing.assert_allclose(bounds[:2], expected[:2], rtol=1e-10)
    assert list(bounds[2:]) == [7.0, 7.0, 7.0]
    # The start bound is the previous one: equal to the first bound within tol, it stops at once.
    progress = kernel.run("call", X, reg_covar, 1e-3, expected[0], weights.copy(), means.copy(), chol.copy(),
                          covariances.copy(), np.zeros(3))
    assert list(progress) == [1.0, 1.0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_ill_defined_covariance_is_sklearns_error_from_every_entry(path, covariance_type, dtype):
    """Every sample at one point and no reg_covar: zero covariances."""
    X = np.zeros((20, 3), dtype=dtype)
    resp = np.zeros((20, 2), dtype=dtype)
    resp[:10, 0] = resp[10:, 1] = 1
    with pytest.raises(ValueError) as expected:
        sk_m_step(X, resp, 0.0, covariance_type)
    kernel = kernel_for(path, covariance_type, 2, 3)
    with pytest.raises(ValueError) as raised:
        kernel.run("m_step", X, resp, 0.0)
    assert str(raised.value) == str(expected.value)
    assert ("passing float64 data instead of float32" in str(raised.value)) == (dtype == np.float32)
    weights, means, chol = random_model(2, 3, covariance_type, dtype)
    with pytest.raises(ValueError) as raised:
        kernel.run("call", X, 0.0, 0.0, -np.inf, weights, means, chol, np.zeros_like(chol), np.zeros(3))
    assert str(raised.value) == str(expected.value)
