"""GaussianMixture's errors are scikit-learn's (type and text) for bad
parameters, bad *_init arrays, bad X and unfitted models; it passes
scikit-learn's estimator checks; without scikit-learn it still fits and
says what needs it."""

import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
from sklearn import mixture as sk_mixture  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from test_mixture import blobs, native, one_blas_thread  # noqa: E402,F401 - fixtures

from sejits.mixture import GaussianMixture  # noqa: E402

X = blobs(40, 3, 2, seed=41)


def assert_same_error(fit, **params):
    """fit(estimator) raises the same exception type and text for ours as for scikit-learn's."""
    raised = []
    for Estimator in (sk_mixture.GaussianMixture, GaussianMixture):
        with pytest.raises(Exception) as error:
            fit(Estimator(**params))
        raised.append(error)
    theirs, ours = raised
    assert ours.type is theirs.type, (ours.value, theirs.value)
    assert str(ours.value) == str(theirs.value)


BAD_PARAMETERS = [dict(n_components=0), dict(n_components=1.5), dict(covariance_type="banana"), dict(tol=-1.0),
                  dict(tol="a"), dict(reg_covar=-1e-3), dict(max_iter=-1), dict(n_init=0), dict(init_params="x"),
                  dict(random_state="seed"), dict(warm_start=3), dict(verbose=-1), dict(verbose_interval=0),
                  dict(weights_init=3.0), dict(means_init="abc"), dict(precisions_init=1)]


@pytest.mark.parametrize("params", BAD_PARAMETERS, ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
def test_parameter_errors_are_sklearns(native, params):
    assert_same_error(lambda model: model.fit(X), **params)
    assert_same_error(lambda model: model.fit_predict(X), **params)


BAD_INITS = [
    dict(weights_init=np.array([0.5, 0.3, 0.2])),
    dict(weights_init=np.array([1.2, -0.2])),
    dict(weights_init=np.array([0.5, 0.4])),
    dict(weights_init=np.array([[0.5, 0.5]])),
    dict(weights_init=np.array([np.nan, 0.5])),
    dict(means_init=np.zeros((3, 3))),
    dict(means_init=np.zeros((2, 4))),
    dict(precisions_init=np.ones((2, 3))),
    dict(precisions_init=np.stack([np.eye(3), np.triu(np.ones((3, 3)))])),
    dict(precisions_init=np.stack([np.eye(3), -np.eye(3)])),
    dict(covariance_type="tied", precisions_init=np.diag([1.0, 0.0, 1.0])),
    dict(covariance_type="tied", precisions_init=np.eye(2)),
    dict(covariance_type="diag", precisions_init=np.array([[1.0, 2.0, 0.0], [1.0, 1.0, 1.0]])),
    dict(covariance_type="diag", precisions_init=np.ones(2)),
    dict(covariance_type="spherical", precisions_init=np.array([1.0, -1.0])),
    dict(covariance_type="spherical", precisions_init=np.ones((2, 1))),
]


@pytest.mark.parametrize("params", BAD_INITS, ids=range(len(BAD_INITS)))
def test_init_array_errors_are_sklearns(native, params):
    assert_same_error(lambda model: model.fit(X), n_components=2, **params)


def _with(row, column, value):
    bad = X.copy()
    bad[row, column] = value
    return bad


BAD_X = {"nan": _with(3, 1, np.nan), "inf": _with(0, 0, np.inf), "1-D": X[:, 0], "3-D": X[np.newaxis],
         "one sample": X[:1], "no features": X[:, :0], "fewer samples than components": X[:2],
         "strings": np.array([["a", "b"], ["c", "d"], ["e", "f"]]), "complex": X + 1j, "scalar": 3.0}


@pytest.mark.parametrize("name", BAD_X)
def test_bad_X_errors_are_sklearns(native, name):
    assert_same_error(lambda model: model.fit(BAD_X[name]), n_components=3)


def test_predict_time_errors_are_sklearns(native):
    models = [Estimator(2, random_state=0, max_iter=3).fit(X) for Estimator in (sk_mixture.GaussianMixture,
                                                                                 GaussianMixture)]
    for bad in (X[:, :2], X[:, 0], _with(1, 1, np.nan)):
        for method in ("predict", "predict_proba", "score_samples", "score", "bic", "aic"):
            raised = []
            for model in models:
                with pytest.raises(ValueError) as error:
                    getattr(model, method)(bad)
                raised.append(str(error.value))
            assert raised[0] == raised[1], method


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples", "score", "bic", "aic", "sample"])
def test_unfitted_is_sklearns_not_fitted_error(method):
    args = () if method == "sample" else (X,)
    with pytest.raises(NotFittedError) as error:
        getattr(GaussianMixture(), method)(*args)
    with pytest.raises(NotFittedError) as expected:
        getattr(sk_mixture.GaussianMixture(), method)(*args)
    assert str(error.value) == str(expected.value)


def test_parameters_clone_and_pickle(native):
    model = GaussianMixture(3, covariance_type="diag", means_init=[[0.0] * 3] * 3, random_state=1)
    assert model.get_params() == {**sk_mixture.GaussianMixture().get_params(), "n_components": 3,
                                  "covariance_type": "diag", "means_init": [[0.0] * 3] * 3, "random_state": 1}
    assert repr(model) == repr(sk_mixture.GaussianMixture(3, covariance_type="diag", means_init=[[0.0] * 3] * 3,
                                                          random_state=1))
    copy = clone(model.set_params(tol=1e-2))
    assert copy.get_params()["tol"] == 1e-2 and copy is not model
    fitted = GaussianMixture(2, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    assert model.get_params()["means_init"] == [[0.0] * 3] * 3  # fit leaves the parameters as given


@parametrize_with_checks([GaussianMixture()])
def test_sklearn_estimator_checks(native, estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        check(estimator)


_WITHOUT_SKLEARN = textwrap.dedent("""
    import sys
    class NoSklearn:
        def find_spec(self, name, path=None, target=None):
            if name == "sklearn" or name.startswith("sklearn."):
                raise ImportError("no scikit-learn here")
    sys.meta_path.insert(0, NoSklearn())

    import numpy as np
    from sejits.mixture import GaussianMixture
    X = np.load(sys.argv[1])
    for init in ("k-means++", "random", "random_from_data"):
        model = GaussianMixture(2, init_params=init, random_state=0, max_iter=4, tol=0).fit(X)
        np.save(f"{sys.argv[2]}/{init}.npy", model.means_)
    try:
        GaussianMixture(2).fit(X)
    except ImportError as error:
        print("KMEANS", error)
    for call in (lambda: GaussianMixture().predict(X), lambda: GaussianMixture(n_components=0).fit(X),
                 lambda: GaussianMixture(2).fit(X[:, 0]), lambda: GaussianMixture(covariance_type="x").fit(X)):
        try:
            call()
        except Exception as error:
            print("ERROR", type(error).__name__, isinstance(error, ValueError), isinstance(error, AttributeError),
                  repr(str(error).splitlines()[0]))
    model = GaussianMixture(2, tol=0.5).set_params(max_iter=7)
    print("PARAMS", model.get_params()["max_iter"], model.get_params()["tol"], repr(model))
    print("SKLEARN LOADED", "sklearn" in sys.modules)
""")


def test_without_sklearn(python_env, tmp_path):
    data = tmp_path / "X.npy"
    np.save(data, X)
    env = dict(python_env, SEJITS_FALLBACK="silent")
    done = subprocess.run([sys.executable, "-c", _WITHOUT_SKLEARN, str(data), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "SKLEARN LOADED False" in out
    assert "KMEANS GaussianMixture(init_params='kmeans') needs scikit-learn" in out
    assert "'k-means++', 'random' or 'random_from_data'" in out
    assert ("ERROR NotFittedError True True \"This GaussianMixture instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator.\"") in out
    assert ("ERROR InvalidParameterError True False \"The 'n_components' parameter of GaussianMixture must be an "
            "int in the range [1, inf). Got 0 instead.\"") in out
    assert "ERROR ValueError True False 'Expected 2D array, got 1D array instead:'" in out
    assert ("must be a str among {'full', 'tied', 'diag', 'spherical'}. Got 'x' instead.") in out
    assert "PARAMS 7 0.5 GaussianMixture(max_iter=7, n_components=2, tol=0.5)" in out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        for init in ("k-means++", "random", "random_from_data"):
            expected = sk_mixture.GaussianMixture(2, init_params=init, random_state=0, max_iter=4, tol=0).fit(X)
            np.testing.assert_allclose(np.load(tmp_path / f"{init}.npy"), expected.means_, rtol=1e-6, err_msg=init)
