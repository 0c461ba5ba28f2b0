"""A relative-index stencil run as the Python it is, point by point: the
fallback, and the reference the tests compare with."""

import itertools

import numpy as np


class _OutsideGrid(Exception):
    """A read left the grid under boundary "constant" or "skip"."""


def _resolve(index, extent, boundary):
    if 0 <= index < extent:
        return index
    if boundary in ("constant", "skip"):
        raise _OutsideGrid
    if boundary == "nearest":
        return 0 if index < 0 else extent - 1
    if boundary == "wrap":
        return index % extent
    if boundary == "reflect":
        period = 2 * extent
        r = index % period
        return r if r < extent else period - 1 - r
    if extent == 1:  # mirror
        return 0
    period = 2 * extent - 2
    r = index % period
    return r if r < extent else period - r


class _Relative:
    """An array seen from the current point: a[di, dj] reads point + (di, dj)."""

    def __init__(self, array, point, boundary):
        self.array, self.point, self.boundary = array, point, boundary

    def __getitem__(self, offsets):
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        if len(offsets) != self.array.ndim:
            raise IndexError(f"{len(offsets)} relative indices for a grid of rank {self.array.ndim}")
        index = tuple(_resolve(p + o, n, self.boundary) for p, o, n in zip(self.point, offsets, self.array.shape))
        return self.array[index]


def run_python(fn, args, boundary, cval, out, neighborhood=None):
    grid = np.asarray(args[0])
    values = {}
    for point in itertools.product(*(range(n) for n in grid.shape)):
        if neighborhood is not None and boundary in ("constant", "skip") and any(
                p + low < 0 or p + high >= n for p, (low, high), n in zip(point, neighborhood, grid.shape)):
            continue  # the declared neighbourhood leaves the grid
        call_args = [_Relative(a, point, boundary) if isinstance(a, np.ndarray) else a for a in args]
        try:
            values[point] = fn(*call_args)
        except _OutsideGrid:
            continue
    dtype = np.result_type(*values.values()) if values else np.asarray(cval).dtype
    result = out if out is not None else np.zeros(grid.shape, dtype)
    if boundary == "constant":
        result[...] = cval
    for point, value in values.items():
        result[point] = value
    return result
