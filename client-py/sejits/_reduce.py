"""Reductions and scans (sejits.reduce, sejits.scan): a map, as element-wise
kernels take it, folded into NumPy's sum, prod, min, max, any, all or mean
in one compiled pass with no intermediate array (the "reduce" specializer;
the order of combination is codegen/include/sejits/reduce_runtime.h's).

Every keyword means what it means for the NumPy function of the same name.
A call the compiled kernel does not take (OpenCL targets and device arrays
so far, masked arrays, misuse NumPy raises on, an `out` that overlaps an
input or has another dtype than the result's) runs the map, compiled
element-wise, and then the NumPy function itself: that path is the
fallback and the test oracle, and it raises NumPy's own errors.

Elements are combined in the C order of the reduced axes, so the bits of a
result depend on the data's size and the reduction's shape only: not on the
memory layout, the thread count or the tuning variant."""

import functools
import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from sejits import _config, _device_calls
from sejits._dispatch import KernelDispatcher
from sejits._elementwise import ElementwiseDispatcher
from sejits._errors import SpecializationError
from sejits._fallback_policy import Fallback
from sejits._native import Kernel as _NativeKernel
from sejits._tuning_session import call_timed

_NO_VALUE = np._NoValue

# NumPy's function for each op, and the keywords it takes besides axis.
REDUCTIONS = {
    "sum": (np.sum, ("dtype", "out", "keepdims", "initial", "where")),
    "prod": (np.prod, ("dtype", "out", "keepdims", "initial", "where")),
    "min": (np.min, ("out", "keepdims", "initial", "where")),
    "max": (np.max, ("out", "keepdims", "initial", "where")),
    "argmin": (np.argmin, ("out", "keepdims")),
    "argmax": (np.argmax, ("out", "keepdims")),
    "any": (np.any, ("out", "keepdims", "where")),
    "all": (np.all, ("out", "keepdims", "where")),
    "mean": (np.mean, ("dtype", "out", "keepdims", "where")),
}
SCANS = {
    "sum": lambda a, axis, dtype, out: np.cumsum(a, axis=axis, dtype=dtype, out=out),
    "prod": lambda a, axis, dtype, out: np.cumprod(a, axis=axis, dtype=dtype, out=out),
    "min": lambda a, axis, dtype, out: np.minimum.accumulate(a, axis=axis, dtype=dtype, out=out),
    "max": lambda a, axis, dtype, out: np.maximum.accumulate(a, axis=axis, dtype=dtype, out=out),
}
# The ops the compiled kernel computes (mean: a sum the client divides).
COMPILED = ("sum", "prod", "min", "max", "any", "all", "mean", "argmin", "argmax")
ARG_REDUCTIONS = ("argmin", "argmax")


class _ConfiguredCall:
    """One call as the compiled kernel takes it: its kernel (per
    configuration), the arguments broadcast and transposed (kept axes first,
    reduced ones last) and what the result needs."""

    def __init__(self, kernel, laid_out, shape, axes, perm, kept, count, result_shape, keepdims, where, initial, out):
        self.kernel, self.laid_out, self.shape, self.axes, self.perm, self.kept = kernel, laid_out, shape, axes, perm, kept
        self.count, self.result_shape, self.keepdims = count, result_shape, keepdims
        self.where, self.initial, self.out = where, initial, out
        self.context, self.on_device = None, False  # the OpenCL context of a device call


class _ReductionKernel(KernelDispatcher):
    """The compiled reduction for one configuration (op, reduced dimensions,
    dtype=, where=, initial=): those are request params, part of the key."""

    specializer = "reduce"

    def __init__(self, fn, params):
        KernelDispatcher.__init__(self, fn)
        self._reduce_params = params

    def _params(self):
        return self._reduce_params

    def _bind(self, args, kwargs):
        # Called with the arguments already laid out (and, for a user's
        # operator, one array where the function takes two scalars).
        return args

    def _specialize(self, *args, asynchronous=False, **kwargs):
        # No interim NumPy form: a reduction compiles before its first call.
        return KernelDispatcher._specialize(self, *args, asynchronous=False, **kwargs)


class ReduceDispatcher:
    """sejits.reduce(op)(fn): calling it reduces fn's values over the broadcast arguments."""

    def __init__(self, fn, op):
        if op not in REDUCTIONS:
            raise ValueError(f"sejits.reduce: unknown op {op!r}; one of {', '.join(REDUCTIONS)}")
        self.fn, self.op = fn, op
        functools.update_wrapper(self, fn)  # __name__, __qualname__, __doc__, __module__, __wrapped__: fn's
        self._map = ElementwiseDispatcher(fn)
        self._kernels = {}  # configuration params -> _ReductionKernel
        self._last_run = "no call yet"
        self._numpy_reason = None  # why the last call the kernel refused goes to NumPy

    def __repr__(self):
        return f"<sejits.reduce({self.op!r}) {self.__name__}>"

    def __call__(self, *args, axis=None, **keywords):
        function, accepted = REDUCTIONS[self.op]
        unexpected = sorted(set(keywords) - set(accepted))
        if unexpected:
            raise TypeError(f"{self.__name__}: sejits.reduce({self.op!r}) got an unexpected keyword argument "
                            f"'{unexpected[0]}' (np.{function.__name__} takes axis, {', '.join(accepted)})")
        reason = self._compiled_call_refusal(args, keywords)
        if reason is None:
            result = self._call_compiled(args, axis, keywords)
            if result is not _NO_VALUE:
                return result
            reason = self._numpy_reason
        return self._call_numpy(function, args, axis, keywords, reason)

    # ---- the fallback and oracle: the map, then NumPy's function ------------

    def _call_numpy(self, function, args, axis, keywords, reason):
        mapped = self._map(*args)
        self._last_run = f"the map ({self._map._last_call_description()}), then np.{function.__name__} ({reason})"
        return _numpy_on_host(lambda m, **k: function(m, axis=axis, **k), mapped, args, keywords)

    def _compiled_call_refusal(self, args, keywords):
        """Why this call takes the NumPy path, or None."""
        if self.op not in COMPILED:
            return f"np.{self.op} is not compiled yet"
        out = keywords.get("out")
        if out is not None and not _device_calls.is_device_array(out) and (type(out) is not np.ndarray or not out.flags.writeable):
            return "out= is not a writable NumPy or device array"
        return None

    # ---- the compiled kernel ---------------------------------------------------

    def _call_compiled(self, args, axis, keywords):
        """The compiled reduction, or _NO_VALUE where NumPy must decide (its
        errors, or a configuration the kernel refuses)."""
        self._numpy_reason = "NumPy decides this call: its errors, or keywords the kernel does not take"
        call = self._configure(args, axis, keywords)
        if call is None:
            return _NO_VALUE
        if call.context is not None:
            return self._run_on_device(call)
        return self._run_configured(call, keywords)

    def _configure(self, args, axis, keywords):
        """The call as the compiled kernel takes it (a _ConfiguredCall), or
        None where NumPy must decide. On an OpenCL target, or with device
        arrays, host arrays are copied to the device first."""
        args = _plain_arrays(args)
        if args is None:
            return None  # masked arrays: the map's np.ma semantics, then NumPy's
        where = keywords.get("where", True)
        device_mask = (where,) if _device_calls.is_device_array(where) else ()
        context = _device_calls.context_for(args + device_mask, keywords.get("out"))  # a device where= makes it a device call
        on_device = context is not None and any(_device_calls.is_device_array(a) for a in args)
        if context is not None:
            args = _device_calls.to_device(context, args, set())
            if where is not True and not (type(where) is bool or _device_calls.is_device_array(where)):
                where = np.asarray(where)
                if where.dtype != np.bool_:
                    return None
                where = context.asarray(np.ascontiguousarray(where))
        arrays = [a for a in args if _is_array(a)]
        if not arrays:
            return None
        try:
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            return None  # NumPy's broadcast error, from the map
        ndim = len(shape)
        arg = self.op in ARG_REDUCTIONS
        if not _plain_axis(axis, single=arg) or ndim == 0:
            return None  # NumPy's TypeError for a list, a bool or (argmax) a tuple axis; 0-d takes axis 0 or -1 there
        axes = tuple(range(ndim)) if axis is None else normalize_axis_tuple(axis, ndim)  # NumPy's AxisError
        keepdims = bool(keywords.get("keepdims", False))
        initial = keywords.get("initial", _NO_VALUE)
        out, dtype = keywords.get("out"), keywords.get("dtype")
        count = 1
        for a in axes:
            count *= shape[a]
        if count == 0 and (arg or self.op == "mean" or self.op in ("min", "max") and initial is _NO_VALUE):
            return None  # NumPy's "zero-size array to reduction operation", "...argmax of an empty sequence", "Mean of empty slice"
        if where is not True:
            if initial is _NO_VALUE and self.op in ("min", "max"):
                return None  # NumPy's "... to use a where mask one has to specify 'initial'"
            if not (_is_array(where) and where.dtype == np.bool_) and type(where) is not bool:
                return None
            if where is False or self.op == "mean":
                return None
        if initial is not _NO_VALUE and not isinstance(initial, (bool, int, float, np.bool_, np.integer, np.floating)):
            return None
        kept = tuple(d for d in range(ndim) if d not in axes)
        result_shape = tuple(1 if d in axes else shape[d] for d in range(ndim)) if keepdims else tuple(shape[d] for d in kept)
        if out is not None:
            # An out of the result's dtype only (checked once the kernel is
            # known): NumPy computes in the promotion of out's and the
            # input's dtypes and casts into out per buffer, which is its to do.
            if tuple(out.shape) != result_shape or (self.op == "mean" and context is None):
                return None
            if context is None and (_device_calls.is_device_array(out) or any(np.may_share_memory(out, a) for a in arrays)):
                return None
        if dtype is not None:
            try:
                dtype = np.dtype(dtype)
            except TypeError:
                return None
        # Elements are combined in the C order of the reduced axes, whatever
        # the memory layout: the bits depend on the data's size and the
        # reduction's shape only.
        perm = kept + axes
        params = {"op": self.op, "reduced_dims": str(len(axes))}
        if dtype is not None:
            params["dtype"] = dtype.name
        if where is not True:
            params["where"] = "1"
        if initial is not _NO_VALUE:
            params["initial"] = "1"
        laid_out = tuple(_laid_out(a, shape, perm) for a in args)
        call = _ConfiguredCall(self._kernel_for(params), laid_out, shape, axes, perm, kept, count, result_shape, keepdims,
                               where, initial, out)
        call.context, call.on_device = context, on_device
        return call

    def _run_configured(self, call, keywords):
        shape, axes, perm, kept, count = call.shape, call.axes, call.perm, call.kept, call.count
        result_shape, keepdims, where, initial, out = call.result_shape, call.keepdims, call.where, call.initial, call.out
        lookup = call.kernel._resolve(call.laid_out)
        native = lookup.kernel
        if type(native) is Fallback:
            self._numpy_reason = native.reason
            return _NO_VALUE
        result_dtype = native.result_dtype
        if out is not None and out.dtype != result_dtype:
            self._numpy_reason = f"out= is {out.dtype}, the reduction's result {result_dtype}: NumPy's casting rules"
            return _NO_VALUE
        extra = ()
        if where is not True:
            extra += (_laid_out(where, shape, perm),)
        if initial is not _NO_VALUE:
            extra += (result_dtype.type(initial),)
        kept_shape = tuple(shape[d] for d in kept)
        out_view = None if out is None else np.squeeze(out, axis=axes) if keepdims else out
        target = out_view if out is not None else np.empty(kept_shape, result_dtype)
        self._last_run = call.kernel._last_run = "the compiled reduction"
        call_timed(native, lambda k: _run(k, lookup.args + extra, target))
        if self.op == "mean":  # count as np.intp, as NumPy's: a Python int would divide float32 in float32
            np.true_divide(target, np.intp(count), out=target, casting="unsafe")
        if out is not None:
            return out
        result = target.reshape(result_shape)
        return result[()] if result.ndim == 0 else result

    def _run_on_device(self, call):
        """The compiled OpenCL reduction: a device result for device inputs
        (a NumPy scalar for a full reduction), a host one for host inputs."""
        context, shape, perm, kept, out = call.context, call.shape, call.perm, call.kept, call.out
        lookup = call.kernel._resolve_device(context, call.laid_out)
        native = lookup.kernel
        if type(native) is Fallback:
            self._numpy_reason = native.reason
            return _NO_VALUE
        result_dtype = native.result_dtype
        extra = ()
        if call.where is not True:
            extra += (_laid_out(call.where, shape, perm),)
        if call.initial is not _NO_VALUE:
            extra += (result_dtype.type(call.initial),)
        kept_shape = tuple(shape[d] for d in kept)
        device_out = out if _device_calls.is_device_array(out) else None
        if out is not None and out.dtype != result_dtype:
            self._numpy_reason = f"out= is {out.dtype}, the reduction's result {result_dtype}: NumPy's casting rules"
            return _NO_VALUE
        overlaps = device_out is not None and any(_device_calls.is_device_array(a) and a._buffer is device_out._buffer
                                                  for a in call.laid_out + extra)
        target = device_out._reshaped(kept_shape) if device_out is not None and not overlaps else context.empty(kept_shape, result_dtype)
        self._last_run = call.kernel._last_run = f"the compiled OpenCL reduction on {context.name}"
        laid_shape = tuple(shape[p] for p in perm)
        native.call_device(context._device, _device_calls.call_items(lookup.args + extra, laid_shape), target._descriptor())
        if device_out is not None:
            if overlaps:  # computed aside: the inputs were read whole before out changes
                context._device.copy(target._buffer, target._offset, device_out._buffer, device_out._offset, target.nbytes)
            return device_out
        if out is not None:
            np.copyto(out, target.get().reshape(call.result_shape))
            return out
        if call.on_device and call.result_shape:
            return target._reshaped(call.result_shape)
        result = target.get().reshape(call.result_shape)
        return result[()] if result.ndim == 0 else result

    def _kernel_for(self, params):
        key = tuple(sorted(params.items()))
        kernel = self._kernels.get(key)
        if kernel is None:
            kernel = self._kernels[key] = _ReductionKernel(self.fn, params)
        return kernel

    def source(self, *args, axis=None, **keywords):
        """The generated C++ for these arguments and keywords."""
        call = self._configure(args, axis, keywords) if self._compiled_call_refusal(args, keywords) is None else None
        if call is None:
            raise SpecializationError(f"{self.__name__}: this call runs the map, then NumPy: there is no reduction source")
        return call.kernel.source(*call.laid_out)

    def explain(self, *args, axis=None, **keywords):
        """Whether a call with these arguments and keywords gets a compiled
        reduction and why (the daemon's key, cache outcome and notes when it
        does); which code ran the last call."""
        reason = self._compiled_call_refusal(args, keywords)
        call = self._configure(args, axis, keywords) if reason is None else None
        if call is None:
            reason = reason or "NumPy decides this call (its errors, or keywords the kernel does not take)"
            return (f"{self.__name__}: sejits.reduce({self.op!r}) runs the map, then np.{self.op}: {reason}\n"
                    f"  last call:   ran {self._last_run}")
        return call.kernel.explain(*call.laid_out)


def _is_array(value):
    return type(value) is np.ndarray or _device_calls.is_device_array(value)


def _laid_out(value, shape, perm):
    """An array argument broadcast to `shape`, axes in the order `perm` (a
    view, on the host or the device); scalars as they are."""
    if type(value) is np.ndarray:
        return np.broadcast_to(value, shape).transpose(perm)
    if _device_calls.is_device_array(value):
        return value._laid_out(shape, perm)
    return value


def _numpy_on_host(reduce, mapped, args, keywords):
    """NumPy's reduction or scan `reduce(mapped, **keywords)` of a map's
    result, on the host: device values are read back, a device `out` is
    written, and a call with device arrays gets a device array back (a
    NumPy scalar when the result is 0-d)."""
    context = next((a.context for a in (mapped, *args) if _device_calls.is_device_array(a)), None)
    on_device = any(_device_calls.is_device_array(a) for a in args)
    keywords = {name: value.get() if _device_calls.is_device_array(value) and name != "out" else value
                for name, value in keywords.items()}
    device_out = keywords.get("out") if _device_calls.is_device_array(keywords.get("out")) else None
    if device_out is not None:
        keywords["out"] = None
    result = reduce(mapped.get() if _device_calls.is_device_array(mapped) else mapped, **keywords)
    if device_out is not None:
        result = np.asarray(result)
        if result.shape != tuple(device_out.shape):
            raise ValueError(f"out has shape {tuple(device_out.shape)}, the result has shape {result.shape}")
        device_out.context._device.write(device_out._buffer, device_out._offset,
                                         np.ascontiguousarray(result.astype(device_out.dtype, casting="same_kind")))
        return device_out
    if on_device and context is not None and np.ndim(result) > 0 and keywords.get("out") is None:
        return context.asarray(np.ascontiguousarray(result))
    return result  # NumPy's, or the caller's host `out`


def _plain_arrays(args):
    """The arguments with array-likes (lists, tuples, ndarray subclasses such
    as memmap) as plain ndarrays, or None when one is a masked array."""
    plain = []
    for a in args:
        if isinstance(a, np.ma.MaskedArray):
            return None
        if isinstance(a, (np.ndarray, list, tuple)):
            a = np.asarray(a)
        plain.append(a)
    return tuple(plain)


def _plain_axis(axis, single=False):
    """Whether `axis` is one NumPy takes as given: None, an int or (unless
    `single`) a tuple of ints. Lists and bools are NumPy's TypeError."""
    if axis is None:
        return True
    if isinstance(axis, (bool, np.bool_)):
        return False
    if isinstance(axis, (int, np.integer)):
        return True
    return not single and type(axis) is tuple and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis)


def _run(kernel, args, out):
    if type(kernel) is _NativeKernel:
        kernel(args, out)
    else:
        raise SpecializationError("a reduction needs its compiled kernel")


class CombineDispatcher:
    """sejits.reduce(combine=True, identity=...)(fn): a user's associative
    operator fn(a, b) folded over the elements of one array (Copperhead's
    reduce(fn, x, init)), compiled: the order of combination is the
    pairwise tree of every reduction, so fn must be associative (it need not
    be commutative: elements are combined in order). `identity` starts every
    reduction and is the result of an empty one; without it an empty
    reduction is NumPy's ValueError. A call the kernel does not take runs
    np.frompyfunc(fn).reduce."""

    def __init__(self, fn, identity):
        self.fn, self.identity = fn, identity
        functools.update_wrapper(self, fn)  # __name__, __qualname__, __doc__, __module__, __wrapped__: fn's
        self._kernels = {}
        self._last_run = "no call yet"

    def __repr__(self):
        return f"<sejits.reduce(combine=True) {self.__name__}>"

    def __call__(self, x, axis=None, dtype=None, out=None, keepdims=False):
        context = _device_calls.context_for((x,), out)
        if context is None:
            return self._call_host(np.asarray(x), axis, dtype, out, keepdims)
        on_device = _device_calls.is_device_array(x)
        x = _device_calls.to_device(context, (x,), set())[0]
        result = self._call_on_device(context, x, axis, dtype, out, keepdims, on_device) if _is_array(x) else _NO_VALUE
        if result is _NO_VALUE:
            host = self._call_host(np.asarray(x.get() if _is_array(x) else x), axis, dtype, None, keepdims)
            result = _numpy_on_host(lambda values, out=None: values, host, (x,) if on_device else (), {"out": out})
            if out is not None and not _device_calls.is_device_array(out):
                np.copyto(out, result, casting="unsafe")
                return out
        return result

    def _call_host(self, x, axis, dtype, out, keepdims):
        axes = tuple(range(x.ndim)) if axis is None else normalize_axis_tuple(axis, x.ndim)
        kept = tuple(d for d in range(x.ndim) if d not in axes)
        count = int(np.prod([x.shape[a] for a in axes]))
        if count == 0 and self.identity is None:
            raise ValueError(f"zero-size array to reduction operation {self.__name__} which has no identity")
        result = _NO_VALUE
        if _config.settings.target == "cpu" and (out is None or type(out) is np.ndarray):
            result = self._call_compiled(x, axes, kept, dtype)
        if result is _NO_VALUE:
            self._last_run = "np.frompyfunc(fn).reduce (the operator is not compiled for this call)"
            result = self._reduce_with_numpy(x, axes, dtype)
        if keepdims:
            result = np.reshape(result, tuple(1 if d in axes else x.shape[d] for d in range(x.ndim)))
        if out is not None:
            np.copyto(out, result, casting="unsafe")
            return out
        result = np.asarray(result)
        return result[()] if result.ndim == 0 else result

    def _kernel_for(self, axes, dtype):
        """The compiled operator for these reduced axes and dtype=, or None (an unknown dtype: NumPy's error)."""
        params = {"op": "combine", "reduced_dims": str(len(axes))}
        if dtype is not None:
            try:
                params["dtype"] = np.dtype(dtype).name
            except TypeError:
                return None
        if self.identity is not None:
            params["initial"] = "1"
        key = tuple(sorted(params.items()))
        kernel = self._kernels.get(key)
        if kernel is None:
            kernel = self._kernels[key] = _ReductionKernel(self.fn, params)
        return kernel

    def _call_on_device(self, context, x, axis, dtype, out, keepdims, on_device):
        """The compiled operator on the device, or _NO_VALUE."""
        axes = tuple(range(x.ndim)) if axis is None else normalize_axis_tuple(axis, x.ndim)
        kept = tuple(d for d in range(x.ndim) if d not in axes)
        if math.prod(x.shape[a] for a in axes) == 0 and self.identity is None:
            raise ValueError(f"zero-size array to reduction operation {self.__name__} which has no identity")
        kernel = self._kernel_for(axes, dtype)
        if kernel is None or x.ndim == 0:
            return _NO_VALUE
        laid_out = x._laid_out(x.shape, kept + axes)
        lookup = kernel._resolve_device(context, (laid_out,))
        native = lookup.kernel
        if type(native) is Fallback:
            return _NO_VALUE
        extra = (native.result_dtype.type(self.identity),) if self.identity is not None else ()
        kept_shape = tuple(x.shape[d] for d in kept)
        result_shape = tuple(1 if d in axes else x.shape[d] for d in range(x.ndim)) if keepdims else kept_shape
        target = context.empty(kept_shape, native.result_dtype)
        self._last_run = kernel._last_run = f"the compiled OpenCL reduction on {context.name}"
        native.call_device(context._device, _device_calls.call_items(lookup.args + extra, laid_out.shape), target._descriptor())
        if out is not None:
            host = target.get().reshape(result_shape)
            if _device_calls.is_device_array(out):
                return _numpy_on_host(lambda values, out=None: values, host, (), {"out": out})
            np.copyto(out, host, casting="unsafe")
            return out
        if on_device and result_shape:
            return target._reshaped(result_shape)
        result = target.get().reshape(result_shape)
        return result[()] if result.ndim == 0 else result

    def _call_compiled(self, x, axes, kept, dtype):
        kernel = self._kernel_for(axes, dtype)
        if kernel is None:
            return _NO_VALUE
        laid_out = x.transpose(kept + axes)  # combined in C order: the operator need not be commutative
        lookup = kernel._resolve((laid_out,))
        native = lookup.kernel
        if type(native) is Fallback:
            return _NO_VALUE
        extra = (native.result_dtype.type(self.identity),) if self.identity is not None else ()
        target = np.empty(tuple(x.shape[d] for d in kept), native.result_dtype)
        self._last_run = kernel._last_run = "the compiled reduction"
        call_timed(native, lambda k: _run(k, lookup.args + extra, target))
        return target

    def _reduce_with_numpy(self, x, axes, dtype):
        """fn folded as a NumPy object-array ufunc, one axis at a time (last first)."""
        result = x.astype(object)
        ufunc = np.frompyfunc(self.fn, 2, 1)
        for a in sorted(axes, reverse=True):
            result = ufunc.reduce(result, axis=a, initial=self.identity) if self.identity is not None else ufunc.reduce(result, axis=a)
        return np.asarray(result).astype(dtype or x.dtype)

    def _host_call(self, x, axis, dtype):
        """(kernel, x laid out with the reduced axes last) of reducing host `x` along `axis`."""
        x = np.asarray(x)
        axes = tuple(range(x.ndim)) if axis is None else normalize_axis_tuple(axis, x.ndim)
        kept = tuple(d for d in range(x.ndim) if d not in axes)
        kernel = self._kernel_for(axes, dtype)
        if kernel is None:
            raise TypeError(f"{self.__name__}: dtype={dtype!r} is not a NumPy dtype")
        return kernel, x.transpose(kept + axes)

    def source(self, x, axis=None, dtype=None):
        """The generated C++ for reducing `x` along `axis`."""
        kernel, laid_out = self._host_call(x, axis, dtype)
        return kernel.source(laid_out)

    def explain(self, x, axis=None, dtype=None):
        """Whether reducing `x` along `axis` gets the compiled operator and
        why (the daemon's key, cache outcome and notes when it does); which
        code ran the last call."""
        kernel, laid_out = self._host_call(x, axis, dtype)
        return kernel.explain(laid_out)


class ScanDispatcher:
    """sejits.scan(op)(fn): running sums, products, minima or maxima of fn's
    values along an axis (np.cumsum, np.cumprod, np.minimum/maximum.accumulate;
    axis=None flattens, as np.cumsum does), compiled in one pass over the
    map with no intermediate array. Calls the kernel does not take run the
    compiled map, then NumPy's scan."""

    def __init__(self, fn, op):
        if op not in SCANS:
            raise ValueError(f"sejits.scan: unknown op {op!r}; one of {', '.join(SCANS)}")
        self.fn, self.op = fn, op
        functools.update_wrapper(self, fn)  # __name__, __qualname__, __doc__, __module__, __wrapped__: fn's
        self._map = ElementwiseDispatcher(fn)
        self._kernels = {}
        self._last_run = "no call yet"

    def __repr__(self):
        return f"<sejits.scan({self.op!r}) {self.__name__}>"

    def __call__(self, *args, axis=None, dtype=None, out=None):
        result = self._call_compiled(args, axis, dtype, out)
        if result is not _NO_VALUE:
            return result
        mapped = self._map(*args)
        self._last_run = f"the map ({self._map._last_call_description()}), then NumPy's scan"

        def scan(values, out=None):
            flat = self.op in ("min", "max") and axis is None  # as np.cumsum: axis=None flattens
            return SCANS[self.op](np.ravel(values) if flat else values, 0 if flat else axis, dtype, out)
        return _numpy_on_host(scan, mapped, args, {"out": out})

    def _call_compiled(self, args, axis, dtype, out):
        """The compiled scan, or _NO_VALUE where NumPy must decide."""
        call = self._configure(args, axis, dtype, out)
        if call is None:
            return _NO_VALUE
        kernel, context, laid_out, shape, perm, on_device = call
        if context is not None:
            return self._run_on_device(kernel, context, laid_out, shape, perm, out, on_device)
        lookup = kernel._resolve(laid_out)
        native = lookup.kernel
        if type(native) is Fallback:
            return _NO_VALUE
        if out is not None and out.dtype != native.result_dtype:
            return _NO_VALUE  # NumPy computes in the promoted dtype and casts into out: its rules
        result = out if out is not None else np.empty(shape, native.result_dtype)
        self._last_run = kernel._last_run = "the compiled scan"
        call_timed(native, lambda k: _run(k, lookup.args, result.transpose(perm)))
        return result

    def _configure(self, args, axis, dtype, out):
        """(kernel, context, laid-out args, shape, perm, on_device) of a
        compiled scan, or None where NumPy must decide."""
        args = _plain_arrays(args)
        if args is None or not _plain_axis(axis, single=True):
            return None
        context = _device_calls.context_for(args, out)
        on_device = context is not None and any(_device_calls.is_device_array(a) for a in args)
        if context is not None:
            args = _device_calls.to_device(context, args, set())
        arrays = [a for a in args if _is_array(a)]
        if not arrays:
            return None
        try:
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            return None
        if axis is None:
            size = int(np.prod(shape))
            if context is not None:
                if any(tuple(a.shape) != shape or not a._is_contiguous() for a in arrays):
                    return None  # flattening a broadcast on the device: NumPy's
                args = tuple(a._reshaped((size,)) if _is_array(a) else a for a in args)
            else:
                args = tuple(np.broadcast_to(a, shape).reshape(size) if type(a) is np.ndarray else a for a in args)
            shape, axis = (size,), 0
        elif not isinstance(axis, (int, np.integer)) or not shape:
            return None  # NumPy's errors for a tuple axis or a 0-d scan
        (axis,) = normalize_axis_tuple(axis, len(shape))  # NumPy's AxisError
        if out is not None:
            if _device_calls.is_device_array(out):
                if context is None or tuple(out.shape) != shape or any(a._buffer is out._buffer for a in arrays):
                    return None
            elif type(out) is not np.ndarray or out.shape != shape or not out.flags.writeable:
                return None
            elif context is None and any(np.may_share_memory(out, a) for a in arrays):
                return None
        params = {"op": self.op, "reduced_dims": "1", "scan": "1"}
        if dtype is not None:
            try:
                params["dtype"] = np.dtype(dtype).name
            except TypeError:
                return None
        key = tuple(sorted(params.items()))
        kernel = self._kernels.get(key)
        if kernel is None:
            kernel = self._kernels[key] = _ReductionKernel(self.fn, params)
        perm = tuple(d for d in range(len(shape)) if d != axis) + (axis,)
        return kernel, context, tuple(_laid_out(a, shape, perm) for a in args), shape, perm, on_device

    def source(self, *args, axis=None, dtype=None, out=None):
        """The generated code (C++, or OpenCL under sejits.target("opencl")) for these arguments."""
        call = self._configure(args, axis, dtype, out)
        if call is None:
            raise SpecializationError(f"{self.__name__}: this call runs the map, then NumPy's scan: there is no scan source")
        return call[0].source(*call[2])

    def explain(self, *args, axis=None, dtype=None, out=None):
        """Whether a call with these arguments gets a compiled scan and why
        (the daemon's key, cache outcome and notes when it does); which code
        ran the last call."""
        call = self._configure(args, axis, dtype, out)
        if call is None:
            return (f"{self.__name__}: sejits.scan({self.op!r}) runs the map, then NumPy's scan: NumPy decides this "
                    f"call (its errors, or arguments the kernel does not take)\n  last call:   ran {self._last_run}")
        return call[0].explain(*call[2])

    def _run_on_device(self, kernel, context, laid_out, shape, perm, out, on_device):
        """The compiled OpenCL scan: a device result for device inputs, a host one for host inputs."""
        lookup = kernel._resolve_device(context, laid_out)
        native = lookup.kernel
        if type(native) is Fallback:
            return _NO_VALUE
        if out is not None and out.dtype != native.result_dtype:
            return _NO_VALUE  # NumPy computes in the promoted dtype and casts into out: its rules
        result = out if _device_calls.is_device_array(out) else context.empty(shape, native.result_dtype)
        self._last_run = kernel._last_run = f"the compiled OpenCL scan on {context.name}"
        laid_shape = tuple(shape[p] for p in perm)
        native.call_device(context._device, _device_calls.call_items(lookup.args, laid_shape), result._laid_out(shape, perm)._descriptor())
        if out is not None and not _device_calls.is_device_array(out):
            np.copyto(out, result.get())
            return out
        return result if on_device or out is not None else result.get()
