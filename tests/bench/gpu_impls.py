"""The implementations of the OpenCL target's cases, each built into a
DeviceCall (gpu_measure.py).

Element-wise builders take (case, inputs, device_spec); stencil builders
take (case, grid, steps, device_spec). Inputs are NumPy float32 arrays; a
builder copies them to the device once, and its timed call runs on data
already there ("-host" implementations: NumPy in, NumPy out, transfers
included). sejits runs the same Python functions as the CPU suites; CuPy and
PyTorch are the peers, as a user of each would write the kernel.
"""

import functools
import importlib

import numpy as np

from gpu_measure import DeviceCall
from measure import describe
from stencil_impls import ping_pong, sejits_stencil

PEERS = ("cupy", "torch")


def peer_of(impl):
    """The peer library an implementation needs, or None for sejits."""
    library = impl.split("-")[0]
    return library if library in PEERS else None


def peers_missing():
    """peer -> why it cannot run here (not importable, or no CUDA device)."""
    missing = {}
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            missing["cupy"] = "no CUDA device"
    except Exception as exc:
        missing["cupy"] = describe(exc)
    try:
        import torch

        if not torch.cuda.is_available():
            missing["torch"] = "torch.cuda.is_available() is False"
    except Exception as exc:
        missing["torch"] = describe(exc)
    return missing


# --- sejits ------------------------------------------------------------------


def sejits_opencl():
    """The sejits.opencl module (a submodule, or an attribute that loads it)."""
    import sejits

    opencl = getattr(sejits, "opencl", None)
    return opencl if opencl is not None else importlib.import_module("sejits.opencl")


@functools.cache
def sejits_context(device_spec):
    """One context per device for the whole run, as a user would keep it."""
    return sejits_opencl().context(device=device_spec)


def device_to_host(array):
    """A sejits DeviceArray's contents as a NumPy array."""
    for name in ("get", "to_numpy", "numpy"):
        method = getattr(array, name, None)
        if callable(method):
            return method()
    return np.asarray(array)


def sejits_device_elementwise(case, inputs, device_spec):
    import sejits

    context = sejits_context(device_spec)
    kernel = sejits.elementwise(case.kernel)
    args = [context.asarray(x) for x in inputs]
    out = context.empty_like(args[0])

    def run():
        kernel(*args, out=out)
        return out

    return DeviceCall(run, device_to_host, context.finish)


def sejits_host_elementwise(case, inputs, device_spec):
    import sejits

    context = sejits_context(device_spec)
    kernel = sejits.elementwise(case.kernel)

    def run():
        with sejits.target("opencl", device=device_spec):
            return kernel(*inputs)

    return DeviceCall(run, lambda output: output, context.finish)


def sejits_device_iterate(case, grid, steps, device_spec):
    """`iterate` on a device grid, as a user calls it: a new output per call."""
    context = sejits_context(device_spec)
    kernel = sejits_stencil(case.point)
    device_grid = context.asarray(grid)
    return DeviceCall(lambda: kernel.iterate(device_grid, steps=steps), device_to_host, context.finish)


def sejits_device_out_stencil(case, grid, steps, device_spec):
    """One call per sweep, `kernel(a, out=b)`, ping-ponging between two device
    copies of the grid (their border is the grid's, as the peers')."""
    context = sejits_context(device_spec)
    kernel = sejits_stencil(case.point)
    device_grid = context.asarray(grid)
    buffers = (device_grid.copy(), device_grid.copy())

    def sweep(a, out):
        kernel(a, out=out)

    return DeviceCall(lambda: ping_pong(sweep, device_grid, buffers, steps), device_to_host, context.finish)


# --- CuPy --------------------------------------------------------------------

# The cases' expressions in CUDA C, on float32 (T): what cases.py computes.
CUPY_ELEMENTWISE = {
    "E1": "z = 2 * a + 3 * b",
    "E2": "z = a * b + c * d - e * f",
    "E3": "T sin_a = sin(a); T cos_b = cos(b); z = sin_a * sin_a + cos_b * cos_b",
}


def _cupy():
    import cupy

    return cupy


def _cupy_sync():
    _cupy().cuda.Device().synchronize()


def _cupy_elementwise_kernel(case):
    params = ", ".join(f"T {name}" for name in case.arg_names)
    return _cupy().ElementwiseKernel(params, "T z", CUPY_ELEMENTWISE[case.name], f"bench_{case.name.lower()}")


def cupy_elementwise(case, inputs, device_spec):
    cp = _cupy()
    kernel = _cupy_elementwise_kernel(case)
    args = [cp.asarray(x) for x in inputs]
    out = cp.empty_like(args[0])

    def run():
        kernel(*args, out)
        return out

    return DeviceCall(run, cp.asnumpy, _cupy_sync)


def cupy_host_elementwise(case, inputs, device_spec):
    cp = _cupy()
    kernel = _cupy_elementwise_kernel(case)
    return DeviceCall(lambda: cp.asnumpy(kernel(*map(cp.asarray, inputs))), lambda output: output, _cupy_sync)


def _interior(shape, offset=None):
    """The interior of a grid of `shape`, shifted by `offset`: slicing a
    grid with it gives each interior point's neighbour at that offset."""
    offset = offset or (0,) * len(shape)
    return tuple(slice(1 + o, n - 1 + o) for o, n in zip(offset, shape))


def cupy_stencil(case, grid, steps, device_spec):
    """One fused kernel per sweep over the shifted interior views (no
    temporaries), writing the interior of the other buffer."""
    cp = _cupy()
    names = [f"x{index}" for index in range(len(case.neighbours))]
    sweep_kernel = cp.ElementwiseKernel(
        ", ".join(f"T {name}" for name in names),
        "T out",
        f"out = (T){case.weight!r} * ({' + '.join(names)})",  # jacobi2/jacobi3: weight * (sum, in this order)
        f"bench_{case.name.lower()}_sweep",
    )

    def sweep(a, out):
        sweep_kernel(*(a[_interior(a.shape, offset)] for offset in case.neighbours), out[_interior(out.shape)])

    device_grid = cp.asarray(grid)
    buffers = (device_grid.copy(), device_grid.copy())
    return DeviceCall(lambda: ping_pong(sweep, device_grid, buffers, steps), cp.asnumpy, _cupy_sync)


# --- PyTorch -----------------------------------------------------------------

# The cases as tensor expressions; `torch` is the first argument.
TORCH_ELEMENTWISE = {
    "E1": lambda torch, a, b: 2 * a + 3 * b,
    "E2": lambda torch, a, b, c, d, e, f: a * b + c * d - e * f,
    "E3": lambda torch, a, b: torch.sin(a) ** 2 + torch.cos(b) ** 2,
}


def _torch():
    import torch

    return torch


def _to_cuda(array):
    return _torch().from_numpy(array).to("cuda")


def _tensor_to_host(tensor):
    return tensor.cpu().numpy()


def torch_elementwise(case, inputs, device_spec):
    torch = _torch()
    expression = TORCH_ELEMENTWISE[case.name]
    args = [_to_cuda(x) for x in inputs]
    return DeviceCall(lambda: expression(torch, *args), _tensor_to_host, torch.cuda.synchronize)


def torch_host_elementwise(case, inputs, device_spec):
    torch = _torch()
    expression = TORCH_ELEMENTWISE[case.name]

    def run():
        return _tensor_to_host(expression(torch, *map(_to_cuda, inputs)))

    return DeviceCall(run, lambda output: output, torch.cuda.synchronize)


def torch_stencil(case, grid, steps, device_spec):
    """The NumPy slicing sweep of the CPU suite, run on CUDA tensors."""
    torch = _torch()
    device_grid = _to_cuda(grid)
    buffers = (device_grid.clone(), device_grid.clone())
    return DeviceCall(
        lambda: ping_pong(case.numpy_sweep, device_grid, buffers, steps), _tensor_to_host, torch.cuda.synchronize
    )


ELEMENTWISE_DEVICE_IMPLS = {
    "sejits-device": sejits_device_elementwise,
    "cupy": cupy_elementwise,
    "torch": torch_elementwise,
}

ELEMENTWISE_HOST_IMPLS = {
    "sejits-host": sejits_host_elementwise,
    "cupy-host": cupy_host_elementwise,
    "torch-host": torch_host_elementwise,
}

STENCIL_DEVICE_IMPLS = {
    "sejits-device": sejits_device_iterate,
    "sejits-device-out": sejits_device_out_stencil,
    "cupy": cupy_stencil,
    "torch": torch_stencil,
}
