"""sejits.mixture.GaussianMixture on an OpenCL device (PoCL in CI): the gmm
specializer's OpenCL kernels (specializers/gmm/lower_opencl.cc over
sejits/gmm_opencl.cl and sejits/gmm_opencl_runtime.h) through the session
daemon with fallback="error", against the same estimator on the CPU and
scikit-learn 1.9's GaussianMixture. Every fit starts from explicit
weights_init, means_init and precisions_init with tol=0 and a fixed
max_iter, so all three run the same iterations.

Bounds, normwise per array as test_mixture.assert_close checks them:
  - against scikit-learn: float64 1e-6, float32 1e-3 (test_mixture's);
  - OpenCL against the CPU kernels: float64 1e-9, float32 1e-5. The two
    compute the same formulas (the E-step in X's dtype, the statistics in
    float64, the M-step's finish shared: gmm_model.h); they differ only by
    the order of the statistics' sums (per work-group, per thread) and the
    point diag and spherical sums are gathered around (each component's
    mean on OpenCL, the center of the means on the CPU). Data offset by 1e4:
    1e-7. There cancellation amplifies any sum's rounding ~1e7 times (the
    CPU's diag sums moved from a center thousands away from the clusters,
    tied's u c^T terms in the shared finish): against a long-double oracle
    both kernels are off by 2e-9 (diag) to 5e-8 (tied);
  - OpenCL variants (work-group size wg_x, rows per group) against the
    default variant: the same bounds, for the same reason.

The row counts straddle the default variant's tiles (256 rows: a work-group)
and groups (1024 rows). Each test checks through explain() that the OpenCL
entry points ran; the compiled kernels are (covariance type, M, D, dtype)
on each target: the four covariance types with M = D = 3 in both dtypes,
(spherical, 1, 1, float64), (full, 2, 1, float32), (full, 2, 3, float64),
(diag, 2, 3, float32), and four variants of (full, 3, 3, float64) and two
of (tied, 3, 3, float32)."""

import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn import mixture as sk_mixture  # noqa: E402
from test_mixture import (COVARIANCE_TYPES, FITTED, assert_close, assert_same_fit, blobs,  # noqa: E402,F401
                          explicit_inits, native, one_blas_thread, random_model, sk_m_step)
from test_mixture_edges import FAR, three_component_inits, two_clusters  # noqa: E402

import sejits  # noqa: E402
from sejits import LibraryKernel, opencl  # noqa: E402
from sejits import _device_calls, _request, _tuning  # noqa: E402
from sejits.mixture import GaussianMixture, _kernels, _reference  # noqa: E402
from sejits.mixture._kernels import gmm_kernel  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")]

BOTH = (np.float64, np.float32)
SMALL = ("tied", "diag")  # the (M=3, D=3, float64) kernels most tests share


def rtol_against_cpu(dtype):
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-9


def rtol_against_sklearn(dtype):
    return 1e-3 if np.dtype(dtype) == np.float32 else 1e-6


@pytest.fixture(autouse=True)
def native_only(native):
    """Every test here runs the daemon's kernels or fails (test_mixture.native)."""


@pytest.fixture
def ctx(daemon, opencl_device):
    return opencl.context(opencl_device)


def on_opencl(ctx):
    """sejits.target("opencl") on the test's device."""
    return sejits.target("opencl", device=ctx.device.index)


def assert_ran_on(ctx, covariance_type, n_components, X):
    """The kernel of this model shape and X's dtype is compiled OpenCL code, and its last call ran it."""
    text = gmm_kernel(covariance_type, n_components, X.shape[1]).explain(X if not isinstance(X, np.ndarray)
                                                                       else ctx.asarray(X))
    assert "NOT specialized" not in text and f"target:      OpenCL device {ctx.name}" in text, text
    assert "ran the compiled" in text and f"on OpenCL device {ctx.name}" in text, text


def fit_three(ctx, X, **params):
    """(OpenCL, CPU, scikit-learn) estimators fitted on X with `params`; the
    OpenCL fit under sejits.target("opencl") on the host X."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        warnings.filterwarnings("ignore", "divide by zero encountered in log", RuntimeWarning)
        theirs = sk_mixture.GaussianMixture(**params).fit(X)
        cpu = GaussianMixture(**params).fit(X)
        with on_opencl(ctx):
            ours = GaussianMixture(**params).fit(X)
    assert_ran_on(ctx, params["covariance_type"], params["n_components"], X)
    return ours, cpu, theirs


def assert_same_as_cpu(ours, cpu, X, ctx, rtol):
    """Fitted attributes and the methods' results (on the device: called
    last) agree with the CPU fit's."""
    for name in FITTED:
        got = getattr(ours, name)
        assert type(got) is np.ndarray, f"{name} is a {type(got).__name__}, not a NumPy array"
        assert_close(got, getattr(cpu, name), rtol, name)
    assert ours.n_iter_ == cpu.n_iter_ and ours.converged_ == cpu.converged_
    np.testing.assert_allclose(ours.lower_bounds_, cpu.lower_bounds_, rtol=rtol)
    expected = cpu.score_samples(X), cpu.predict_proba(X), cpu.predict(X)
    device_X = ctx.asarray(X)
    assert_close(ours.score_samples(device_X), expected[0], rtol, "score_samples")
    assert_close(ours.predict_proba(device_X), expected[1], rtol, "predict_proba")
    np.testing.assert_array_equal(ours.predict(device_X), expected[2])


# ---- the fit against the CPU's and scikit-learn's -------------------------------


@pytest.mark.parametrize("dtype", BOTH)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_matches_the_cpu_and_sklearn(ctx, covariance_type, dtype):
    """389 rows: a group of one whole and one partial tile."""
    X = blobs(389, 3, 3, dtype, seed=11)
    ours, cpu, theirs = fit_three(ctx, X, n_components=3, covariance_type=covariance_type, tol=0, max_iter=4,
                                  **explicit_inits(X, 3, covariance_type))
    assert ours.means_.dtype == dtype
    assert_same_as_cpu(ours, cpu, X, ctx, rtol_against_cpu(dtype))
    with on_opencl(ctx):
        assert_same_fit(ours, theirs, X, rtol_against_sklearn(dtype))
    assert_ran_on(ctx, covariance_type, 3, X)


def test_a_device_X_stays_there_and_the_attributes_are_numpy(ctx):
    X = blobs(500, 3, 3, seed=12)
    device_X = ctx.asarray(X)
    params = dict(n_components=3, covariance_type="full", tol=0, max_iter=3, **explicit_inits(X, 3, "full"))
    cpu = GaussianMixture(**params).fit(X)
    ours = GaussianMixture(**params).fit(device_X)
    assert_same_as_cpu(ours, cpu, X, ctx, 1e-9)
    expected = [cpu.predict(X)] + [getattr(cpu, method)(X) for method in ("score", "bic", "aic")]
    labels = ours.fit_predict(device_X)
    assert type(labels) is np.ndarray and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, expected[0])
    for method, want in zip(("score", "bic", "aic"), expected[1:]):
        np.testing.assert_allclose(getattr(ours, method)(device_X), want, rtol=1e-9)
    assert_ran_on(ctx, "full", 3, device_X)
    assert "target:      the CPU" in ours.explain(X)  # a host X outside sejits.target("opencl"): the CPU kernels


class CopiesToHost:
    """Records the shapes of the device arrays read back to the host while active."""

    def __init__(self, monkeypatch):
        self.shapes = []
        get = opencl.DeviceArray.get

        def counted_get(array):
            self.shapes.append(array.shape)
            return get(array)
        monkeypatch.setattr(opencl.DeviceArray, "get", counted_get)


def test_a_device_X_is_validated_on_the_device_not_copied_to_the_host(ctx, monkeypatch):
    """fit, predict and score_samples on a device X read back only its first
    two rows (scikit-learn's shape checks) and the results; its values are
    checked on the device. An init that reads X's values copies it once per fit."""
    X = blobs(600, 3, 3, np.float32, seed=21)
    device_X = ctx.asarray(X)
    params = dict(n_components=3, covariance_type="diag", tol=0, max_iter=3)
    cpu = GaussianMixture(**params, **explicit_inits(X, 3, "diag")).fit(X)
    copies = CopiesToHost(monkeypatch)
    ours = GaussianMixture(**params, **explicit_inits(X, 3, "diag")).fit(device_X)
    labels, log_density = ours.predict(device_X), ours.score_samples(device_X)
    assert X.shape not in copies.shapes, copies.shapes
    assert (2, 3) in copies.shapes
    assert_same_as_cpu(ours, cpu, X, ctx, rtol_against_cpu(np.float32))
    np.testing.assert_array_equal(labels, cpu.predict(X))
    assert_close(log_density, cpu.score_samples(X), rtol_against_cpu(np.float32), "score_samples")

    copies.shapes.clear()
    GaussianMixture(**params, init_params="k-means++", random_state=0, n_init=2).fit(device_X)
    assert copies.shapes.count(X.shape) == 1, copies.shapes


def test_a_device_fit_without_the_daemon_warns_once(ctx, monkeypatch):
    """No daemon: the device X's check and the fit fall back to NumPy with
    at most one SpecializationWarning between them (an outage is told once),
    and the fit is scikit-learn's."""
    monkeypatch.setattr(_kernels, "_kernels", {})
    X = blobs(300, 3, 3, np.float32, seed=23)
    params = dict(n_components=3, covariance_type="diag", tol=0, max_iter=3, **explicit_inits(X, 3, "diag"))
    sejits.config(daemon="unix:/nonexistent/sejitsd.sock", fallback="warn")  # restored after the test
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = GaussianMixture(**params).fit(ctx.asarray(X))
    fallbacks = [str(w.message) for w in caught if issubclass(w.category, sejits.SpecializationWarning)]
    assert len(fallbacks) <= 1, fallbacks  # none when an earlier test's outage was already told
    assert "runs the reference implementation" in _kernels.gmm_kernel("diag", 3, 3).explain(ctx.asarray(X))
    theirs = sk_mixture.GaussianMixture(**params).fit(X)
    assert_close(ours.means_, theirs.means_, rtol_against_sklearn(np.float32), "means_")
    assert_close(ours.covariances_, theirs.covariances_, rtol_against_sklearn(np.float32), "covariances_")


@pytest.mark.parametrize("bad, message", [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")])
def test_a_device_X_with_a_value_that_is_not_finite_is_sklearns_error(ctx, bad, message):
    X = blobs(300, 3, 3, np.float32, seed=22)
    X[217, 1] = bad
    with pytest.raises(ValueError, match=message) as ours:
        GaussianMixture(n_components=3, **explicit_inits(X, 3, "diag"), covariance_type="diag").fit(ctx.asarray(X))
    with pytest.raises(ValueError) as theirs:
        sk_mixture.GaussianMixture(n_components=3).fit(X)
    assert str(ours.value) == str(theirs.value)
    fitted = GaussianMixture(n_components=3, covariance_type="diag", max_iter=2).fit(np.nan_to_num(X, posinf=0.0))
    with pytest.raises(ValueError, match=message):
        fitted.predict(ctx.asarray(X))
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3 features as input"):
        fitted.predict(ctx.asarray(np.ascontiguousarray(X[:, ::2])))  # columns 0 and 2: finite


def test_initialisation_and_verbose_run_their_entries_on_the_device(ctx, capsys):
    """k-means++ responsibilities (host) and the first M-step on the device;
    verbose runs em_iteration per iteration instead of the native loop."""
    X = blobs(700, 3, 3, seed=13)
    for params in (dict(init_params="k-means++", random_state=0, max_iter=4),
                   dict(init_params="random_from_data", random_state=1, max_iter=3, verbose=2, verbose_interval=1)):
        params.update(n_components=3, covariance_type="diag", tol=0)
        cpu = GaussianMixture(**params).fit(X)
        with on_opencl(ctx):
            ours = GaussianMixture(**params).fit(X)
        assert_same_as_cpu(ours, cpu, X, ctx, 1e-9)
    assert "Iteration 3" in capsys.readouterr().out
    assert_ran_on(ctx, "diag", 3, X)


# ---- row counts, one component, one feature, degenerate data -----------------------


@pytest.mark.parametrize("n_samples", [3, 255, 256, 257, 1023, 1024, 1025, 2049])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_row_counts_around_tiles_and_groups(ctx, covariance_type, n_samples):
    X = blobs(n_samples, 3, 3, seed=n_samples)
    ours, cpu, theirs = fit_three(ctx, X, n_components=3, covariance_type=covariance_type, tol=0, max_iter=3,
                                  reg_covar=1e-6 if n_samples > 3 else 1e-2, **explicit_inits(X, 3, covariance_type))
    assert_same_as_cpu(ours, cpu, X, ctx, 1e-9)
    with on_opencl(ctx):
        assert_same_fit(ours, theirs, X)
    for rows in (X[:1], X[-1:]):  # N = 1: one work item of one group
        np.testing.assert_allclose(ours.score_samples(ctx.asarray(rows)), theirs.score_samples(rows), rtol=1e-6)
        np.testing.assert_array_equal(ours.predict(ctx.asarray(rows)), theirs.predict(rows))


@pytest.mark.parametrize("n_samples", [2, 257])
def test_one_component_one_feature(ctx, n_samples):
    X = blobs(n_samples, 1, 1, seed=40 + n_samples)
    ours, cpu, theirs = fit_three(ctx, X, n_components=1, covariance_type="spherical", tol=0, max_iter=3,
                                  weights_init=np.array([1.0]), means_init=X[:1] + 0.5, precisions_init=np.array([0.3]))
    assert_same_as_cpu(ours, cpu, X, ctx, 1e-9)
    with on_opencl(ctx):
        assert_same_fit(ours, theirs, X)


def test_float32_two_components_one_feature(ctx):
    X = blobs(300, 1, 2, np.float32, seed=51)
    ours, cpu, theirs = fit_three(ctx, X, n_components=2, covariance_type="full", tol=0, max_iter=3,
                                  **explicit_inits(X, 2, "full", seed=3))
    assert ours.means_.dtype == np.float32
    assert_same_as_cpu(ours, cpu, X, ctx, 1e-5)
    with on_opencl(ctx):
        assert_same_fit(ours, theirs, X)


@pytest.mark.parametrize("offset", [0.0, 1e4])
@pytest.mark.parametrize("covariance_type", SMALL)
def test_a_component_that_loses_all_its_points(ctx, covariance_type, offset):
    X = two_clusters(200, offset, seed=2)
    ours, cpu, theirs = fit_three(ctx, X, n_components=3, covariance_type=covariance_type, tol=0, max_iter=3,
                                  **three_component_inits(offset, FAR[offset], covariance_type, [0.4, 0.4, 0.2]))
    assert theirs.weights_[2] < 1e-12
    assert_same_as_cpu(ours, cpu, X, ctx, 1e-9 if offset == 0 else 1e-7)
    with on_opencl(ctx):
        assert_same_fit(ours, theirs, X)


@pytest.mark.parametrize("covariance_type, dtype", [("full", np.float64), ("diag", np.float32)])
def test_ill_defined_covariance_is_sklearns_error(ctx, covariance_type, dtype):
    """Every sample at one point and no reg_covar: zero covariances, from
    m_step (the initialisation), call (EM) and em_iteration (verbose)."""
    X = np.zeros((20, 3), dtype=dtype)
    resp = np.zeros((20, 2), dtype=dtype)
    resp[:10, 0] = resp[10:, 1] = 1
    with pytest.raises(ValueError) as expected:
        sk_m_step(X, resp, 0.0, covariance_type)
    kernel = gmm_kernel(covariance_type, 2, 3)
    device_X = ctx.asarray(X)
    weights, means, chol = random_model(2, 3, covariance_type, dtype)
    calls = [("m_step", (resp, 0.0)),
             ("call", (0.0, 0.0, -np.inf, weights, means, chol, np.zeros_like(chol), np.zeros(3))),
             ("em_iteration", (0.0, weights, means, chol, np.zeros_like(chol)))]
    for role, values in calls:
        with pytest.raises(ValueError) as raised:
            kernel.run(role, device_X, *values)
        assert str(raised.value) == str(expected.value), role
    assert ("passing float64 data instead of float32" in str(expected.value)) == (dtype == np.float32)
    inits = {k: v.astype(dtype) for k, v in explicit_inits(blobs(20, 3, 2), 2, covariance_type).items()}
    for params in (dict(init_params="random_from_data", random_state=0), inits):
        with pytest.raises(ValueError) as raised:
            GaussianMixture(2, covariance_type=covariance_type, reg_covar=0.0, **params).fit(device_X)
        assert str(raised.value) == str(expected.value)
    assert_ran_on(ctx, covariance_type, 2, device_X)


# ---- the variants ------------------------------------------------------------------

VARIANTS = [{"variant.wg_x": "1"}, {"variant.wg_x": "7", "variant.rows": "100"},
            {"variant.wg_x": "64", "variant.rows": "1"}, {"variant.wg_x": "256", "variant.rows": "100000"},
            {"variant.wg_x": "7", "variant.rows": "100", "variant.model": "global"},
            {"variant.wg_x": "64", "variant.model": "global"}]
GLOBAL_MODEL = [{"variant.wg_x": "32", "variant.model": "global"}]


def variant_kernel(covariance_type, n_components, n_features, params):
    """The gmm kernel of one OpenCL variant (request params "variant.*")."""
    return LibraryKernel("gmm", params={"covariance_type": covariance_type, "n_components": n_components,
                                        "n_features": n_features, **params},
                         arguments=[sejits.Array("X", ndim=2, dtypes=("float32", "float64"))],
                         reference=_reference.ENTRY_POINTS, name=f"GaussianMixture{params}")


def every_entry(kernel, X, model, resp):
    """Every entry point's outputs on device X, as NumPy arrays."""
    weights, means, chol = model
    outputs = [*kernel.run("e_step", X, *model), kernel.run("score_samples", X, *model),
               kernel.run("predict", X, *model)]
    outputs += list(kernel.run("m_step", X, resp, 1e-6))
    state = [weights.copy(), means.copy(), chol.copy(), np.zeros_like(chol)]
    bounds = np.zeros(3)
    outputs += [kernel.run("call", X, 1e-6, 0.0, -np.inf, *state, bounds), bounds, *state]
    state = [weights.copy(), means.copy(), chol.copy(), np.zeros_like(chol)]
    outputs += [kernel.run("em_iteration", X, 1e-6, *state), *state]
    return [np.asarray(o) for o in outputs]


@pytest.mark.parametrize("covariance_type, dtype, variants", [("full", np.float64, VARIANTS),
                                                              ("tied", np.float32, VARIANTS[1:3] + VARIANTS[4:5]),
                                                              ("diag", np.float32, GLOBAL_MODEL),
                                                              ("spherical", np.float64, GLOBAL_MODEL)])
def test_every_variant_gives_the_same_answer(ctx, covariance_type, dtype, variants):
    """Work-groups of 1 to 256 items, 1 to 100000 rows per group (1: a group
    per row; 100000: one group), the model read from each group's copy in
    local memory (the default where it fits, as here) or from global memory,
    against the default variant and the CPU. Where the model is read changes
    no arithmetic: a global-model variant gives the bits of the same variant
    reading local memory."""
    X = ctx.asarray(blobs(1500, 3, 3, dtype, seed=14))
    model = random_model(3, 3, covariance_type, dtype)
    default = gmm_kernel(covariance_type, 3, 3)
    resp = np.exp(np.asarray(default.run("e_step", X, *model)[0]))
    expected = every_entry(default, X, model, resp)
    cpu = every_entry(default, X.get(), model, resp)
    rtol = rtol_against_cpu(dtype)
    for what, (got, want) in enumerate(zip(expected, cpu)):
        assert_close(got, want, rtol, f"default variant against the CPU, output {what}")
    for params in variants:
        kernel = variant_kernel(covariance_type, 3, 3, params)
        for what, (got, want) in enumerate(zip(every_entry(kernel, X, model, resp), expected)):
            assert_close(got, want, rtol, f"{params}, output {what}")
        text = kernel.explain(X)
        assert f"on OpenCL device {ctx.name}" in text, text
        assert f"work-groups of {params['variant.wg_x']} work items" in text, text
        if params.get("variant.model") == "global":
            assert "read from global memory" in text, text
            reading_local = {**params, "variant.model": "local"}
            same = zip(every_entry(kernel, X, model, resp),
                       every_entry(variant_kernel(covariance_type, 3, 3, reading_local), X, model, resp))
            for what, (got, want) in enumerate(same):
                np.testing.assert_array_equal(got, want, err_msg=f"{params} against local memory, output {what}")
        else:
            assert "read from a copy in local memory" in text, text


# ---- the library kernel's device calls ---------------------------------------------


def test_outputs_follow_their_inputs_and_out(ctx):
    """NumPy in, NumPy out under sejits.target("opencl"); a device array in,
    device arrays out; out= on the device or the host is filled."""
    X = blobs(300, 3, 3, seed=15)
    model = random_model(3, 3, "diag", np.float64)
    kernel = gmm_kernel("diag", 3, 3)
    expected = kernel.run("score_samples", X, *model)  # the CPU's
    with on_opencl(ctx):
        host = kernel.run("score_samples", X, *model)
    assert type(host) is np.ndarray
    on_device = kernel.run("score_samples", ctx.asarray(X), *model)
    assert isinstance(on_device, opencl.DeviceArray) and on_device.context is ctx
    device_out, host_out = ctx.empty(300), np.empty(300)
    assert kernel.run("score_samples", ctx.asarray(X), *model, out=device_out) is device_out
    assert kernel.run("score_samples", ctx.asarray(X), *model, out=host_out) is host_out
    for got in (host, on_device.get(), device_out.get(), host_out):
        assert_close(got, expected, 1e-9, "score_samples")
    # in-outs given as device arrays are updated there
    state = [ctx.asarray(a) for a in (*model, np.zeros_like(model[2]))]
    bounds = np.zeros(2)
    kernel.run("call", ctx.asarray(X), 1e-6, 0.0, -np.inf, *state, bounds)
    host_state, host_bounds = [a.copy() for a in (*model, np.zeros_like(model[2]))], np.zeros(2)
    kernel.run("call", X, 1e-6, 0.0, -np.inf, *host_state, host_bounds)
    np.testing.assert_allclose(bounds, host_bounds, rtol=1e-9)
    for got, want in zip(state, host_state):
        assert_close(got.get(), want, 1e-9)


def test_the_reference_runs_on_host_copies_of_device_values(ctx):
    """A signature the kernel refuses (float64 X where it takes float32 only)
    runs the reference: in-outs on the device get its results, outputs go to
    the device, after one SpecializationWarning."""
    sejits.config(fallback="warn")
    X = blobs(200, 3, 3, seed=16)
    model = random_model(3, 3, "tied", np.float64)
    kernel = LibraryKernel("gmm", params={"covariance_type": "tied", "n_components": 3, "n_features": 3},
                           arguments=[sejits.Array("X", ndim=2, dtypes=("float32",))],
                           reference=_reference.ENTRY_POINTS)
    state = [ctx.asarray(a) for a in (*model, np.zeros_like(model[2]))]
    bounds = ctx.zeros(3)
    with pytest.warns(sejits.SpecializationWarning, match="float32"):
        progress = kernel.run("call", ctx.asarray(X), 1e-6, 0.0, -np.inf, *state, bounds)
    assert isinstance(progress, opencl.DeviceArray)
    host_state = [a.copy() for a in (*model, np.zeros_like(model[2]))]
    host_bounds = np.zeros(3)
    expected = kernel.reference_run("call", X, 1e-6, 0.0, -np.inf, *host_state, host_bounds)
    np.testing.assert_array_equal(progress.get(), expected)
    np.testing.assert_array_equal(bounds.get(), host_bounds)
    for got, want in zip(state, host_state):
        np.testing.assert_array_equal(got.get(), want)
    labels = kernel.run("predict", ctx.asarray(X), *model)
    np.testing.assert_array_equal(labels.get(), kernel.reference_run("predict", X, *model))
    text = kernel.explain(ctx.asarray(X))
    assert "NOT specialized" in text and f"target:      OpenCL device {ctx.name}" in text, text


# ---- tuning on the device ---------------------------------------------------------


def test_variants_are_timed_on_the_device_and_the_choice_kept_for_it(ctx, tuning_daemon, tmp_path):
    """Fits on a device X time the OpenCL variants (wg_x, rows) there; every
    fit, whichever variant ran it, is the default variant's within the
    variants' bound; the choice is recorded for this machine with the device."""
    X = blobs(3000, 5, 2, np.float32, seed=31)
    device_X = ctx.asarray(X)
    params = dict(n_components=2, covariance_type="spherical", tol=0, max_iter=3,
                  **explicit_inits(X, 2, "spherical"))
    sejits.config(tuning="off")
    default = GaussianMixture(**params).fit(X)  # the CPU's fit: the reference here
    sejits.config(tuning="online")
    kernel = gmm_kernel("spherical", 2, 5)
    settled, deadline = None, time.monotonic() + 300
    while time.monotonic() < deadline:  # the candidates compile in the background meanwhile
        fitted = GaussianMixture(**params).fit(device_X)
        assert_close(fitted.means_, default.means_, rtol_against_cpu(np.float32), "means_")
        assert_close(fitted.precisions_cholesky_, default.precisions_cholesky_, rtol_against_cpu(np.float32), "precisions")
        prefix = _device_calls.signature_prefix(ctx)
        entries = [e for signature, e in kernel._kernels.items() if signature[:len(prefix)] == prefix]
        if entries and type(entries[-1]) is not _tuning.TuningSession and "tuning" in entries[-1].info:
            settled = entries[-1].info["tuning"]
            break
        if entries and type(entries[-1]) is _tuning.TuningSession and entries[-1]._building:
            time.sleep(0.02)
    assert settled is not None, kernel.explain(device_X)
    env = dict(os.environ, SEJITS_DAEMON=tuning_daemon.address, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    exported = tmp_path / "records.jsonl"
    done = subprocess.run([sys.executable, "-m", "sejits.cli", "tune", "export", str(exported)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    records = exported.read_text()
    assert f"device={_request.device_identity(ctx.device)}" in records, records
    assert "wg_x" in records and '"choice"' in records, records
