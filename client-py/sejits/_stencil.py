"""Stencils written with relative indexing: `a[0, 1] + a[0, -1] - 2 * a[0, 0]`
is the value of the output at the current point, reading the grid around it."""

import ast

import numpy as np

from sejits import _capture, _config, _device_calls, _load, _masked, _native, _pending, _stencil_python
from sejits._dispatch import KernelDispatcher
from sejits._methods import MethodDescriptor
from sejits._fallback_policy import Fallback, Retry
from sejits._native import FallbackRequested
from sejits._tuning_session import call_timed

BOUNDARIES = ("constant", "nearest", "reflect", "mirror", "wrap", "skip")
_MISSING = object()


class StencilDispatcher(_native.StencilDispatcher, KernelDispatcher, MethodDescriptor):
    """Calling it, or its iterate(), runs the native fast path
    (sejits._native.StencilDispatcher) on a repeat signature; first calls,
    device arrays, compiles in progress, tuning, an out= to check or copy
    and fallbacks come back here, to _call_slow and _iterate_slow."""

    specializer = "stencil"

    def __init__(self, fn, boundary="constant", cval=0.0, neighborhood=None):
        if boundary not in BOUNDARIES:
            raise ValueError(f"sejits.stencil: boundary must be one of {BOUNDARIES}, not {boundary!r}")
        if not isinstance(cval, (int, float, np.integer, np.floating)) or isinstance(cval, bool):
            raise TypeError(f"sejits.stencil: cval must be a number, not {type(cval).__name__}")
        KernelDispatcher.__init__(self, fn)
        # The options, as the signature has them (read-only: the native fast path keys calls by them too).
        self._signature_options = (boundary, float(cval), _check_neighborhood(neighborhood))
        self._skip_border = boundary == "skip"
        self._iterate_kernels = {}  # signature -> the artifact's iterate entry point, or None
        # `return a, b`: one kernel per output (a dispatcher each, the "output"
        # option set); this one then only hands calls to them.
        self._output_index = None  # which value of the body this dispatcher computes (None: the only one)
        self._output_dispatchers = None
        if self._binder.plain:
            binder = self._binder
            self._n_required, self._n_positional = binder.n_required, binder.n_positional
            self._tail_defaults = binder.tail_defaults

    boundary = property(lambda self: self._signature_options[0])
    cval = property(lambda self: self._signature_options[1])
    neighborhood = property(lambda self: self._signature_options[2])

    def _publish_live_names(self, live):
        self._live_keys = live.key_sources
        self._live_scalars = live.scalar_sources

    def _capture(self, key_values=None):
        """As for any kernel, and small arrays and sequences of numbers it
        reads (weights) are constants of the kernel, keyed by their values."""
        parsed = self._parse()
        key_values = self._live.key_values() if key_values is None else key_values
        self._live.check_defined(parsed, key_values)
        return _capture.bind(parsed, self._live, key_values, self._attributes(), constant_arrays=True)

    def _last_call_description(self):
        if not self._last_call_native:
            return self._last_run
        if self._last_call_iterated:
            return "the compiled kernel's temporally blocked sweeps (iterate, native fast path)"
        return "the compiled kernel (native fast path)"

    def _signature(self, args):
        # The options are in it too: the signature also keys the client's
        # on-disk handle cache, shared by every dispatcher of this function.
        # The native fast path builds it so too: the grid's rank, then the options.
        return super()._signature(args) + (np.ndim(args[0]), *self._signature_options)

    def _params(self):
        params = {"boundary": self.boundary, "cval": repr(self.cval)}
        if self._output_index is not None:
            params["output"] = str(self._output_index)
        if self.neighborhood is not None:
            params["neighborhood"] = ";".join(f"{low},{high}" for low, high in self.neighborhood)
        return params

    def _run_python(self, args, out):
        def point(*values):
            value = self._call_python(values)
            return value if self._output_index is None else value[self._output_index]
        return _stencil_python.run_python(point, args, self.boundary, self.cval, out, self.neighborhood)

    def _call_slow(self, *args, out=None, **kwargs):
        self._last_call_native = False
        outputs = self._per_output()
        if outputs is not None:
            return self._call_each_output(outputs, args, kwargs, out)
        return self._call_bound(self._bind(args, kwargs), out)

    def _per_output(self):
        """The dispatchers of a stencil whose body returns a tuple (`return a,
        b`), one per value; None for a stencil of one output."""
        if self._output_dispatchers is None and self._output_index is None:
            try:
                tree = self._parse().tree
            except _capture.CaptureError:
                return None  # the call falls back with the reason
            counts = [len(node.value.elts) for node in ast.walk(tree)
                      if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple)]
            self._output_dispatchers = ()
            if counts:
                self._output_dispatchers = tuple(self._output_dispatcher(k) for k in range(max(counts)))
        return self._output_dispatchers or None

    def _output_dispatcher(self, index):
        dispatcher = StencilDispatcher(self.fn, self.boundary, self.cval, self.neighborhood)
        dispatcher._output_index = index
        return dispatcher

    def _call_each_output(self, outputs, args, kwargs, out):
        """A tuple of arrays, one per returned value; out=(o1, o2, ...) receives them."""
        outs = (None,) * len(outputs) if out is None else out
        if not isinstance(outs, tuple) or len(outs) != len(outputs):
            raise TypeError(f"{self.__name__} returns {len(outputs)} values: out must be a tuple of {len(outputs)} arrays")
        results = tuple(dispatcher(*args, out=o, **kwargs) for dispatcher, o in zip(outputs, outs))
        self._last_run = f"one kernel per output ({len(outputs)}): " + "; ".join(d._last_run for d in outputs)
        return results

    def _call_bound(self, args, out):
        if not args or np.ndim(args[0]) == 0:
            raise TypeError(f"{self.__name__}: the first argument of a stencil is the grid, an array of rank 1 or more")
        grid_shape = np.shape(args[0])
        for position, value in enumerate(args):
            if np.ndim(value) > 0 and np.shape(value) != grid_shape:
                raise ValueError(f"{self.__name__}: argument {position} has shape {np.shape(value)}, the grid {grid_shape}")
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
            self._last_run = "the compiled kernel"
        try:
            return call_timed(lookup.kernel, lambda native: self._call_kernel(native, lookup.args, out))
        except FallbackRequested:  # e.g. Python int arithmetic beyond 64 bits: Python computes it exactly
            self._last_run = "the Python function as written (the kernel asked for Python: e.g. ints beyond 64 bits)"
            return self._run_python(args, out)

    def _call_kernel(self, kernel, args, out):
        grid = args[0]
        if out is None:
            result = np.zeros(grid.shape, kernel.result_dtype)  # "skip" leaves the border as zeros
            kernel(args, result)
            return result
        self._check_out(out, grid.shape, kernel.result_dtype)
        interim = type(kernel) is _pending.InterimKernel  # it writes a C-contiguous array of its own
        if interim or any(isinstance(a, np.ndarray) and np.may_share_memory(a, out) for a in args):
            target = out.copy()  # neighbours must be read before the point is written
            kernel(args, target)
            np.copyto(out, target)
        else:
            kernel(args, out)
        return out

    def _check_out(self, out, shape, result_dtype):
        """A NumPy `out=`: the grid's shape and the stencil's dtype."""
        if not isinstance(out, np.ndarray) or out.shape != shape:
            raise ValueError(f"{self.__name__}: out must be an array of the grid's shape {shape}")
        if out.dtype != result_dtype:
            raise TypeError(f"{self.__name__}: out has dtype {out.dtype}, the stencil computes {result_dtype}")

    def _call_device(self, context, args, out):
        on_device = any(_device_calls.is_device_array(a) for a in args)
        args = _device_calls.to_device(context, args, set())
        lookup = self._resolve_device(context, args)
        kernel, args = lookup.kernel, lookup.args
        if type(kernel) is Fallback:
            return self._device_fallback(context, kernel, args, out, on_device)
        self._last_run = f"the compiled OpenCL kernel on {context.name}"
        shape = tuple(args[0].shape)
        out_on_device = _device_calls.is_device_array(out)
        if out_on_device:
            _device_calls.check_out(self.__name__, out, context, shape, kernel.result_dtype)
        elif out is not None:
            self._check_out(out, shape, kernel.result_dtype)
        # Neighbours must be read before a point is written: an output that
        # shares memory with an input is computed into a new buffer first.
        shares = out_on_device and any(_device_calls.is_device_array(a) and a._buffer is out._buffer for a in args)
        if out_on_device and not shares:
            result = out
        elif out is not None and self.boundary == "skip":
            # The new buffer starts as `out`: "skip" leaves out's border as it was.
            result = out.copy() if out_on_device else context.asarray(out)
        else:
            result = context.zeros(shape, kernel.result_dtype)
        try:
            kernel.call_device(context._device, _device_calls.call_items(args, shape), result._descriptor())
        except FallbackRequested:
            return self._device_fallback(context, Fallback("the kernel asked for Python"), args, out, on_device)
        if shares:
            context._device.copy(result._buffer, result._offset, out._buffer, out._offset, out.nbytes)
            result = out
        return _device_calls.finish_result(result, out, on_device, zero_rank=False)

    def _iterate_device(self, context, args, steps):
        """`steps` sweeps enqueued by the artifact's iterate entry point on two
        device buffers: the grid never leaves the device between sweeps."""
        on_device = any(_device_calls.is_device_array(a) for a in args)
        args = _device_calls.to_device(context, args, set())
        grid, rest = args[0], args[1:]
        lookup = self._resolve_device(context, args)
        signature, kernel = lookup.signature, lookup.kernel
        if type(kernel) is Fallback:
            result = self._iterate_python(grid.get() if on_device else np.asarray(grid), tuple(
                a.get() if _device_calls.is_device_array(a) else a for a in rest), steps)
            return context.asarray(result) if on_device else result
        if kernel.result_dtype != grid.dtype:
            first = self._call_device(context, args, None)  # later sweeps read the result's dtype
            if steps == 1:
                return first if on_device else first.get()
            result = self._iterate_device(context, (first, *rest), steps - 1)
            return result if on_device else result.get()
        entry = self._iterate_kernels.get(signature)
        if entry is None:
            entry = _iterate_entry_of(kernel)
            self._iterate_kernels[signature] = entry
        out, spare = context.empty(grid.shape, kernel.result_dtype), context.empty(grid.shape, kernel.result_dtype)
        items = _device_calls.call_items(lookup.args, grid.shape) + (spare._descriptor(), int(steps))
        entry.call_device(context._device, items, out._descriptor())
        return out if on_device else out.get()

    def _iterate_slow(self, *args, steps=_MISSING, out=None, **kwargs):
        """iterate() off the fast path (sejits._native.StencilDispatcher.iterate):
        steps=0 is a copy of the grid; `out=` receives the result."""
        self._last_call_native = False
        if self._per_output() is not None:
            raise TypeError(f"{self.__name__}.iterate: a stencil that returns several values cannot feed itself; "
                            "call it once per step")
        steps = self._check_steps(steps)
        args = self._bind(args, kwargs)
        if steps == 0:
            if not args or np.ndim(args[0]) == 0:
                raise TypeError(f"{self.__name__}: the first argument of a stencil is the grid, an array of rank 1 or more")
            self._last_run = "no sweep (steps=0): a copy of the grid"
            grid = args[0]
            result = grid.copy() if _device_calls.is_device_array(grid) else np.array(grid, copy=True)
        else:
            result = self._iterate_bound(args, steps)
        return result if out is None else self._into_out(result, out)

    def _check_steps(self, steps):
        if steps is _MISSING:
            raise TypeError("StencilDispatcher.iterate() missing 1 required keyword-only argument: 'steps'")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"{self.__name__}.iterate: steps must be an integer of at least 0, not {steps!r}")
        return int(steps)

    def _into_out(self, result, out):
        """iterate's `out=`: the grid's shape and the result's dtype, as a
        call's out= (a host or a device array); the sweeps ran in buffers of
        their own, so out may be the grid itself."""
        if _device_calls.is_device_array(out):
            context = out.context
            _device_calls.check_out(self.__name__, out, context, tuple(result.shape), result.dtype)
            source = result if _device_calls.is_device_array(result) else context.asarray(np.ascontiguousarray(result))
            if source.context is not context:
                raise ValueError(f"{self.__name__}: out is a device array of another OpenCL context ({context.name})")
            context._device.copy(source._buffer, source._offset, out._buffer, out._offset, out.nbytes)
            return out
        host = result.get() if _device_calls.is_device_array(result) else result
        self._check_out(out, host.shape, host.dtype)
        np.copyto(out, host)
        return out

    def _iterate_explain(self, *args, steps=_MISSING, **kwargs):
        """iterate.explain(*args, steps=n): explain() for the grid's kernel,
        and how `steps` sweeps run."""
        steps = self._check_steps(steps)
        kwargs.pop("out", None)
        text = self.explain(*args, **kwargs)
        args = self._bind(args, kwargs)
        if steps == 0:
            how = "no sweep: steps=0 returns a copy of the grid"
        else:
            how = self._iterate_plan(args, steps)
        return text + f"\n  iterate:     {steps} sweep{'s' if steps != 1 else ''}: {how}"

    def _iterate_plan(self, args, steps):
        """How iterate runs `steps` sweeps of these arguments, in words."""
        masked = _masked.refusal(args)
        if masked is not None:
            return f"the Python function as written, sweep by sweep ({masked})"
        context = _device_calls.context_for(args)
        if context is not None:
            kernel = self._resolve_device(context, _device_calls.to_device(context, args, set())).kernel
        else:
            kernel = self._resolve(args).kernel
        if type(kernel) is Fallback:
            return f"the Python function as written, sweep by sweep ({kernel.reason})"
        grid_dtype = np.dtype(args[0].dtype) if hasattr(args[0], "dtype") else np.asarray(args[0]).dtype
        if kernel.result_dtype != grid_dtype:
            return (f"the first sweep computes {kernel.result_dtype} from the {grid_dtype} grid; "
                    "the later ones are the kernel for that dtype")
        if context is not None:
            return f"the artifact's iterate entry enqueues every sweep on {context.name}, on two device buffers"
        if steps == 1:
            return "one call of the kernel"
        if _iterate_entry_of(kernel) is not None:
            return "the artifact's iterate entry point: temporally blocked sweeps in one call (see its notes)"
        return "one kernel call per sweep, between two buffers (the artifact has no temporally blocked sweeps: see its notes)"

    def _iterate_bound(self, args, steps):
        masked = _masked.refusal(args)
        if masked is not None:
            self._last_run = f"the Python function as written ({self._fallbacks.fall_back(masked).reason})"
            return self._iterate_python(args[0], args[1:], steps)
        context = _device_calls.context_for(args)
        if context is not None:
            return self._iterate_device(context, args, steps)
        grid, rest = np.asarray(args[0]), args[1:]
        lookup = self._resolve((grid, *rest))
        kernel = lookup.kernel
        if type(kernel) is Fallback:
            self._last_run = f"the Python function as written ({kernel.reason})"
            return self._iterate_python(grid, rest, steps)
        if kernel.result_dtype != grid.dtype:
            # Sweeps after the first read the result's dtype: another kernel.
            first = self._iterate_sweeps(kernel, grid, rest, 1)
            return first if steps == 1 else self._iterate_bound((first, *rest), steps - 1)
        blocked = self._iterate_entry(kernel, lookup) if steps > 1 else None
        try:
            if blocked is None:
                return self._iterate_sweeps(kernel, grid, rest, steps)
            # Recycled buffers: no page faults on repeated calls.
            out, spare = (_native.empty(grid.shape, kernel.result_dtype) for _ in range(2))
            call_timed(blocked, lambda native: native((*lookup.args, spare, steps), out), units=steps)
            self._last_run = "the compiled kernel's temporally blocked sweeps (iterate)"
            return out
        except FallbackRequested:
            return self._iterate_python(grid, rest, steps)

    def _iterate_sweeps(self, kernel, grid, rest, steps):
        """One kernel call per sweep, ping-ponging between two buffers."""
        current, spare = (_native.empty(grid.shape, kernel.result_dtype) for _ in range(2))
        if self.boundary == "skip":  # the border keeps the grid's values in every step
            np.copyto(current, grid)
            np.copyto(spare, grid)
        self._call_bound((grid, *rest), current)
        for _ in range(steps - 1):
            self._call_bound((current, *rest), spare)
            current, spare = spare, current
        return current

    def _iterate_python(self, grid, rest, steps):
        current = grid
        for _ in range(steps):
            keep = current.copy() if self.boundary == "skip" else None
            current = self._run_python((current, *rest), keep)
        return current

    def _iterate_entry(self, kernel, lookup):
        """The artifact's temporally blocked sweeps for this signature (a
        TuningSession while their variants are timed), or None when it has
        none (the daemon's notes say why, or the kernel is still compiling)."""
        signature, args = lookup.signature, lookup.args
        if signature in self._iterate_kernels:
            return self._iterate_kernels[signature]
        if type(kernel) is _pending.InterimKernel:
            return None  # sweep by sweep until the compiled kernel is in
        iterate_of = _iterate_entry_of
        entry = iterate_of(kernel)
        if entry is not None and _config.settings.tuning != "off":
            # iterate's sweeps have variants of their own (temporal depth): a plan of their own.
            with self._lock:
                tuned = self._specialize(args, signature, lookup.key_values, entry="iterate", adapt=iterate_of,
                                         install=self._installer(signature, self._iterate_kernels))
            if type(tuned) not in (Fallback, Retry) and tuned is not None:
                entry = tuned
        self._iterate_kernels.setdefault(signature, entry)
        return self._iterate_kernels[signature]

    def source(self, *args, **kwargs):
        outputs = self._per_output()
        if outputs is not None:
            return "\n".join(f"// output {k}\n" + d.source(*args, **kwargs) for k, d in enumerate(outputs))
        return super().source(*args, **kwargs)

    def explain(self, *args, **kwargs):
        outputs = self._per_output()
        if outputs is not None:
            return "\n".join(f"output {k}: " + d.explain(*args, **kwargs) for k, d in enumerate(outputs))
        return super().explain(*args, **kwargs) + f"\n  boundary:    {self.boundary}" + (
            f" (cval {self.cval})" if self.boundary == "constant" else "")


def _check_neighborhood(neighborhood):
    if neighborhood is None:
        return None
    try:
        extent = tuple((int(low), int(high)) for low, high in neighborhood)
    except (TypeError, ValueError):
        raise TypeError("sejits.stencil: neighborhood is ((low, high), ...) per axis") from None
    if any(low > 0 or high < 0 for low, high in extent):
        raise ValueError("sejits.stencil: each neighborhood axis needs low <= 0 <= high")
    return extent


def stencil(fn=None, *, boundary="constant", cval=0.0, neighborhood=None, **options):
    """Decorator (with or without arguments) for relative-index stencils."""
    if options:
        raise TypeError(f"sejits.stencil() got unexpected options {sorted(options)}")
    make = lambda f: StencilDispatcher(f, boundary=boundary, cval=cval, neighborhood=neighborhood)  # noqa: E731
    return make if fn is None else make(fn)


def _iterate_entry_of(loaded):
    """The artifact's "iterate" entry point (its temporally blocked sweeps) of
    a loaded kernel, or None where the artifact has none (the variant has no
    temporal blocking, or the stencil cannot be blocked: the notes say why)."""
    return _load.sibling_entry(loaded, "iterate")
