"""The implementations of a reduction or scan case.

Each builder takes (case, inputs, out) and returns a call that runs the case
once on the inputs and returns its result as an array: reductions over every
axis give NumPy scalars (sejits, NumPy) or Python numbers (numba), and the
check (measure.mismatch) compares arrays; np.asarray of a scalar costs well
under a microsecond, nothing beside the milliseconds timed. `out` is a
preallocated, touched array of the result's shape. numba writes into it
where the result is an array. Where the result is as large as the input
(SC1's scan), sejits and NumPy write into it too (out=), so that no row pays
the 128 MiB of first-touch page faults a fresh output costs (about 13 ms
here, more than the scan's memory limit) and the others do not; R2's output
is m of m*m values, so sejits, NumPy and numexpr allocate theirs there, as a
user calls them.
"""

import numpy as np

# NumPy's function for each case's op: what the reference and the numpy row
# run on the map's values (with the map's temporaries), and what sejits
# mirrors with the same keywords.
NUMPY_FUNCTIONS = {"sum": np.sum, "argmax": np.argmax, "cumsum": np.cumsum}
NUMBA_COLUMN_TILE = 256  # R2c: columns one thread sums at once (2 KiB of each row: its partial sums stay in L1)


def numpy_result(case, inputs):
    """The NumPy expression, temporaries and all: the reference of every row."""
    return NUMPY_FUNCTIONS[case.op](case.map(*inputs), axis=case.axis)


def sejits_reduction(case):
    """sejits.reduce(op) on the case's map, or sejits.scan("sum") for cumsum."""
    import sejits

    if case.op == "cumsum":
        return sejits.scan("sum")(case.map)
    return sejits.reduce(case.op)(case.map)


def numpy_impl(case, inputs, out):
    if case.op == "cumsum":
        return lambda: np.cumsum(case.map(*inputs), axis=case.axis, out=out)
    return lambda: np.asarray(numpy_result(case, inputs))


def numexpr_impl(case, inputs, out):
    import numexpr

    local_dict = dict(zip(case.arg_names, inputs))
    return lambda: np.asarray(numexpr.evaluate(case.numexpr, local_dict=local_dict))


def _numba_sum(scalar):
    """R1: one prange reduction over a flat array (numba splits it by thread
    and adds the threads' partial sums)."""
    import numba

    @numba.njit(parallel=True)
    def loop(x):
        total = 0.0
        for i in numba.prange(x.size):
            total += scalar(x[i])
        return total

    return loop


def _numba_sum_rows(scalar):
    """R2r (axis=1): prange over rows, each row summed along its contiguous axis."""
    import numba

    @numba.njit(parallel=True)
    def loop(a, b, out):
        for i in numba.prange(a.shape[0]):
            total = 0.0
            for j in range(a.shape[1]):
                total += scalar(a[i, j], b[i, j])
            out[i] = total
        return out

    return loop


def _numba_sum_columns(scalar):
    """R2c (axis=0): prange over tiles of columns; each thread walks down its
    tile row by row, so it reads memory in runs of NUMBA_COLUMN_TILE values
    (one loop per column would read one value per cache line it fetches)."""
    import numba

    tile = NUMBA_COLUMN_TILE

    @numba.njit(parallel=True)
    def loop(a, b, out):
        rows, columns = a.shape
        for t in numba.prange((columns + tile - 1) // tile):
            start, stop = t * tile, min((t + 1) * tile, columns)
            out[start:stop] = 0.0
            for i in range(rows):
                for j in range(start, stop):
                    out[j] += scalar(a[i, j], b[i, j])
        return out

    return loop


def _numba_argmax(scalar):
    """R3: a serial njit loop. numba has no parallel argmax reduction (prange
    reduces only with + * min max and the like, not an (index, value) pair);
    threads' partial maxima combined by hand would be a different program
    from what a user writes. The first maximum wins, as in np.argmax."""
    import numba

    @numba.njit
    def loop(a, b):
        best, best_value = 0, scalar(a[0], b[0])
        for i in range(1, a.size):
            value = scalar(a[i], b[i])
            if value > best_value:
                best, best_value = i, value
        return best

    return loop


def _numba_cumsum(scalar):
    """SC1: a serial njit loop; a running sum is sequential as a user writes it
    (a parallel scan is two passes and another order of additions)."""
    import numba

    @numba.njit
    def loop(x, out):
        total = 0.0
        for i in range(x.size):
            total += scalar(x[i])
            out[i] = total
        return out

    return loop


# (op, axis, arity) -> the numba loop for a case, given its map compiled by njit.
NUMBA_LOOPS = {
    ("sum", None, 1): _numba_sum,
    ("sum", 1, 2): _numba_sum_rows,
    ("sum", 0, 2): _numba_sum_columns,
    ("argmax", None, 2): _numba_argmax,
    ("cumsum", None, 1): _numba_cumsum,
}


def numba_njit_impl(case, inputs, out):
    import numba

    key = (case.op, case.axis, case.arity)
    if key not in NUMBA_LOOPS:
        raise ValueError(f"no numba loop for {case.op} along axis {case.axis} of {case.arity} inputs")
    loop = NUMBA_LOOPS[key](numba.njit(case.map))
    arguments = (*inputs, out) if out.ndim else tuple(inputs)  # a scalar result has nothing to preallocate
    return lambda: np.asarray(loop(*arguments))


def sejits_impl(case, inputs, out):
    kernel = sejits_reduction(case)
    if case.op == "cumsum":
        return lambda: kernel(*inputs, axis=case.axis, out=out)
    return lambda: np.asarray(kernel(*inputs, axis=case.axis))


REDUCTION_IMPLS = {
    "numpy": numpy_impl,
    "numexpr": numexpr_impl,
    "numba-njit": numba_njit_impl,
    "sejits": sejits_impl,
}
