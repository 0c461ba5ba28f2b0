"""The implementations of a GMM case: estimators with scikit-learn's
constructor, built from the case's initial parameters, of which only `fit(X)`
is timed.

Both start from the same weights_init, means_init and precisions_init, with
tol=0 and max_iter iterations, so both run exactly that many EM iterations
from the same point. Neither side's initialisation is timed: sejits skips it
when all three arrays are given; scikit-learn would still compute init_params'
responsibilities and one M-step from them, then discard them for the given
arrays, so its estimator here starts from the given arrays at once (its own
`_initialize` with no responsibilities, the path scikit-learn takes for the
arrays). Its fit keeps everything else, including the final E-step it runs
after the loop for fit_predict's labels.
"""

import warnings

NOT_CONVERGED = "Best performing initialization did not converge"  # both sides warn so under tol=0
REG_COVAR = 1e-6
RANDOM_STATE = 0  # unused with every *_init given; set so nothing depends on the clock


def estimator_arguments(case, init, max_iter):
    return dict(
        n_components=case.n_components,
        covariance_type=case.covariance_type,
        tol=0.0,
        reg_covar=REG_COVAR,
        max_iter=max_iter,
        weights_init=init.weights,
        means_init=init.means,
        precisions_init=init.precisions,
        random_state=RANDOM_STATE,
    )


def sklearn_estimator(case, init, max_iter):
    from sklearn.mixture import GaussianMixture

    class GivenStartGaussianMixture(GaussianMixture):
        """scikit-learn's GaussianMixture, minus the initialisation whose
        result it discards when weights_init, means_init and precisions_init
        are all given."""

        def _initialize_parameters(self, X, random_state, xp=None):
            self._initialize(X, None, xp=xp)

    return GivenStartGaussianMixture(**estimator_arguments(case, init, max_iter))


def sejits_estimator(case, init, max_iter):
    from sejits.mixture import GaussianMixture

    return GaussianMixture(**estimator_arguments(case, init, max_iter))


def fit(estimator, X):
    """estimator.fit(X), without the ConvergenceWarning that tol=0 gives."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=NOT_CONVERGED)
        return estimator.fit(X)


GMM_IMPLS = {
    "sklearn": sklearn_estimator,
    "sejits": sejits_estimator,
}
