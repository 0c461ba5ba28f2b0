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
    if not _masked.is_masked(result):  # a masked result keeps its mask, as NumPy's operations give it
        result = np.asarray(result)
    shapes = [np.shape(a) for a in args]
    shape = np.broadcast_shapes(*shapes) if shapes else ()
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
