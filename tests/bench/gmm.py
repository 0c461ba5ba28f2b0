"""Suite "gmm": G1-G3, Gaussian-mixture EM (issue 20) against scikit-learn.

Each case fits a mixture to float64 data drawn once: M Gaussian blobs with
random centres in a box, random per-feature spreads and random weights, plus
2% of uniform noise over a slightly larger box (never zeros, never a grid).
Every implementation (gmm_impls.py) starts from the same initial parameters,
computed once and passed as weights_init, means_init and precisions_init:
uniform weights, one data row of each blob as its component's mean, identity
precisions; with tol=0 it runs exactly ITERATIONS EM iterations. Only
`fit(X)` is timed; neither side's initialisation is (gmm_impls.py says how).

The first fit of each implementation is the warm-up (for sejits it waits for
the daemon to generate and compile the kernel: `first_fit_s` in the notes,
never in the median) and is checked against the NumPy reference
(gmm_reference.py, scikit-learn's formulas): weights_, means_, covariances_
and lower_bound_ within RTOL. A wrong fit is reported, never timed.

Each row's notes: per_iter_s (the median fit over ITERATIONS), first_fit_s,
and the peak memory of one fit beyond X, measured after the timings in a
fresh process per implementation (gmm_memory.py): traced_peak_bytes
(tracemalloc: Python and NumPy allocations) and rss_peak_bytes (the resident
set's high-water mark, native allocations included).

limit_s is the compute bound: the flops of ITERATIONS iterations (the
formulas below, per covariance type) over the machine's peak. The peak is
measured once per run by peak-flops (tests/bench/peak_flops.cc, built with
the project, -O3 -march=native): on every core with OpenMP, each thread runs
independent chains of double-precision fused multiply-adds on the widest
vectors the CPU has, 2 flops per FMA and lane, the best of several runs
and of all threads against one (peak_flops.cc says why). A GMM iteration is
mostly mult-adds, so that peak is what it could reach at best; the exp and
log of the E-step (M*N of each) are not counted, which keeps the bound a
lower bound.
"""

import pathlib
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

import gmm_reference
from gmm_impls import GMM_IMPLS, REG_COVAR, fit
from gmm_memory import peak_memory, save_case_data
from measure import Result, describe, mismatch, progress, skipped_if_missing

ITERATIONS = 20
RTOL = 1e-6  # issue 20: fitted parameters and lower_bound_ to 1e-6 relative in float64
SEED = 20240620
CENTER_BOX = 10.0  # blob centres uniform in [-CENTER_BOX, CENTER_BOX]^D
SPREADS = (0.5, 1.5)  # each blob's per-feature standard deviations, uniform in this range
BLOB_WEIGHT_CONCENTRATION = 5.0  # Dirichlet: blob sizes vary, none is nearly empty
NOISE_FRACTION = 0.02
NOISE_BOX = CENTER_BOX + 3.0


@dataclass(frozen=True)
class GmmScale:
    """A --size's GMM cases: N of each case divided by samples_divisor; timed
    fits per implementation, unless --repeats says otherwise."""

    samples_divisor: int
    repeats: int


# Flops of one EM iteration (2 per mult-add), per covariance type, for N
# samples, D features and M components; scikit-learn's and sejits' forms both
# do at least these.


def full_covariance_flops(n, d, m):
    """Full covariance: 2*M*N*(D(D+1) + 2D).
    E-step, per sample and component: the triangular product y = U^T (x - mu)
    with the precision's Cholesky factor, D(D+1)/2 mult-adds, and |y|^2, D
    mult-adds. M-step, per sample and component: the weighted scatter
    r (x - mu)(x - mu)^T, D(D+1)/2 mult-adds of its triangle, and the weighted
    sum r x, D mult-adds."""
    return 2 * m * n * (d * (d + 1) / 2 + d + d * (d + 1) / 2 + d)


def diag_covariance_flops(n, d, m):
    """Diagonal covariance: 2*M*N*4D.
    Per sample, component and feature: the E-step's (x - mu)^2 * p, a
    subtraction and a mult-add taken as 2 mult-adds, and the M-step's r x
    and r x^2, 2 mult-adds."""
    return 2 * m * n * 4 * d


def tied_covariance_flops(n, d, m):
    """Tied covariance: 2*N*(D(D+1)/2 + M*D + D(D+1)/2 + M*D).
    E-step, per sample: y = U^T x with the one precision factor, D(D+1)/2
    mult-adds, then |y - U^T mu|^2 for each component, M*D. M-step, per
    sample: the scatter x x^T, D(D+1)/2 mult-adds of its triangle (the tied
    covariance is (X^T X - sum_k n_k mu_k mu_k^T) / N), and the weighted sums
    r x, M*D."""
    return 2 * n * (d * (d + 1) / 2 + m * d + d * (d + 1) / 2 + m * d)


@dataclass(frozen=True)
class GmmCase:
    name: str
    covariance_type: str
    n_samples: int  # at --size full
    n_features: int
    n_components: int
    flops_per_iteration: Callable  # (N, D, M) -> flops

    def describe(self, n_samples):
        return (f"GMM EM, {self.covariance_type} covariance, N={n_samples}, D={self.n_features}, "
                f"M={self.n_components}, {ITERATIONS} iterations, float64")


GMM_CASES = [
    GmmCase("G1", "full", 200_000, 16, 16, full_covariance_flops),
    GmmCase("G2", "diag", 1_000_000, 32, 32, diag_covariance_flops),
    GmmCase("G3", "tied", 200_000, 64, 8, tied_covariance_flops),
]


def limit_s(case, n_samples, peak_gflops):
    """ITERATIONS iterations' flops at the machine's peak; None if the peak was not measured."""
    if not peak_gflops:
        return None
    flops = ITERATIONS * case.flops_per_iteration(n_samples, case.n_features, case.n_components)
    return flops / (peak_gflops * 1e9)


def identity_precisions(case):
    d, m = case.n_features, case.n_components
    if case.covariance_type == "full":
        return np.tile(np.eye(d), (m, 1, 1))
    if case.covariance_type == "tied":
        return np.eye(d)
    return np.ones((m, d))


def draw_case(case, n_samples, seed):
    """(X, initial parameters): X (N, D) float64, M blobs and uniform noise
    (noise rows last: row order does not change EM's work); component k
    starts at the first row drawn from blob k."""
    rng = np.random.default_rng(seed)
    d, m = case.n_features, case.n_components
    n_noise = int(NOISE_FRACTION * n_samples)
    n_blob_rows = n_samples - n_noise
    centers = rng.uniform(-CENTER_BOX, CENTER_BOX, size=(m, d))
    spreads = rng.uniform(*SPREADS, size=(m, d))
    labels = rng.choice(m, size=n_blob_rows, p=rng.dirichlet(np.full(m, BLOB_WEIGHT_CONCENTRATION)))
    X = np.empty((n_samples, d))
    blobs = X[:n_blob_rows]
    blobs[...] = rng.standard_normal((n_blob_rows, d))
    blobs *= spreads[labels]
    blobs += centers[labels]
    X[n_blob_rows:] = rng.uniform(-NOISE_BOX, NOISE_BOX, size=(n_noise, d))
    first_rows = [np.flatnonzero(labels == k)[:1] for k in range(m)]
    means = np.stack([X[rows[0]] if rows.size else centers[k] for k, rows in enumerate(first_rows)])
    return X, gmm_reference.InitialParameters(np.full(m, 1.0 / m), means, identity_precisions(case))


def fit_mismatch(estimator, reference):
    """Why the fitted estimator differs from the reference fit, or None."""
    compared = (
        ("weights_", estimator.weights_, reference.weights),
        ("means_", estimator.means_, reference.means),
        ("covariances_", estimator.covariances_, reference.covariances),
        ("lower_bound_", [float(estimator.lower_bound_)], [reference.lower_bound]),
    )
    for name, fitted, expected in compared:
        if error := mismatch(np.asarray(fitted), np.asarray(expected, dtype=np.float64), RTOL):
            return f"{name}: {error}"
    return None


def timed_fit(estimator, X):
    start = time.perf_counter()
    fit(estimator, X)
    return time.perf_counter() - start


def measure_fit(case, impl, build, X, init, reference, repeats, limit):
    """A warm-up fit checked against the reference, then `repeats` timed fits."""
    result = Result(case.name, impl, limit_s=limit)
    try:
        progress(case.name, impl, "warm-up fit (checked)")
        estimator = build(case, init, ITERATIONS)
        first_fit_s = timed_fit(estimator, X)
        result.error = fit_mismatch(estimator, reference)
        if result.error:
            return result
        for repeat in range(1, repeats + 1):
            progress(case.name, impl, f"repeat {repeat}/{repeats}")
            result.samples.append(timed_fit(build(case, init, ITERATIONS), X))
    except Exception as exc:  # any failure of the implementation is a result
        result.samples, result.error = [], describe(exc)
        return result
    result.extra = {"per_iter_s": result.median_s / ITERATIONS, "first_fit_s": first_fit_s}
    return result


def add_peak_memory(results, data_paths):
    """The notes traced_peak_bytes and rss_peak_bytes of every measured row:
    one fresh process per implementation fits each of its cases once
    (gmm_memory.py). A row whose measurement fails keeps its timings and
    fails with the reason."""
    for impl in GMM_IMPLS:
        measured = [result for result in results if result.impl == impl and result.ok]
        if not measured:
            continue
        progress("/".join(result.case for result in measured), impl, "peak memory of one fit each (a fresh process)")
        try:
            figures = peak_memory(impl, {result.case: data_paths[result.case] for result in measured}, ITERATIONS)
        except Exception as exc:  # the child failed as a whole: every row says why
            figures = {result.case: {"error": describe(exc)} for result in measured}
        for result in measured:
            case_figures = figures.get(result.case, {"error": "the measuring process reported nothing"})
            if "error" in case_figures:
                result.error = f"peak memory: {case_figures['error']}"
            else:
                result.extra.update(case_figures)


def run_gmm(settings):
    scale = settings.gmm_scale
    repeats = settings.repeats_or(scale.repeats)
    results = []
    with tempfile.TemporaryDirectory(prefix="sejits-bench-gmm-") as workdir:
        data_paths = {}
        for case in GMM_CASES:
            n_samples = case.n_samples // scale.samples_divisor
            progress(case.name, case.describe(n_samples))
            X, init = draw_case(case, n_samples, SEED)
            data_paths[case.name] = pathlib.Path(workdir) / f"{case.name}.npz"
            save_case_data(data_paths[case.name], X, init)
            case_limit_s = limit_s(case, n_samples, settings.peak_gflops)
            progress(case.name, "NumPy reference fit")
            reference = gmm_reference.fit(X, case.covariance_type, init, REG_COVAR, ITERATIONS)
            for impl, build in GMM_IMPLS.items():
                results.append(
                    skipped_if_missing(case.name, impl, settings, case_limit_s)
                    or measure_fit(case, impl, build, X, init, reference, repeats, case_limit_s)
                )
            del X
        add_peak_memory(results, data_paths)
    return results
