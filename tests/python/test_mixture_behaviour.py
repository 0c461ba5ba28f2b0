"""GaussianMixture beyond one fit from given starting points, against
scikit-learn on both paths (see test_mixture.py): the init methods with one
random_state, n_init, warm_start, max_iter=0, verbose output, fit_predict,
sample, degenerate data, pipelines; and the fallback's one warning and
the reference's memory."""

import re
import subprocess
import sys
import textwrap
import tracemalloc
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
from sklearn import mixture as sk_mixture  # noqa: E402
from sklearn.cluster import kmeans_plusplus  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from test_mixture import (COVARIANCE_TYPES, FITTED, assert_close, assert_same_fit, blobs,  # noqa: E402
                          explicit_inits, fit_both, native, one_blas_thread, path, reference)  # noqa: F401 - fixtures

import sejits  # noqa: E402
from sejits.mixture import GaussianMixture, _estimator, _init, _kernels  # noqa: E402

ConvergenceWarning = sklearn.exceptions.ConvergenceWarning


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_init_methods_give_sklearns_fit(path, init_params, covariance_type):
    X = blobs(500, 3, 2, seed=21)
    ours, theirs = fit_both(X, n_components=2, covariance_type=covariance_type, init_params=init_params,
                            random_state=0, max_iter=5, tol=0)
    assert_same_fit(ours, theirs, X)


def test_kmeans_init_in_float32(native):
    X = blobs(500, 3, 2, np.float32, seed=22)
    ours, theirs = fit_both(X, n_components=2, random_state=3, max_iter=4, tol=0)
    assert_same_fit(ours, theirs, X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_clusters", [1, 3, 8])
def test_own_kmeans_plusplus_draws_as_sklearn(n_clusters, dtype):
    """The k-means++ used without scikit-learn: the same seeds from the same draws."""
    X = blobs(700, 4, 5, dtype, seed=n_clusters)
    ours_rng, their_rng = np.random.RandomState(9), np.random.RandomState(9)
    ours = _init.greedy_kmeans_plusplus(X, n_clusters, ours_rng)
    _, theirs = kmeans_plusplus(X, n_clusters, random_state=their_rng)
    np.testing.assert_array_equal(ours, theirs)
    assert ours_rng.uniform() == their_rng.uniform()  # the same numbers drawn


def test_n_init_keeps_the_best_initialisation(path):
    X = blobs(400, 3, 4, seed=23)
    ours, theirs = fit_both(X, n_components=2, init_params="random", n_init=3, random_state=1, max_iter=6, tol=0)
    assert_same_fit(ours, theirs, X)


def test_warm_start_continues_from_the_last_fit(path):
    X = blobs(400, 3, 2, seed=24)
    params = dict(n_components=2, warm_start=True, n_init=2, init_params="random_from_data", random_state=2,
                  max_iter=2, tol=1e-4)
    ours, theirs = GaussianMixture(**params), sk_mixture.GaussianMixture(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(6):
            ours.fit(X)
            theirs.fit(X)
            assert_same_fit(ours, theirs, X)
    assert ours.converged_  # tol reached from the previous fit's bound


def test_em_loop_over_several_native_calls_is_one_loop(path, monkeypatch):
    """A long loop runs as several "call"s, each resuming from the last bound."""
    monkeypatch.setattr(_estimator, "_ITERATIONS_PER_CALL", 2)
    X = blobs(300, 3, 2, seed=35, spread=1.0)
    for tol in (0.0, 3e-3):  # 3e-3: converged after 5
        ours, theirs = fit_both(X, n_components=2, init_params="random_from_data", random_state=0, max_iter=7,
                                tol=tol)
        assert_same_fit(ours, theirs, X)
    assert 2 < ours.n_iter_ < 7 and ours.converged_


def test_max_iter_zero_initialises_only(path):
    X = blobs(300, 3, 2, seed=25)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no warning: nothing was meant to converge
        ours, theirs = fit_both(X, n_components=2, init_params="k-means++", random_state=4, max_iter=0, n_init=2)
    for name in FITTED:
        assert_close(getattr(ours, name), getattr(theirs, name), 1e-6, name)
    assert ours.lower_bound_ == -np.inf and ours.lower_bounds_ == [] and ours.n_iter_ == 0
    assert ours.converged_ is False


def test_max_iter_zero_with_given_precisions_is_sklearns_error(path):
    """scikit-learn computes covariances_ only from responsibilities; given
    precisions and no iteration leave it unset, and fit raises reading it."""
    X = blobs(100, 3, 2, seed=26)
    inits = explicit_inits(X, 2, "full")
    for given in (inits, {"precisions_init": inits["precisions_init"]}):
        raised = []
        for Estimator in (sk_mixture.GaussianMixture, GaussianMixture):
            with pytest.raises(AttributeError) as error:
                Estimator(2, max_iter=0, **given).fit(X)
            raised.append(str(error.value))
        assert raised[0] == raised[1] and "covariances_" in raised[0]
    ours, theirs = fit_both(X, n_components=2, max_iter=0, random_state=0, weights_init=inits["weights_init"],
                            means_init=inits["means_init"])
    assert_same_fit(ours, theirs, X)


def _masked(text):
    return re.sub(r"time lapse [0-9.]+s", "time lapse Ts", text)


@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_output_is_sklearns(path, verbose, capsys):
    X = blobs(400, 3, 2, seed=27, spread=1.0)
    params = dict(n_components=2, init_params="random_from_data", random_state=0, n_init=2, max_iter=20,
                  tol=1e-5, verbose_interval=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = sk_mixture.GaussianMixture(verbose=verbose, **params).fit(X)
        expected = capsys.readouterr().out
        ours = GaussianMixture(verbose=verbose, **params).fit(X)
        printed = capsys.readouterr().out
        quiet = GaussianMixture(**params).fit(X)
    assert "Iteration 10" in printed and "Initialization 1" in printed
    assert _masked(printed) == _masked(expected)
    assert_same_fit(ours, theirs, X)
    for name in FITTED + ("lower_bound_", "lower_bounds_", "n_iter_", "converged_"):  # the same fit, printed or not
        np.testing.assert_array_equal(getattr(ours, name), getattr(quiet, name), err_msg=name)


def test_fit_predict_is_fit_then_predict(path):
    X = blobs(300, 3, 2, seed=28)
    params = dict(n_components=2, random_state=6, max_iter=3, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = GaussianMixture(**params).fit_predict(X)
        np.testing.assert_array_equal(labels, GaussianMixture(**params).fit(X).predict(X))
        np.testing.assert_array_equal(labels, sk_mixture.GaussianMixture(**params).fit_predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_draws_as_sklearn(path, covariance_type):
    X = blobs(300, 3, 2, seed=29)
    ours, theirs = fit_both(X, n_components=2, covariance_type=covariance_type, random_state=7, max_iter=2, tol=0,
                            **explicit_inits(X, 2, covariance_type))
    drawn, labels = ours.sample(57)
    expected, expected_labels = theirs.sample(57)
    assert drawn.dtype == np.float64 and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_allclose(drawn, expected, rtol=1e-6, atol=1e-9)
    for model in (ours, theirs):
        with pytest.raises(ValueError) as error:
            model.sample(0)
        assert "Invalid value for 'n_samples': 2 . The sampling requires at least one sample." == str(error.value)


# ---- degenerate data ---------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_duplicate_points(path, covariance_type):
    """Three points repeated: components collapse onto them; reg_covar keeps them defined."""
    X = np.repeat(np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5], [-2.0, 0.0, 1.0]]), [40, 30, 30], axis=0)
    ours, theirs = fit_both(X, n_components=2, covariance_type=covariance_type, tol=0, max_iter=4,
                            **explicit_inits(X, 2, covariance_type))
    assert_same_fit(ours, theirs, X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_component_that_loses_all_its_points(path, covariance_type):
    X = blobs(300, 3, 1, seed=30)
    inits = explicit_inits(X, 2, covariance_type)
    inits["means_init"][1] = 1e3  # every responsibility of component 1 underflows to 0
    for max_iter in (1, 3):
        ours, theirs = fit_both(X, n_components=2, covariance_type=covariance_type, tol=0, max_iter=max_iter,
                                **inits)
        assert_same_fit(ours, theirs, X)
        assert max_iter > 1 or ours.weights_[1] < 1e-15


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_collinear_features_saved_by_reg_covar(path, covariance_type):
    X = blobs(500, 3, 2, seed=31)
    X[:, 2] = 2 * X[:, 0] - X[:, 1]  # singular sample covariances
    ours, theirs = fit_both(X, n_components=2, covariance_type=covariance_type, tol=0, max_iter=3, reg_covar=1e-6,
                            **explicit_inits(X, 2, covariance_type))
    assert np.linalg.cond(ours.covariances_.reshape(-1, 3, 3)[0]) > 1e5
    assert_same_fit(ours, theirs, X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_ill_defined_covariance_is_sklearns_error(path, covariance_type, dtype):
    """Every sample at one point, no reg_covar: zero covariances, in the
    first M-step (init) or in EM (given starting parameters), quiet or verbose."""
    X = np.zeros((20, 3), dtype=dtype)
    inits = {k: v.astype(dtype) for k, v in explicit_inits(blobs(20, 3, 2), 2, covariance_type).items()}
    for params in (dict(init_params="random_from_data", random_state=0), inits, dict(inits, verbose=1)):
        messages = []
        for Estimator in (sk_mixture.GaussianMixture, GaussianMixture):
            with pytest.raises(ValueError) as error:
                Estimator(2, covariance_type=covariance_type, reg_covar=0.0, **params).fit(X)
            messages.append(str(error.value))
        assert messages[0] == messages[1] and "ill-defined empirical covariance" in messages[0]


# ---- in scikit-learn's tools -----------------------------------------------------


def test_pipeline_and_grid_search(native):
    X = blobs(300, 3, 2, seed=32) * [1.0, 10.0, 0.1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = [Pipeline([("scale", StandardScaler()), ("gmm", Estimator(2, random_state=0))]).fit(X).score(X)
                  for Estimator in (sk_mixture.GaussianMixture, GaussianMixture)]
        np.testing.assert_allclose(scores[1], scores[0], rtol=1e-6)
        grid = {"covariance_type": ["full", "diag"], "init_params": ["k-means++", "random_from_data"]}
        searches = [GridSearchCV(Estimator(2, random_state=0), grid, cv=3).fit(X)
                    for Estimator in (sk_mixture.GaussianMixture, GaussianMixture)]
    assert searches[1].best_params_ == searches[0].best_params_
    np.testing.assert_allclose(searches[1].best_score_, searches[0].best_score_, rtol=1e-6)
    np.testing.assert_allclose(searches[1].cv_results_["mean_test_score"], searches[0].cv_results_["mean_test_score"],
                               rtol=1e-6)


# ---- the fallback and the reference ----------------------------------------------


def test_a_fit_warns_at_most_once(daemon, monkeypatch):
    """Until the daemon builds gmm kernels, a fit runs the reference after
    one SpecializationWarning; with them, none. Nothing more from predictions."""
    monkeypatch.setattr(_kernels, "_kernels", {})  # new kernels: the fit asks the daemon
    X = blobs(200, 3, 2, seed=33)
    sejits.config(fallback="warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = GaussianMixture(2, init_params="random_from_data", random_state=0, max_iter=3, verbose=1).fit(X)
            model.set_params(verbose=0).fit(X)
            model.predict(X), model.predict_proba(X), model.score_samples(X)
    finally:
        sejits.config(fallback="error")
    fallbacks = [w for w in caught if issubclass(w.category, sejits.SpecializationWarning)]
    assert len(fallbacks) <= 1, [str(w.message) for w in fallbacks]
    assert all("GaussianMixture runs as its reference implementation" in str(w.message) for w in fallbacks)


_DAEMON_DOWN = textwrap.dedent("""
    import warnings
    import numpy as np
    from sejits.mixture import GaussianMixture
    X = np.random.default_rng(0).normal(size=(200, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GaussianMixture(2, init_params="random_from_data", random_state=0, max_iter=4, tol=0).fit(X)
        labels = model.predict(X)
    print("WARNINGS", sum(w.category.__name__ == "SpecializationWarning" for w in caught))
    print("BOUND", repr(float(model.lower_bound_)))
""")


def test_daemon_down_fits_with_one_warning(python_env, tmp_path):
    env = dict(python_env, SEJITS_DAEMON=f"unix:{tmp_path / 'nobody.sock'}", SEJITS_AUTOSTART="0",
               SEJITS_FALLBACK="warn")
    done = subprocess.run([sys.executable, "-c", _DAEMON_DOWN], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "WARNINGS 1" in done.stdout
    X = np.random.default_rng(0).normal(size=(200, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = sk_mixture.GaussianMixture(2, init_params="random_from_data", random_state=0, max_iter=4,
                                              tol=0).fit(X)
    bound = float(done.stdout.split("BOUND ")[1])
    np.testing.assert_allclose(bound, expected.lower_bound_, rtol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_reference_em_keeps_no_samples_by_components_array(covariance_type):
    """The reference's EM loop and M-step allocate O(chunk * (D + M)), not
    O(N * M): their peak stays under a quarter of one N x M float64 array."""
    n_samples, n_features, n_components = 100_000, 4, 16
    X = blobs(n_samples, n_features, n_components, seed=34)
    kernel = _kernels.gmm_kernel(covariance_type, n_components, n_features)
    resp = np.zeros((n_samples, n_components))
    resp[np.arange(n_samples), np.arange(n_samples) % n_components] = 1
    budget = n_samples * n_components * 8 // 4
    tracemalloc.start()
    try:
        _, means, covariances, chol = kernel.reference_run("m_step", X, resp, 1e-6)
        _, m_step_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        weights = np.full(n_components, 1.0 / n_components)
        kernel.reference_run("call", X, 1e-6, 0.0, -np.inf, weights, means, chol, covariances, np.zeros(2))
        _, em_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert m_step_peak < budget and em_peak < budget, (m_step_peak, em_peak, budget)


def test_explain_and_source_name_the_generated_em(native):
    """explain() says the EM runs generated code (and which entry ran last);
    source() is the C++ that instantiates the runtime for this model."""
    X = blobs(300, 4, 3, seed=31)
    model = GaussianMixture(3, covariance_type="diag", init_params="random_from_data", random_state=0).fit(X)
    text = model.explain(X)
    assert "specialized (library kernel of the gmm specializer)" in text
    assert "n_components=3" in text and "n_features=4" in text
    assert "ran the compiled" in text
    assert "sejits_gmm::fit<double, 2, 4, 3," in model.source(X)
    assert "sejits_gmm::fit<float, 2, 4, 3," in model.source(X.astype(np.float32))
