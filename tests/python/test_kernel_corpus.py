"""A corpus of realistic kernels, as scientists write them (issue 18): each
must specialize under fallback="error" (the session's policy) and match
NumPy, on the CPU and OpenCL targets. The reference is the same formula in
vectorized NumPy, or, for kernels with Python control flow, the undecorated
function applied element by element (np.vectorize) on float64 or int inputs,
where Python's scalar arithmetic is NumPy's."""

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from scipy import ndimage

import sejits
from reference import assert_same, assert_within_ulps

RNG_SEED = 18


def _rng():
    return np.random.default_rng(RNG_SEED)


def _floats(*shape, low=-4.0, high=4.0, dtype=np.float64):
    return (_rng().random(shape) * (high - low) + low).astype(dtype)


def _elementwise_reference(kernel, otype):
    """The undecorated kernel applied element by element."""
    return np.vectorize(kernel.__wrapped__, otypes=[otype])


# ---- activation functions and losses ----------------------------------------------

@sejits.elementwise
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@sejits.elementwise
def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


@sejits.elementwise
def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


@sejits.elementwise
def gelu_erf(x):
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


@sejits.elementwise
def leaky_relu(x, slope):
    return x if x > 0 else slope * x


@sejits.elementwise
def softsign(x):
    return x / (1 + abs(x))


@sejits.elementwise
def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


@sejits.elementwise
def huber(residual, delta):
    a = abs(residual)
    if a <= delta:
        return 0.5 * a * a
    return delta * (a - 0.5 * delta)


@sejits.elementwise
def logit(p):
    return np.log(p / (1 - p))


# ---- finance, physics, geometry ---------------------------------------------------

@sejits.elementwise
def black_scholes_call(spot, strike, rate, vol, t):
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    cnd1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
    cnd2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
    return spot * cnd1 - strike * math.exp(-rate * t) * cnd2


@sejits.elementwise
def haversine_km(lat1, lon1, lat2, lon2):
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlam = np.radians(lon2 - lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))


@sejits.elementwise
def arrhenius(temperature, prefactor, activation):
    return prefactor * np.exp(-activation / (8.314462618 * temperature))


@sejits.elementwise
def norm3(x, y, z):
    return np.sqrt(x * x + y * y + z * z)


@sejits.elementwise
def wrap_angle(theta):
    return np.remainder(theta + np.pi, 2 * np.pi) - np.pi


@sejits.elementwise
def celsius_to_fahrenheit(c):
    return c * 9.0 / 5.0 + 32.0


# ---- integers and bits --------------------------------------------------------------

@sejits.elementwise
def pack_nibbles(lo, hi):
    return (lo & 0xF) | ((hi & 0xF) << 4)


@sejits.elementwise
def bit_k(x, k):
    return (x >> k) & 1


@sejits.elementwise
def popcount8(x):
    count = 0
    for k in range(8):
        count += (x >> k) & 1
    return count


@sejits.elementwise
def xorshift32(x):
    x = x ^ (x << 13)
    x = x ^ (x >> 17)
    return x ^ (x << 5)


@sejits.elementwise
def histogram_bin(x, lo, width, nbins):
    return np.int64(np.clip(np.floor((x - lo) / width), 0, nbins - 1))


@sejits.elementwise
def is_even_and_positive(n):
    return (n % 2 == 0) & (n > 0)


# ---- clipping, masking, cleaning ----------------------------------------------------

@sejits.elementwise
def clip_range(x, lo, hi):
    return np.clip(x, lo, hi)


@sejits.elementwise
def masked_keep(x, y):
    return np.where((x > 0) & (y < 1), x, 0.0)


@sejits.elementwise
def safe_divide(n, d):
    return np.where(d != 0, n / d, 0.0)


@sejits.elementwise
def finite_or_zero(x):
    return np.where(np.isfinite(x), x, 0.0)


@sejits.elementwise
def cleaned(x):
    return np.nan_to_num(x, nan=0.0, posinf=1e3, neginf=-1e3)


@sejits.elementwise
def step(x):
    return np.heaviside(x, 0.5)


@sejits.elementwise
def signed_sqrt(x):
    return np.sign(x) * np.sqrt(np.abs(x))


@sejits.elementwise
def round2(x):
    return np.round(x, 2)


# ---- images and colour ----------------------------------------------------------------

@sejits.elementwise
def to_gray(r, g, b):
    return 0.299 * r + 0.587 * g + 0.114 * b


@sejits.elementwise
def quantize(x):
    return np.uint8(np.clip(np.rint(x * 255.0), 0, 255))


@sejits.elementwise
def srgb_to_linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


@sejits.elementwise
def linear_to_srgb(c):
    if c <= 0.0031308:
        return 12.92 * c
    return 1.055 * c ** (1 / 2.4) - 0.055


@sejits.elementwise
def hsv_value(r, g, b):
    return max(r, g, b)


@sejits.elementwise
def smoothstep(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


@sejits.elementwise
def fma_like(a, b, c):
    return a * b + c


@sejits.elementwise
def alpha_blend(src, dst, alpha):
    return alpha * src + (1.0 - alpha) * dst


# ---- the table ---------------------------------------------------------------------

@dataclass
class Case:
    kernel: Callable
    inputs: Callable  # () -> the arguments
    reference: Callable  # (*arguments) -> NumPy's result
    ulps: int = 4  # floats: within this many units in the last place
    atol: float = 0.0  # and, where the formula cancels (1 + tanh(x) near -1), within this absolute error

    def __post_init__(self):
        self.id = self.kernel.__name__


def _gelu_erf_reference(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _bs_inputs():
    rng = _rng()
    spot = rng.uniform(50, 150, 200)
    return spot, rng.uniform(60, 140, 200), 0.03, rng.uniform(0.1, 0.6, 200), rng.uniform(0.1, 3.0, 200)


def _bs_reference(spot, strike, rate, vol, t):
    erf = np.vectorize(math.erf)
    d1 = (np.log(spot / strike) + (rate + 0.5 * vol * vol) * t) / (vol * np.sqrt(t))
    d2 = d1 - vol * np.sqrt(t)
    return spot * 0.5 * (1 + erf(d1 / math.sqrt(2))) - strike * np.exp(-rate * t) * 0.5 * (1 + erf(d2 / math.sqrt(2)))


def _haversine_reference(lat1, lon1, lat2, lon2):
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))


def _latlon():
    rng = _rng()
    return rng.uniform(-90, 90, 97), rng.uniform(-180, 180, 97), rng.uniform(-90, 90, 97), rng.uniform(-180, 180, 97)


def _specials(*shape):
    x = _floats(*shape)
    x.flat[:5] = [np.nan, np.inf, -np.inf, -0.0, 0.0]
    return x


def _uint8(*shape):
    return _rng().integers(0, 256, size=shape, dtype=np.uint8)


CASES = [
    Case(sigmoid, lambda: (_floats(7, 11, low=-40, high=40),), lambda x: 1.0 / (1.0 + np.exp(-x))),
    Case(softplus, lambda: (_floats(301, low=-30, high=30),), lambda x: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)),
    Case(gelu_tanh, lambda: (_floats(64, dtype=np.float32),),
         lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))), 8, 1e-6),
    # OpenCL's erf may be 16 ulp off; 1 + erf(x) near -1 cancels those bits
    Case(gelu_erf, lambda: (_floats(129),), _gelu_erf_reference, 16, 1e-15),
    Case(leaky_relu, lambda: (_floats(5, 7), 0.01), lambda x, s: np.where(x > 0, x, s * x)),
    Case(softsign, lambda: (_floats(3, 5, 7, dtype=np.float32),), lambda x: x / (1 + np.abs(x))),
    Case(log_sigmoid, lambda: (_floats(50, low=-50, high=50),), lambda x: -np.logaddexp(0.0, -x)),
    Case(huber, lambda: (_floats(41), 1.5), lambda r, d: np.where(np.abs(r) <= d, 0.5 * r * r, d * (np.abs(r) - 0.5 * d))),
    Case(logit, lambda: (_floats(33, low=0.001, high=0.999),), lambda p: np.log(p / (1 - p))),
    Case(black_scholes_call, _bs_inputs, _bs_reference, 64, 1e-11),  # a difference of two prices near 100
    Case(haversine_km, _latlon, _haversine_reference, 16),
    Case(arrhenius, lambda: (_floats(23, low=250, high=1500), 1e7, 5e4), lambda t, a, e: a * np.exp(-e / (8.314462618 * t))),
    Case(norm3, lambda: (_floats(4, 9), _floats(9), _floats(4, 1)), lambda x, y, z: np.sqrt(x * x + y * y + z * z)),
    Case(wrap_angle, lambda: (_floats(77, low=-20, high=20),), lambda t: np.remainder(t + np.pi, 2 * np.pi) - np.pi),
    Case(celsius_to_fahrenheit, lambda: (_floats(10, dtype=np.float32),), lambda c: c * 9.0 / 5.0 + 32.0),
    Case(pack_nibbles, lambda: (_uint8(6, 5), _uint8(6, 5)), lambda lo, hi: (lo & 0xF) | ((hi & 0xF) << 4)),
    Case(bit_k, lambda: (_rng().integers(-1000, 1000, 50, dtype=np.int32), 3), lambda x, k: (x >> k) & 1),
    Case(popcount8, lambda: (_uint8(256),), lambda x: np.unpackbits(x[:, None], axis=1).sum(axis=1).astype(np.uint8)),
    Case(xorshift32, lambda: (_rng().integers(1, 2**32, 40, dtype=np.uint32),),
         lambda x: (lambda x1: (lambda x2: x2 ^ (x2 << 5))(x1 ^ (x1 >> 17)))(x ^ (x << 13))),
    Case(histogram_bin, lambda: (_floats(200, low=-1, high=11), 0.0, 0.5, 20),
         lambda x, lo, w, n: np.int64(np.clip(np.floor((x - lo) / w), 0, n - 1))),
    Case(is_even_and_positive, lambda: (np.arange(-7, 13, dtype=np.int16),), lambda n: (n % 2 == 0) & (n > 0)),
    Case(clip_range, lambda: (_specials(31), -1.0, 2.5), lambda x, lo, hi: np.clip(x, lo, hi)),
    Case(masked_keep, lambda: (_floats(9, 9), _floats(9)), lambda x, y: np.where((x > 0) & (y < 1), x, 0.0)),
    Case(safe_divide, lambda: (_floats(12), np.array([0.0, 1.5, -2.0, 0.0] * 3)),
         lambda n, d: np.where(d != 0, n / np.where(d != 0, d, 1), 0.0)),
    Case(finite_or_zero, lambda: (_specials(17),), lambda x: np.where(np.isfinite(x), x, 0.0)),
    Case(cleaned, lambda: (_specials(17),), lambda x: np.nan_to_num(x, nan=0.0, posinf=1e3, neginf=-1e3)),
    Case(step, lambda: (_specials(11),), lambda x: np.heaviside(x, 0.5)),
    Case(signed_sqrt, lambda: (_specials(19),), lambda x: np.sign(x) * np.sqrt(np.abs(x))),
    Case(round2, lambda: (_floats(40, low=-100, high=100),), lambda x: np.round(x, 2)),
    Case(to_gray, lambda: tuple(_floats(8, 8, low=0, high=1, dtype=np.float32) for _ in range(3)),
         lambda r, g, b: 0.299 * r + 0.587 * g + 0.114 * b),
    Case(quantize, lambda: (_floats(64, low=-0.2, high=1.2),), lambda x: np.uint8(np.clip(np.rint(x * 255.0), 0, 255))),
    Case(srgb_to_linear, lambda: (_floats(50, low=0, high=1),),
         lambda c: np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)),
    Case(linear_to_srgb, lambda: (_floats(50, low=0, high=1),),
         lambda c: np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.abs(c) ** (1 / 2.4) - 0.055)),
    Case(hsv_value, lambda: tuple(_floats(5, 6, low=0, high=1) for _ in range(3)), lambda r, g, b: np.maximum(np.maximum(r, g), b)),
    Case(smoothstep, lambda: (0.2, 0.8, _floats(30, low=0, high=1)),
         lambda e0, e1, x: (lambda t: t * t * (3 - 2 * t))(np.clip((x - e0) / (e1 - e0), 0.0, 1.0))),
    Case(fma_like, lambda: (_floats(3, 4), _floats(4), 2.0), lambda a, b, c: a * b + c),
    Case(alpha_blend, lambda: (_floats(16, dtype=np.float32), _floats(16, dtype=np.float32), 0.25),
         lambda s, d, a: a * s + (1.0 - a) * d),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_corpus_kernel_specializes_and_matches_numpy(target, case):
    arguments = case.inputs()
    with np.errstate(all="ignore"):
        expected = np.asarray(case.reference(*arguments))
    result = case.kernel(*arguments)  # under fallback="error": compiled code computes it
    if case.atol:
        assert result.dtype == expected.dtype
        np.testing.assert_allclose(result, expected, rtol=case.ulps * np.finfo(expected.dtype).eps, atol=case.atol)
    else:
        assert_within_ulps(result, expected, case.ulps)


def test_the_corpus_is_large():
    assert len(CASES) + len(STENCIL_CASES) + len(CONTROL_FLOW_CASES) + len(SEVERAL_OUTPUT_CASES) >= 40


# ---- control flow: loops and branches -----------------------------------------------

@sejits.elementwise
def mandelbrot_escape(cr, ci, max_iter):
    zr, zi = 0.0, 0.0
    for i in range(max_iter):
        if zr * zr + zi * zi > 4.0:
            return i
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
    return max_iter


@sejits.elementwise
def mandelbrot_while(cr, ci, max_iter):
    zr, zi = 0.0, 0.0
    n = 0
    while zr * zr + zi * zi <= 4.0 and n < max_iter:
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
        n += 1
    return n


@sejits.elementwise
def newton_sqrt(a, iterations):
    x = a if a > 1.0 else 1.0
    for _ in range(iterations):
        x = 0.5 * (x + a / x)
    return x


@sejits.elementwise
def collatz_steps(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def _mandelbrot_grid():
    cr, ci = np.meshgrid(np.linspace(-2.0, 0.6, 37), np.linspace(-1.2, 1.2, 23))
    return cr, ci, 60


CONTROL_FLOW_CASES = [
    Case(mandelbrot_escape, _mandelbrot_grid, _elementwise_reference(mandelbrot_escape, np.int64)),
    Case(mandelbrot_while, _mandelbrot_grid, _elementwise_reference(mandelbrot_while, np.int64)),
    Case(newton_sqrt, lambda: (_floats(50, low=0.01, high=1e4), 30), lambda a, k: np.sqrt(a), 2),
    Case(collatz_steps, lambda: (np.arange(1, 200, dtype=np.int64),), _elementwise_reference(collatz_steps, np.int64)),
]


@pytest.mark.parametrize("case", CONTROL_FLOW_CASES, ids=lambda case: case.id)
def test_corpus_control_flow_kernel_specializes_and_matches(target, case):
    test_corpus_kernel_specializes_and_matches_numpy(target, case)


# ---- several outputs ----------------------------------------------------------------

@sejits.elementwise
def rgb_to_ycbcr(r, g, b):
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return y, cb, cr


@sejits.elementwise
def polar_to_cartesian(radius, theta):
    return radius * np.cos(theta), radius * np.sin(theta)


@sejits.elementwise
def quotient_remainder(a, b):
    q, r = np.divmod(a, b)
    return q, r


def _ycbcr_reference(r, g, b):
    return (0.299 * r + 0.587 * g + 0.114 * b, 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b,
            128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b)


SEVERAL_OUTPUT_CASES = [
    Case(rgb_to_ycbcr, lambda: tuple(_floats(6, 7, low=0, high=255) for _ in range(3)), _ycbcr_reference),
    Case(polar_to_cartesian, lambda: (_floats(20, low=0, high=3), _floats(20)),
         lambda r, t: (r * np.cos(t), r * np.sin(t))),
    Case(quotient_remainder, lambda: (np.arange(-12, 12, dtype=np.int32), np.array([5, -3, 7, 0] * 6, dtype=np.int32)),
         lambda a, b: np.divmod(a, b)),
]


@pytest.mark.parametrize("case", SEVERAL_OUTPUT_CASES, ids=lambda case: case.id)
def test_corpus_kernel_with_several_outputs(target, case):
    arguments = case.inputs()
    with np.errstate(all="ignore"):
        expected = case.reference(*arguments)
    result = case.kernel(*arguments)
    assert isinstance(result, tuple) and len(result) == len(expected)
    for got, want in zip(result, expected):
        assert_within_ulps(got, np.asarray(want), case.ulps)


# ---- stencils -----------------------------------------------------------------------

GAUSS5 = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0
SOBEL_X = ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1))


@sejits.stencil(boundary="nearest")
def gaussian_blur(a):
    acc = 0.0
    for di in range(-2, 3):
        for dj in range(-2, 3):
            acc += GAUSS5[di + 2, dj + 2] * a[di, dj]
    return acc


@sejits.stencil(boundary="reflect")
def sobel_x(a):
    acc = 0.0
    for di in range(-1, 2):
        for dj in range(-1, 2):
            acc += SOBEL_X[di + 1][dj + 1] * a[di, dj]
    return acc


@sejits.stencil(boundary="mirror")
def laplacian(a):
    return a[-1, 0] + a[1, 0] + a[0, -1] + a[0, 1] - 4.0 * a[0, 0]


@sejits.stencil(boundary="wrap")
def game_of_life(board):
    neighbours = (board[-1, -1] + board[-1, 0] + board[-1, 1] + board[0, -1] + board[0, 1]
                  + board[1, -1] + board[1, 0] + board[1, 1])
    alive = board[0, 0] == 1
    return np.int8(((neighbours == 3) | (alive & (neighbours == 2))))


def _life_reference(board):
    counts = ndimage.correlate(board.astype(np.int64), np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]]), mode="wrap")
    return ((counts == 3) | ((board == 1) & (counts == 2))).astype(np.int8)


STENCIL_CASES = [
    Case(gaussian_blur, lambda: (_floats(23, 31),), lambda a: ndimage.correlate(a, GAUSS5, mode="nearest"), 16),
    Case(sobel_x, lambda: (_floats(17, 19),), lambda a: ndimage.correlate(a, np.array(SOBEL_X, float), mode="reflect"), 16),
    Case(laplacian, lambda: (_floats(13, 29),),
         lambda a: ndimage.correlate(a, np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float), mode="mirror"), 16),
    Case(game_of_life, lambda: ((_rng().random((20, 24)) < 0.35).astype(np.int8),), _life_reference),
]


@pytest.mark.parametrize("case", STENCIL_CASES, ids=lambda case: case.id)
def test_corpus_stencil_specializes_and_matches_scipy(target, case):
    arguments = case.inputs()
    expected = case.reference(*arguments)
    result = case.kernel(*arguments)
    if np.asarray(expected).dtype.kind == "f":
        np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)
        assert result.dtype == expected.dtype
    else:
        assert_same(result, expected)
