"""Kernel calls on an OpenCL device: which context a call runs in, host
arrays copied in, the output allocated on the device, and NumPy results for
NumPy callers. The kernels themselves come from the daemon like CPU ones
(platform "opencl"); the dispatchers call in here from their slow paths."""

import sys

import numpy as np

from sejits import _config, _platforms

OPENCL = _platforms.OPENCL


_device_array_type = None  # sejits.opencl.DeviceArray, once something imported sejits.opencl


def is_device_array(value):
    global _device_array_type
    if _device_array_type is None:
        module = sys.modules.get("sejits.opencl")
        if module is None:
            return False  # nothing imported sejits.opencl: no device arrays exist
        _device_array_type = module.DeviceArray
    return isinstance(value, _device_array_type)


def context_for(args, out=None):
    """The OpenCL context this call runs in: that of its device arrays, else
    the configured target's; None for a CPU call."""
    contexts = []
    for value in (*args, out):
        if is_device_array(value) and all(value.context is not c for c in contexts):
            contexts.append(value.context)
    if len(contexts) > 1:
        names = ", ".join(c.name for c in contexts)
        raise ValueError(f"the arguments are device arrays of different OpenCL contexts ({names}); "
                         "copy them into one with ctx.asarray()")
    if contexts:
        return contexts[0]
    if _config.settings.target == OPENCL:
        from sejits import opencl

        return opencl.context(_config.settings.device)
    return None


def to_device(context, args, notes):
    """Device arrays stay; scalars stay; anything array-like is copied in
    (C-contiguous), with a note for explain()."""
    moved = []
    for position, value in enumerate(args):
        if is_device_array(value):
            if value.context is not context:
                raise ValueError(f"argument {position} is a device array of another OpenCL context ({value.context.name}, "
                                 f"not {context.name})")
            moved.append(value)
        elif type(value) in (bool, int, float) or isinstance(value, np.generic):
            moved.append(value)
        else:
            host = np.asarray(value)
            if host.ndim == 0:
                moved.append(host[()])  # a 0-d array computes as a NumPy scalar
                continue
            notes.add(f"argument {position} was a host array: copied to {context.name} for the call")
            moved.append(context.asarray(np.ascontiguousarray(host)))
    return tuple(moved)


def signature_prefix(context):
    """What sets a device call's signature apart from a CPU call's and from other devices'."""
    return (OPENCL, context.device.name, context.device.index)


def broadcast_shape(args):
    shapes = [a.shape for a in args if is_device_array(a)]
    return np.broadcast_shapes(*shapes) if shapes else ()


def call_items(args, shape):
    """What Kernel.call_device takes: device arrays as descriptors broadcast
    to the output's shape, scalars as they are."""
    return tuple(a._broadcast_descriptor(shape) if is_device_array(a) else a for a in args)


def check_out(name, out, context, shape, dtype):
    """A device `out=` must already be the result: same context, shape and dtype."""
    if out.context is not context:
        raise ValueError(f"{name}: out is a device array of another OpenCL context ({out.context.name})")
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"{name}: out has shape {tuple(out.shape)}, the result has shape {tuple(shape)}")
    if out.dtype != dtype:
        raise TypeError(f"{name}: out has dtype {out.dtype}, the kernel computes {dtype} (no casts on the device)")


def finish_result(result, out, inputs_on_device, zero_rank):
    """NumPy in, NumPy out: a call whose inputs were all host arrays gets its
    result back on the host (or in its host `out`)."""
    if out is not None and not is_device_array(out):
        np.copyto(out, result.get(), casting="same_kind")
        return out
    if out is not None or inputs_on_device:
        return result
    host = result.get()
    return host[()] if zero_rank else host
