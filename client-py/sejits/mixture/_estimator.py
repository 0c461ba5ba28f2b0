"""sejits.mixture.GaussianMixture: scikit-learn's GaussianMixture (1.9) with
its EM in native code that the daemon's "gmm" specializer generates per
covariance type, number of components and number of features.

Every computation over X goes through the kernel's entry points (by role):
the first M-step of each initialisation ("m_step"), the whole EM loop
("call"; "em_iteration" per iteration when verbose, to print as it goes),
and "score_samples", "predict", "e_step" afterwards. Where the daemon cannot
build them, the same roles run the NumPy reference (_reference.py) after one
SpecializationWarning. float32 X keeps every fitted array float32.

With X a sejits.opencl device array, or under sejits.target("opencl"), the
same entry points run the kernels generated for that OpenCL device
(_placement.py: X stays there; the fitted attributes are NumPy arrays).
explain(X) says which target runs them."""

import math
import warnings
from time import time

import numpy as np

from sejits.mixture import _init, _placement, _validation
from sejits.mixture._kernels import gmm_kernel
from sejits.mixture._placement import host
from sejits.mixture._validation import (BaseEstimator, ConvergenceWarning, DensityMixin, check_is_fitted,
                                        check_random_state, fit_context, validate_data)

_ITERATIONS_PER_CALL = 1024
_NOT_CONVERGED = ("Best performing initialization did not converge. Try different init parameters, or increase "
                  "max_iter, tol, or check for degenerate data.")


class GaussianMixture(DensityMixin, BaseEstimator):
    """A Gaussian mixture fitted by EM, with scikit-learn's parameters,
    attributes and methods (see sklearn.mixture.GaussianMixture).

    n_components: components M. covariance_type: "full" (each its own
    matrix), "tied" (one matrix for all), "diag" (each its own diagonal),
    "spherical" (each its own variance). tol: stop when the lower bound moves
    less. reg_covar: added to the covariances' diagonal. max_iter: EM
    iterations (0: initialise only). n_init: initialisations; the best bound
    is kept. init_params: "kmeans" (needs scikit-learn), "k-means++",
    "random", "random_from_data". weights_init, means_init, precisions_init:
    given starting parameters. random_state: seeds the initialisation and
    sample(). warm_start: start from the last fit. verbose, verbose_interval:
    scikit-learn's progress messages.

    Fitted: weights_, means_, covariances_, precisions_, precisions_cholesky_,
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_ (and
    feature_names_in_ for named columns, with scikit-learn)."""

    if _validation.PARAMETER_CONSTRAINTS is not None:
        _parameter_constraints = _validation.PARAMETER_CONSTRAINTS

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1,
                 init_params="kmeans", weights_init=None, means_init=None, precisions_init=None, random_state=None,
                 warm_start=False, verbose=0, verbose_interval=10):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # ---- fitting -----------------------------------------------------------

    @fit_context
    def fit(self, X, y=None):
        """Fits the mixture by EM n_init times (once under warm_start after
        the first fit), keeping the parameters with the best lower bound.
        A ConvergenceWarning says when that fit did not converge."""
        self._fit(X)
        return self

    @fit_context
    def fit_predict(self, X, y=None):
        """fit(X), then the most probable component of each sample of X."""
        return self._predict_validated(self._fit(X))

    def _fit(self, X):
        """The fit; returns X as the kernels took it (validated, C-contiguous;
        on a device there)."""
        context, given = _placement.context_of(X), X
        X = _placement.validated(self, X, validate_data, reset=True, dtype=[np.float64, np.float32],
                                 ensure_min_samples=2)
        if X.shape[0] < self.n_components:
            raise ValueError("Expected n_samples >= n_components "
                             f"but got n_components = {self.n_components}, n_samples = {X.shape[0]}")
        X_kernel = _placement.kernel_input(context, given, X)
        X_values = _placement.host_values(X)
        inits = self._checked_inits(X)
        kernel = gmm_kernel(self.covariance_type, self.n_components, X.shape[1])

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        max_lower_bound = -np.inf
        best_lower_bounds = []
        self.converged_ = False
        random_state = check_random_state(self.random_state)

        for init in range(n_init):
            self._print_verbose_msg_init_beg(init)
            if do_init:
                self._initialize_parameters(X_values, X_kernel, random_state, kernel, inits)
            lower_bound = -np.inf if do_init else self.lower_bound_
            if self.max_iter == 0:
                best_params = self._get_parameters()
                best_n_iter = 0
                continue
            lower_bound, n_iter, converged, lower_bounds = self._run_em(X_kernel, kernel, lower_bound)
            self._print_verbose_msg_init_end(lower_bound, converged)
            if lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                max_lower_bound = lower_bound
                best_params = self._get_parameters()
                best_n_iter = n_iter
                best_lower_bounds = lower_bounds
                self.converged_ = converged

        # max_iter=0 is an initialisation only: nothing was meant to converge.
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(_NOT_CONVERGED, ConvergenceWarning)
        self._set_parameters(best_params)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = max_lower_bound
        self.lower_bounds_ = best_lower_bounds
        return X_kernel

    def _checked_inits(self, X):
        """weights_init, means_init, precisions_init validated as
        scikit-learn validates them, in X's dtype (None where not given).
        Unlike scikit-learn, the estimator's parameters are left as given."""
        n_features = X.shape[1]
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = _validation.check_weights(self.weights_init, self.n_components)
        if self.means_init is not None:
            means = _validation.check_means(self.means_init, self.n_components, n_features)
        if self.precisions_init is not None:
            precisions = _validation.check_precisions(self.precisions_init, self.covariance_type, self.n_components,
                                                      n_features)
        return tuple(None if a is None else np.array(a, dtype=X.dtype, order="C") for a in (weights, means, precisions))

    def _initialize_parameters(self, X_values, X_kernel, random_state, kernel, inits):
        """The parameters EM starts from: one M-step (on X_kernel, where the
        kernels run) on the init method's responsibilities (from X's values
        on the host, X_values(), except "random", which reads only X's
        shape), replaced by the given *_init arrays; none of that when all
        three are given."""
        weights_init, means_init, precisions_init = inits
        if weights_init is None or means_init is None or precisions_init is None:
            X = X_kernel if self.init_params == "random" else X_values()
            resp = _init.initial_responsibilities(self.init_params, X, self.n_components, random_state)
            nk, means, covariances, precisions_cholesky = map(host, kernel.run("m_step", X_kernel, resp,
                                                                               float(self.reg_covar)))
            del resp
            weights = nk / X.dtype.type(X.shape[0])
        self.weights_ = weights if weights_init is None else weights_init.copy()
        self.means_ = means if means_init is None else means_init.copy()
        if precisions_init is None:
            self.covariances_ = covariances
            self.precisions_cholesky_ = precisions_cholesky
        else:
            # As scikit-learn: covariances_ is left as it was (unset on a first
            # fit) until an M-step computes it.
            self.precisions_cholesky_ = _init.precisions_cholesky_from_precisions(precisions_init,
                                                                                  self.covariance_type)

    def _run_em(self, X, kernel, lower_bound):
        """EM from the current parameters: (final bound, iterations,
        converged, the bounds of each iteration). The parameter arrays are
        updated in place: they are copies, the previous best stays intact."""
        dtype = X.dtype
        weights, means, precisions_cholesky = (np.array(a, dtype=dtype, order="C")
                                               for a in (self.weights_, self.means_, self.precisions_cholesky_))
        covariances = (np.array(self.covariances_, dtype=dtype, order="C") if hasattr(self, "covariances_")
                       and np.shape(self.covariances_) == precisions_cholesky.shape
                       else np.zeros_like(precisions_cholesky))
        reg_covar, tol = float(self.reg_covar), float(self.tol)
        if self.verbose:
            bounds, converged = [], False
            for n_iter in range(1, self.max_iter + 1):
                previous = lower_bound
                lower_bound = float(host(kernel.run("em_iteration", X, reg_covar, weights, means, precisions_cholesky,
                                                    covariances))[0])
                bounds.append(lower_bound)
                change = lower_bound - previous
                self._print_verbose_msg_iter_end(n_iter, change)
                if abs(change) < tol:
                    converged = True
                    break
        else:
            # The loop runs natively, a bounded number of iterations per call
            # (the bounds array is that long), resuming from the last bound.
            bounds, converged = [], False
            while not converged and len(bounds) < self.max_iter:
                recorded = np.empty(min(self.max_iter - len(bounds), _ITERATIONS_PER_CALL))
                progress = host(kernel.run("call", X, reg_covar, tol, float(lower_bound), weights, means,
                                           precisions_cholesky, covariances, recorded))
                bounds += recorded[:int(progress[0])].tolist()
                converged, lower_bound = bool(progress[1]), bounds[-1]
            n_iter = len(bounds)
        self.weights_, self.means_, self.precisions_cholesky_, self.covariances_ = (
            weights, means, precisions_cholesky, covariances)
        bounds = [dtype.type(b) for b in bounds]
        return bounds[-1], n_iter, converged, bounds

    def _get_parameters(self):
        return self.weights_, self.means_, self.covariances_, self.precisions_cholesky_

    def _set_parameters(self, params):
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = params
        chol = self.precisions_cholesky_
        if self.covariance_type == "full":
            self.precisions_ = chol @ np.swapaxes(chol, 1, 2)
        elif self.covariance_type == "tied":
            self.precisions_ = chol @ chol.T
        else:
            self.precisions_ = chol ** 2

    # ---- verbose output, as scikit-learn prints it -----------------------

    def _print_verbose_msg_init_beg(self, n_init):
        if self.verbose >= 1:
            print("Initialization %d" % n_init)
        if self.verbose >= 2:
            self._init_prev_time = time()
            self._iter_prev_time = self._init_prev_time

    def _print_verbose_msg_iter_end(self, n_iter, diff_ll):
        if n_iter % self.verbose_interval != 0:
            return
        if self.verbose == 1:
            print("  Iteration %d" % n_iter)
        elif self.verbose >= 2:
            now = time()
            print("  Iteration %d\t time lapse %.5fs\t ll change %.5f" % (n_iter, now - self._iter_prev_time, diff_ll))
            self._iter_prev_time = now

    def _print_verbose_msg_init_end(self, lower_bound, converged):
        state = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {state}.")
        elif self.verbose >= 2:
            lapse = time() - self._init_prev_time
            print(f"Initialization {state}. time lapse {lapse:.5f}s\t lower bound {lower_bound:.5f}.")

    # ---- the fitted model --------------------------------------------------

    def _model_inputs(self, X):
        """X validated against the fit, and (X, weights, means, precision
        factors) in the dtype NumPy would compute them in (X where the
        kernels run), with the kernel."""
        check_is_fitted(self)
        context, given = _placement.context_of(X), X
        X = _placement.validated(self, X, validate_data, reset=False)
        dtype = np.result_type(X.dtype, self.means_.dtype)
        if dtype not in (np.float32, np.float64):
            dtype = np.dtype(np.float64)
        if X.dtype != dtype:
            X = np.ascontiguousarray(host(X), dtype=dtype)  # uploaded again by kernel_input where the kernels run there
        model = (np.ascontiguousarray(a, dtype=dtype) for a in (self.weights_, self.means_, self.precisions_cholesky_))
        kernel = gmm_kernel(self.covariance_type, self.means_.shape[0], self.means_.shape[1])
        return kernel, (_placement.kernel_input(context, given, X), *model)

    def _predict_validated(self, X):
        """predict() on X as the fit's kernels took it."""
        kernel = gmm_kernel(self.covariance_type, self.means_.shape[0], self.means_.shape[1])
        dtype = X.dtype
        return host(kernel.run("predict", X, *(np.ascontiguousarray(a, dtype=dtype)
                                               for a in (self.weights_, self.means_, self.precisions_cholesky_))))

    def score_samples(self, X):
        """The log-likelihood of each sample of X under the model (N,)."""
        kernel, values = self._model_inputs(X)
        return host(kernel.run("score_samples", *values))

    def score(self, X, y=None):
        """The mean log-likelihood of the samples of X."""
        return float(np.mean(self.score_samples(X)))

    def predict(self, X):
        """The most probable component of each sample of X (int64)."""
        kernel, values = self._model_inputs(X)
        return host(kernel.run("predict", *values))

    def predict_proba(self, X):
        """The posterior probability of each component for each sample (N, M)."""
        kernel, values = self._model_inputs(X)
        log_resp = host(kernel.run("e_step", *values)[0])
        return np.exp(log_resp, out=log_resp)

    def sample(self, n_samples=1):
        """n_samples points drawn from the mixture (float64) and the
        component each came from (int64), grouped by component; drawn from
        random_state as scikit-learn draws them."""
        check_is_fitted(self)
        if n_samples < 1:
            # scikit-learn's text, which formats n_components.
            raise ValueError("Invalid value for 'n_samples': %d . The sampling requires at least one sample."
                             % (self.n_components))
        n_features = self.means_.shape[1]
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        if self.covariance_type == "full":
            parts = [rng.multivariate_normal(mean, covariance, int(count))
                     for mean, covariance, count in zip(self.means_, self.covariances_, counts)]
        elif self.covariance_type == "tied":
            parts = [rng.multivariate_normal(mean, self.covariances_, int(count))
                     for mean, count in zip(self.means_, counts)]
        else:
            parts = [mean + rng.standard_normal(size=(count, n_features)) * np.sqrt(covariance)
                     for mean, covariance, count in zip(self.means_, self.covariances_, counts)]
        labels = np.concatenate([np.full(int(count), k, dtype=np.int64) for k, count in enumerate(counts)])
        return np.asarray(np.vstack(parts), dtype=np.float64), labels

    # ---- what runs ------------------------------------------------------------

    def explain(self, X):
        """Whether EM on X runs code the daemon generated for this model's
        covariance type, n_components and X's features and dtype, and why
        not if it does not; the target it runs on (the CPU, or an OpenCL
        device), the kernel's key, variant and entry points, and which code
        ran its last call."""
        X = _placement.as_kernel_input(X)
        return gmm_kernel(self.covariance_type, self.n_components, X.shape[1]).explain(X)

    def source(self, X):
        """The C++ the daemon generates for EM on X with this model's shape
        (on OpenCL, its host part with the OpenCL C program it builds)."""
        X = _placement.as_kernel_input(X)
        return gmm_kernel(self.covariance_type, self.n_components, X.shape[1]).source(X)

    def _n_parameters(self):
        """The model's free parameters."""
        n_features = self.means_.shape[1]
        covariance_params = {"full": self.n_components * n_features * (n_features + 1) / 2.0,
                             "diag": self.n_components * n_features,
                             "tied": n_features * (n_features + 1) / 2.0,
                             "spherical": self.n_components}[self.covariance_type]
        return int(covariance_params + n_features * self.n_components + self.n_components - 1)

    def bic(self, X):
        """Bayesian information criterion on X (lower is better)."""
        n_samples = _n_samples(X)
        return -2 * self.score(X) * n_samples + self._n_parameters() * math.log(n_samples)

    def aic(self, X):
        """Akaike information criterion on X (lower is better)."""
        return -2 * self.score(X) * _n_samples(X) + 2 * self._n_parameters()


def _n_samples(X):
    shape = getattr(X, "shape", None)
    return shape[0] if shape is not None else len(X)
