"""The implementations of the OpenCL target's GMM cases (gpu_gmm.py).

Each builder takes the device spec and returns fit(case, X, init, max_iter),
which moves X (NumPy float32) where the implementation keeps it, once, and
returns run(): one fit from `init` with tol=0, synced, returning
{"means": NumPy array, "lower_bound": float}.

- sklearn: scikit-learn on the CPU (all cores), NumPy X: the reference.
- torch-sklearn: scikit-learn with array_api_dispatch=True on CUDA tensors
  (it needs SCIPY_ARRAY_API=1 in the environment before SciPy is imported:
  deploy/gpu/run_h100.sh sets it).
- torch-em: EM in PyTorch written as scikit-learn computes it
  (sklearn/mixture/_gaussian_mixture.py: the expanded diag form, a
  triangular product per component for full, logsumexp, resp^T X), for when
  scikit-learn's array API path does not take GaussianMixture.
- sejits: sejits.mixture.GaussianMixture under sejits.target("opencl") on a
  sejits device array.
"""

import math
import sys

from gmm_impls import fit, sejits_estimator, sklearn_estimator
from gpu_impls import peer_of, sejits_context  # noqa: F401  (peer_of: gpu_gmm skips missing peers)
from gpu_measure import release_device_memory

PEAK_EDGE = 8192  # the square float32 matrix product that measures the peak
PEAK_RUNS = 5


def release_memory():
    release_device_memory()


def _fitted(estimator):
    means = estimator.means_
    means = means.cpu().numpy() if hasattr(means, "cpu") else means
    return {"means": means, "lower_bound": float(estimator.lower_bound_)}


def sklearn_cpu(case, X, init, max_iter):
    def run():
        return _fitted(fit(sklearn_estimator(case, init, max_iter), X))
    return run


def _torch():
    import torch

    return torch


def _cuda(array):
    torch = _torch()
    return torch.asarray(array, device="cuda")


def torch_sklearn(device_spec):
    def build(case, X, init, max_iter):
        import sklearn

        torch = _torch()
        X_cuda = _cuda(X)
        init_cuda = type(init)(*(_cuda(a) for a in (init.weights, init.means, init.precisions)))

        def run():
            with sklearn.config_context(array_api_dispatch=True):
                # init_params is unused with every *_init given, but the array
                # API path refuses the default "kmeans" before it looks.
                estimator = sklearn_estimator(case, init_cuda, max_iter).set_params(init_params="random")
                fit(estimator, X_cuda)
            torch.cuda.synchronize()
            return _fitted(estimator)
        return run
    return build


# ---- EM in PyTorch, scikit-learn's formulas ------------------------------------


def _log_gaussian_prob(X, means, precisions_chol, covariance_type):
    torch = _torch()
    n_features = X.shape[1]
    if covariance_type == "diag":
        log_det = torch.log(precisions_chol).sum(1)
        precisions = precisions_chol ** 2
        log_prob = ((means ** 2 * precisions).sum(1) - 2.0 * X @ (means * precisions).T + (X ** 2) @ precisions.T)
    else:  # full
        log_det = torch.log(torch.diagonal(precisions_chol, dim1=1, dim2=2)).sum(1)
        log_prob = torch.empty((X.shape[0], means.shape[0]), dtype=X.dtype, device=X.device)
        for k in range(means.shape[0]):
            y = X @ precisions_chol[k] - means[k] @ precisions_chol[k]
            log_prob[:, k] = (y ** 2).sum(1)
    return -0.5 * (n_features * math.log(2 * math.pi) + log_prob) + log_det


def _e_step(X, weights, means, precisions_chol, covariance_type):
    torch = _torch()
    weighted = _log_gaussian_prob(X, means, precisions_chol, covariance_type) + torch.log(weights)
    log_prob_norm = torch.logsumexp(weighted, dim=1)
    return log_prob_norm.mean(), weighted - log_prob_norm[:, None]


def _m_step(X, log_resp, covariance_type, reg_covar):
    torch = _torch()
    resp = torch.exp(log_resp)
    nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps
    means = resp.T @ X / nk[:, None]
    if covariance_type == "diag":
        covariances = resp.T @ (X * X) / nk[:, None] - means ** 2 + reg_covar
        precisions_chol = 1.0 / torch.sqrt(covariances)
    else:
        n_features = X.shape[1]
        eye = torch.eye(n_features, dtype=X.dtype, device=X.device)
        covariances = torch.empty((means.shape[0], n_features, n_features), dtype=X.dtype, device=X.device)
        for k in range(means.shape[0]):
            diff = X - means[k]
            covariances[k] = (resp[:, k] * diff.T) @ diff / nk[k] + reg_covar * eye
        lower = torch.linalg.cholesky(covariances)
        precisions_chol = torch.linalg.solve_triangular(lower, eye.expand_as(lower), upper=False).transpose(1, 2)
    return nk / nk.sum(), means, precisions_chol


def _initial_precisions_chol(precisions, covariance_type):
    torch = _torch()
    if covariance_type == "diag":
        return torch.sqrt(precisions)
    return torch.linalg.cholesky(precisions)  # scikit-learn: linalg.cholesky(precisions_init, lower=True)


def torch_em(device_spec):
    def build(case, X, init, max_iter):
        torch = _torch()
        X_cuda = _cuda(X)
        start = [_cuda(init.weights), _cuda(init.means), _initial_precisions_chol(_cuda(init.precisions),
                                                                                  case.covariance_type)]

        def run():
            weights, means, precisions_chol = start
            lower_bound = None
            for _ in range(max_iter):
                lower_bound, log_resp = _e_step(X_cuda, weights, means, precisions_chol, case.covariance_type)
                weights, means, precisions_chol = _m_step(X_cuda, log_resp, case.covariance_type, 1e-6)
            _e_step(X_cuda, weights, means, precisions_chol, case.covariance_type)  # scikit-learn's final E-step
            torch.cuda.synchronize()
            return {"means": means.cpu().numpy(), "lower_bound": float(lower_bound)}
        return run
    return build


# ---- sejits -------------------------------------------------------------------------


def sejits_opencl(device_spec):
    def build(case, X, init, max_iter):
        import sejits

        context = sejits_context(device_spec)
        X_device = context.asarray(X)

        def run():
            with sejits.target("opencl", device=device_spec):
                estimator = fit(sejits_estimator(case, init, max_iter), X_device)
            context.finish()
            return _fitted(estimator)
        return run
    return build


def measured_float32_peak():
    """The best float32 rate of an 8192^3 matrix product on the CUDA device
    (TF32 off: true float32 FMAs), flop/s; None without PyTorch and CUDA."""
    if "torch" not in sys.modules:
        try:
            import torch  # noqa: F401
        except ImportError:
            return None
    torch = _torch()
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    a = torch.rand((PEAK_EDGE, PEAK_EDGE), device="cuda")
    b = torch.rand((PEAK_EDGE, PEAK_EDGE), device="cuda")
    best = math.inf
    for _ in range(PEAK_RUNS + 1):  # the first run warms up
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch.mm(a, b)
        stop.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(stop) / 1e3)
    del a, b
    return 2 * PEAK_EDGE ** 3 / best


GPU_GMM_IMPLS = {
    "torch-sklearn": torch_sklearn,
    "torch-em": torch_em,
    "sejits": sejits_opencl,
}
