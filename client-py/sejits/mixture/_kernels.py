"""The gmm specializer's kernels: one sejits.LibraryKernel per covariance
type, number of components and number of features (the daemon generates
code for those; N and the dtype stay call-time), kept for the process."""

import threading

from sejits._library import Array, LibraryKernel
from sejits.mixture import _reference

_kernels = {}
_lock = threading.Lock()


def gmm_kernel(covariance_type, n_components, n_features):
    """The kernel of this model shape; its entry points (run by role) are
    those of _reference.ENTRY_POINTS."""
    key = (covariance_type, int(n_components), int(n_features))
    kernel = _kernels.get(key)
    if kernel is None:
        with _lock:
            kernel = _kernels.get(key)
            if kernel is None:
                kernel = LibraryKernel(
                    "gmm",
                    params={"covariance_type": key[0], "n_components": key[1], "n_features": key[2]},
                    arguments=[Array("X", ndim=2, dtypes=("float32", "float64"))],
                    reference=_reference.ENTRY_POINTS, name="GaussianMixture")
                _kernels[key] = kernel
    return kernel
