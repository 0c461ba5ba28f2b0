"""The dispatcher a decorator returns: an in-memory map from argument
signature to loaded kernel; only a miss talks to the daemon."""

import os
import threading
import time
import warnings

import numpy as np

from sejits import _arguments, _artifacts, _config, _daemon, _device_calls, _handle_cache, _tuning, _worker_platform
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


class _Retry:
    """A fallback for this call only: the failure may pass (daemon restarted)."""

    __slots__ = ("fallback",)

    def __init__(self, fallback):
        self.fallback = fallback


class KernelDispatcher:
    """What every decorated kernel shares: the signature map, capture,
    specialization through the daemon, loading, fallback, explain()."""

    specializer = None

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "kernel")
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn
        self._kernels = {}
        self._captured = None
        self._warned = False
        self._lock = threading.Lock()

    def __repr__(self):
        return f"<sejits.{self.specializer} {self.__name__}: {len(self._kernels)} signatures>"

    # ---- what each kind of kernel defines ------------------------------------

    def _signature(self, args):
        """The in-memory map's key for these (normalized) arguments."""
        return tuple(map(_arguments.signature_element, args))

    def _params(self):
        """Options sent with the request (they are part of the cache key)."""
        return {}

    def _run_python(self, args, out):
        """The fallback: the function as plain Python/NumPy."""
        raise NotImplementedError

    def _entry_codes(self, args, dtype_code):
        """How the entry point takes its arguments: the inputs, then the output."""
        return tuple(_arguments.scalar_code(a, dtype_code) for a in args) + (0,)

    # ---- misses ------------------------------------------------------------

    def _resolve(self, args):
        """Normalizes the arguments and finds (or builds) their kernel."""
        try:
            args = tuple(_arguments.normalize(a, k) for k, a in enumerate(args))
        except SpecializationError as error:
            return args, None, self._fall_back(str(error))
        signature = self._signature(args)
        with self._lock:
            kernel = self._kernels.get(signature)
            if kernel is None:
                kernel = self._specialize(args, signature)
                if type(kernel) is _Retry:
                    return args, signature, kernel.fallback
                self._kernels[signature] = kernel
        return args, signature, kernel

    def _resolve_device(self, context, args):
        """The OpenCL kernel for these (device-resident) arguments in `context`."""
        signature = _device_calls.signature_prefix(context) + self._signature(args)
        with self._lock:
            kernel = self._kernels.get(signature)
            if kernel is None:
                kernel = self._specialize(args, signature, platform=_device_calls.OPENCL)
                if type(kernel) is _Retry:
                    return signature, kernel.fallback
                self._kernels[signature] = kernel
        return signature, kernel

    def _device_fallback(self, context, kernel, args, out, on_device):
        """The Python code on host copies of the arguments; the result goes
        where the device call's would have."""
        host_args = tuple(a.get() if _device_calls.is_device_array(a) else a for a in args)
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

    def _capture(self):
        from sejits import _capture

        if self._captured is None:
            self._captured = _capture.capture(self.fn)
        return self._captured

    def _specialize(self, args, signature, entry="call", install=None, adapt=lambda kernel: kernel, platform="cpu-openmp"):
        """The loaded kernel for a signature's miss, or a TuningSession while
        its variants are being timed; `install` puts a session's outcome in
        place (default: the signature map); `adapt` turns a loaded artifact
        into what `entry`'s calls run."""
        start = time.perf_counter()
        try:
            captured = self._capture()
            # OpenCL variants are not tuned yet: the default work-groups.
            mode = _config.settings.tuning if platform == "cpu-openmp" else "off"
            shape_class = _tuning.shape_class(entry, [a for a in args if isinstance(a, np.ndarray)])
            # The options are part of the daemon's key, so of the handle's too;
            # with tuning, so are the mode and the shape class.
            handle_key = (signature, sorted(self._params().items()))
            if mode != "off":
                handle_key += (mode, shape_class)
            handle = _handle_cache.lookup(captured.fingerprint, handle_key)
            origin = "handle cache (no RPC)"
            request = None

            def ask_daemon():
                nonlocal request
                request = request or self._build_request(args, captured, tuning=(mode, shape_class), platform=platform)
                answer = self._send(request)
                # A plan still in progress is the daemon's to update: only settled handles are kept.
                if answer.get("tuning", {}).get("state", "untuned") in ("untuned", "chosen"):
                    _handle_cache.remember(captured.fingerprint, handle_key, answer)
                return answer, f"daemon at {_config.daemon_address()}"

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
                install = install or self._installer(signature)

                def settle(kernel, summary):
                    install(kernel, summary)
                    if summary.get("too_short"):  # the next process need not ask
                        _handle_cache.remember(captured.fingerprint, handle_key, dict(handle, tuning=summary))

                return self._tuning_session(request, handle["tuning"], kernel, args, settle, adapt)
            return kernel
        except Exception as error:  # noqa: BLE001 - every failure becomes a fallback with its reason
            fallback = self._fall_back(_describe_failure(error), outage=isinstance(error, _daemon.DaemonUnavailable))
            # Only a rejection of the kernel itself is final; a daemon that is
            # down or an artifact that went missing is tried again next call.
            return fallback if _is_final(error) else _Retry(fallback)

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
        outcome = pb.CacheOutcome.Name(response.outcome).lower()
        return {
            "key": response.key,
            # Where this process reads it: fetched now if the daemon's file is not ours to read.
            "artifact_path": _artifacts.local_path(response.artifact_path, response.artifact_digest),
            "artifact_digest": response.artifact_digest,
            "entry_symbol": response.entry_symbol,
            "result_dtype": _dtype_name(response.result.dtype),
            "outcome": outcome,
            "compile_seconds": response.compile_seconds,
            "rpc_seconds": time.perf_counter() - rpc_start,
            "notes": list(response.notes),
            "build_identity": response.build_identity,
            "source": response.source,
            "tuning": _tuning.plan_summary(response.tuning) if response.HasField("tuning") else {},
        }

    def _load(self, handle, args, origin, start):
        from sejits import _encode

        path = _artifacts.local_path(handle["artifact_path"], handle["artifact_digest"])
        library = _artifacts.load(path, handle["artifact_digest"])
        codes = self._entry_codes(args, _encode.dtype_code)
        info = dict(handle, origin=origin, signature=_arguments.describe_signature(args),
                    load_seconds=time.perf_counter() - start)
        info.pop("source", None)
        return library.entry(handle["entry_symbol"], codes, np.dtype(handle["result_dtype"]), info)

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
                              SpecializationWarning, stacklevel=4)
        return _Fallback(reason)

    def _run_fallback(self, fallback, args, out):
        return self._run_python(args, out)

    # ---- introspection -------------------------------------------------------

    def explain(self, *args):
        """Whether these arguments get a specialized kernel, and why; the key,
        the cache outcome and the timings."""
        notes = set()
        context = _device_calls.context_for(args)
        if context is not None:
            args = _device_calls.to_device(context, args, notes)
            signature, kernel = self._resolve_device(context, args)
        else:
            args, signature, kernel = self._resolve(args)
        if type(kernel) is _Fallback:
            return f"{self.__name__}: NOT specialized; runs as plain Python/NumPy.\n  reason: {kernel.reason}"
        info = kernel.info
        lines = [
            f"{self.__name__}: specialized ({self.specializer}), via {info['origin']}",
            f"  signature:   {info['signature']} -> {info['result_dtype']}",
            f"  key:         {info['key']}",
            f"  cache:       {info['outcome']}"
            + (f" (compiled in {info['compile_seconds']:.3f} s)" if info["outcome"] == "compiled" else ""),
            f"  artifact:    {info['artifact_path']} (sha256 {info['artifact_digest'][:16]}...)",
            f"  first call:  {1000 * info['load_seconds']:.1f} ms to specialize and load"
            + (f" (RPC {1000 * info['rpc_seconds']:.1f} ms)" if "rpc_seconds" in info else ""),
        ]
        if context is not None:
            lines.insert(1, f"  target:      OpenCL on {context.name}")
        lines += [f"  note:        {note}" for note in [*info.get("notes", []), *sorted(notes)]]
        lines += _tuning.describe(kernel.summary if type(kernel) is _tuning.TuningSession else info.get("tuning"))
        return "\n".join(lines)

    def source(self, *args):
        """The generated source for these arguments: C++, and for an OpenCL
        target the host part with the OpenCL C kernels it builds."""
        context = _device_calls.context_for(args)
        if context is not None:
            args = _device_calls.to_device(context, args, set())
            return self._request(args, self._capture(), want_source=True, platform=_device_calls.OPENCL)["source"]
        args = tuple(_arguments.normalize(a, k) for k, a in enumerate(args))
        return self._request(args, self._capture(), want_source=True)["source"]



class ElementwiseDispatcher(_NativeDispatcher, KernelDispatcher):
    """Calling it runs the native fast path (sejits._native.Dispatcher): the
    signature map lookup and the kernel call. Misses, out=, broadcasting and
    fallbacks come back here, to _call_slow."""

    specializer = "elementwise"

    def __init__(self, fn):
        KernelDispatcher.__init__(self, fn)

    # ---- everything the native fast path does not handle -------------------

    def _call_slow(self, *args, out=None):
        context = _device_calls.context_for(args, out)
        if context is not None:
            return self._call_device(context, args, out)
        try:
            signature = tuple(map(_arguments.signature_element, args))
            kernel = self._kernels.get(signature)
        except TypeError:
            kernel = None
        if kernel is None:
            args, signature, kernel = self._resolve(args)
        if type(kernel) is _Fallback:
            return self._run_fallback(kernel, args, out)
        return _run(kernel, lambda native: self._call_kernel(native, args, out))

    def _call_device(self, context, args, out):
        notes = set()
        on_device = any(_device_calls.is_device_array(a) for a in args)
        args = _device_calls.to_device(context, args, notes)
        signature, kernel = self._resolve_device(context, args)
        if type(kernel) is _Fallback:
            return self._device_fallback(context, kernel, args, out, on_device)
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

    def _call_kernel(self, kernel, args, out):
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
            return self._run_python(args, out)
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

        return _fallback.run_python(self.fn, args, out)


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


def _dtype_name(code):
    from sejits.v1 import ast_pb2

    return ast_pb2.DType.Name(code).lower()


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
