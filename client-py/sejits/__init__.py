"""sejits: selective embedded just-in-time specialization for Python.

    @sejits.elementwise
    def blend(a, x, y):
        return a * x + (1 - a) * y

compiles `blend` (through the sejitsd daemon) into a multi-threaded native
kernel for the dtypes it is called with, and calls it on the arrays' memory.
"""

import contextlib
import os

# libgomp (the kernels' OpenMP runtime) spins 300,000 times at a barrier
# before it sleeps. On a loaded or shared machine (a VM's vCPUs preempted, a
# compile running) the spinning threads take the CPU the others need:
# iterate's wavefronts, a barrier per wave, ran 3-10x slower. 1000 spins keep
# barriers fast on an idle machine. libgomp reads it when it loads, so it is
# set before any kernel is; a value the user set (or OMP_WAIT_POLICY) wins.
if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "1000"

from sejits._config import config  # noqa: E402 - after the OpenMP setting
from sejits._errors import SpecializationError, SpecializationWarning  # noqa: E402

__version__ = "0.1.0"
__all__ = ["elementwise", "fuse", "stencil", "reduce", "scan", "StencilGrid", "StencilKernel", "LibraryKernel", "Array", "config", "target",
           "stats", "opencl", "SpecializationError", "SpecializationWarning"]


def elementwise(fn=None, **options):
    """Decorator (with or without arguments) that specializes an element-wise
    function: every argument is an array (broadcast together) or a scalar, and
    the body computes one output element."""
    from sejits._elementwise import ElementwiseDispatcher  # on first use: `import sejits` stays light

    if options:
        raise TypeError(f"sejits.elementwise() got unexpected options {sorted(options)}")
    if fn is None:
        return lambda f: ElementwiseDispatcher(f)
    return ElementwiseDispatcher(fn)


def fuse(fn=None, **options):
    """Decorator (with or without parentheses) that compiles a whole NumPy
    function into fused loop nests, with no temporaries: calling it returns
    what the function returns and updates its argument arrays as it does.
    Anything outside the subset runs the function as written (explain()
    says why)."""
    from sejits._fuse import FuseDispatcher

    if options:
        raise TypeError(f"sejits.fuse() got unexpected options {sorted(options)}")
    if fn is None:
        return lambda f: FuseDispatcher(f)
    return FuseDispatcher(fn)


def stencil(fn=None, *, boundary="constant", cval=0.0, neighborhood=None, **options):
    """Decorator (with or without arguments) for stencils written with relative
    indexing: the function returns the output's value at the current point,
    reading the grid (its first argument) and other same-shape arrays at
    constant offsets, `a[0, 1]`. boundary: "constant" (default; points whose
    neighbourhood leaves the grid get cval), "nearest", "reflect", "mirror",
    "wrap" (as scipy.ndimage), or "skip" (border points left untouched).
    neighborhood=((low, high), ...) declares the extent per axis."""
    from sejits import _stencil

    return _stencil.stencil(fn, boundary=boundary, cval=cval, neighborhood=neighborhood, **options)


def reduce(op=None, *, combine=False, identity=None):
    """Decorator factory for reductions: `@sejits.reduce("sum")` on a map
    written as for @sejits.elementwise; calling the result reduces the map's
    values with NumPy's sum, prod, min, max, argmin, argmax, any, all or mean
    and that function's keywords (axis, dtype, out, keepdims, initial, where),
    in one compiled pass with no intermediate array. `combine=True,
    identity=...`: the function is instead an associative operator fn(a, b)
    folded over an axis."""
    from sejits import _reduce

    if combine:
        if op is not None:
            raise TypeError("sejits.reduce(combine=True) takes the operator as the decorated function, not an op name")
        return lambda fn: _reduce.CombineDispatcher(fn, identity)
    if not isinstance(op, str):
        raise TypeError(f"sejits.reduce() needs an op name, one of {', '.join(_reduce.REDUCTIONS)}")
    if op not in _reduce.REDUCTIONS:
        raise ValueError(f"sejits.reduce: unknown op {op!r}; one of {', '.join(_reduce.REDUCTIONS)}")
    return lambda fn: _reduce.ReduceDispatcher(fn, op)


def scan(op):
    """Decorator factory for scans: `@sejits.scan("sum")` on a map; calling
    the result gives np.cumsum of its values (prod: np.cumprod; min and max:
    running minima and maxima) along `axis` (None flattens, as np.cumsum)."""
    from sejits import _reduce

    if op not in _reduce.SCANS:
        raise ValueError(f"sejits.scan: unknown op {op!r}; one of {', '.join(_reduce.SCANS)}")
    return lambda fn: _reduce.ScanDispatcher(fn, op)


@contextlib.contextmanager
def target(name, device=None):
    """Runs the kernels called inside the block on `name` ("cpu" or
    "opencl"; `device` as sejits.config takes it), then restores the previous
    target. The setting is process-wide, not per thread."""
    from sejits import _config

    previous = (_config.settings.target, _config.settings.device)
    config(target=name, device=device if device is not None or name == "cpu" else previous[1])
    try:
        yield
    finally:
        config(target=previous[0], device=previous[1])


def __getattr__(name):
    # StencilGrid, StencilKernel, LibraryKernel and sejits.opencl load on first use: `import sejits` stays light.
    if name in ("StencilGrid", "StencilKernel"):
        from sejits import _stencil_class

        return getattr(_stencil_class, name)
    if name in ("LibraryKernel", "Array"):
        from sejits import _library

        return getattr(_library, name)
    if name == "opencl":
        import importlib

        return importlib.import_module("sejits.opencl")
    raise AttributeError(f"module 'sejits' has no attribute {name!r}")


def stats():
    """The daemon's counters, as a dict."""
    from sejits import _daemon
    from sejits.v1 import specializer_pb2 as pb

    reply = _daemon.call("GetStats", pb.GetStatsRequest())
    stats = {}
    for field in reply.DESCRIPTOR.fields:
        value = getattr(reply, field.name)
        stats[field.name] = value if isinstance(value, (int, float, str)) else list(value)
    return stats
