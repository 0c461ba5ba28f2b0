"""Gaussian mixtures fitted by EM in generated native code:
sejits.mixture.GaussianMixture, a drop-in for sklearn.mixture.GaussianMixture.

    from sejits.mixture import GaussianMixture
    gm = GaussianMixture(n_components=16, covariance_type="full", random_state=0).fit(X)
    labels, proba = gm.predict(X), gm.predict_proba(X)
"""

from sejits.mixture._estimator import GaussianMixture

__all__ = ["GaussianMixture"]
