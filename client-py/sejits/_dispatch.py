"""KernelDispatcher, what every decorated kernel shares: the in-memory map
from argument signature to what its calls run; only a miss leaves it.

A call binds its arguments (_binding) and reads the kernel's free names
(_capture); a signature in the map runs its kernel. A miss builds the
request from the captured function (_request) and goes to _specialize
(handle cache, daemon, background compile), which loads the artifact by
role (_load) and may time the tuning plan's candidates (_tuning_session);
a failure becomes a fallback (_fallback_policy). explain() is _explain's."""

import os
import threading
import time

import numpy as np

from sejits import _arguments, _binding, _capture, _config, _device_calls, _explain, _load, _masked, _native, _pending
from sejits import _platforms, _request, _specialize, _tuning, _tuning_session
from sejits._errors import SpecializationError
from sejits._fallback_policy import Fallback, FallbackPolicy, Retry, describe_failure, raised_as

# OpenMP cannot start threads in a child forked after it ran (libgomp hangs):
# kernels called there run on one thread.
os.register_at_fork(after_in_child=_native.mark_forked)
_native.set_host_fast_path(_config.settings.target == "cpu")


class _Lookup:
    """One call's kernel: `args` are the call's normalized arguments followed
    by the free names passed as scalar arguments; `key_values` the values of
    the other free names (part of `signature`)."""

    __slots__ = ("args", "signature", "kernel", "key_values")

    def __init__(self, args, signature, kernel, key_values=()):
        self.args, self.signature, self.kernel, self.key_values = args, signature, kernel, key_values


def _as_is(kernel):
    return kernel


class KernelDispatcher:
    """What every decorated kernel shares: argument binding, the signature
    map, capture, specialization through the daemon, loading, fallback,
    explain()."""

    specializer = None
    # Free names holding numbers are passed as trailing scalar arguments
    # (one kernel for all their values); class-based stencils take grids
    # only, so their free names are constants of the kernel instead.
    scalar_arguments = True

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "kernel")
        self.__qualname__ = getattr(fn, "__qualname__", self.__name__)
        self.__module__ = getattr(fn, "__module__", None)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn
        self._kernels = {}
        self._binder = _binding.Binder(fn)
        self._parsed = None  # the source, read once: _parse()
        self._live = None  # where its free names are read at every call
        self._parse_error = None
        self._fallbacks = FallbackPolicy(self.__name__)
        self._lock = threading.Lock()
        self._last_run = "no call yet"  # which code ran the last call (slow path), for explain()

    def __repr__(self):
        return f"<sejits.{self.specializer} {self.__name__}: {len(self._kernels)} signatures>"

    def __reduce__(self):
        # Pickled by reference, as a function is: the unpickling process
        # imports the module, whose decorator makes the kernel there (its
        # compiled kernels are the daemon's and the handle cache's to share).
        # pickle checks that module.qualname is this very object.
        return self.__qualname__

    # ---- what each kind of kernel defines ------------------------------------

    def _signature(self, args):
        """The in-memory map's key for these (normalized) arguments."""
        return tuple(map(_arguments.signature_element, args))

    def _params(self):
        """Options sent with the request (they are part of the cache key)."""
        return {}

    def _attributes(self):
        """Attributes read as constants ((object, attribute) -> value)."""
        return {}

    def _run_python(self, args, out):
        """The fallback: the function as plain Python/NumPy."""
        raise NotImplementedError

    # ---- capture -------------------------------------------------------------

    def _parse(self):
        """The kernel's source (parsed on first use) and where its free names live."""
        if self._parsed is None:
            if self._parse_error is not None:
                raise self._parse_error
            try:
                parsed = _capture.parse(self.fn)
            except _capture.CaptureError as error:
                self._parse_error = error
                raise
            self._live = _capture.LiveNames(self.fn, parsed, scalars_allowed=self.scalar_arguments)
            self._parsed = parsed
            self._publish_live_names(self._live)
        return self._parsed

    def _publish_live_names(self, live):
        """Hook: the native fast path reads the same free names."""

    def _capture(self, key_values=None):
        """The kernel as the daemon compiles it for these key values (default: the current ones)."""
        parsed = self._parse()
        key_values = self._live.key_values() if key_values is None else key_values
        self._live.check_defined(parsed, key_values)
        return _capture.bind(parsed, self._live, key_values, self._attributes())

    def _kernel_arguments(self, args):
        """(the call's arguments and the scalar free names' values, the key
        names' values); the free names as they are now."""
        try:
            self._parse()
        except _capture.CaptureError:
            return args, ()  # the kernel falls back (the reason comes from _specialize)
        scalars = self._live.scalar_values()
        self._live.check_defined(self._parsed, scalars, scalars=True)  # a global deleted since the first call
        for name, value in zip(self._live.scalar_names, scalars):
            if not isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
                raise SpecializationError(f"the name '{name}' read by the kernel now holds a {type(value).__name__}, "
                                          "not a number")
        return args + scalars, self._live.key_values()

    def _user_arguments(self, args):
        """The call's own arguments, without the scalar free names."""
        extra = len(self._live.scalar_names) if self._live is not None else 0
        return args[:len(args) - extra] if extra else args

    def _build_request(self, args, captured, tuning=None, want_source=False, platform=_platforms.CPU_OPENMP):
        """The SpecializeRequest for the captured kernel and `args`; `tuning`: a _request.TuningAsk or None."""
        return _request.build(self.specializer, args, function=captured, params=self._params(),
                              kernel_name=getattr(self.fn, "__qualname__", self.__name__), tuning=tuning,
                              want_source=want_source, platform=platform)

    # ---- the signature map ---------------------------------------------------

    def _resolve(self, args):
        """Normalizes the (bound) arguments and finds or builds their kernel:
        a _Lookup whose kernel may be a fallback."""
        try:
            kernel_args, key_values = self._kernel_arguments(args)
            # A hit on the arguments as given: they need no normalizing (the
            # signature of anything normalize() would convert has a None).
            signature = self._signature(kernel_args) + _capture.key_elements(key_values)
            kernel = self._kernels.get(signature)
            if kernel is not None and type(kernel) is not _pending.PendingKernel:
                return _Lookup(kernel_args, signature, kernel, key_values)
            scalars = kernel_args[len(args):]  # the free names as read above: once per call
            args = tuple(_arguments.normalize(a, k) for k, a in enumerate(args))
            kernel_args = args + scalars
        except SpecializationError as error:
            return _Lookup(args, None, self._fallbacks.fall_back(str(error), error_class=raised_as(error)))
        signature = self._signature(kernel_args) + _capture.key_elements(key_values)
        with self._lock:
            kernel = self._kernels.get(signature)
            if kernel is None:
                kernel = self._specialize(kernel_args, signature, key_values, asynchronous=True)
                if type(kernel) is Retry:
                    return _Lookup(kernel_args, signature, kernel.fallback, key_values)
                self._kernels[signature] = kernel
        if type(kernel) is _pending.PendingKernel:
            kernel = self._settle(signature, kernel)
        return _Lookup(kernel_args, signature, kernel, key_values)

    def _settle(self, signature, pending):
        """What a call on a signature still compiling runs: the built kernel
        once ready (it replaces the pending entry), else the interim NumPy code."""
        if not pending.ready():
            self._last_run = "the vectorized NumPy form (the compiled kernel is still being built)"
            return pending.interim
        outcome, error = pending.wait()
        if error is not None:
            outcome = self._fallbacks.failure(error)  # its warning (or error) comes on the caller's thread
        with self._lock:
            if self._kernels.get(signature) is pending:
                if type(outcome) is Retry:
                    del self._kernels[signature]  # asked again on the next call
                else:
                    self._kernels[signature] = outcome
        return outcome.fallback if type(outcome) is Retry else outcome

    def _resolve_device(self, context, args):
        """The OpenCL kernel for these (device-resident, bound) arguments in `context`."""
        kernel_args, key_values = self._kernel_arguments(args)
        signature = _device_calls.signature_prefix(context) + self._signature(kernel_args) + _capture.key_elements(key_values)
        with self._lock:
            kernel = self._kernels.get(signature)
            if kernel is None:
                kernel = self._specialize(kernel_args, signature, key_values, platform=_device_calls.OPENCL)
                if type(kernel) is Retry:
                    return _Lookup(kernel_args, signature, kernel.fallback, key_values)
                self._kernels[signature] = kernel
        return _Lookup(kernel_args, signature, kernel, key_values)

    def _installer(self, signature, kernels=None):
        """Puts a finished tuning session's kernel in `kernels` (default: the signature map)."""
        kernels = self._kernels if kernels is None else kernels

        def install(kernel, summary):
            kernel.info["tuning"] = summary
            kernels[signature] = kernel
        return install

    # ---- misses ------------------------------------------------------------

    def _specialize(self, args, signature, key_values, entry="call", install=None, adapt=_as_is,
                    platform=_platforms.CPU_OPENMP, asynchronous=False):
        """What a signature's miss maps to (_specialize.specialize), or its
        fallback (a Retry where the failure may pass). `entry`: the role
        whose calls are tuned; `install` puts a tuning session's outcome in
        place (default: the signature map); `adapt` turns a loaded "call"
        entry into what `entry`'s calls run; `asynchronous`: the miss may
        compile in the background (compile="async")."""
        started = time.perf_counter()
        try:
            captured = self._capture(key_values)
            # OpenCL variants are not tuned yet: the default work-groups.
            mode = _config.settings.tuning if platform == _platforms.CPU_OPENMP else "off"
            tuning = _request.TuningAsk(mode, entry) if mode != "off" else None
            # The options are part of the daemon's key, so of the handle's too;
            # with tuning, so are the mode and the tuning scope.
            handle_key = (signature, sorted(self._params().items()))
            if tuning is not None:
                handle_key += (mode, _tuning.tuning_scope(entry, [a for a in args if isinstance(a, np.ndarray)]))
            miss = _specialize.Miss(captured.fingerprint, handle_key,
                                    lambda: self._build_request(args, captured, tuning, platform=platform))
            described = _arguments.describe_signature(self._user_arguments(args))

            def load(handle, origin, started=started):
                return adapt(_load.entry(handle, "call", origin=origin, signature=described, started=started))

            def start_tuning(request, handle, served, remember):
                installed = install or self._installer(signature)

                def settle(kernel, summary):
                    installed(kernel, summary)
                    if summary.get("too_short"):  # the next process need not ask
                        remember(handle.replace(tuning=summary))

                return _tuning_session.start(
                    request, handle.tuning, served, send=self._send, install=settle,
                    load=lambda candidate, label: load(candidate, f"tuning candidate {label}",
                                                     time.perf_counter() - candidate.rpc_seconds))

            background = asynchronous and _specialize.compiles_in_background()
            interim = (lambda request: _specialize.interim_kernel(request, described)) if background else None
            return _specialize.specialize(miss, send=self._send, load=load, start_tuning=start_tuning, interim=interim)
        except Exception as error:  # noqa: BLE001 - every failure becomes a fallback with its reason
            return self._fallbacks.failure(error)

    def _send(self, request):
        """The daemon's Handle for `request` (a method: tests stand in for the daemon here)."""
        return _specialize.ask_daemon(request)

    # ---- fallbacks -------------------------------------------------------------

    def _device_fallback(self, context, kernel, args, out, on_device):
        """The Python code on host copies of the arguments; the result goes
        where the device call's would have."""
        host_args = tuple(a.get() if _device_calls.is_device_array(a) else a for a in self._user_arguments(args))
        if out is not None and not _device_calls.is_device_array(out):
            return self._run_fallback(kernel, host_args, out)
        # A device `out` is computed into on the host: the elements the
        # kernel leaves (a "skip" stencil's border) keep their values.
        host_out = out.get() if _device_calls.is_device_array(out) else None
        result = self._run_fallback(kernel, host_args, host_out)
        if host_out is not None:
            out.context._device.write(out._buffer, out._offset, np.ascontiguousarray(result, out.dtype))
            return out
        return context.asarray(result) if on_device else result

    def _run_fallback(self, fallback, args, out):
        self._last_run = f"the Python function as written ({fallback.reason})"
        return self._run_python(args, out)

    # ---- introspection -------------------------------------------------------

    def explain(self, *args, **kwargs):
        """Whether these arguments get a specialized kernel, and why; the key,
        the cache outcome and the timings; which code ran the last call."""
        notes = set()
        args = self._bind(args, kwargs)
        context = _device_calls.context_for(args)
        masked = _masked.refusal(args)
        if masked is not None:
            kernel = self._fallbacks.fall_back(masked)
        elif context is not None:
            args = _device_calls.to_device(context, args, notes)
            kernel = self._resolve_device(context, args).kernel
        else:
            kernel = self._resolve(args).kernel
        live = self._live
        return _explain.explain(self.__name__, self.specializer, kernel, last_run=self._last_call_description(),
                                target=context.name if context is not None else None, notes=notes,
                                read_at_each_call=live.scalar_names if live is not None else (),
                                constants=live.key_names if live is not None else ())

    def _last_call_description(self):
        return self._last_run

    def source(self, *args, **kwargs):
        """The generated source for these arguments: C++, and for an OpenCL
        target the host part with the OpenCL C kernels it builds."""
        args = self._bind(args, kwargs)
        masked = _masked.refusal(args)
        if masked is not None:
            raise SpecializationError(f"{self.__name__}: {masked}")
        context = _device_calls.context_for(args)
        if context is not None:
            args = _device_calls.to_device(context, args, set())
            platform = _device_calls.OPENCL
        else:
            args = tuple(_arguments.normalize(a, k) for k, a in enumerate(args))
            platform = _platforms.CPU_OPENMP
        try:
            kernel_args, key_values = self._kernel_arguments(args)
            request = self._build_request(kernel_args, self._capture(key_values), want_source=True, platform=platform)
            return self._send(request).source
        except Exception as error:  # noqa: BLE001 - the reason, as a fallback would give it
            raise raised_as(error)(f"{self.__name__}: {describe_failure(error)}") from error

    def _bind(self, args, kwargs):
        """The call's arguments bound to the kernel's parameters, in order, as Python binds them."""
        if not self._binder.plain:
            return args  # capture refuses such a function: it runs as written
        return self._binder.bind(args, kwargs)

    def _call_python(self, args):
        """The Python function on bound arguments."""
        return self._binder.call(args) if self._binder.plain else self.fn(*args)
