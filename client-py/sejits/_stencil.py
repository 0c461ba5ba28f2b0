"""Stencils written with relative indexing: `a[0, 1] + a[0, -1] - 2 * a[0, 0]`
is the value of the output at the current point, reading the grid around it."""

import numpy as np

from sejits import _native
from sejits._dispatch import KernelDispatcher, _Fallback

BOUNDARIES = ("constant", "nearest", "reflect", "mirror", "wrap", "skip")


class StencilDispatcher(KernelDispatcher):
    specializer = "stencil"

    def __init__(self, fn, boundary="constant", cval=0.0, neighborhood=None):
        if boundary not in BOUNDARIES:
            raise ValueError(f"sejits.stencil: boundary must be one of {BOUNDARIES}, not {boundary!r}")
        if not isinstance(cval, (int, float, np.integer, np.floating)) or isinstance(cval, bool):
            raise TypeError(f"sejits.stencil: cval must be a number, not {type(cval).__name__}")
        super().__init__(fn)
        self.boundary = boundary
        self.cval = float(cval)
        self.neighborhood = _check_neighborhood(neighborhood)

    def _signature(self, args):
        # The options are in it too: the signature also keys the client's
        # on-disk handle cache, shared by every dispatcher of this function.
        return super()._signature(args) + (np.ndim(args[0]), self.boundary, self.cval, self.neighborhood)

    def _params(self):
        params = {"boundary": self.boundary, "cval": repr(self.cval)}
        if self.neighborhood is not None:
            params["neighborhood"] = ";".join(f"{low},{high}" for low, high in self.neighborhood)
        return params

    def _run_python(self, args, out):
        from sejits import _stencil_python

        return _stencil_python.run_python(self.fn, args, self.boundary, self.cval, out, self.neighborhood)

    def __call__(self, *args, out=None):
        if not args or np.ndim(args[0]) == 0:
            raise TypeError(f"{self.__name__}: the first argument of a stencil is the grid, an array of rank 1 or more")
        grid_shape = np.shape(args[0])
        for position, value in enumerate(args):
            if np.ndim(value) > 0 and np.shape(value) != grid_shape:
                raise ValueError(f"{self.__name__}: argument {position} has shape {np.shape(value)}, the grid {grid_shape}")
        args, _, kernel = self._resolve(args)
        grid = args[0]
        if type(kernel) is _Fallback:
            return self._run_python(args, out)
        if out is None:
            result = np.zeros(grid.shape, kernel.result_dtype)  # "skip" leaves the border as zeros
            kernel(args, result)
            return result
        if not isinstance(out, np.ndarray) or out.shape != grid.shape:
            raise ValueError(f"{self.__name__}: out must be an array of the grid's shape {grid.shape}")
        if out.dtype != kernel.result_dtype:
            raise TypeError(f"{self.__name__}: out has dtype {out.dtype}, the stencil computes {kernel.result_dtype}")
        if any(isinstance(a, np.ndarray) and np.may_share_memory(a, out) for a in args):
            target = out.copy()  # neighbours must be read before the point is written
            kernel(args, target)
            np.copyto(out, target)
        else:
            kernel(args, out)
        return out

    def iterate(self, *args, steps):
        """`steps` sweeps, the result of each feeding the next as the grid;
        two buffers are reused (ping-pong)."""
        if steps < 1:
            raise ValueError(f"{self.__name__}.iterate: steps must be at least 1")
        grid, rest = np.asarray(args[0]), args[1:]
        _, _, kernel = self._resolve((grid, *rest))
        if type(kernel) is _Fallback:
            current = grid
            for _ in range(steps):
                keep = current.copy() if self.boundary == "skip" else None
                current = self._run_python((current, *rest), keep)
            return current
        # Recycled buffers (no page faults on repeated calls); the one not
        # returned goes back to the pool.
        current, spare = (_native.empty(grid.shape, kernel.result_dtype) for _ in range(2))
        if self.boundary == "skip":  # the border keeps the grid's values in every step
            np.copyto(current, grid)
            np.copyto(spare, grid)
        self(grid, *rest, out=current)
        for _ in range(steps - 1):
            self(current, *rest, out=spare)
            current, spare = spare, current
        return current

    def explain(self, *args):
        return super().explain(*args) + f"\n  boundary:    {self.boundary}" + (
            f" (cval {self.cval})" if self.boundary == "constant" else "")


def _check_neighborhood(neighborhood):
    if neighborhood is None:
        return None
    try:
        extent = tuple((int(low), int(high)) for low, high in neighborhood)
    except (TypeError, ValueError):
        raise TypeError("sejits.stencil: neighborhood is ((low, high), ...) per axis") from None
    if any(low > 0 or high < 0 for low, high in extent):
        raise ValueError("sejits.stencil: each neighborhood axis needs low <= 0 <= high")
    return extent


def stencil(fn=None, *, boundary="constant", cval=0.0, neighborhood=None, **options):
    """Decorator (with or without arguments) for relative-index stencils."""
    if options:
        raise TypeError(f"sejits.stencil() got unexpected options {sorted(options)}")
    make = lambda f: StencilDispatcher(f, boundary=boundary, cval=cval, neighborhood=neighborhood)  # noqa: E731
    return make if fn is None else make(fn)
