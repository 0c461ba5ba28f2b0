"""Library kernels: kernels the daemon generates from a specializer's name
and typed params, with no user AST (the Gaussian-mixture trainer, sparse
matrix powers, ...). A LibraryKernel names its specializer, its params, the
arguments it is specialized on (the leading arguments of every entry point)
and a NumPy/SciPy reference implementation of each entry point: the code that
runs when the daemon cannot build it, and the oracle its tests compare with.

    stats = LibraryKernel("test_column_stats", params={"scale": 2.0},
                          arguments=[Array("X", ndim=2, dtypes=("float32", "float64"))],
                          reference={"call": column_stats, "center": center})
    col_sums, row_max = stats(X)             # the "call" entry point
    Y = stats.run("center", X, col_sums)     # any entry point, by role

Outputs are allocated from the shape rules of the artifact's interface (or
passed as out=(...)); the entry's other parameters are the call's values, in
the interface's order. It shares the daemon connection, the handle cache,
the fallback policy and explain() with decorated kernels.

With sejits.opencl device arrays among the values, or under
sejits.target("opencl"), the kernel is generated for that OpenCL device
(_library_device.py: where the values and outputs live), as decorated
kernels are: NumPy in, NumPy out; a device array in, device arrays out."""

import hashlib
import json
import threading
import time

import numpy as np

from sejits import _arguments, _config, _daemon, _device_calls, _interface, _library_device, _load, _native, _platforms
from sejits import _request, _specialize, _tuning, _tuning_session
from sejits._errors import SpecializationError
from sejits._fallback_policy import Fallback, FallbackPolicy, Retry

_CALLER_ROLES = ("input", "inout", "scalar")  # the parameters a caller passes; outputs and workspaces are allocated


class Array:
    """An argument a library kernel is specialized on: an array of rank
    `ndim` (None: any) whose dtype is one of `dtypes` (None: any the
    specializer accepts). Another rank is an error; another dtype runs the
    reference implementation, with the reason."""

    def __init__(self, name, ndim=None, dtypes=None):
        self.name, self.ndim = name, ndim
        self.dtypes = None if dtypes is None else tuple(np.dtype(d) for d in dtypes)

    def __repr__(self):
        return f"Array({self.name!r}, ndim={self.ndim}, dtypes={self.dtypes and [str(d) for d in self.dtypes]})"

    def normalize(self, kernel, value):
        if _device_calls.is_device_array(value):  # stays on its device
            if self.ndim is not None and value.ndim != self.ndim:
                raise ValueError(f"{kernel}: argument '{self.name}' must have {self.ndim} dimensions, not {value.ndim} "
                                 f"(shape {value.shape})")
            return value
        array = np.asarray(value)
        if self.ndim is not None and array.ndim != self.ndim:
            raise ValueError(f"{kernel}: argument '{self.name}' must have {self.ndim} dimensions, not {array.ndim} "
                             f"(shape {array.shape})")
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        return array

    def refusal(self, array):
        """Why the specializer cannot take this array, or None."""
        if self.dtypes is not None and array.dtype not in self.dtypes:
            accepted = ", ".join(str(d) for d in self.dtypes)
            return f"argument '{self.name}' has dtype {array.dtype}; the kernel is specialized for {accepted}"
        if array.dtype not in _arguments.SUPPORTED_DTYPES:
            return f"argument '{self.name}' has dtype {array.dtype}, which sejits does not support"
        return None


class _Entries:
    """A loaded artifact's entry points, by role, each bound to its native
    function on first use; `info` is what explain() reports (as a loaded
    kernel's: the handle's fields, origin, signature, load time)."""

    def __init__(self, handle, *, origin, signature, started):
        self.handle = handle
        self.call = _load.entry(handle, "call", origin=origin, signature=signature, started=started)
        self.info = self.call.info
        self._bound = {"call": self.call}

    @property
    def interface(self):
        return self.handle.interface

    def native(self, role):
        kernel = self._bound.get(role)
        if kernel is None:
            kernel = _load.sibling_entry(self.call, role)
            if kernel is None:
                raise SpecializationError(f"the artifact's '{role}' entry point could not be loaded")
            self._bound[role] = kernel
        return kernel


class LibraryKernel:
    """A kernel with no user function (see the module's text).

    specializer: the daemon's specializer to ask; params: its typed params
    (numbers or strings; sent as text, part of the kernel's key); arguments:
    Array descriptions of the values every entry point starts with (what the
    kernel is specialized on); reference: {role: function}, each function
    taking the entry's values positionally and the params as keywords, and
    returning its outputs (a tuple when several); it must have "call"."""

    specializer_kind = "library"

    def __init__(self, specializer, *, params=None, arguments=(), reference, name=None, tuned_per_shape=False):
        """tuned_per_shape: while tuning is on, each shape of the leading
        arguments is resolved, and tuned, on its own (the daemon keeps its
        records per shape class: the sparse kernels' matrix classes), not
        once per signature for the process."""
        if "call" not in reference:
            raise TypeError("a library kernel's reference must implement its 'call' entry point")
        self.specializer = specializer
        self.params = {str(k): _param_text(v) for k, v in (params or {}).items()}
        self.arguments = tuple(arguments)
        self.reference = dict(reference)
        self.__name__ = name or specializer
        self._kernels = {}  # signature (tuned_per_shape: and shape) -> _Entries, a TuningSession over them, or a Fallback
        self._tuned_per_shape = tuned_per_shape
        self._lock = threading.Lock()
        self._fallbacks = FallbackPolicy(self.__name__, runs_instead="its reference implementation")
        self._last_run = "no call yet"
        fingerprint = json.dumps(["library", specializer, sorted(self.params.items())])
        self._fingerprint = hashlib.sha256(fingerprint.encode()).hexdigest()

    def __repr__(self):
        return f"<sejits.LibraryKernel {self.__name__} ({self.specializer}): {len(self._kernels)} signatures>"

    def __call__(self, *values, out=None):
        return self.run("call", *values, out=out)

    @property
    def roles(self):
        return tuple(self.reference)

    def run(self, role, *values, out=None):
        """Runs entry point `role` on `values` (the parameters the caller
        passes, in the interface's order); returns its outputs (a tuple when
        there are several, None when there are none)."""
        if role not in self.reference:
            raise LookupError(f"{self.__name__} has no '{role}' entry point (it has: {', '.join(self.reference)})")
        on_device = any(map(_device_calls.is_device_array, values))
        values, entries, context = self._resolve(values)
        if type(entries) is Fallback:
            return self._run_reference(role, values, out, entries.reason, context, on_device)
        placement = _HOST if context is None else _library_device.DevicePlacement(context, on_device, _HOST)
        self._last_run = f"the compiled '{role}' entry point on {_target_name(context)}"
        if role != "call":  # tuning times the "call" entry; the others run the served variant's
            entries = entries.served if type(entries) is _tuning.TuningSession else entries
            return _call_entry(self.__name__, entries, role, values, self.params, out, placement)
        return _tuning_session.call_timed(
            entries, lambda chosen: _call_entry(self.__name__, chosen, role, values, self.params, out, placement))

    def direct(self, role, *leading, timed=True):
        """A function f(*values) that runs `role` on the entry's parameters
        (all of them, in order, outputs and workspaces allocated by the
        caller) with none of run()'s per-call work: for loops that call an
        entry many times on arrays of the same types (an iteration of a
        solver). The native entry still checks every array's dtype, rank
        and layout; where the kernel falls back, f runs the reference, and
        f.final is False where that fallback may pass (keep f only if not).
        While the "call" entry is being tuned, f's calls are the tuning's
        samples, as run()'s are, unless `timed` is False (calls whose time
        says nothing of the variant: the served one runs them)."""
        values, entries, context = self._resolve(leading)
        if context is not None:
            raise ValueError(f"{self.__name__}.direct runs on the CPU; the values are on an OpenCL device")
        if type(entries) is Fallback:
            self._last_run = f"the reference implementation ({entries.reason})"
            reference, params = self.reference[role], self._reference_params()
            run = lambda *all_values: reference(*all_values, **params)  # noqa: E731
            # A fallback the daemon may lift next time (a Retry) is not kept: callers ask again.
            run.final = any(kept is entries for kept in self._kernels.values())
            return run
        self._last_run = f"the compiled '{role}' entry point on {_target_name(None)}"
        if role == "call" and timed and type(entries) is _tuning.TuningSession:  # as run(): the session picks, and times
            session = entries
            return lambda *all_values: _tuning_session.call_timed(
                session, lambda chosen: chosen.native(role)(all_values[:-1], all_values[-1]))
        entries = entries.served if type(entries) is _tuning.TuningSession else entries
        native = entries.native(role)
        return lambda *all_values: native(all_values[:-1], all_values[-1])

    def reference_run(self, role, *values):
        """The reference implementation of `role` (the fallback, and the tests' oracle)."""
        return self.reference[role](*values, **self._reference_params())

    # ---- specialization --------------------------------------------------

    def _resolve(self, values):
        """(the values with the specialized arguments normalized, what their
        signature maps to: _Entries, a TuningSession over them, or a Fallback;
        the OpenCL context the call runs in, None on the CPU). On a device,
        the specialized arguments are device arrays (host ones copied in)."""
        count = len(self.arguments)
        if len(values) < count:
            names = ", ".join(a.name for a in self.arguments)
            raise TypeError(f"{self.__name__} takes the arguments ({names}) first; got {len(values)} values")
        context = _device_calls.context_for(values)
        leading = tuple(a.normalize(self.__name__, v) for a, v in zip(self.arguments, values))
        signature = tuple(_arguments.signature_element(a) for a in leading)
        if context is not None:
            leading = _library_device.on_device(context, leading)
            signature = _device_calls.signature_prefix(context) + signature
        values = leading + tuple(values[count:])
        key = signature
        if self._tuned_per_shape and _config.settings.tuning != "off":
            key = signature + (_tuning.tuning_scope("call", leading),)
        entries = self._kernels.get(key)
        if entries is not None:
            return values, entries, context
        with self._lock:
            entries = self._kernels.get(key)
            if entries is None:
                refusal = next(filter(None, (a.refusal(v) for a, v in zip(self.arguments, leading))), None)
                platform = _platforms.CPU_OPENMP if context is None else _platforms.OPENCL
                if refusal:
                    entries = self._fallbacks.fall_back(refusal)
                else:
                    entries = self._specialize(leading, key, platform, context)
                if type(entries) is Retry:  # the daemon may answer next time: not kept
                    return values, entries.fallback, context
                self._kernels[key] = entries
        return values, entries, context

    def _specialize(self, leading, key, platform=_platforms.CPU_OPENMP, context=None):
        """What a signature's miss maps to (_specialize.specialize): its
        _Entries or a TuningSession over them, else a Fallback (a Retry where
        the failure may pass). On an OpenCL device (`context`) the variants
        are timed there and chosen per device."""
        started = time.perf_counter()
        try:
            mode = _config.settings.tuning
            device = _request.device_identity(context.device) if context is not None else ""
            tuning = _request.TuningAsk(mode, "call", device) if mode != "off" else None
            handle_key = (key, "library")
            if tuning is not None:
                handle_key += (mode, _tuning.tuning_scope("call", leading))
            miss = _specialize.Miss(self._fingerprint, handle_key,
                                    lambda: self._request(leading, tuning, platform=platform))
            described = _arguments.describe_signature(leading)

            def load(handle, origin, started=started):
                return _Entries(handle, origin=origin, signature=described, started=started)

            def start_tuning(request, handle, served, remember):
                def install(entries, summary):
                    entries.info["tuning"] = summary
                    self._kernels[key] = entries

                return _tuning_session.start(
                    request, handle.tuning, served, send=_specialize.ask_daemon, install=install,
                    load=lambda candidate, label: load(candidate, f"tuning candidate {label}",
                                                     time.perf_counter() - candidate.rpc_seconds))

            return _specialize.specialize(miss, send=_specialize.ask_daemon, load=load, start_tuning=start_tuning)
        except Exception as error:  # noqa: BLE001 - every failure becomes a fallback with its reason
            return self._fallbacks.failure(error)

    def _request(self, leading, tuning=None, want_source=False, platform=_platforms.CPU_OPENMP):
        return _request.build(self.specializer, leading, params=self.params, kernel_name=self.__name__, tuning=tuning,
                              want_source=want_source, platform=platform)

    # ---- the reference ---------------------------------------------------

    def _reference_params(self):
        return {name: _param_value(text) for name, text in self.params.items()}

    def _run_reference(self, role, values, out, reason, context=None, on_device=False):
        self._last_run = f"the reference implementation ({reason})"
        if context is not None:
            return _library_device.run_reference(self.reference_run, role, values, out, context, on_device,
                                                 leading=len(self.arguments))
        result = self.reference_run(role, *values)
        if out is None:
            return result
        outputs = result if isinstance(result, tuple) else (result,)
        for target, value in zip(_as_tuple(out), outputs):
            np.copyto(target, value, casting="same_kind")
        return result if not isinstance(result, tuple) else tuple(_as_tuple(out))

    # ---- introspection -----------------------------------------------------

    def explain(self, *values):
        """Whether these arguments get a generated kernel, and why; its key,
        cache outcome and entry points; which code ran the last call."""
        values, entries, context = self._resolve(values)
        last = f"  last call:   ran {self._last_run}"
        target = f"  target:      {_target_name(context)}"
        if type(entries) is Fallback:
            return (f"{self.__name__}: NOT specialized; runs the reference implementation.\n"
                    f"  reason: {entries.reason}\n{target}\n{last}")
        info = entries.info
        lines = [f"{self.__name__}: specialized (library kernel of the {self.specializer} specializer), "
                 f"via {info['origin']}",
                 target,
                 f"  signature:   {info['signature']}",
                 f"  params:      {', '.join(f'{k}={v}' for k, v in sorted(self.params.items())) or 'none'}"]
        lines += [f"  entry:       {_describe_entry(e)}" for e in info["interface"]["entries"]]
        lines += [f"  key:         {info['key']}",
                  f"  cache:       {info['outcome']}"
                  + (f" (compiled in {info['compile_seconds']:.3f} s)" if info["outcome"] == "compiled" else ""),
                  f"  artifact:    {info['artifact_path']} (sha256 {info['artifact_digest'][:16]}...)"]
        lines += [f"  note:        {note}" for note in info.get("notes", [])]
        lines += _tuning.describe(entries.summary if type(entries) is _tuning.TuningSession else info.get("tuning"))
        lines.append(last)
        return "\n".join(lines)

    def source(self, *values):
        """The generated C++ for these arguments (on OpenCL, the host part with
        the OpenCL C program it builds)."""
        values, _, context = self._resolve(values)
        leading = values[:len(self.arguments)]
        platform = _platforms.CPU_OPENMP if context is None else _platforms.OPENCL
        return _daemon.call("Specialize", self._request(leading, want_source=True, platform=platform)).source


def _call_entry(name, entries, role, values, params, out, placement):
    """Calls `role`'s native entry: the caller's values for its inputs,
    in-outs and scalars, outputs and workspaces allocated by their shape
    rules (or taken from `out`), where `placement` puts them (_HOST, or a
    device's _library_device.DevicePlacement)."""
    entry = _interface.entry(entries.interface, role)
    passed = [p for p in entry["params"] if p["role"] in _CALLER_ROLES]
    if len(values) != len(passed):
        names = ", ".join(p["name"] for p in passed)
        raise TypeError(f"{name}.{role} takes {len(passed)} values ({names}), got {len(values)}")
    given = iter(values)
    outs = iter(_as_tuple(out) if out is not None else ())
    arguments, shapes, results = [], [], []
    for index, param in enumerate(entry["params"]):
        dtype = np.dtype(param["dtype"])
        if param["role"] in _CALLER_ROLES:
            value = placement.argument(name, role, param, dtype, next(given))
            shapes.append(np.shape(value))
        else:
            shape = _interface.output_shape(entry, index, shapes + [()] * (len(entry["params"]) - index), params)
            requested = next(outs, None) if param["role"] == "output" else None
            value = placement.output(name, role, param, requested, shape, dtype)
            shapes.append(shape)
            if param["role"] == "output":
                results.append(placement.result(value, requested))
        arguments.append(value)
    placement.invoke(entries.native(role), name, role, arguments)
    results = [result() for result in results]
    if not results:
        return None
    return results[0] if len(results) == 1 else tuple(results)


class _HostPlacement:
    """Where a CPU entry's values live: NumPy arrays, as given (converted
    where the entry's dtype asks), outputs allocated on the host."""

    def argument(self, name, role, param, dtype, value):
        return _entry_value(name, role, param, dtype, value)

    def output(self, name, role, param, requested, shape, dtype):
        if requested is None:
            return _native.empty(shape, dtype)
        _check_out(name, role, param, requested, shape, dtype)
        return requested

    def result(self, value, requested):
        """What the caller gets for an output, once the entry ran (a function)."""
        return lambda: value

    def invoke(self, native, name, role, arguments):
        if not arguments or not isinstance(arguments[-1], np.ndarray):
            raise SpecializationError(f"{name}.{role}: an entry point's last parameter must be an array")
        native(tuple(arguments[:-1]), arguments[-1])


_HOST = _HostPlacement()


def _target_name(context):
    return "the CPU (C++/OpenMP)" if context is None else f"OpenCL device {context.name}"


def _entry_value(name, role, param, dtype, value):
    if param["role"] == "scalar":
        if not isinstance(value, (bool, int, float, np.generic)):
            raise TypeError(f"{name}.{role}: '{param['name']}' must be a number, not {type(value).__name__}")
        return value
    array = np.asarray(value)
    if array.dtype != dtype:
        if param["role"] == "inout" or not np.can_cast(array.dtype, dtype, casting="same_kind"):
            raise TypeError(f"{name}.{role}: '{param['name']}' must have dtype {dtype}, not {array.dtype}")
        array = array.astype(dtype)
    if param["role"] == "inout" and not array.flags.writeable:
        raise ValueError(f"{name}.{role}: '{param['name']}' is updated in place and must be writable")
    return array


def _check_out(name, role, param, value, shape, dtype):
    if not isinstance(value, np.ndarray) or value.shape != tuple(shape) or value.dtype != dtype:
        got = f"{value.dtype}{list(value.shape)}" if isinstance(value, np.ndarray) else type(value).__name__
        raise ValueError(f"{name}.{role}: out for '{param['name']}' must be {dtype}{list(shape)}, got {got}")
    if not value.flags.writeable:
        raise ValueError(f"{name}.{role}: out for '{param['name']}' is read-only")


def _describe_entry(entry):
    passed = ", ".join(p["name"] for p in entry["params"] if p["role"] in _CALLER_ROLES)
    made = ", ".join(f"{p['name']} {p['dtype']}" for p in entry["params"] if p["role"] == "output")
    return f"{entry['role']}({passed}) -> {made or 'nothing (updates in place)'}"


def _as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _param_text(value):
    """A param as the request carries it (text), one spelling per value."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _param_value(text):
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text
