"""The implementations of the OpenCL target's reduction cases (R1, R2r, R2c),
each built into a DeviceCall (gpu_measure.py).

Builders take (case, inputs, device_spec): `case` is one of the CPU suite's
sums (reductions.REDUCTION_CASES: a map, summed over case.axis), `inputs`
NumPy float32 arrays, copied to the device once; the timed call reduces data
already there and gives float32, as NumPy's sum of float32 does. A full
reduction (axis=None) ends with its value on the host in every
implementation: sejits returns a NumPy scalar, so the peers' 0-d device
arrays are copied back inside their calls too (each row then includes one
wait for the device and a 4-byte copy). Axis reductions return device arrays.
"""

import numpy as np

from gpu_impls import _cupy, _cupy_sync, _tensor_to_host, _to_cuda, _torch, device_to_host, sejits_context
from gpu_measure import DeviceCall
from reduction_impls import sejits_reduction


def _full_reduction(case):
    return case.axis is None


# --- sejits ------------------------------------------------------------------


def _sejits_to_host(output):
    """A NumPy scalar (full reduction) or a DeviceArray, as a NumPy array."""
    return np.asarray(device_to_host(output))


def sejits_device_sum(case, inputs, device_spec):
    """sejits.reduce("sum") of the case's map on device arrays, as a user calls
    it: a NumPy scalar for a full reduction, a new device array otherwise."""
    context = sejits_context(device_spec)
    kernel = sejits_reduction(case)
    args = [context.asarray(x) for x in inputs]
    return DeviceCall(lambda: kernel(*args, axis=case.axis), _sejits_to_host, context.finish)


# --- CuPy --------------------------------------------------------------------

# The cases' maps in CUDA C, by the map's name (R2r and R2c share one):
# (input parameters, map expression). Not named a or b: in a ReductionKernel's
# reduce expression those are the two values combined.
CUPY_MAPS = {
    "square": ("T x", "x * x"),
    "squared_difference": ("T x, T y", "(x - y) * (x - y)"),
}


def _cupy_sum_kernel(case):
    """The map fused into one cupy.ReductionKernel summing in T (float32)."""
    params, map_expr = CUPY_MAPS[case.map.__name__]
    return _cupy().ReductionKernel(params, "T z", map_expr, "a + b", "z = a", "0", f"bench_{case.name.lower()}")


def _cupy_to_host(output):
    return output if isinstance(output, np.ndarray) else _cupy().asnumpy(output)


def cupy_sum(case, inputs, device_spec):
    """The fused ReductionKernel over case.axis (CuPy picks its CUB or its own
    block reduction, as for any user's kernel)."""
    cp = _cupy()
    kernel = _cupy_sum_kernel(case)
    args = [cp.asarray(x) for x in inputs]

    def run():
        total = kernel(*args, axis=case.axis)
        return cp.asnumpy(total) if _full_reduction(case) else total

    return DeviceCall(run, _cupy_to_host, _cupy_sync)


# --- PyTorch -----------------------------------------------------------------

# The cases as a PyTorch user writes them (the map's temporaries included);
# `torch` is the first argument.
TORCH_SUMS = {
    "R1": lambda torch, x: torch.sum(x * x),
    "R2r": lambda torch, a, b: torch.sum((a - b) ** 2, dim=1),
    "R2c": lambda torch, a, b: torch.sum((a - b) ** 2, dim=0),
}


def _torch_to_host(output):
    return output if isinstance(output, np.ndarray) else _tensor_to_host(output)


def torch_sum(case, inputs, device_spec):
    """torch.sum of the map's tensor on CUDA tensors."""
    torch = _torch()
    expression = TORCH_SUMS[case.name]
    args = [_to_cuda(x) for x in inputs]

    def run():
        total = expression(torch, *args)
        return _tensor_to_host(total) if _full_reduction(case) else total

    return DeviceCall(run, _torch_to_host, torch.cuda.synchronize)


REDUCTION_DEVICE_IMPLS = {
    "sejits-device": sejits_device_sum,
    "cupy": cupy_sum,
    "torch": torch_sum,
}
