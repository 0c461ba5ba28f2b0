"""Where the estimator's kernels run: on X's OpenCL device when X is a
sejits.opencl device array, on the configured one under
sejits.target("opencl"), else on the CPU.

On a device, X is validated on a host copy (scikit-learn's checks, and the
initialisations, need NumPy) and the kernels take it on the device: as it
is when it came as a device array, uploaded once per fit or method call
when it came from the host. The fitted attributes are NumPy arrays, as
scikit-learn's: the kernels' outputs are brought back to the host."""

from sejits import _device_calls


def context_of(X):
    """The OpenCL context the kernels on X run in, or None for the CPU."""
    return _device_calls.context_for((X,))


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
