"""The implementations of an element-wise case.

Each builder takes (case, inputs, out) and returns a call that runs the
kernel once on the inputs and returns the result array. Peers write into the
preallocated `out` where they can; sejits is timed as a user calls it,
allocating its output, and again with `out=`.
"""


def sejits_elementwise(kernel):
    import sejits

    return sejits.elementwise(kernel)


def numpy_impl(case, inputs, out):
    return lambda: case.kernel(*inputs)


def numexpr_impl(case, inputs, out):
    import numexpr

    local_dict = dict(zip(case.arg_names, inputs))
    return lambda: numexpr.evaluate(case.numexpr, local_dict=local_dict, out=out)


def _numba_parallel_loop(kernel, arity):
    """njit(parallel=True) loop over flat arrays applying `kernel` per element."""
    import numba

    scalar = numba.njit(kernel)
    if arity == 2:

        @numba.njit(parallel=True)
        def loop(a, b, out):
            for i in numba.prange(out.size):
                out[i] = scalar(a[i], b[i])

    elif arity == 6:

        @numba.njit(parallel=True)
        def loop(a, b, c, d, e, f, out):
            for i in numba.prange(out.size):
                out[i] = scalar(a[i], b[i], c[i], d[i], e[i], f[i])

    else:
        raise ValueError(f"no numba loop for {arity} inputs")
    return loop


def numba_njit_impl(case, inputs, out):
    loop = _numba_parallel_loop(case.kernel, case.arity)

    def call():
        loop(*inputs, out)
        return out

    return call


def numba_vectorize_impl(case, inputs, out):
    import numba

    signature = "float64({})".format(", ".join(["float64"] * case.arity))
    ufunc = numba.vectorize([signature], target="parallel")(case.kernel)
    return lambda: ufunc(*inputs, out=out)


def sejits_impl(case, inputs, out):
    kernel = sejits_elementwise(case.kernel)
    return lambda: kernel(*inputs)


def sejits_out_impl(case, inputs, out):
    kernel = sejits_elementwise(case.kernel)

    def call():
        kernel(*inputs, out=out)
        return out

    return call


ELEMENTWISE_IMPLS = {
    "numpy": numpy_impl,
    "numexpr": numexpr_impl,
    "numba-njit": numba_njit_impl,
    "numba-vectorize": numba_vectorize_impl,
    "sejits": sejits_impl,
    "sejits-out": sejits_out_impl,
}
