"""The corpus for sejits.fuse: plain NumPy functions as scientists write them
(stencils, normalisations, activations, reductions, in-place updates,
aliasing), each with a seeded input factory, and the helpers the fuse tests
compare a fused call with the function's own call by. Whether a snippet is
specialized or runs as written is deliberately not recorded: the tests accept
either, as long as the results, dtypes, result types and argument mutations
are NumPy's. The functions live in an importable module so that fuse can read
their source."""

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

import sejits

SEED = 2024


def _rng(salt=0):
    return np.random.default_rng(SEED + salt)


def _floats(*shape, low=-2.0, high=2.0, dtype=np.float64, salt=0):
    return (_rng(salt).random(shape) * (high - low) + low).astype(dtype)


# ---- PDE steps --------------------------------------------------------------------

def heat_step(u, alpha):
    """Explicit 2-D heat equation: the interior updated in place from the 5-point Laplacian."""
    u[1:-1, 1:-1] += alpha * (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4.0 * u[1:-1, 1:-1])


def wave_step(u_prev, u_curr, c2):
    """Leapfrog wave equation: the next time level from the two before it, fixed zero boundary."""
    u_next = np.zeros_like(u_curr)
    lap = u_curr[2:, 1:-1] + u_curr[:-2, 1:-1] + u_curr[1:-1, 2:] + u_curr[1:-1, :-2] - 4.0 * u_curr[1:-1, 1:-1]
    u_next[1:-1, 1:-1] = 2.0 * u_curr[1:-1, 1:-1] - u_prev[1:-1, 1:-1] + c2 * lap
    return u_next


def diffusion_1d(u, nu):
    """One FTCS step of 1-D diffusion into a copy; the end points stay."""
    new = u.copy()
    new[1:-1] = u[1:-1] + nu * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    return new


def jacobi_sweep(u, f, out, h2):
    """A Jacobi sweep for the Poisson equation into a preallocated output's interior."""
    out[1:-1, 1:-1] = 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - h2 * f[1:-1, 1:-1])


def smooth_strided(a):
    """A [1, 2, 1]/4 smoothing that keeps every other point (a[::2] steps)."""
    return 0.25 * a[0:-2:2] + 0.5 * a[1:-1:2] + 0.25 * a[2::2]


# ---- statistics and normalisation -------------------------------------------------

def softmax_rows(x):
    m = np.max(x, axis=1, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=1, keepdims=True)


def logsumexp_rows(x):
    m = np.max(x, axis=-1)
    return m + np.log(np.sum(np.exp(x - m[:, None]), axis=-1))


def row_normalise(x):
    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)


def column_normalise(x):
    """Columns scaled to unit Euclidean length."""
    return x / np.sqrt(np.sum(x * x, axis=0))


def zscore(x):
    return (x - np.mean(x)) / np.std(x)


def minmax_scale(x):
    lo = x.min(axis=0)
    hi = x.max(axis=0)
    return (x - lo) / (hi - lo)


def running_stats(batch, running_mean, running_var, momentum):
    """Batch normalisation in training: the running statistics updated in place."""
    mean = batch.mean(axis=0)
    var = batch.var(axis=0)
    running_mean *= 1.0 - momentum
    running_mean += momentum * mean
    running_var[:] = (1.0 - momentum) * running_var + momentum * var
    return (batch - mean) / np.sqrt(var + 1e-5)


def summary_stats(x):
    """Several NumPy scalars and a Python float from one array."""
    return x.min(), x.max(), x.mean(), x.std(), float(np.sum(x * x)) * 0.5


# ---- geometry and clustering ------------------------------------------------------

def pairwise_distances(X, Y):
    d = X[:, None, :] - Y[None, :, :]
    return np.sqrt(np.sum(d * d, axis=-1))


def kmeans_assign(X, C):
    d = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return np.argmin(d, axis=1)


# ---- finance and fractals ---------------------------------------------------------

def black_scholes(S, K, T, r, sigma):
    """European call and put with the Abramowitz-Stegun polynomial normal CDF (no erf)."""
    sqrt_t = np.sqrt(T)
    d1 = (np.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    k1 = 1.0 / (1.0 + 0.2316419 * np.abs(d1))
    k2 = 1.0 / (1.0 + 0.2316419 * np.abs(d2))
    p1 = k1 * (0.319381530 + k1 * (-0.356563782 + k1 * (1.781477937 + k1 * (-1.821255978 + k1 * 1.330274429))))
    p2 = k2 * (0.319381530 + k2 * (-0.356563782 + k2 * (1.781477937 + k2 * (-1.821255978 + k2 * 1.330274429))))
    n1 = 1.0 - 0.3989422804014327 * np.exp(-0.5 * d1 * d1) * p1
    n2 = 1.0 - 0.3989422804014327 * np.exp(-0.5 * d2 * d2) * p2
    cdf1 = np.where(d1 < 0, 1.0 - n1, n1)
    cdf2 = np.where(d2 < 0, 1.0 - n2, n2)
    discount = np.exp(-r * T)
    call = S * cdf1 - K * discount * cdf2
    put = K * discount * (1.0 - cdf2) - S * (1.0 - cdf1)
    return call, put


def mandelbrot_step(zr, zi, cr, ci):
    """One z = z*z + c step on real/imaginary arrays; escaped points keep their last value."""
    new_r = zr * zr - zi * zi + cr
    new_i = 2.0 * zr * zi + ci
    escaped = zr * zr + zi * zi > 4.0
    return np.where(escaped, zr, new_r), np.where(escaped, zi, new_i), escaped


# ---- activations and selections ---------------------------------------------------

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def relu(x):
    return np.maximum(x, 0.0)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))


def clip_both_ways(x, lo, hi):
    """Clipping by np.minimum/np.maximum and by np.clip must agree."""
    return np.minimum(np.maximum(x, lo), hi), np.clip(x, lo, hi)


def where_select(x, y):
    return np.where(x > y, x - y, 0.5 * (x + y))


def saxpy_inplace(a, x, y):
    y += a * x


# ---- indexing, broadcasting, layout -----------------------------------------------

def transpose_combine(a, b):
    return a.T * b + a.T


def outer_broadcast(a, b):
    """a[None, :] against b[:, None]: an outer product plus a row offset."""
    return a[None, :] * b[:, None] + a[None, :]


def column_extract(a):
    c = a[:, 0]
    return a - c[:, None], c * 2.0


def reductions_by_axis(x):
    return x.sum(axis=0), x.sum(axis=1), x.max(axis=-1), np.sum(x), x.min(axis=None, keepdims=True)


def argmax_by_axis(x):
    return np.argmax(x, axis=0), np.argmax(x, axis=1)


def mean_by_axis(x):
    return x.mean(axis=0), np.mean(x, axis=1, keepdims=True), np.mean(x, axis=-1)


# ---- control flow and locals ------------------------------------------------------

def branch_on_scalar(x, mode):
    if mode > 0:
        y = x * 2.0
    else:
        y = -x
    return y + 1.0


def loop_smoothing(x):
    """Three smoothing passes whose slice assignment reads the array it writes."""
    y = np.zeros_like(x)
    y[:] = x
    for i in range(3):
        y[1:-1] = 0.5 * (y[:-2] + y[2:])
    return y


def first_differences(x):
    out = np.empty_like(x)
    out[0] = x[0]
    out[1:] = x[1:] - x[:-1]
    return out


def padded_interior(x):
    pad = np.zeros_like(x)
    pad[1:-1, 1:-1] = x[1:-1, 1:-1]
    return pad


def full_then_every_other(x):
    f = np.full_like(x, 3.0)
    f[::2] = x[::2]
    return f


def augmented_local(x, y):
    acc = x * 0.5
    acc += y
    acc *= 2.0
    acc -= x
    return acc


# ---- integers and float32 ---------------------------------------------------------

def int_arithmetic(a, b):
    """int32 and int64 mixed: int64 results, floor division and modulo with negatives."""
    c = a * 3 + b
    return c, c > 0, a // 7, a % 5, b - a


def int_compare(a, b):
    return np.where(a > b, a - b, b - a), np.sum(a == b), a >= b


def float32_scale(x, y):
    """float32 stays float32 with Python float scalars (NEP 50); a float32 reduction."""
    return x * 2.5 + y, np.sum(x * y, axis=0), x.mean()


# ---- aliasing ---------------------------------------------------------------------

def overlapping_shift(a):
    """NumPy evaluates the right side fully first: a[i] = old a[i-1] + 1, not a running sum."""
    a[1:] = a[:-1] + 1.0


def write_one_read_other(x, y):
    """Called with the same array twice: y's update reads x, which is y."""
    y += 2.0 * x[::-1]
    return x + y


def scale_and_return_input(a):
    a *= 2.0
    return a


@dataclass
class Snippet:
    """`fallback`: the construct outside sejits.fuse's subset that makes the
    function run as written (its reason names it); None: it is specialized."""

    name: str
    fn: Callable
    inputs: Callable[[], tuple]
    fallback: str = None

    @property
    def id(self):
        return self.name


def repeated_steps(u, steps):
    """A loop whose count is an argument, not a constant: kept as a loop, u carried in a buffer."""
    for _ in range(steps):
        u = 0.5 * (u + u * u)
    return u


# ---- outside the subset: run as written, with the reason ----------------------------


def running_total(x):
    """A scan: np.cumsum is not one of fuse's operations."""
    return np.cumsum(x * x)


def gather_rows(x, rows):
    """Indexing with an array (fancy indexing) copies rows in NumPy."""
    return x[rows] * 2.0


def matrix_product(a, b):
    """a @ b is a BLAS call, not a loop nest over elements."""
    return (a @ b) + 1.0


def clip_with_a_mask(x, limit):
    """Boolean-mask assignment: the elements it writes depend on the values."""
    x[x > limit] = limit
    return x


def halve_until_small(x):
    """A while loop on array values."""
    while np.max(x) > 1.0:
        x = x / 2.0
    return x


def _same_twice():
    x = _floats(16)
    return x, x


SNIPPETS = [
    Snippet("heat_step", heat_step, lambda: (_floats(17, 23, low=0, high=1), 0.2)),
    Snippet("wave_step", wave_step, lambda: (_floats(19, 21, salt=1), _floats(19, 21, salt=2), 0.25)),
    Snippet("diffusion_1d", diffusion_1d, lambda: (_floats(101), 0.3)),
    Snippet("jacobi_sweep", jacobi_sweep, lambda: (_floats(13, 11, salt=1), _floats(13, 11, salt=2), np.zeros((13, 11)), 0.01)),
    Snippet("smooth_strided", smooth_strided, lambda: (_floats(101),)),
    Snippet("softmax_rows", softmax_rows, lambda: (_floats(9, 31, low=-10, high=10),)),
    Snippet("logsumexp_rows", logsumexp_rows, lambda: (_floats(9, 31, low=-50, high=50),)),
    Snippet("row_normalise", row_normalise, lambda: (_floats(8, 40),)),
    Snippet("column_normalise", column_normalise, lambda: (_floats(40, 8),)),
    Snippet("zscore", zscore, lambda: (_floats(12, 34, low=3, high=9),)),
    Snippet("minmax_scale", minmax_scale, lambda: (_floats(30, 6),)),
    Snippet("running_stats", running_stats,
            lambda: (_floats(32, 5, salt=1), _floats(5, salt=2), _floats(5, low=0.5, high=2, salt=3), 0.1)),
    Snippet("summary_stats", summary_stats, lambda: (_floats(7, 13),)),
    Snippet("pairwise_distances", pairwise_distances, lambda: (_floats(10, 3, salt=1), _floats(7, 3, salt=2))),
    Snippet("kmeans_assign", kmeans_assign, lambda: (_floats(50, 4, salt=1), _floats(5, 4, salt=2))),
    Snippet("black_scholes", black_scholes,
            lambda: (_floats(64, low=10, high=50, salt=1), _floats(64, low=10, high=50, salt=2),
                     _floats(64, low=0.1, high=2, salt=3), 0.02, 0.3)),
    Snippet("mandelbrot_step", mandelbrot_step,
            lambda: (_floats(20, 30, salt=1), _floats(20, 30, salt=2), _floats(20, 30, salt=3), _floats(20, 30, salt=4))),
    Snippet("sigmoid", sigmoid, lambda: (_floats(64, low=-20, high=20),)),
    Snippet("relu", relu, lambda: (_floats(8, 8),)),
    Snippet("gelu_tanh", gelu_tanh, lambda: (_floats(100, low=-5, high=5),)),
    Snippet("clip_both_ways", clip_both_ways, lambda: (_floats(50), -0.5, 0.75)),
    Snippet("where_select", where_select, lambda: (_floats(6, 7, salt=1), _floats(6, 7, salt=2))),
    Snippet("saxpy_inplace", saxpy_inplace, lambda: (1.5, _floats(1000, salt=1), _floats(1000, salt=2))),
    Snippet("transpose_combine", transpose_combine, lambda: (_floats(5, 9, salt=1), _floats(9, 5, salt=2))),
    Snippet("outer_broadcast", outer_broadcast, lambda: (_floats(11, salt=1), _floats(6, salt=2))),
    Snippet("column_extract", column_extract, lambda: (_floats(6, 4),)),
    Snippet("reductions_by_axis", reductions_by_axis, lambda: (_floats(7, 13),)),
    Snippet("argmax_by_axis", argmax_by_axis, lambda: (_floats(7, 13),)),
    Snippet("mean_by_axis", mean_by_axis, lambda: (_floats(7, 13),)),
    Snippet("branch_on_scalar_positive", branch_on_scalar, lambda: (_floats(20), 1)),
    Snippet("branch_on_scalar_negative", branch_on_scalar, lambda: (_floats(20), -1)),
    Snippet("loop_smoothing", loop_smoothing, lambda: (_floats(40),)),
    Snippet("first_differences", first_differences, lambda: (_floats(33),)),
    Snippet("padded_interior", padded_interior, lambda: (_floats(6, 8),)),
    Snippet("full_then_every_other", full_then_every_other, lambda: (_floats(15),)),
    Snippet("augmented_local", augmented_local, lambda: (_floats(3, 5, salt=1), _floats(3, 5, salt=2))),
    Snippet("int_arithmetic", int_arithmetic,
            lambda: (_rng(1).integers(-1000, 1000, 40, dtype=np.int32), _rng(2).integers(-10**6, 10**6, 40, dtype=np.int64))),
    Snippet("int_compare", int_compare,
            lambda: (_rng(1).integers(-5, 5, (4, 9), dtype=np.int64), _rng(2).integers(-5, 5, (4, 9), dtype=np.int64))),
    Snippet("float32_scale", float32_scale,
            lambda: (_floats(64, 3, dtype=np.float32, salt=1), _floats(64, 3, dtype=np.float32, salt=2))),
    Snippet("overlapping_shift", overlapping_shift, lambda: (_floats(12),)),
    Snippet("write_one_read_other_same_array", write_one_read_other, _same_twice),
    Snippet("scale_and_return_input", scale_and_return_input, lambda: (_floats(3, 4),)),
    Snippet("running_total", running_total, lambda: (_floats(37),), fallback="cumsum"),
    Snippet("gather_rows", gather_rows, lambda: (_floats(6, 5), np.array([4, 0, 2])), fallback="index"),
    Snippet("matrix_product", matrix_product, lambda: (_floats(4, 3), _floats(3, 5, salt=1)), fallback="@"),
    Snippet("repeated_steps", repeated_steps, lambda: (_floats(11), 3)),
    Snippet("clip_with_a_mask", clip_with_a_mask, lambda: (_floats(13), 0.5), fallback="index"),
    Snippet("halve_until_small", halve_until_small, lambda: (_floats(9, low=0, high=8),), fallback="while"),
]


# ---- comparing a fused call with the function's own ------------------------------

def clone_arguments(arguments):
    """Deep copies of the arrays (np.copy, layout kept), the same object passed
    twice copied once so that the copies alias as the originals do."""
    copies = {}

    def clone(value):
        if isinstance(value, np.ndarray):
            if id(value) not in copies:
                copies[id(value)] = np.array(value, copy=True, order="K")
            return copies[id(value)]
        return value

    return tuple(clone(value) for value in arguments)


def float_rtol(dtype):
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-12


def assert_same_value(actual, expected, where="result"):
    """Same Python type (Python scalar, NumPy scalar or ndarray), same dtype
    and shape, exact for bools and ints, floats within float_rtol of NumPy's
    (and an absolute floor of that times the largest magnitude, for values
    that cancel to near zero)."""
    if isinstance(expected, (tuple, list)):
        assert type(actual) is type(expected), f"{where}: {type(actual).__name__} != NumPy's {type(expected).__name__}"
        assert len(actual) == len(expected), f"{where}: {len(actual)} values != NumPy's {len(expected)}"
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_same_value(a, e, f"{where}[{k}]")
        return
    assert type(actual) is type(expected), f"{where}: type {type(actual).__name__} != NumPy's {type(expected).__name__}"
    if expected is None:
        return
    actual_array, expected_array = np.asarray(actual), np.asarray(expected)
    assert actual_array.dtype == expected_array.dtype, f"{where}: dtype {actual_array.dtype} != NumPy's {expected_array.dtype}"
    assert actual_array.shape == expected_array.shape, f"{where}: shape {actual_array.shape} != NumPy's {expected_array.shape}"
    if expected_array.dtype.kind == "f":
        rtol = float_rtol(expected_array.dtype)
        finite = np.abs(expected_array[np.isfinite(expected_array)])
        scale = max(1.0, float(finite.max())) if finite.size else 1.0
        np.testing.assert_allclose(actual_array, expected_array, rtol=rtol, atol=rtol * scale, equal_nan=True,
                                   err_msg=where)
    else:
        np.testing.assert_array_equal(actual_array, expected_array, err_msg=where)


def assert_same_aliasing(actual, expected, fused_arguments, plain_arguments, where="result"):
    """A returned array is an argument (or a view of one) exactly where NumPy's is:
    writing through the result must reach the same argument, or none."""
    if isinstance(expected, (tuple, list)):
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_same_aliasing(a, e, fused_arguments, plain_arguments, f"{where}[{k}]")
        return
    if not isinstance(expected, np.ndarray):
        return
    for k, (fused_argument, plain_argument) in enumerate(zip(fused_arguments, plain_arguments)):
        if not isinstance(plain_argument, np.ndarray):
            continue
        assert (actual is fused_argument) == (expected is plain_argument), \
            f"{where}: is argument {k}: {actual is fused_argument}, NumPy's: {expected is plain_argument}"
        assert np.shares_memory(actual, fused_argument) == np.shares_memory(expected, plain_argument), \
            f"{where}: shares memory with argument {k} where NumPy's {'does' if np.shares_memory(expected, plain_argument) else 'does not'}"


_FUSED = {}


def fused(fn):
    """One fuse wrapper per function for the whole session (its in-memory cache carries over between cases)."""
    if fn not in _FUSED:
        _FUSED[fn] = sejits.fuse(fn)
    return _FUSED[fn]


def assert_fused_matches(fn, *arguments, layout=False, aliasing=True):
    """fn on the arguments, fused(fn) on identical copies (a fallback's
    SpecializationWarning ignored): same results, same arguments afterwards,
    and (with `aliasing`) the same aliasing of results; with `layout`, results
    C/Fortran-contiguous where NumPy's are. Returns (fused results, NumPy's,
    the fused call's arguments)."""
    fused_arguments = clone_arguments(arguments)
    expected = fn(*arguments)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sejits.SpecializationWarning)
        actual = fused(fn)(*fused_arguments)
    assert_same_value(actual, expected)
    assert_same_value(fused_arguments, arguments, "arguments after the call")
    if aliasing:
        assert_same_aliasing(actual, expected, fused_arguments, arguments)
    if layout:
        for a, e in zip(actual if isinstance(actual, tuple) else (actual,),
                        expected if isinstance(expected, tuple) else (expected,)):
            assert (a.flags.c_contiguous, a.flags.f_contiguous) == (e.flags.c_contiguous, e.flags.f_contiguous)
    return actual, expected, fused_arguments


def explain_fused(fn, *arguments):
    """fused(fn)'s explain() for copies of the arguments."""
    return fused(fn).explain(*clone_arguments(arguments))


def explain_specialized(fn, *arguments):
    """explain_fused's text, asserting that fuse specialized the function."""
    text = explain_fused(fn, *arguments)
    assert "specialized (fuse)" in text, text
    return text
