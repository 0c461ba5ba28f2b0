"""The implementations of a fusion case (suite "fuse").

Each builder takes (case, arguments) and returns a call that runs the case's
function once on `arguments` and returns what the check compares: the
function's returned values, then the arguments it changed in place (F1's v).
The suite refreshes those arguments, untimed, before every call (fuse.py).

- numpy: the plain function, as a user runs it;
- numexpr: one `evaluate` per statement (it reads the statement's names
  from the calling function's locals, as numexpr users write it). What
  numexpr cannot express is done in NumPy: F1's slices (views, no copies,
  handed to evaluate), F3's keepdims (a view adding the axis back) and F4's
  argmin (numexpr has no arg-reductions); F1's in-place update of v's
  interior is evaluate's out=;
- numba-njit: numba.njit(parallel=True) of the same function, compiled for
  the arguments' types and run once before the checked calls; a function
  numba cannot compile (F3: max and sum with axis= and keepdims=) or cannot
  run on the arguments NumPy runs (F4: its parallel array expressions do not
  broadcast X[:, None, :] against C[None, :, :]) is skipped with numba's
  reason: the peer's limit, not a failure of the run; a wrong result is one;
- jax-jit: jax.jit of the same code with `np` bound to jax.numpy (F2-F4),
  except F1, whose in-place update JAX cannot do: its functional form
  returns the new v as well, which the check compares with the mutated v.
  Float64 is turned on (jax_enable_x64: F1, F2 and F4 are float64); inputs
  are placed on the CPU device before the timings, and every call waits for
  its results (block_until_ready);
- sejits: sejits.fuse of the same function, called as the plain one. A
  sejits without fuse has its rows skipped ("not available"), so that the
  suite runs before fuse lands; any other failure is a failure.
"""

import re
import types

import numpy as np

from measure import describe

# Implementations whose allocations tracemalloc cannot see: XLA allocates
# JAX's buffers itself, so a traced peak would read as "no memory".
UNTRACED_IMPLS = {"jax-jit"}


class NotApplicable(Exception):
    """The implementation cannot run this case at all (numba rejects the
    code, this sejits has no fuse): its row says why, neither measured nor
    failed."""


def with_mutated(call, case, arguments):
    """`call`'s returned values, then the arguments it changed in place."""

    def run():
        returned = call()
        return (*(returned if isinstance(returned, tuple) else (returned,)), *(arguments[i] for i in case.mutated))

    return run


def numpy_impl(case, arguments):
    return with_mutated(lambda: case.kernel(*arguments), case, arguments)


def numexpr_step(u, v, dt, c):
    import numexpr as ne

    north, south, east, west, centre = u[2:, 1:-1], u[:-2, 1:-1], u[1:-1, 2:], u[1:-1, :-2], u[1:-1, 1:-1]
    lap = ne.evaluate("north + south + east + west - 4 * centre")
    interior = v[1:-1, 1:-1]
    ne.evaluate("interior + dt * c * lap", out=interior)
    energy = ne.evaluate("sum(v * v)") / v.size
    clipped = ne.evaluate("where(v > 1.0, 1.0, v)")
    return clipped, energy


def numexpr_black_scholes(S, K, T, r, sigma):
    import numexpr as ne

    d1 = ne.evaluate("(log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * sqrt(T))")
    d2 = ne.evaluate("d1 - sigma * sqrt(T)")
    t1 = ne.evaluate("1.0 / (1.0 + 0.2316419 * where(d1 < 0.0, -d1, d1))")
    t2 = ne.evaluate("1.0 / (1.0 + 0.2316419 * where(d2 < 0.0, -d2, d2))")
    w1 = ne.evaluate("0.3989422804014327 * exp(-0.5 * d1 * d1) * t1 * (0.319381530 + t1 * (-0.356563782 "
                     "+ t1 * (1.781477937 + t1 * (-1.821255978 + t1 * 1.330274429))))")
    w2 = ne.evaluate("0.3989422804014327 * exp(-0.5 * d2 * d2) * t2 * (0.319381530 + t2 * (-0.356563782 "
                     "+ t2 * (1.781477937 + t2 * (-1.821255978 + t2 * 1.330274429))))")
    n1 = ne.evaluate("where(d1 > 0.0, 1.0 - w1, w1)")
    n2 = ne.evaluate("where(d2 > 0.0, 1.0 - w2, w2)")
    discount = ne.evaluate("K * exp(-r * T)")
    call = ne.evaluate("S * n1 - discount * n2")
    put = ne.evaluate("discount * (1.0 - n2) - S * (1.0 - n1)")
    return call, put


def numexpr_softmax(x):
    import numexpr as ne

    m = ne.evaluate("max(x, axis=1)")[:, None]  # numexpr's reductions have no keepdims
    e = ne.evaluate("exp(x - m)")
    total = ne.evaluate("sum(e, axis=1)")[:, None]
    return ne.evaluate("e / total")


def numexpr_assign(X, C):
    import numexpr as ne

    points, centroids = X[:, None, :], C[None, :, :]
    d = ne.evaluate("sum((points - centroids) ** 2, axis=2)")
    return np.argmin(d, axis=1)


NUMEXPR_FUNCTIONS = {"F1": numexpr_step, "F2": numexpr_black_scholes, "F3": numexpr_softmax, "F4": numexpr_assign}


def numexpr_impl(case, arguments):
    function = NUMEXPR_FUNCTIONS[case.name]
    return with_mutated(lambda: function(*arguments), case, arguments)


def numba_reason(exc):
    """numba's refusal in one line: the statement it stopped at and the
    signature it found no implementation for (its message is a page, with
    terminal colours)."""
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines()]
    signature = next((line[4:] for line in lines if line.startswith(">>> ")), None)
    statement = next((lines[i - 1] for i in range(1, len(lines)) if lines[i] == "^"), None)
    reason = f"no implementation of {signature}" if signature else next((line for line in lines if line), "")
    where = f" at `{statement}`" if statement else ""
    return f"numba cannot compile it: {type(exc).__name__}{where}: {reason}"


def numba_njit_impl(case, arguments):
    import numba
    from numba.core.errors import NumbaError

    function = numba.njit(parallel=True)(case.kernel)
    try:  # compiled now, so that a refusal is told apart from a failure while running
        function.compile(tuple(numba.typeof(argument) for argument in arguments))
    except NumbaError as exc:
        raise NotApplicable(numba_reason(exc)) from exc
    try:  # a trial run: numba's parallel array expressions refuse some broadcasts NumPy does (F4's size-1 axes)
        function(*arguments)
    except Exception as exc:  # the same arguments NumPy runs: numba's limit, not a failure
        raise NotApplicable(f"numba cannot run it: {describe(exc)}") from exc
    return with_mutated(lambda: function(*arguments), case, arguments)


def jax_step(u, v, dt, c):
    import jax.numpy as jnp

    lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
    v = v.at[1:-1, 1:-1].add(dt * c * lap)
    energy = jnp.sum(v * v) / v.size
    clipped = jnp.where(v > 1.0, 1.0, v)
    return clipped, energy, v  # v last: where the in-place implementations' mutated v is compared


JAX_FUNCTIONAL_FORMS = {"F1": jax_step}  # the cases that change an argument in place, as JAX writes them

def jax_function(case):
    """F1's functional form, or the case's own code with `np` bound to jax.numpy."""
    import jax.numpy as jnp

    if case.mutated:
        return JAX_FUNCTIONAL_FORMS[case.name]
    kernel = case.kernel
    return types.FunctionType(kernel.__code__, {**kernel.__globals__, "np": jnp}, kernel.__name__,
                              kernel.__defaults__, kernel.__closure__)


def jax_impl(case, arguments):
    import jax

    jax.config.update("jax_enable_x64", True)
    function = jax.jit(jax_function(case))
    cpu = jax.devices("cpu")[0]
    placed = [jax.device_put(a, cpu) if isinstance(a, np.ndarray) else a for a in arguments]  # committed: runs there

    def run():
        returned = jax.block_until_ready(function(*placed))
        return returned if isinstance(returned, tuple) else (returned,)  # one array: one value, as the others return

    return run


def sejits_impl(case, arguments):
    import sejits

    if not hasattr(sejits, "fuse"):
        raise NotApplicable("not available: this sejits has no fuse")
    fused = sejits.fuse(case.kernel)
    return with_mutated(lambda: fused(*arguments), case, arguments)


FUSE_IMPLS = {
    "numpy": numpy_impl,
    "numexpr": numexpr_impl,
    "numba-njit": numba_njit_impl,
    "jax-jit": jax_impl,
    "sejits": sejits_impl,
}
