"""Describing call arguments: the signature that keys the in-memory dispatch
map, and the descriptors sent to the daemon."""

import numpy as np

from sejits import _device_calls, _masked, _native
from sejits._errors import SpecializationError

# What each Python scalar type is, as a signature element and as a weak dtype.
PYTHON_SCALARS = {bool: ("b", np.dtype(np.bool_)), int: ("i", np.dtype(np.int64)), float: ("f", np.dtype(np.float64))}
# A Python int in [2**63, 2**64): NumPy takes it with uint64 arrays, so it is
# described as a weak uint64 (the native fast path's "I").
UINT64_PYTHON_INT = ("I", np.dtype(np.uint64))


def python_scalar(value):
    """(signature letter, weak dtype) of a Python scalar; None for anything else."""
    scalar = PYTHON_SCALARS.get(type(value))
    if scalar is not None and type(value) is int and 2**63 <= value < 2**64:
        return UINT64_PYTHON_INT
    return scalar
MAX_RANK = _native.MAX_RANK  # the kernel ABI's SEJITS_MAX_RANK
# The dtypes kernels take: the kernel ABI's table (SEJITS_DTYPES in kernel_abi.h).
SUPPORTED_DTYPES = frozenset(np.dtype(name) for _, name in _native.DTYPES)


def signature_element(value):
    """Hashable and cheap: the dtype number for arrays, a letter for Python
    scalars, ("s", number) for NumPy scalars, None for anything else."""
    kind = type(value)
    if kind is np.ndarray:
        if not value.dtype.isnative or value.ndim > MAX_RANK:
            return None  # normalize() converts or refuses it
        return value.dtype.num
    scalar = python_scalar(value)
    if scalar is not None:
        return scalar[0]
    if isinstance(value, np.generic):
        return ("s", value.dtype.num)
    if _device_calls.is_device_array(value):
        return ("d", value.dtype.num, value.ndim)
    return None


def normalize(value, position):
    """Lists, tuples and other array-likes become arrays; unsupported types raise."""
    if type(value) is np.ndarray or type(value) in PYTHON_SCALARS or isinstance(value, np.generic):
        result = value
    elif _masked.is_masked(value):
        raise SpecializationError(_masked.refusal((value,)).replace("argument 0", f"argument {position}"))
    elif isinstance(value, np.ndarray):
        result = np.asarray(value)  # subclasses are computed on as plain arrays
    elif isinstance(value, complex):
        raise SpecializationError(f"argument {position} is a complex number; sejits supports bool, int and float")
    else:
        try:
            result = np.asarray(value)
        except Exception as error:  # noqa: BLE001 - any conversion failure is the user's input
            raise SpecializationError(f"argument {position} ({type(value).__name__}) is not array-like: {error}") from None
    if isinstance(result, np.ndarray) and result.ndim > MAX_RANK:
        raise SpecializationError(f"argument {position} has rank {result.ndim}; sejits kernels take ranks up to {MAX_RANK}")
    dtype = result.dtype if isinstance(result, (np.ndarray, np.generic)) else None
    if dtype is not None and dtype not in SUPPORTED_DTYPES:
        if not dtype.isnative and dtype.newbyteorder("=") in SUPPORTED_DTYPES:
            return result.astype(dtype.newbyteorder("="))
        raise SpecializationError(f"argument {position} has dtype {dtype}, which sejits does not support "
                                  "(bool, int8..int64, uint8..uint64, float32, float64)")
    return result


def describe(value, pb, dtype_code):
    """An ArgDescriptor message for one (normalized) argument."""
    scalar = python_scalar(value)
    if scalar is not None:
        return pb.ArgDescriptor(kind=pb.SCALAR, dtype=dtype_code(scalar[1]), weak=True)
    if isinstance(value, np.generic):
        return pb.ArgDescriptor(kind=pb.SCALAR, dtype=dtype_code(value.dtype), weak=False)
    if _device_calls.is_device_array(value):  # users' views are C-contiguous; a reduction's laid-out views may not be
        return pb.ArgDescriptor(kind=pb.ARRAY, dtype=dtype_code(value.dtype), rank=value.ndim, shape=value.shape,
                                strides=value.strides, c_contiguous=value._is_contiguous(), access=pb.READ)
    return pb.ArgDescriptor(kind=pb.ARRAY, dtype=dtype_code(value.dtype), rank=value.ndim, shape=value.shape,
                            strides=value.strides, c_contiguous=value.flags.c_contiguous, access=pb.READ)


def scalar_code(value, dtype_code):
    """How the native layer passes an argument: 0 for arrays, else the dtype code."""
    scalar = python_scalar(value)
    if scalar is not None:
        return dtype_code(scalar[1])
    if isinstance(value, np.generic):
        return dtype_code(value.dtype)
    return 0


def describe_signature(args):
    """Readable: (python float, float64[2-D], ...)."""
    parts = []
    for value in args:
        if type(value) in PYTHON_SCALARS:
            parts.append(f"python {type(value).__name__}")
        elif isinstance(value, np.generic):
            parts.append(f"{value.dtype} scalar")
        elif _device_calls.is_device_array(value):
            parts.append(f"{value.dtype}[{value.ndim}-D, on {value.context.name}]")
        else:
            layout = "" if value.flags.c_contiguous else ", strided"
            parts.append(f"{value.dtype}[{value.ndim}-D{layout}]")
    return "(" + ", ".join(parts) + ")"
