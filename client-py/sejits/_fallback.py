"""Running a kernel as the Python it is: vectorized on the arrays when the
body allows, otherwise element by element."""

import numpy as np

from sejits import _masked


def run_python(fn, args, out):
    try:
        with np.errstate(all="ignore"):
            result = fn(*args)
    except (ValueError, TypeError):
        # e.g. `x if x > 0 else 0` or math.sin on an array: go element by element.
        result = np.vectorize(fn)(*args)
    shapes = [np.shape(a) for a in args]
    shape = np.broadcast_shapes(*shapes) if shapes else ()
    if type(result) is tuple:  # a kernel returning several arrays (as np.divmod)
        outs = out if out is not None else (None,) * len(result)
        if type(outs) is not tuple or len(outs) != len(result):
            raise ValueError(f"out must be a tuple of {len(result)} arrays: the function returns {len(result)} values")
        return tuple(_finish(value, given, shape) for value, given in zip(result, outs))
    if type(out) is tuple and len(out) == 1:
        out = out[0]
    return _finish(result, out, shape)


def _finish(result, out, shape):
    """One result as the kernel gives it: of the call's broadcast shape, in `out` when given."""
    if not _masked.is_masked(result):  # a masked result keeps its mask, as NumPy's operations give it
        result = np.asarray(result)
    if result.shape != shape:
        result = np.broadcast_to(result, shape).copy()
    if _masked.is_masked(out):
        out[...] = result  # its data and its mask
        return out
    if out is not None:
        np.copyto(out, result, casting="same_kind")
        return out
    if result.ndim == 0:
        return result[()]
    return result
