"""The OpenCL target's GMM cases (issue 20's GPU rows): GaussianMixture EM
in float32 on the GPU, against scikit-learn on the machine's CPUs and
scikit-learn on PyTorch CUDA tensors (array_api_dispatch=True), plus EM
written in PyTorch the way scikit-learn computes it (gpu_gmm_impls.py), in
case scikit-learn's array API path cannot run there.

    G1g: full covariance, N=2,000,000, D=16, M=16
    G2g: diag covariance, N=10,000,000, D=32, M=64

The data and initial parameters are gmm.py's (blobs plus noise, one row of
each blob as its mean, identity precisions), drawn in float64 and cast to
float32. Every implementation runs ITERATIONS EM iterations from them with
tol=0; only fit(X) is timed, with X already where the implementation keeps
it (NumPy for scikit-learn on the CPU, a CUDA tensor, a sejits device
array). scikit-learn on the CPU is timed once (its fit takes minutes); its
fit is the reference the others are checked against: float32 EM amplifies
rounding over the iterations, so means_ and lower_bound_ agree to RTOL
(normwise), weights_ and covariances_ are not compared.

limit_s is the compute bound: gmm.py's flops of the iterations over the
GPU's float32 peak, measured as the best rate of a large float32 matrix
product in PyTorch with TF32 off (gpu_gmm_impls.measured_float32_peak);
without PyTorch there is no limit.
"""

import time
from dataclasses import dataclass

import numpy as np

import gmm
import gmm_reference
import gpu_gmm_impls
from measure import Result, describe, mismatch, progress

ITERATIONS = 10
RTOL = 1e-3  # float32 on both sides, different summation orders, over ITERATIONS iterations
SEED = 20240621


@dataclass(frozen=True)
class GpuGmmCase:
    name: str
    covariance_type: str
    n_samples: int  # at --size full; small divides it by SMALL_DIVISOR
    n_features: int
    n_components: int
    flops_per_iteration: object

    def as_cpu_case(self):
        return gmm.GmmCase(self.name, self.covariance_type, self.n_samples, self.n_features, self.n_components,
                           self.flops_per_iteration)


GPU_GMM_CASES = [
    GpuGmmCase("G1g", "full", 2_000_000, 16, 16, gmm.full_covariance_flops),
    GpuGmmCase("G2g", "diag", 10_000_000, 32, 64, gmm.diag_covariance_flops),
]
SMALL_DIVISOR = 200  # --size small: PoCL on a 2-core CPU in a minute


def fit_mismatch(fitted, reference):
    for name in ("means", "lower_bound"):
        error = mismatch(np.asarray(fitted[name], np.float64), np.asarray(reference[name], np.float64), RTOL)
        if error:
            return f"{name}: {error}"
    return None


def measure_gpu_fit(case, impl, fit, X, init, reference, repeats, limit_s):
    """One checked warm-up fit, then `repeats` timed ones (each synced)."""
    result = Result(case.name, impl, limit_s=limit_s, target="opencl")
    try:
        progress(case.name, impl, "prepare")
        run = fit(case, X, init, ITERATIONS)
        progress(case.name, impl, "warm-up fit (checked)")
        start = time.perf_counter()
        fitted = run()
        first_fit_s = time.perf_counter() - start
        if reference is not None:
            result.error = fit_mismatch(fitted, reference)
            if result.error:
                return result
        for repeat in range(1, repeats + 1):
            progress(case.name, impl, f"repeat {repeat}/{repeats}")
            start = time.perf_counter()
            run()
            result.samples.append(time.perf_counter() - start)
        result.extra = {"per_iter_s": result.median_s / ITERATIONS, "first_fit_s": first_fit_s}
    except Exception as exc:  # any failure of the implementation is a result
        result.samples, result.error = [], describe(exc)
    finally:
        gpu_gmm_impls.release_memory()
    return result


def measure_reference(case, X, init, limit_s):
    """scikit-learn on the CPU: one timed fit, which is also the reference."""
    result = Result(case.name, "sklearn", limit_s=limit_s, target="opencl")
    try:
        progress(case.name, "sklearn", "fit (timed once; the reference of the others)")
        run = gpu_gmm_impls.sklearn_cpu(case, X, init, ITERATIONS)
        start = time.perf_counter()
        fitted = run()
        result.samples = [time.perf_counter() - start]
        result.extra = {"per_iter_s": result.samples[0] / ITERATIONS}
        return result, fitted
    except Exception as exc:
        result.error = describe(exc)
        return result, None


def run_gpu_gmm(settings):
    """settings: gpu.GpuSettings (device_spec, repeats, size)."""
    small = settings.size.elements < 2**24
    peak_flops = gpu_gmm_impls.measured_float32_peak()
    progress(f"GPU float32 peak: {peak_flops / 1e12:.1f} TFLOP/s (torch matmul, TF32 off)" if peak_flops
             else "GPU float32 peak: not measured (no PyTorch with CUDA): no limits")
    repeats = min(settings.repeats, 3)
    for case in GPU_GMM_CASES:
        n_samples = case.n_samples // SMALL_DIVISOR if small else case.n_samples
        progress(case.name, f"GMM EM, {case.covariance_type}, N={n_samples}, D={case.n_features}, "
                            f"M={case.n_components}, {ITERATIONS} iterations, float32")
        X64, init = gmm.draw_case(case.as_cpu_case(), n_samples, SEED)
        X = X64.astype(np.float32)
        del X64
        init = gmm_reference.InitialParameters(*(np.asarray(a, np.float32) for a in (init.weights, init.means,
                                                                                       init.precisions)))
        limit_s = ITERATIONS * case.flops_per_iteration(n_samples, case.n_features, case.n_components) / peak_flops \
            if peak_flops else None
        result, reference = measure_reference(case, X, init, limit_s)
        progress(case.name, "sklearn", f"{result.median_s:.3g} s" if result.ok else f"FAILED: {result.error}")
        yield result
        for impl, fit in gpu_gmm_impls.GPU_GMM_IMPLS.items():
            if gpu_gmm_impls.peer_of(impl) in settings.peers_missing:
                continue
            measured = measure_gpu_fit(case, impl, fit(settings.device_spec), X, init, reference, repeats, limit_s)
            progress(case.name, impl, f"per iteration {measured.extra['per_iter_s']:.3g} s" if measured.ok
                     else f"FAILED: {measured.error}")
            yield measured
        del X
