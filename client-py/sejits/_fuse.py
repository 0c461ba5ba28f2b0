"""Fused functions (sejits.fuse): a whole NumPy function compiled into one
loop nest per store. A call asks the artifact's "shapes" entry for the
outputs' shapes, allocates them and runs "call" on the caller's arrays.
Whatever the kernel does not take (lists, subclasses, read-only targets,
a shape NumPy would refuse) runs the function as written, where NumPy
gives its own results and errors."""

import numpy as np

from sejits import _arguments, _load, _pending
from sejits._dispatch import KernelDispatcher
from sejits._fallback_policy import Fallback
from sejits._methods import MethodDescriptor
from sejits._native import FallbackRequested as _FallbackRequested
from sejits._native import Kernel as _NativeKernel
from sejits._native import call_elementwise as _call_native
from sejits._native import empty as _native_empty
from sejits._tuning_session import call_timed

SHAPE_SLOTS = 9  # per output in the shapes array: its rank, then up to 8 dimensions (specializers/fuse/lower.h)


class FuseDispatcher(KernelDispatcher, MethodDescriptor):
    """Calling it runs the fused kernel for the arguments' signature (dtypes,
    ranks, which arrays may share memory), or the function as written."""

    specializer = "fuse"

    def __call__(self, *args, **kwargs):
        if not self._binder.plain:
            return self._run_as_written(args, kwargs, "its parameters are not plain positional ones")
        args = self._binder.bind(args, kwargs)
        refusal = _refusal(args)
        if refusal is not None:
            return self._run_fallback(Fallback(refusal), args, None)
        lookup = self._resolve(args)
        kernel = lookup.kernel
        if type(kernel) is Fallback:
            return self._run_fallback(kernel, args, None)
        if type(kernel) in (_pending.InterimKernel, _pending.PendingKernel):
            self._last_run = "the Python function as written (the compiled kernel is still being built)"
            return self._call_python(args)
        return call_timed(kernel, lambda native: self._call_kernel(native, lookup.args, args))

    # ---- the signature map --------------------------------------------------

    def _signature(self, args):
        # Code is generated per rank, and per grouping of arrays that may share memory.
        elements = tuple((_arguments.signature_element(a), a.ndim) if type(a) is np.ndarray else _arguments.signature_element(a)
                         for a in args)
        return elements + (_alias_groups(args),)

    def _build_request(self, args, captured, tuning=None, want_source=False, platform=None):
        request = super()._build_request(args, captured, tuning, want_source,
                                         **({} if platform is None else {"platform": platform}))
        groups = _alias_groups(args)
        if groups:
            request.params["aliases"] = groups
        return request

    # ---- calls --------------------------------------------------------------

    def _call_kernel(self, kernel, args, user_args):
        shapes_entry, in_out, outputs = self._entry_parts(kernel)
        for position in in_out:
            if not args[position].flags.writeable:  # NumPy raises its own error
                return self._run_fallback(Fallback(f"argument {position} is read-only and the function writes it"), user_args, None)
            if _may_overlap_itself(args[position]):  # as_strided views: NumPy's buffered updates, not the loops'
                return self._run_fallback(Fallback(f"argument {position} may reach some elements more than once "
                                                   "(its strides overlap) and the function writes it"), user_args, None)
        try:
            shapes = np.zeros(SHAPE_SLOTS * outputs + 1, np.int64)
            _call_native(shapes_entry, args, shapes)
            order = _order(args)
            results = tuple(_empty(tuple(shapes[o * SHAPE_SLOTS + 1:o * SHAPE_SLOTS + 1 + shapes[o * SHAPE_SLOTS]]),
                                   _output_dtype(kernel, o), order)
                            for o in range(outputs))
            _call_native(kernel, args + results, shapes)
        except _FallbackRequested as request:  # e.g. shapes that do not broadcast: NumPy's error, raised by NumPy
            return self._run_fallback(Fallback(str(request)), user_args, None)
        self._last_run = "the fused kernel"
        return self._returned(kernel, args, results)

    def _entry_parts(self, kernel):
        """(the shapes entry, the in-out argument positions, the output count),
        kept in the loaded kernel's own info (not by id(): a freed kernel's id
        can come back for another artifact)."""
        parts = kernel.info.get("fuse_entry_parts")
        if parts is None:
            interface = kernel.info["interface"]
            call = next(e for e in interface["entries"] if e["role"] == "call")
            in_out = tuple(k for k, p in enumerate(call["params"]) if p["role"] == "inout")
            outputs = sum(p["role"] == "output" for p in call["params"])
            parts = (_load.sibling_entry(kernel, "shapes"), in_out, outputs)
            kernel.info["fuse_entry_parts"] = parts
        return parts

    def _returned(self, kernel, args, results):
        """What the function returns: its outputs and arguments, in order;
        0-d results as NumPy (or Python) scalars."""
        returns = kernel.info["interface"]["returns"]
        values = []
        for kind, index in returns["values"]:
            if kind == "argument":
                values.append(args[index])
            else:  # "output", or "python": an output returned as a Python number
                value = results[index]
                if value.ndim == 0:
                    value = value.item() if kind == "python" else value[()]
                values.append(value)
        if returns["tuple"]:
            return tuple(values)
        return values[0] if values else None

    def _run_as_written(self, args, kwargs, reason):
        self._last_run = f"the Python function as written ({reason})"
        return self.fn(*args, **kwargs)

    def _run_python(self, args, out):
        return self._call_python(args)


def _refusal(args):
    """Why these arguments run the function as written (NumPy's semantics on
    anything but plain arrays and numbers are the function's own), or None.
    Under np.errstate(...="raise" or "call") too: fused loops do not test
    each operation for floating-point errors, so NumPy runs it and raises."""
    trapped = {kind: action for kind, action in np.geterr().items() if action in ("raise", "call")}
    if trapped:
        asked = ", ".join(f"{kind}={action!r}" for kind, action in sorted(trapped.items()))
        return f"np.errstate({asked}) is in force, and fused loops do not check for floating-point errors"
    for position, value in enumerate(args):
        if type(value) is np.ndarray:
            if not value.dtype.isnative or value.dtype not in _arguments.SUPPORTED_DTYPES:
                return f"argument {position} has dtype {value.dtype}, which sejits.fuse does not compute on"
            if value.ndim > _arguments.MAX_RANK:
                return f"argument {position} has rank {value.ndim}; sejits kernels take ranks up to {_arguments.MAX_RANK}"
        elif _arguments.python_scalar(value) is None and not isinstance(value, np.generic):
            return f"argument {position} is a {type(value).__name__}, not a NumPy array or a number"
        elif isinstance(value, np.generic) and value.dtype not in _arguments.SUPPORTED_DTYPES:
            return f"argument {position} has dtype {value.dtype}, which sejits.fuse does not compute on"
    return None


def _may_overlap_itself(array):
    """Whether two indices of `array` may reach one element (a view made with
    as_strided, or a broadcast one): False where, in the order of their
    strides, each axis steps past everything the axes before it span."""
    if array.size == 0:
        return False
    span = array.itemsize
    for stride, length in sorted((abs(s), n) for s, n in zip(array.strides, array.shape) if n > 1):
        if stride < span:
            return True
        span += stride * (length - 1)
    return False


def _alias_groups(args):
    """"0,2;1,3": the arrays that may share memory, by position ('' if none do)."""
    arrays = [(k, a) for k, a in enumerate(args) if type(a) is np.ndarray]
    groups = []
    grouped = set()
    for i, (k, a) in enumerate(arrays):
        if k in grouped:
            continue
        group = [k] + [j for j, b in arrays[i + 1:] if j not in grouped and np.may_share_memory(a, b)]
        if len(group) > 1:
            grouped.update(group)
            groups.append(",".join(map(str, group)))
    return ";".join(groups)


def _order(args):
    """NumPy's order="K" for results, as far as it matters: Fortran order
    when every array argument of rank 2 or more is Fortran-ordered."""
    arrays = [a for a in args if type(a) is np.ndarray and a.ndim >= 2]
    if arrays and all(a.flags.f_contiguous and not a.flags.c_contiguous for a in arrays):
        return "F"
    return "C"


def _empty(shape, dtype, order):
    """An output: large C-ordered ones from the extension's buffer pool
    (reused pages, no page faults on every call)."""
    if order == "C":
        return _native_empty(tuple(int(n) for n in shape), dtype)
    return np.empty(shape, dtype, order=order)


def _output_dtype(kernel, index):
    return np.dtype(kernel.info["output_dtypes"][index])
