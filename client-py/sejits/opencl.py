"""OpenCL devices, and arrays that stay on them between kernel calls.

    from sejits import opencl
    ctx = opencl.context()              # $SEJITS_OPENCL_DEVICE, else the first GPU, else the first device
    x = ctx.asarray(np.arange(10, dtype=np.float32))   # uploaded once
    x[2:5].get()                        # read back: array([2., 3., 4.], dtype=float32)

A Context is one OpenCL context and in-order queue per device and process;
transfers are blocking, device-side copies and fills are queued behind the
kernels and finished by the next read.
"""

import math
import operator
import os
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sejits import _config, _native

_PICK_BY_TYPE = ("gpu", "cpu", "accelerator")
_INSTALL_HINT = "install a driver; on Debian or Ubuntu `apt-get install pocl-opencl-icd` runs OpenCL on the CPU"

# (kind, itemsize) -> (dtype, sejits dtype code): every dtype a device array
# may have, the kernel ABI's table (SEJITS_DTYPES in kernel_abi.h).
_SUPPORTED = {(np.dtype(name).kind, np.dtype(name).itemsize): (np.dtype(name), code) for code, name in _native.DTYPES}


class OpenCLUnavailable(RuntimeError):
    """No usable OpenCL device: no ICD loader, no platform, or none matches the request."""


@dataclass(frozen=True)
class DeviceInfo:
    """One OpenCL device; `index` is its position in devices()."""

    index: int
    platform: str
    platform_index: int
    device_index: int
    name: str
    vendor: str
    type: str  # "gpu", "cpu", "accelerator" or "other"
    global_mem_bytes: int
    compute_units: int
    max_work_group_size: int
    opencl_version: str
    driver_version: str
    fp64: bool
    local_mem_bytes: int


@lru_cache(maxsize=None)
def _device_infos():
    # The ICD loader enumerates platforms once per process, so the list cannot change.
    try:
        found = _native.opencl_devices()
    except RuntimeError as error:
        raise OpenCLUnavailable(str(error)) from error
    return tuple(DeviceInfo(index=index, **fields) for index, fields in enumerate(found))


def devices():
    """Every OpenCL device, platform by platform. Raises OpenCLUnavailable when
    there is no ICD loader; an empty list means no platform has a device."""
    return list(_device_infos())


def _listing(found):
    return "; ".join(f"[{info.index}] {info.name} ({info.type}, {info.platform})" for info in found)


def select_device(spec=None):
    """The DeviceInfo that `spec` names: None ($SEJITS_OPENCL_DEVICE, else the
    first GPU, else the first device), "gpu" | "cpu" | "accelerator" (the first
    of that type), an index into devices(), or part of a device's name."""
    if isinstance(spec, DeviceInfo):
        return spec
    found = devices()
    source = ""
    if spec is None and os.environ.get("SEJITS_OPENCL_DEVICE"):
        spec, source = os.environ["SEJITS_OPENCL_DEVICE"], " (from $SEJITS_OPENCL_DEVICE)"
    if not found:
        raise OpenCLUnavailable(f"no OpenCL device found: {_INSTALL_HINT}")
    if spec is None:
        return next((info for info in found if info.type == "gpu"), found[0])
    if isinstance(spec, str) and spec.strip().isdigit():
        spec = int(spec)
    elif not isinstance(spec, (str, bool, np.bool_)) and hasattr(spec, "__index__"):
        spec = operator.index(spec)  # e.g. a NumPy integer
    if not isinstance(spec, str) and (isinstance(spec, bool) or not isinstance(spec, int)):
        raise TypeError(f"an OpenCL device is chosen by index, type or name, not by {type(spec).__name__}")
    if isinstance(spec, int):
        matches = [found[spec]] if 0 <= spec < len(found) else []
    elif spec.lower() in _PICK_BY_TYPE:
        matches = [info for info in found if info.type == spec.lower()]
    else:
        matches = [info for info in found if spec.lower() in info.name.lower()]
    if not matches:
        raise OpenCLUnavailable(f"no OpenCL device matches {spec!r}{source}; the devices are: {_listing(found)}")
    return matches[0]


_contexts = {}
_contexts_lock = threading.Lock()


def context(device=None):
    """The Context of the device select_device(device) names; one per device and
    process, never released (kernel_abi.h: artifacts keep programs per context)."""
    info = select_device(device)
    with _contexts_lock:
        found = _contexts.get(info.index)
        if found is None:
            found = _contexts[info.index] = Context(info)
        return found


def _supported_dtype(dtype):
    dtype = np.dtype(dtype)
    entry = _SUPPORTED.get((dtype.kind, dtype.itemsize)) if dtype.names is None else None
    if entry is None:
        raise TypeError(f"dtype {dtype} is not supported on OpenCL devices "
                        "(bool, int8 to int64, uint8 to uint64, float32, float64)")
    return entry[0]  # native byte order


def _normal_shape(shape):
    shape = (operator.index(shape),) if np.ndim(shape) == 0 else tuple(operator.index(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"negative dimensions are not allowed: {shape}")
    return shape


def _contiguous_strides(shape, itemsize):
    strides, step = [], itemsize
    for extent in reversed(shape):
        strides.append(step)
        step *= max(extent, 1)
    return tuple(reversed(strides))


class Context:
    """One OpenCL device's context and queue; creates DeviceArrays like NumPy."""

    def __init__(self, info):
        self._info = info
        # _device is what Kernel.call_device takes.
        self._device = _native.Device(info.platform_index, info.device_index,
                                      os.path.join(_config.cache_dir(), "opencl"),
                                      f"{info.platform}|{info.name}|{info.driver_version}")

    @property
    def device(self):
        return self._info

    @property
    def name(self):
        return self._info.name

    def finish(self):
        """Waits until every queued kernel, copy and fill has run."""
        self._device.finish()

    def __repr__(self):
        return f"<sejits.opencl.Context {self.name!r} ({self._info.type}, {self._info.platform})>"

    def _dtype(self, dtype):
        dtype = _supported_dtype(dtype)
        if dtype == np.float64 and not self._info.fp64:
            raise TypeError(f"{self.name} has no float64 support (no cl_khr_fp64): use float32")
        return dtype

    def empty(self, shape, dtype=np.float64):
        shape, dtype = _normal_shape(shape), self._dtype(dtype)
        buffer = self._device.alloc(math.prod(shape) * dtype.itemsize)
        return DeviceArray(self, buffer, 0, shape, dtype)

    def zeros(self, shape, dtype=np.float64):
        array = self.empty(shape, dtype)
        array.fill(0)
        return array

    def ones(self, shape, dtype=np.float64):
        return self.full(shape, 1, dtype)

    def full(self, shape, fill_value, dtype=None):
        if np.ndim(fill_value) != 0:
            return self.asarray(np.full(shape, fill_value, dtype))
        array = self.empty(shape, np.asarray(fill_value).dtype if dtype is None else dtype)
        array.fill(fill_value)
        return array

    def arange(self, start, stop=None, step=None, dtype=None):
        return self.asarray(np.arange(start, stop, step, dtype=dtype))

    def empty_like(self, a, dtype=None):
        if not isinstance(a, DeviceArray):
            a = np.asarray(a)
        return self.empty(a.shape, a.dtype if dtype is None else dtype)

    def zeros_like(self, a, dtype=None):
        array = self.empty_like(a, dtype)
        array.fill(0)
        return array

    def ones_like(self, a, dtype=None):
        array = self.empty_like(a, dtype)
        array.fill(1)
        return array

    def asarray(self, a, dtype=None):
        """`a` on this device: a DeviceArray of this context as is (converted
        when `dtype` differs), anything else copied here through the host."""
        if isinstance(a, DeviceArray):
            target = self._dtype(a.dtype if dtype is None else dtype)
            if a.context is self and target == a.dtype:
                return a
            host = a.get()
        else:
            host = np.asarray(a)
            target = self._dtype(host.dtype if dtype is None else dtype)
        host = np.asarray(host, dtype=target, order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
        array = self.empty(host.shape, target)
        self._device.write(array._buffer, 0, host)
        return array


class DeviceArray:
    """An array in an OpenCL device's memory. Made by Context methods; read it
    back with get() or np.asarray(). Views (a[2], a[1:4], a[1, 2:4]) share the
    memory; only views that stay C-contiguous are offered."""

    __slots__ = ("_context", "_buffer", "_offset", "shape", "dtype", "strides")

    def __init__(self, context, buffer, offset, shape, dtype, strides=None):
        self._context = context
        self._buffer = buffer  # a _native.DeviceBuffer
        self._offset = offset  # bytes from the buffer's start to element [0, ..., 0]
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.strides = _contiguous_strides(self.shape, self.dtype.itemsize) if strides is None else tuple(strides)

    context = property(lambda self: self._context)
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    nbytes = property(lambda self: self.size * self.dtype.itemsize)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        length = len(self)  # a 0-d array raises here, as NumPy's does
        return (self[index] for index in range(length))

    def __repr__(self):
        return f"<sejits.opencl.DeviceArray shape={self.shape} dtype={self.dtype} on {self._context.name!r}>"

    def _is_contiguous(self):
        expected = self.dtype.itemsize
        for extent, stride in zip(reversed(self.shape), reversed(self.strides)):
            if extent == 0:
                return True
            if extent != 1 and stride != expected:
                return False
            expected *= extent
        return True

    def get(self):
        """A NumPy copy of the array (waits for the kernels queued before)."""
        device = self._context._device
        out = np.empty(self.shape, self.dtype)
        if self.size == 0:
            return out
        if self._is_contiguous():
            device.read(self._buffer, self._offset, out)
            return out
        # A broadcast or strided layout: read the bytes it spans, lay it over them.
        reaches = [(extent - 1) * stride for extent, stride in zip(self.shape, self.strides)]
        low = sum(r for r in reaches if r < 0)
        covering = np.empty(sum(r for r in reaches if r > 0) - low + self.dtype.itemsize, np.uint8)
        device.read(self._buffer, self._offset + low, covering)
        out[...] = np.ndarray(self.shape, self.dtype, buffer=covering, offset=-low, strides=self.strides)
        return out

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a DeviceArray lives in device memory: converting it to NumPy always copies")
        host = self.get()
        return host if dtype is None else host.astype(dtype, copy=False)

    def copy(self):
        """A new array with the same values, copied on the device."""
        out = self._context.empty(self.shape, self.dtype)
        if self._is_contiguous():
            self._context._device.copy(self._buffer, self._offset, out._buffer, 0, self.nbytes)
        else:
            self._context._device.write(out._buffer, 0, self.get())
        return out

    def fill(self, value):
        """Sets every element to `value`, cast as ndarray.fill casts it."""
        if np.ndim(value) != 0:
            raise ValueError("fill() takes a scalar")
        if not self._is_contiguous():
            raise ValueError("fill() on a strided device array: only contiguous arrays can be filled")
        pattern = np.array(value, dtype=self.dtype).tobytes()
        self._context._device.fill(self._buffer, self._offset, self.nbytes, pattern)

    def __getitem__(self, key):
        offset, shape = _contiguous_view(self, key if isinstance(key, tuple) else (key,))
        return DeviceArray(self._context, self._buffer, offset, shape, self.dtype)

    def _descriptor(self):
        """The (buffer, offset, shape, strides, dtype_code) tuple Kernel.call_device takes."""
        return self._buffer, self._offset, self.shape, self.strides, _dtype_code(self.dtype)

    def _laid_out(self, shape, perm):
        """This array broadcast to `shape`, its axes in the order `perm`: the
        strided view a reduction's kernel reads (kept axes first, reduced ones
        last). Internal: users' views stay C-contiguous."""
        buffer, offset, full, strides, _ = self._broadcast_descriptor(tuple(shape))
        return DeviceArray(self._context, buffer, offset, tuple(full[p] for p in perm), self.dtype, tuple(strides[p] for p in perm))

    def _reshaped(self, shape):
        """A C-contiguous array as `shape` (the same elements): a reduction's
        result with keepdims' axes of length 1."""
        return DeviceArray(self._context, self._buffer, self._offset, shape, self.dtype)

    def _broadcast_descriptor(self, shape):
        """_descriptor() of this array broadcast to `shape` (NumPy's rules; stride 0 on broadcast axes)."""
        if shape == self.shape:
            return self._descriptor()
        shape = _normal_shape(shape)
        if len(shape) < self.ndim:
            raise ValueError(f"cannot broadcast an array of shape {self.shape} to {shape}")
        strides = [0] * (len(shape) - self.ndim)
        for own, wanted, stride in zip(self.shape, shape[len(shape) - self.ndim:], self.strides):
            if own != wanted and own != 1:
                raise ValueError(f"cannot broadcast an array of shape {self.shape} to {shape}")
            strides.append(stride if own == wanted else 0)
        return self._buffer, self._offset, shape, tuple(strides), _dtype_code(self.dtype)


def _dtype_code(dtype):
    return _SUPPORTED[dtype.kind, dtype.itemsize][1]


def _refuse_view(key):
    return IndexError(f"only contiguous views are supported on the device (integers, then one step-1 slice, "
                      f"then full slices, as in a[3], a[2:5], a[1, 2:4]); {key!r} is not one: use .get() first "
                      f"and index the NumPy array")


def _contiguous_view(array, keys):
    """(offset, shape) of array[keys], for keys that keep the view C-contiguous:
    integers on the leading axes, then at most one step-1 slice, then full slices."""
    if any(k is Ellipsis for k in keys):
        at = next(i for i, k in enumerate(keys) if k is Ellipsis)
        fill = (slice(None),) * (array.ndim - len(keys) + 1)
        keys = keys[:at] + fill + keys[at + 1:]
    if len(keys) > array.ndim:
        raise IndexError(f"too many indices: the array is {array.ndim}-dimensional, but {len(keys)} were indexed")
    if not array._is_contiguous():
        raise _refuse_view(keys)
    offset, shape, sliced = array._offset, [], False
    for axis, key in enumerate(keys):
        extent, stride = array.shape[axis], array.strides[axis]
        if isinstance(key, slice):
            start, stop, step = key.indices(extent)
            length = len(range(start, stop, step))
            if step != 1 or (sliced and length != extent):
                raise _refuse_view(keys)
            offset += start * stride
            shape.append(length)
            sliced = True
        elif isinstance(key, (bool, np.bool_)) or not hasattr(key, "__index__"):
            raise IndexError(f"unsupported index {key!r} on a device array: only integers and slices "
                             f"(use .get() first for NumPy indexing)")
        elif sliced:
            raise _refuse_view(keys)
        else:
            index = operator.index(key)
            if not -extent <= index < extent:
                raise IndexError(f"index {index} is out of bounds for axis {axis} with size {extent}")
            offset += (index % extent) * stride
    return offset, tuple(shape) + array.shape[len(keys):]
