"""Element-wise kernels: calling one runs the native fast path; everything
it does not handle (misses, keywords, out=, broadcasting, device arrays,
compiles in progress, tuning, fallbacks) comes to _call_slow."""

import numpy as np

from sejits import _device_calls, _fallback, _masked, _pending
from sejits._dispatch import KernelDispatcher
from sejits._methods import MethodDescriptor
from sejits._fallback_policy import Fallback
from sejits._native import Dispatcher as _NativeDispatcher
from sejits._native import FallbackRequested as _FallbackRequested
from sejits._native import Kernel as _NativeKernel
from sejits._native import call_elementwise as _call_elementwise
from sejits._native import empty as _native_empty
from sejits._native import empty_like_inputs as _empty_like_inputs
from sejits._tuning_session import call_timed


class ElementwiseDispatcher(_NativeDispatcher, KernelDispatcher, MethodDescriptor):
    """Calling it runs the native fast path (sejits._native.Dispatcher): it
    binds plain positional calls, reads the free names, looks the signature
    up and calls the kernel. Misses, keywords, out=, broadcasting, compiles
    in progress and fallbacks come back here, to _call_slow."""

    specializer = "elementwise"

    def __init__(self, fn):
        KernelDispatcher.__init__(self, fn)
        binder = self._binder
        if binder.plain:
            self._n_required, self._n_positional = binder.n_required, binder.n_positional
            self._tail_defaults = binder.tail_defaults

    def _publish_live_names(self, live):
        self._live_keys = live.key_sources
        self._live_scalars = live.scalar_sources

    def _last_call_description(self):
        if self._last_call_native:
            return "the compiled kernel (native fast path)"
        return self._last_run

    # ---- everything the native fast path does not handle -------------------

    def _call_slow(self, *args, out=None, **kwargs):
        self._last_call_native = False
        if not self._binder.plain:
            return self._run_python(args, out)
        args = self._binder.bind(args, kwargs)
        masked = _masked.refusal(args, out)
        if masked is not None:
            return self._run_fallback(self._fallbacks.fall_back(masked), args, out)
        context = _device_calls.context_for(args, out)
        if context is not None:
            return self._call_device(context, args, out)
        lookup = self._resolve(args)
        if type(lookup.kernel) is Fallback:
            return self._run_fallback(lookup.kernel, args, out)
        if type(lookup.kernel) is not _pending.InterimKernel:
            self._last_run = "the compiled kernel (from Python: a first call, keywords, out=, broadcasting or tuning)"
        return call_timed(lookup.kernel, lambda native: self._call_kernel(native, lookup.args, out, args))

    def _call_device(self, context, args, out):
        if type(out) is tuple and len(out) == 1:
            out = out[0]
        notes = set()
        on_device = any(_device_calls.is_device_array(a) for a in args)
        host_arrays = [a for a in args if type(a) is np.ndarray]
        args = _device_calls.to_device(context, args, notes)
        lookup = self._resolve_device(context, args)
        kernel, args = lookup.kernel, lookup.args
        if type(kernel) is Fallback:
            return self._device_fallback(context, kernel, args, out, on_device)
        self._last_run = f"the compiled OpenCL kernel on {context.name}"
        shape = _device_calls.broadcast_shape(args)
        dtypes = _output_dtypes(kernel)
        if len(dtypes) > 1 or type(out) is tuple:
            return self._call_device_outputs(context, kernel, args, out, shape, dtypes, on_device, host_arrays)
        if _device_calls.is_device_array(out):
            _device_calls.check_out(self.__name__, out, context, shape, kernel.result_dtype)
            result = out
        else:
            if out is not None:  # a host `out` is checked as on the CPU, before the kernel runs
                self._check_out(out, shape, kernel.result_dtype)
            result = context.empty(shape, kernel.result_dtype)
        try:
            kernel.call_device(context._device, _device_calls.call_items(args, shape), result._descriptor())
        except _FallbackRequested:
            return self._device_fallback(context, Fallback("the kernel asked for Python"), args, out, on_device)
        result = _device_calls.finish_result(result, out, on_device, zero_rank=not shape)
        return _laid_out_as_inputs(result, host_arrays) if out is None and not on_device and shape else result

    def _call_device_outputs(self, context, kernel, args, out, shape, dtypes, on_device, host_arrays):
        """A kernel returning a tuple, on the device: one result per output."""
        outs = self._check_outs(out, shape, dtypes, device=context)
        results = []
        for given, dtype in zip(outs, dtypes):
            results.append(given if _device_calls.is_device_array(given) else context.empty(shape, dtype))
        items = _device_calls.call_items(args, shape) + tuple(r._descriptor() for r in results[:-1])
        try:
            kernel.call_device(context._device, items, results[-1]._descriptor())
        except _FallbackRequested:
            return self._device_fallback(context, Fallback("the kernel asked for Python"), args, out, on_device)
        finished = []
        for result, given in zip(results, outs):
            result = _device_calls.finish_result(result, given, on_device, zero_rank=not shape)
            finished.append(_laid_out_as_inputs(result, host_arrays) if given is None and not on_device and shape else result)
        return tuple(finished)

    def _call_kernel(self, kernel, args, out, user_args):
        arrays = [a for a in args if type(a) is np.ndarray]
        shape = arrays[0].shape if arrays else ()
        for a in arrays:
            if a.shape != shape:
                shape = np.broadcast_shapes(*(a.shape for a in arrays))
                break
        if type(out) is tuple or _several_outputs(kernel):
            dtypes = _output_dtypes(kernel)
            if len(dtypes) == 1 and len(out) == 1:  # out=(o,), as ufuncs take it
                out = out[0]
            else:
                return self._call_outputs(kernel, args, arrays, shape, out, dtypes, user_args)
        try:
            if out is not None:
                return self._call_into(kernel, args, arrays, shape, out)
            result = _result_array(arrays, shape, kernel.result_dtype)
            _run(kernel, args, result)
        except _FallbackRequested:  # e.g. Python int arithmetic beyond 64 bits: Python computes it exactly
            self._last_run = "the Python function as written (the kernel asked for Python: e.g. ints beyond 64 bits)"
            return self._run_python(user_args, out)
        if result.ndim == 0 and all(a.ndim == 0 for a in arrays):
            return result[()]
        return result

    def _check_out(self, out, shape, result_dtype, label="out"):
        """A NumPy `out=`: writable, the result broadcasts to it, and the
        result casts to its dtype (same kind)."""
        if not isinstance(out, np.ndarray):
            raise TypeError(f"{self.__name__}: {label} must be a NumPy array, not {type(out).__name__}")
        if out.shape != shape and _broadcast_to_shape(shape, out.shape) != out.shape:
            raise ValueError(f"{self.__name__}: {label} has shape {out.shape}, the result has shape {shape}")
        if not out.flags.writeable:
            raise ValueError(f"{self.__name__}: {label} is read-only")
        if out.dtype != result_dtype and not np.can_cast(result_dtype, out.dtype, casting="same_kind"):
            raise TypeError(f"{self.__name__}: cannot cast the result from {result_dtype} to {label}'s {out.dtype}")

    def _check_outs(self, out, shape, dtypes, device=None):
        """`out=` of a kernel returning a tuple: None, or a tuple of one array
        per output (None for one to allocate), each checked as one `out`, all
        of one shape (the loop's). Returns the tuple."""
        if out is None:
            return (None,) * len(dtypes)
        if type(out) is not tuple:
            raise TypeError(f"{self.__name__}: the kernel returns {len(dtypes)} arrays, so out must be a tuple of "
                            f"{len(dtypes)} arrays, not {type(out).__name__}")
        if len(out) != len(dtypes):
            returns = f"{len(dtypes)} arrays" if len(dtypes) > 1 else "one array"
            raise ValueError(f"{self.__name__}: out has {len(out)} arrays, the kernel returns {returns}")
        shapes = set()
        for j, (given, dtype) in enumerate(zip(out, dtypes)):
            if given is None:
                continue
            if device is not None and _device_calls.is_device_array(given):
                _device_calls.check_out(f"{self.__name__} (out[{j}])", given, device, shape, dtype)
            else:
                self._check_out(given, shape, dtype, label=f"out[{j}]")
            shapes.add(tuple(given.shape))
        if len(shapes) > 1:
            raise ValueError(f"{self.__name__}: the arrays of out have different shapes {sorted(shapes)}; "
                             "each output has the result's shape")
        if shapes and any(given is None for given in out):
            raise ValueError(f"{self.__name__}: out gives some outputs but not all: give every one, or none")
        return out

    def _call_outputs(self, kernel, args, arrays, shape, out, dtypes, user_args):
        """A kernel returning a tuple (as np.divmod does): one array per
        output, each laid out as a ufunc's result, or written into `out`'s."""
        outs = self._check_outs(out, shape, dtypes)
        if out is None:
            targets = tuple(_result_array(arrays, shape, dtype) for dtype in dtypes)
        else:
            targets = tuple(o if o.dtype == d and type(kernel) is not _pending.InterimKernel else np.empty(o.shape, d)
                            for o, d in zip(outs, dtypes))
            args = tuple(a.copy() if type(a) is np.ndarray and any(_overlaps_differently(a, t) for t in targets) else a
                         for a in args)
        try:
            _run_outputs(kernel, args, targets)
        except _FallbackRequested:
            self._last_run = "the Python function as written (the kernel asked for Python: e.g. ints beyond 64 bits)"
            return self._run_python(user_args, out)
        if out is not None:
            for given, target in zip(outs, targets):
                if target is not given:
                    np.copyto(given, target, casting="same_kind")
            return outs
        if all(a.ndim == 0 for a in arrays):
            return tuple(t[()] for t in targets)
        return targets

    def _call_into(self, kernel, args, arrays, shape, out):
        self._check_out(out, shape, kernel.result_dtype)
        if type(kernel) is _pending.InterimKernel:  # the NumPy form writes a fresh array of the result's shape
            result = np.empty(shape, kernel.result_dtype)
            kernel(args, result)
            np.copyto(out, result, casting="same_kind")
            return out
        target = out
        if out.dtype != kernel.result_dtype:
            target = np.empty(out.shape, kernel.result_dtype)
        # An input that overlaps the output without being the very same view
        # is read from a copy, as NumPy's ufuncs do.
        args = tuple(
            a.copy() if type(a) is np.ndarray and _overlaps_differently(a, target) else a for a in args
        )
        _run(kernel, args, target)
        if target is not out:
            np.copyto(out, target, casting="same_kind")
        return out

    def _run_python(self, args, out):
        return _fallback.run_python(lambda *values: self._call_python(values), args, out)


def _laid_out_as_inputs(result, host_arrays):
    """A device result copied back to the host, laid out as a ufunc's result
    would be (NumPy in, NumPy out, order="K"): itself when the inputs are C-contiguous."""
    if all(a.flags.c_contiguous for a in host_arrays):
        return result
    ordered = _empty_like_inputs(tuple(host_arrays), result.dtype)
    np.copyto(ordered, result)
    return ordered


def _result_array(arrays, shape, dtype):
    """The result as a ufunc allocates it (order="K"): C-contiguous for
    C-contiguous inputs, else in the inputs' memory order (a Fortran-ordered
    input gives a Fortran-ordered result)."""
    for a in arrays:
        if not a.flags.c_contiguous:
            return _empty_like_inputs(tuple(arrays), dtype)
    return _native_empty(shape, dtype)


def _run(kernel, args, out):
    """kernel(args, out); a native kernel computes in out's memory order
    (dense loops for Fortran order), the NumPy form into a C-contiguous array."""
    if type(kernel) is _NativeKernel:
        _call_elementwise(kernel, args, out)
    elif out.flags.c_contiguous:
        kernel(args, out)
    else:
        result = np.empty(out.shape, out.dtype)
        kernel(args, result)
        np.copyto(out, result)


def _run_outputs(kernel, args, outs):
    """kernel(args, outs) for a kernel with several outputs: the entry takes
    them after the inputs, so all but the last travel with the inputs."""
    if type(kernel) is _NativeKernel:
        _call_elementwise(kernel, args + outs[:-1], outs[-1])
    elif all(o.flags.c_contiguous for o in outs):
        kernel(args + outs[:-1], outs[-1])
    else:
        fresh = tuple(np.empty(o.shape, o.dtype) for o in outs)
        kernel(args + fresh[:-1], fresh[-1])
        for o, f in zip(outs, fresh):
            np.copyto(o, f)


def _several_outputs(kernel):
    info = kernel.info
    names = info.get("output_dtypes") if type(info) is dict else None
    return names is not None and len(names) > 1


def _output_dtypes(kernel):
    """The dtypes of a kernel's outputs (one unless it returns a tuple)."""
    names = kernel.info.get("output_dtypes") if isinstance(kernel.info, dict) else None
    if not names:
        return (kernel.result_dtype,)
    return tuple(np.dtype(n) for n in names)


def _broadcast_to_shape(shape, target):
    try:
        return np.broadcast_shapes(shape, target)
    except ValueError:
        return None


def _overlaps_differently(a, out):
    if not np.may_share_memory(a, out):
        return False
    same_view = (a.__array_interface__["data"][0] == out.__array_interface__["data"][0]
                 and a.strides == out.strides and a.shape == out.shape)
    return not same_view
