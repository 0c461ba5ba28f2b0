"""Library kernels on an OpenCL device: where a call's values and outputs
live when it runs there (sejits.opencl device arrays among its values, or
sejits.target("opencl")). The entry points are the CPU ones' with device
arrays, and the device after the last (kernel_abi.h); _library.py's
_call_entry walks them with a DevicePlacement:

  - device arrays stay where they are (an input of another dtype is
    converted, through the host); host arrays are copied in, and in-outs
    given on the host are copied back after the call;
  - outputs are allocated on the device: a caller whose values were all
    host arrays gets them back on the host (NumPy in, NumPy out, as
    decorated kernels on a device), one with a device array keeps them there.

The reference implementation (the fallback) runs on host copies, its
results put where the compiled entry's would have gone."""

import math

import numpy as np

from sejits import _device_calls


def on_device(context, arrays):
    """The specialized (leading) arguments as device arrays of `context`:
    device arrays as they are, host ones copied in once for the call."""
    return tuple(_same_context(context, a) if _device_calls.is_device_array(a) else upload(context, a) for a in arrays)


def upload(context, host):
    """A C-contiguous device copy of a host array."""
    host = np.ascontiguousarray(host)
    array = empty(context, host.shape, host.dtype)
    if host.size:
        context._device.write(array._buffer, 0, host)
    return array


def empty(context, shape, dtype):
    """A device array. float64 ones also on a device without float64: the
    library kernels' float64 arrays (lower bounds, progress) are read and
    written by their host part only; a float64 X is refused by the kernel."""
    from sejits import opencl

    dtype = np.dtype(dtype)
    if dtype != np.float64 or context.device.fp64:
        return context.empty(shape, dtype)
    return opencl.DeviceArray(context, context._device.alloc(math.prod(shape) * dtype.itemsize), 0, shape, dtype)


def _write(array, host):
    """Host values into a (C-contiguous) device array."""
    if array.size:
        array.context._device.write(array._buffer, array._offset, np.ascontiguousarray(host, array.dtype))


def _same_context(context, array):
    if array.context is not context:
        raise ValueError(f"a device array of another OpenCL context ({array.context.name}, not {context.name})")
    return array


class DevicePlacement:
    """Where a device call's values live (see the module's text). `host` is
    the CPU placement, whose checks host values go through first."""

    def __init__(self, context, on_device, host):
        self.context, self.on_device, self.host = context, on_device, host
        self.copy_back = []  # (host array, its device copy): written back after the call

    def argument(self, name, role, param, dtype, value):
        if param["role"] == "scalar":
            return self.host.argument(name, role, param, dtype, value)
        if _device_calls.is_device_array(value):
            _same_context(self.context, value)
            if value.dtype == dtype:
                return value
            if param["role"] == "inout" or not np.can_cast(value.dtype, dtype, casting="same_kind"):
                raise TypeError(f"{name}.{role}: '{param['name']}' must have dtype {dtype}, not {value.dtype}")
            return self.context.asarray(value, dtype)
        array = self.host.argument(name, role, param, dtype, value)
        device = upload(self.context, array)
        if param["role"] == "inout":
            self.copy_back.append((array, device))
        return device

    def output(self, name, role, param, requested, shape, dtype):
        if requested is None:
            return empty(self.context, shape, dtype)
        if _device_calls.is_device_array(requested):
            _device_calls.check_out(f"{name}.{role} (out for '{param['name']}')", requested, self.context, shape, dtype)
            return requested
        self.host.output(name, role, param, requested, shape, dtype)  # its checks
        device = empty(self.context, shape, dtype)
        self.copy_back.append((requested, device))
        return device

    def result(self, value, requested):
        """What the caller gets for an output, once the entry ran (a function)."""
        if requested is not None:
            return lambda: requested  # a host `out` is filled by copy_back
        return lambda: value if self.on_device else value.get()

    def invoke(self, native, name, role, arguments):
        items = tuple(a._descriptor() if _device_calls.is_device_array(a) else a for a in arguments)
        native.call_device(self.context._device, items[:-1], items[-1])
        for host, device in self.copy_back:
            np.copyto(host, device.get(), casting="same_kind")


def run_reference(reference_run, role, values, out, context, on_device, leading):
    """The reference implementation of `role` on host copies of `values`.
    Device arrays after the `leading` (specialized) ones get the host
    copies' values back, as the entry's in-outs would be updated; the outputs
    go to `out`, else to the device (on_device) or the host."""
    host_values = tuple(v.get() if _device_calls.is_device_array(v) else v for v in values)
    result = reference_run(role, *host_values)
    for position, (given, host) in enumerate(zip(values, host_values)):
        if position >= leading and _device_calls.is_device_array(given):
            _write(given, host)
    if result is None:
        return None
    results = result if isinstance(result, tuple) else (result,)
    if out is not None:
        targets = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        for target, value in zip(targets, results):
            if _device_calls.is_device_array(target):
                _write(target, np.asarray(value, target.dtype))
            else:
                np.copyto(target, value, casting="same_kind")
        placed = targets
    elif on_device:
        placed = tuple(upload(context, np.asarray(value)) for value in results)
    else:
        placed = results
    return placed if isinstance(result, tuple) else placed[0]
