"""The implementations of a stencil case.

Each builder takes (case, grid, steps) and returns a call that runs `steps`
sweeps from `grid` and returns the final array. Peers ping-pong between two
buffers allocated once, copies of the grid, so their border already holds
the grid's; sejits is timed as a user calls `iterate` (temporally blocked
sweeps in one call), and again as a loop of single sweeps `kernel(a, out=b)`
on preallocated buffers, as the peers run.
"""

def ping_pong(sweep, grid, buffers, steps):
    """`steps` calls of `sweep(source, target)`: the first reads `grid`, each
    next one the previous one's output; returns the last output."""
    source = grid
    for step in range(steps):
        target = buffers[step % 2]
        sweep(source, target)
        source = target
    return source


def _ping_pong_call(sweep, grid, steps):
    buffers = (grid.copy(), grid.copy())
    return lambda: ping_pong(sweep, grid, buffers, steps)


def restore_border(out, grid):
    """Copy `grid`'s border (both ends of every axis) into `out`."""
    for axis in range(grid.ndim):
        for end in (0, -1):
            index = tuple(end if a == axis else slice(None) for a in range(grid.ndim))
            out[index] = grid[index]


def sejits_stencil(point):
    import sejits

    return sejits.stencil(boundary="skip")(point)


def numpy_impl(case, grid, steps):
    return _ping_pong_call(case.numpy_sweep, grid, steps)


def scipy_impl(case, grid, steps):
    from scipy import ndimage

    weights = case.weights()

    def sweep(a, out):
        ndimage.correlate(a, weights, output=out, mode="constant")
        restore_border(out, grid)  # "skip": the border is the grid's, not a filtered value

    return _ping_pong_call(sweep, grid, steps)


def _numba_loop_sweep(ndim):
    """njit(parallel=True) loop nest, prange over the outermost axis."""
    import numba

    if ndim == 2:

        @numba.njit(parallel=True)
        def sweep(a, out):
            for i in numba.prange(1, a.shape[0] - 1):
                for j in range(1, a.shape[1] - 1):
                    out[i, j] = 0.25 * (a[i, j + 1] + a[i, j - 1] + a[i + 1, j] + a[i - 1, j])

    elif ndim == 3:

        @numba.njit(parallel=True)
        def sweep(a, out):
            for i in numba.prange(1, a.shape[0] - 1):
                for j in range(1, a.shape[1] - 1):
                    for k in range(1, a.shape[2] - 1):
                        out[i, j, k] = (1.0 / 6.0) * (
                            a[i, j, k + 1]
                            + a[i, j, k - 1]
                            + a[i, j + 1, k]
                            + a[i, j - 1, k]
                            + a[i + 1, j, k]
                            + a[i - 1, j, k]
                        )

    else:
        raise ValueError(f"no numba loop nest for rank {ndim}")
    return sweep


def numba_njit_impl(case, grid, steps):
    return _ping_pong_call(_numba_loop_sweep(case.ndim), grid, steps)


def numba_stencil_impl(case, grid, steps):
    import numba

    kernel = numba.stencil(case.point)

    @numba.njit(parallel=True)
    def sweep(a, out):
        kernel(a, out=out)  # with out=, numba leaves the border untouched

    return _ping_pong_call(sweep, grid, steps)


def sejits_impl(case, grid, steps):
    kernel = sejits_stencil(case.point)
    return lambda: kernel.iterate(grid, steps=steps)


def sejits_out_impl(case, grid, steps):
    kernel = sejits_stencil(case.point)
    return _ping_pong_call(lambda a, out: kernel(a, out=out), grid, steps)


STENCIL_IMPLS = {
    "numpy": numpy_impl,
    "scipy-ndimage": scipy_impl,
    "numba-njit": numba_njit_impl,
    "numba-stencil": numba_stencil_impl,
    "sejits": sejits_impl,
    "sejits-out": sejits_out_impl,
}
