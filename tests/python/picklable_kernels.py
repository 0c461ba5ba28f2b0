"""Kernels defined at module level, for tests that ship them to other
processes (tests/python/test_numpy_user_behaviour.py): a spawned worker
imports this module, which decorates them again there."""

import numpy as np

import sejits


@sejits.elementwise
def scaled_sum(a, b, s):
    """a * s + b"""
    return a * s + b


@sejits.stencil(boundary="nearest")
def smooth(a):
    return (a[0, -1] + a[0, 0] + a[0, 1]) / 3.0


class Laplacian(sejits.StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = self.center * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + in_grid[y]


class Holder:
    @sejits.elementwise
    def doubled(x):
        return 2 * x


def configure_worker(daemon_address):
    """A pool's initializer: the worker talks to the test's daemon and never falls back."""
    sejits.config(daemon=daemon_address, fallback="error", autostart=False, tuning="off", compile="sync")


def call_in_worker(kernel, *args):
    """The kernel's result in the worker, and whether it ran compiled code there."""
    result = kernel(*args)
    return result, kernel._last_call_native or "compiled kernel" in kernel._last_run


def run_stencil_kernel(instance, data):
    """A StencilKernel instance run in the worker on a grid holding `data`."""
    in_grid, out_grid = sejits.StencilGrid(data.shape), sejits.StencilGrid(data.shape)
    in_grid.data[...] = data
    instance.kernel(in_grid, out_grid)
    return out_grid.data, np.asarray(data)
