"""Where the estimator's kernels run: on X's OpenCL device when X is a
sejits.opencl device array, on the configured one under
sejits.target("opencl"), else on the CPU.

A device array of float32 or float64 with two dimensions stays on its
device: its values are checked there (one reduction: are they all
finite?), the rest of scikit-learn's checks run on its first two rows, and
it is copied to the host only where an initialisation reads its values
(k-means, k-means++, random_from_data). Any other X is validated on the
host as scikit-learn does (a device array copied there), and the kernels
take it on the device when they run there: uploaded once per fit or method
call. The fitted attributes are NumPy arrays, as scikit-learn's: the
kernels' outputs are brought back to the host."""

import functools

import numpy as np

import sejits
from sejits import _device_calls


@sejits.reduce("any")
def _any_not_finite(v):
    return ~np.isfinite(v)


def context_of(X):
    """The OpenCL context the kernels on X run in, or None for the CPU."""
    return _device_calls.context_for((X,))


def validated(estimator, X, validate_data, reset, **check_params):
    """X as scikit-learn's validate_data(estimator, X, reset, **check_params)
    leaves it, C-contiguous on the host, or the device array itself where it
    can stay on its device (see above); validation errors as
    scikit-learn's."""
    if _stays_on_device(X):
        validate_data(estimator, X[:2].get(), reset=reset, **check_params)
        return X
    return np.ascontiguousarray(validate_data(estimator, X, reset=reset, **check_params))


def _stays_on_device(X):
    if not (_device_calls.is_device_array(X) and X.ndim == 2 and X.dtype in (np.float32, np.float64)
            and X.shape[0] >= 2 and X.shape[1] >= 1):
        return False
    try:
        return not bool(host(_any_not_finite(X)))
    except sejits.SpecializationError:
        return False  # validated on the host, as any other X


def host_values(X):
    """X's values as NumPy, copied from its device at most once."""
    return functools.cache(lambda: host(X))


def kernel_input(context, given, validated):
    """The X the kernels take: `validated` (NumPy) on the CPU; on a device,
    `given` when it is a device array that validation left as it was (its
    dtype and shape), else `validated` copied to the device."""
    if context is None:
        return validated
    if _device_calls.is_device_array(given) and given.dtype == validated.dtype and given.shape == validated.shape:
        return given
    return context.asarray(validated)


def as_kernel_input(X):
    """X for explain() and source(): a device array as it is (the kernels'
    dtypes: float32 kept, others float64), anything else as NumPy."""
    import numpy as np

    if not _device_calls.is_device_array(X):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
        return X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
    return X if X.dtype in (np.float32, np.float64) else X.context.asarray(X, np.float64)


def host(value):
    """A kernel's output as NumPy (a device call's outputs stay on the device when X is there)."""
    return value.get() if _device_calls.is_device_array(value) else value
