"""The dispatcher a decorator returns: an in-memory map from argument
signature to loaded kernel; only a miss talks to the daemon."""

import os
import threading
import time
import warnings

import numpy as np

from sejits import _arguments, _artifacts, _binding, _capture, _config, _daemon, _device_calls, _handle_cache
from sejits import _interface, _numpy_kernels, _pending, _tuning, _worker_platform
from sejits import _native
from sejits._native import Dispatcher as _NativeDispatcher
from sejits._native import FallbackRequested as _FallbackRequested
from sejits._native import empty as _native_empty

# OpenMP cannot start threads in a child forked after it ran (libgomp hangs):
# kernels called there run on one thread.
os.register_at_fork(after_in_child=_native.mark_forked)
_native.set_host_fast_path(_config.settings.target == "cpu")
from sejits._errors import SpecializationError, SpecializationWarning


class _Fallback:
    __slots__ = ("reason",)

    def __init__(self, reason):
        self.reason = reason


def _compiles_in_background():
    """compile="async": misses are built on a daemon thread while calls run
    the NumPy form; under fallback="error" only compiled code runs."""
    return _config.settings.compile == "async" and _config.settings.fallback != "error"


class _Retry:
    """A fallback for this call only: the failure may pass (daemon restarted)."""

    __slots__ = ("fallback",)

    def __init__(self, fallback):
        self.fallback = fallback


class _Lookup:
    """One call's kernel: `args` are the call's normalized arguments followed
    by the free names passed as scalar arguments; `key_values` the values of
    the other free names (part of `signature`)."""

    __slots__ = ("args", "signature", "kernel", "key_values")

    def __init__(self, args, signature, kernel, key_values=()):
        self.args, self.signature, self.kernel, self.key_values = args, signature, kernel, key_values


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
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn
        self._kernels = {}
        self._binder = _binding.Binder(fn)
        self._parsed = None  # the source, read once: _parse()
        self._live = None  # where its free names are read at every call
        self._parse_error = None
        self._warned = False
        self._lock = threading.Lock()
        self._last_run = "no call yet"  # which code ran the last call (slow path), for explain()

    def __repr__(self):
        return f"<sejits.{self.specializer} {self.__name__}: {len(self._kernels)} signatures>"

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
        return _capture.bind(parsed, self._live, self._live.key_values() if key_values is None else key_values,
                             self._attributes())

    def _kernel_arguments(self, args):
        """(the call's arguments and the scalar free names' values, the key
        names' values); the free names as they are now."""
        try:
            self._parse()
        except _capture.CaptureError:
            return args, ()  # the kernel falls back (the reason comes from _specialize)
        scalars = self._live.scalar_values()
        for name, value in zip(self._live.scalar_names, scalars):
            if not isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
                raise SpecializationError(f"the name '{name}' read by the kernel now holds a {type(value).__name__}, "
                                          "not a number")
        return args + scalars, self._live.key_values()

    # ---- misses ------------------------------------------------------------

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
            return _Lookup(args, None, self._fall_back(str(error)))
        signature = self._signature(kernel_args) + _capture.key_elements(key_values)
        with self._lock:
            kernel = self._kernels.get(signature)
            if kernel is None:
                kernel = self._specialize(kernel_args, signature, key_values, asynchronous=True)
                if type(kernel) is _Retry:
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
            outcome = self._failure(error)  # its warning (or error) comes on the caller's thread
        with self._lock:
            if self._kernels.get(signature) is pending:
                if type(outcome) is _Retry:
                    del self._kernels[signature]  # asked again on the next call
                else:
                    self._kernels[signature] = outcome
        return outcome.fallback if type(outcome) is _Retry else outcome

    def _resolve_device(self, context, args):
        """The OpenCL kernel for these (device-resident, bound) arguments in `context`."""
        kernel_args, key_values = self._kernel_arguments(args)
        signature = _device_calls.signature_prefix(context) + self._signature(kernel_args) + _capture.key_elements(key_values)
        with self._lock:
            kernel = self._kernels.get(signature)
            if kernel is None:
                kernel = self._specialize(kernel_args, signature, key_values, platform=_device_calls.OPENCL)
                if type(kernel) is _Retry:
                    return _Lookup(kernel_args, signature, kernel.fallback, key_values)
                self._kernels[signature] = kernel
        return _Lookup(kernel_args, signature, kernel, key_values)

    def _user_arguments(self, args):
        """The call's own arguments, without the scalar free names."""
        extra = len(self._live.scalar_names) if self._live is not None else 0
        return args[:len(args) - extra] if extra else args

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

    def _specialize(self, args, signature, key_values, entry="call", install=None, adapt=lambda kernel: kernel,
                    platform="cpu-openmp", asynchronous=False):
        """The loaded kernel for a signature's miss, a TuningSession while its
        variants are being timed, or (`asynchronous`, compile="async", the
        kernel not in the handle cache) a PendingKernel that builds it in the
        background; `install` puts a session's outcome in place (default: the
        signature map); `adapt` turns a loaded artifact into what `entry`'s
        calls run."""
        start = time.perf_counter()
        try:
            captured = self._capture(key_values)
            # OpenCL variants are not tuned yet: the default work-groups.
            mode = _config.settings.tuning if platform == "cpu-openmp" else "off"
            shape_class = _tuning.shape_class(entry, [a for a in args if isinstance(a, np.ndarray)])
            # The options are part of the daemon's key, so of the handle's too;
            # with tuning, so are the mode and the shape class.
            handle_key = (signature, sorted(self._params().items()))
            if mode != "off":
                handle_key += (mode, shape_class)
            handle = _handle_cache.lookup(captured.fingerprint, handle_key)
            request = None  # built on first need: a handle-cache hit imports no protobuf

            def the_request():
                nonlocal request
                request = request or self._build_request(args, captured, tuning=(mode, shape_class), platform=platform)
                return request

            def ask_daemon():
                answer = self._send(the_request())
                # A plan still in progress is the daemon's to update: only settled handles are kept.
                if answer.get("tuning", {}).get("state", "untuned") in ("untuned", "chosen"):
                    _handle_cache.remember(captured.fingerprint, handle_key, answer)
                return answer, f"daemon at {_config.daemon_address()}"

            def build(handle, origin):
                if handle is None:
                    handle, origin = ask_daemon()
                try:
                    kernel = adapt(self._load(handle, args, origin, start))
                except Exception:  # noqa: BLE001 - a missing file is the one failure asked about again
                    if os.path.exists(handle["artifact_path"]):
                        raise
                    # The daemon's cache evicted the artifact between its answer
                    # and this load: asked again, it builds the kernel once more.
                    handle, origin = ask_daemon()
                    kernel = adapt(self._load(handle, args, origin, start))
                if kernel is not None and handle.get("tuning", {}).get("state") in ("trying", "offline_pending"):
                    settle_install = install or self._installer(signature)

                    def settle(kernel, summary):
                        settle_install(kernel, summary)
                        if summary.get("too_short"):  # the next process need not ask
                            _handle_cache.remember(captured.fingerprint, handle_key, dict(handle, tuning=summary))

                    return self._tuning_session(the_request(), handle["tuning"], kernel, args, settle, adapt)
                return kernel

            if handle is not None or not (asynchronous and _compiles_in_background()):
                return build(handle, "handle cache (no RPC)")
            interim = self._interim_kernel(the_request(), args)
            if interim is None:  # without a NumPy form the call waits for the compile anyway: here
                return build(None, None)
            return _pending.PendingKernel(lambda: build(None, None), interim)
        except Exception as error:  # noqa: BLE001 - every failure becomes a fallback with its reason
            return self._failure(error)

    def _failure(self, error):
        fallback = self._fall_back(_describe_failure(error), outage=isinstance(error, _daemon.DaemonUnavailable))
        # Only a rejection of the kernel itself is final; a daemon that is
        # down or an artifact that went missing is tried again next call.
        return fallback if _is_final(error) else _Retry(fallback)

    def _interim_kernel(self, request, args):
        """The kernel's vectorized NumPy form, or None (the daemon has none for it, or cannot be asked)."""
        from sejits.v1 import specializer_pb2 as pb

        numpy_request = pb.SpecializeRequest()
        numpy_request.CopyFrom(request)
        numpy_request.ClearField("tuning")
        numpy_request.target.platform = _numpy_kernels.PLATFORM
        try:
            response = _daemon.call("Specialize", numpy_request)
            interface = _interface.from_proto(response.interface)
            function = _numpy_kernels.load(response.source, _interface.entry(interface, "call")["symbol"])
        except Exception:  # noqa: BLE001 - without a NumPy form, calls wait for the compiled kernel
            return None
        info = {"origin": "the daemon's vectorized NumPy form (while the kernel compiles)",
                "signature": _arguments.describe_signature(self._user_arguments(args)),
                "result_dtype": str(_interface.result_dtype(interface)), "key": response.key, "outcome": "numpy",
                "notes": list(response.notes)}
        return _pending.InterimKernel(function, info["result_dtype"], info)

    # ---- tuning ------------------------------------------------------------

    def _installer(self, signature, kernels=None):
        """Puts a finished session's kernel in `kernels` (default: the signature map)."""
        kernels = self._kernels if kernels is None else kernels

        def install(kernel, summary):
            kernel.info["tuning"] = summary
            kernels[signature] = kernel
        return install

    def _tuning_session(self, request, summary, served, args, install, adapt=lambda kernel: kernel):
        """A session timing the plan's candidates on the next calls; `adapt`
        turns a variant's loaded kernel into what the calls run (e.g. its
        iterate entry point)."""
        from sejits.v1 import specializer_pb2 as pb

        def load(label):
            variant = pb.SpecializeRequest()
            variant.CopyFrom(request)
            variant.ClearField("tuning")
            for name, value in _tuning.variant_params(summary, label).items():
                variant.params[name] = value
            return adapt(self._load(self._send(variant), args, f"tuning candidate {label}", time.perf_counter()))

        def report(reports, finish):
            message = pb.ReportTimingsRequest(finish=finish)
            message.request.CopyFrom(request)  # not request=: that copy parses, and refuses deep trees
            for label, samples, error in reports:
                message.reports.add(variant=label, samples=samples, error=error)
            return _tuning.plan_summary(_daemon.call("ReportTimings", message))

        def refresh():
            return self._send(request)["tuning"]

        budget = _config.settings.tuning_budget
        if budget is None and _config.settings.tuning == "online":
            budget = _tuning.DEFAULT_BUDGET
        served.info["tuning"] = summary
        return _tuning.TuningSession(summary, served, load=load, report=report, refresh=refresh, install=install,
                                     budget=budget)

    def _build_request(self, args, captured, tuning=None, want_source=False, platform="cpu-openmp"):
        from sejits import _encode
        from sejits.v1 import specializer_pb2 as pb

        request = pb.SpecializeRequest(specializer=self.specializer, params=self._params())
        _encode.encode_function(captured, request.function)
        request.options.want_source = want_source
        request.target.platform = platform
        _worker_platform.fill(request.target.worker)
        for value in args:
            request.args.append(_arguments.describe(value, pb, _encode.dtype_code))
        if tuning is not None and tuning[0] != "off":
            mode, shape_class = tuning
            request.tuning.mode = pb.TUNING_EXHAUSTIVE if mode == "exhaustive" else pb.TUNING_ONLINE
            request.tuning.shape_class = shape_class
            request.tuning.kernel_name = getattr(self.fn, "__qualname__", self.__name__)
        return request

    def _request(self, args, captured, want_source=False, platform="cpu-openmp"):
        return self._send(self._build_request(args, captured, want_source=want_source, platform=platform))

    def _send(self, request):
        from sejits.v1 import specializer_pb2 as pb

        rpc_start = time.perf_counter()
        response = _daemon.call("Specialize", request)
        interface = _interface.from_proto(response.interface)
        outcome = pb.CacheOutcome.Name(response.outcome).lower()
        return {
            "key": response.key,
            # Where this process reads it: fetched now if the daemon's file is not ours to read.
            "artifact_path": _artifacts.local_path(response.artifact_path, response.artifact_digest),
            "artifact_digest": response.artifact_digest,
            "interface": interface,
            "result_dtype": str(_interface.result_dtype(interface)) if interface["entries"] else "",
            "outcome": outcome,
            "compile_seconds": response.compile_seconds,
            "rpc_seconds": time.perf_counter() - rpc_start,
            "notes": list(response.notes),
            "build_identity": response.build_identity,
            "source": response.source,
            "tuning": _tuning.plan_summary(response.tuning) if response.HasField("tuning") else {},
        }

    def _load(self, handle, args, origin, start):
        path = _artifacts.local_path(handle["artifact_path"], handle["artifact_digest"])
        library = _artifacts.load(path, handle["artifact_digest"])
        call = _interface.entry(handle["interface"], "call")
        codes = _interface.argument_codes(call, _native.dtype_code)  # not _encode's: a handle-cache hit needs no protobuf
        info = dict(handle, origin=origin, signature=_arguments.describe_signature(self._user_arguments(args)),
                    load_seconds=time.perf_counter() - start)
        info.pop("source", None)
        return library.entry(call["symbol"], codes, _interface.result_dtype(handle["interface"]), info)

    def _fall_back(self, reason, outage=False):
        if _config.settings.fallback == "error":
            raise SpecializationError(f"{self.__name__}: {reason}")
        if _config.settings.fallback == "warn":
            # A daemon that cannot be reached is told once per outage, by the
            # kernel that meets it first; a kernel's own reason once per kernel.
            if outage:
                first = _daemon.first_report_of_outage()
                more = "; so do other kernels that need the daemon until it answers, without another warning"
            else:
                first, more = not self._warned, ""
                self._warned = True
            if first:
                warnings.warn(f"sejits: {self.__name__} runs as plain Python/NumPy: {reason}{more}",
                              SpecializationWarning, stacklevel=5)
        return _Fallback(reason)

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
        if context is not None:
            args = _device_calls.to_device(context, args, notes)
            kernel = self._resolve_device(context, args).kernel
        else:
            kernel = self._resolve(args).kernel
        last = f"  last call:   ran {self._last_call_description()}"
        if type(kernel) is _Fallback:
            return f"{self.__name__}: NOT specialized; runs as plain Python/NumPy.\n  reason: {kernel.reason}\n{last}"
        info = kernel.info
        lines = [
            f"{self.__name__}: specialized ({self.specializer}), via {info['origin']}",
            f"  signature:   {info['signature']} -> {info['result_dtype']}",
            f"  key:         {info['key']}",
            f"  cache:       {info['outcome']}"
            + (f" (compiled in {info['compile_seconds']:.3f} s)" if info["outcome"] == "compiled" else ""),
        ]
        if "artifact_path" in info:
            lines += [
                f"  artifact:    {info['artifact_path']} (sha256 {info['artifact_digest'][:16]}...)",
                f"  first call:  {1000 * info['load_seconds']:.1f} ms to specialize and load"
                + (f" (RPC {1000 * info['rpc_seconds']:.1f} ms)" if "rpc_seconds" in info else ""),
            ]
        if self._live is not None and self._live.scalar_names:
            lines.append(f"  read at each call: {', '.join(self._live.scalar_names)} (passed as scalar arguments)")
        if self._live is not None and self._live.key_names:
            lines.append(f"  constants:   {', '.join(self._live.key_names)} (a new value builds another kernel)")
        if context is not None:
            lines.insert(1, f"  target:      OpenCL on {context.name}")
        lines += [f"  note:        {note}" for note in [*info.get("notes", []), *sorted(notes)]]
        lines += _tuning.describe(kernel.summary if type(kernel) is _tuning.TuningSession else info.get("tuning"))
        lines.append(last)
        return "\n".join(lines)

    def _last_call_description(self):
        return self._last_run

    def source(self, *args, **kwargs):
        """The generated source for these arguments: C++, and for an OpenCL
        target the host part with the OpenCL C kernels it builds."""
        args = self._bind(args, kwargs)
        context = _device_calls.context_for(args)
        if context is not None:
            args = _device_calls.to_device(context, args, set())
            platform = _device_calls.OPENCL
        else:
            args = tuple(_arguments.normalize(a, k) for k, a in enumerate(args))
            platform = "cpu-openmp"
        kernel_args, key_values = self._kernel_arguments(args)
        return self._request(kernel_args, self._capture(key_values), want_source=True, platform=platform)["source"]

    def _bind(self, args, kwargs):
        """The call's arguments bound to the kernel's parameters, in order, as Python binds them."""
        if not self._binder.plain:
            return args  # capture refuses such a function: it runs as written
        return self._binder.bind(args, kwargs)

    def _call_python(self, args):
        """The Python function on bound arguments."""
        return self._binder.call(args) if self._binder.plain else self.fn(*args)


class ElementwiseDispatcher(_NativeDispatcher, KernelDispatcher):
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
        context = _device_calls.context_for(args, out)
        if context is not None:
            return self._call_device(context, args, out)
        lookup = self._resolve(args)
        if type(lookup.kernel) is _Fallback:
            return self._run_fallback(lookup.kernel, args, out)
        if type(lookup.kernel) is not _pending.InterimKernel:
            self._last_run = "the compiled kernel (from Python: a first call, keywords, out=, broadcasting or tuning)"
        return _run(lookup.kernel, lambda native: self._call_kernel(native, lookup.args, out, args))

    def _call_device(self, context, args, out):
        notes = set()
        on_device = any(_device_calls.is_device_array(a) for a in args)
        args = _device_calls.to_device(context, args, notes)
        lookup = self._resolve_device(context, args)
        kernel, args = lookup.kernel, lookup.args
        if type(kernel) is _Fallback:
            return self._device_fallback(context, kernel, args, out, on_device)
        self._last_run = f"the compiled OpenCL kernel on {context.name}"
        shape = _device_calls.broadcast_shape(args)
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
            return self._device_fallback(context, _Fallback("the kernel asked for Python"), args, out, on_device)
        return _device_calls.finish_result(result, out, on_device, zero_rank=not shape)

    def _call_kernel(self, kernel, args, out, user_args):
        arrays = [a for a in args if type(a) is np.ndarray]
        shape = arrays[0].shape if arrays else ()
        for a in arrays:
            if a.shape != shape:
                shape = np.broadcast_shapes(*(a.shape for a in arrays))
                break
        try:
            if out is not None:
                return self._call_into(kernel, args, arrays, shape, out)
            result = _native_empty(shape, kernel.result_dtype)
            kernel(args, result)
        except _FallbackRequested:  # e.g. Python int arithmetic beyond 64 bits: Python computes it exactly
            self._last_run = "the Python function as written (the kernel asked for Python: e.g. ints beyond 64 bits)"
            return self._run_python(user_args, out)
        if result.ndim == 0 and all(a.ndim == 0 for a in arrays):
            return result[()]
        return result

    def _check_out(self, out, shape, result_dtype):
        """A NumPy `out=`: writable, the result broadcasts to it, and the
        result casts to its dtype (same kind)."""
        if not isinstance(out, np.ndarray):
            raise TypeError(f"{self.__name__}: out must be a NumPy array, not {type(out).__name__}")
        if out.shape != shape and np.broadcast_shapes(shape, out.shape) != out.shape:
            raise ValueError(f"{self.__name__}: out has shape {out.shape}, the result has shape {shape}")
        if not out.flags.writeable:
            raise ValueError(f"{self.__name__}: out is read-only")
        if out.dtype != result_dtype and not np.can_cast(result_dtype, out.dtype, casting="same_kind"):
            raise TypeError(f"{self.__name__}: cannot cast the result from {result_dtype} to out's {out.dtype}")

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
        kernel(args, target)
        if target is not out:
            np.copyto(out, target, casting="same_kind")
        return out

    def _run_python(self, args, out):
        from sejits import _fallback

        return _fallback.run_python(lambda *values: self._call_python(values), args, out)


def _run(kernel, call, units=1):
    """call(kernel); for a tuning session, with the kernel it picks, timed
    (per unit of work: iterate's sweeps)."""
    if type(kernel) is not _tuning.TuningSession:
        return call(kernel)
    session = kernel
    kernel, label = session.next()
    start = time.perf_counter()
    try:
        result = call(kernel)
    except Exception as error:
        session.fail(label, f"{type(error).__name__}: {error}")
        raise
    session.record(label, time.perf_counter() - start, units)
    return result


def _overlaps_differently(a, out):
    if not np.may_share_memory(a, out):
        return False
    same_view = (a.__array_interface__["data"][0] == out.__array_interface__["data"][0]
                 and a.strides == out.strides and a.shape == out.shape)
    return not same_view


def _is_final(error):
    """Whether a failure to specialize will repeat for the same kernel and signature."""
    from sejits import _capture, _encode

    if isinstance(error, (SpecializationError, _capture.CaptureError, _encode.EncodeError)):
        return True
    try:
        import grpc
    except ImportError:
        return False
    final_codes = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.FAILED_PRECONDITION)
    return isinstance(error, grpc.RpcError) and error.code() in final_codes


def _describe_failure(error):
    try:
        import grpc

        if isinstance(error, grpc.RpcError):
            return f"the daemon answered {error.code().name}: {error.details()}"
    except ImportError:
        pass
    if isinstance(error, _daemon.DaemonUnavailable):
        return f"no daemon: {error}"
    return f"{type(error).__name__}: {error}" if not isinstance(error, SpecializationError) else str(error)
