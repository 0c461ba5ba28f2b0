"""Running a kernel as the Python it is: vectorized on the arrays when the
body allows, otherwise element by element."""

import numpy as np


def run_python(fn, args, out):
    try:
        with np.errstate(all="ignore"):
            result = fn(*args)
    except (ValueError, TypeError):
        # e.g. `x if x > 0 else 0` or math.sin on an array: go element by element.
        result = np.vectorize(fn)(*args)
    result = np.asarray(result)
    shapes = [np.shape(a) for a in args]
    shape = np.broadcast_shapes(*shapes) if shapes else ()
    if result.shape != shape:
        result = np.broadcast_to(result, shape).copy()
    if out is not None:
        np.copyto(out, result, casting="same_kind")
        return out
    if result.ndim == 0:
        return result[()]
    return result
