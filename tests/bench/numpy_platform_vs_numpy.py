"""The "numpy" platform's generated modules against hand-written NumPy for
the same expressions, in one run (ratios, medians): an element-wise blend
with an `if`, a 2-D 5-point and a 3-D 7-point stencil (constant boundary:
the slicing versions; wrap: np.pad then slicing), and the daemon's time to
print a module. Starts a private daemon from build/server/sejitsd.

    python3 tests/bench/numpy_platform_vs_numpy.py [--repeats N]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))


def blend(a, x, y):
    t = a * x + (1 - a) * y
    return t if t > 0 else 0.0


def blend_by_hand(a, x, y):
    t = a * x + (1 - a) * y
    return np.where(t > 0, t, 0.0)


def laplace_2d(u, k):
    return k * (u[0, 1] + u[0, -1] + u[1, 0] + u[-1, 0] - 4 * u[0, 0])


def laplace_2d_by_hand(u, k, out):
    out[1:-1, 1:-1] = k * (u[1:-1, 2:] + u[1:-1, :-2] + u[2:, 1:-1] + u[:-2, 1:-1] - 4 * u[1:-1, 1:-1])
    out[0], out[-1], out[:, 0], out[:, -1] = 0, 0, 0, 0
    return out


def laplace_2d_wrap_by_hand(u, k, out):
    p = np.pad(u, 1, mode="wrap")
    out[...] = k * (p[1:-1, 2:] + p[1:-1, :-2] + p[2:, 1:-1] + p[:-2, 1:-1] - 4 * u)
    return out


def jacobi_3d(a):
    return (a[0, 0, 1] + a[0, 0, -1] + a[0, 1, 0] + a[0, -1, 0] + a[1, 0, 0] + a[-1, 0, 0]) / 6.0


def jacobi_3d_by_hand(a, out):
    out[1:-1, 1:-1, 1:-1] = (a[1:-1, 1:-1, 2:] + a[1:-1, 1:-1, :-2] + a[1:-1, 2:, 1:-1] + a[1:-1, :-2, 1:-1]
                             + a[2:, 1:-1, 1:-1] + a[:-2, 1:-1, 1:-1]) / 6.0
    out[0], out[-1], out[:, 0], out[:, -1], out[:, :, 0], out[:, :, -1] = 0, 0, 0, 0, 0, 0
    return out


def step(u, lap, dt):
    return u + dt * lap


def heat_loop_by_hand(u, k, dt, steps):
    for _ in range(steps):
        lap = np.zeros_like(u)
        lap[1:-1, 1:-1] = k * (u[1:-1, 2:] + u[1:-1, :-2] + u[2:, 1:-1] + u[:-2, 1:-1] - 4 * u[1:-1, 1:-1])
        u = u + dt * lap
    return u


def heat_loop_generated(laplacian, update, u, k, dt, steps):
    for _ in range(steps):
        lap = np.zeros_like(u)
        laplacian((u, k), lap)
        new = np.empty_like(u)
        update((u, lap, dt), new)
        u = new
    return u


def median_times(first, second, repeats):
    """Medians of both, measured alternately: the machine's load is shared."""
    first(), second()  # warm-up
    samples = ([], [])
    for _ in range(repeats):
        for function, times in zip((first, second), samples):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    return statistics.median(samples[0]), statistics.median(samples[1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=21)
    repeats = parser.parse_args().repeats

    from conftest import Daemon

    root = Path(tempfile.mkdtemp(prefix="sejits-numpy-bench-"))
    os.environ["SEJITS_CACHE_DIR"] = str(root / "client-cache")
    daemon = Daemon(root / "daemon").start()
    import sejits
    from sejits import _numpy_kernels

    sejits.config(daemon=daemon.address, fallback="error", autostart=False, tuning="off")
    rng = np.random.default_rng(0)
    x, y = rng.random(1 << 20) - 0.5, rng.random(1 << 20) - 0.5
    u2 = rng.random((512, 512))
    u3 = rng.random((128, 128, 128))
    cases = [
        ("blend (if), 2^20 float64", sejits.elementwise(blend), (0.3, x, y), lambda out: blend_by_hand(0.3, x, y)),
        ("5-point 512^2, constant", sejits.stencil(laplace_2d), (u2, 0.25), lambda out: laplace_2d_by_hand(u2, 0.25, out)),
        ("5-point 512^2, wrap", sejits.stencil(boundary="wrap")(laplace_2d), (u2, 0.25),
         lambda out: laplace_2d_wrap_by_hand(u2, 0.25, out)),
        ("7-point 128^3, constant", sejits.stencil(jacobi_3d), (u3,), lambda out: jacobi_3d_by_hand(u3, out)),
    ]
    print(f"{'case':28} {'print ms':>9} {'generated ms':>13} {'by hand ms':>11} {'ratio':>6}")
    try:
        for label, dispatcher, args, by_hand in cases:
            start = time.perf_counter()
            kernel, dtype, response = _numpy_kernels.specialize(dispatcher, args)
            rpc = time.perf_counter() - start
            shape = np.broadcast_shapes(*(np.shape(a) for a in args if isinstance(a, np.ndarray)))
            out, reference = np.zeros(shape, dtype), np.zeros(shape, dtype)
            kernel(args, out)
            np.testing.assert_allclose(out, by_hand(reference), rtol=1e-12, atol=1e-12)
            generated, hand = median_times(lambda: kernel(args, out), lambda: by_hand(reference), repeats)
            print(f"{label:28} {1000 * rpc:9.2f} {1000 * generated:13.3f} {1000 * hand:11.3f} {generated / hand:6.2f}"
                  f"   (daemon {1000 * response.specialize_seconds:.2f} ms)")
        # The heat loop: 200 steps of a stencil and an element-wise update on 512x512.
        laplacian, _, _ = _numpy_kernels.specialize(sejits.stencil(laplace_2d), (u2, 0.25))
        update, _, _ = _numpy_kernels.specialize(sejits.elementwise(step), (u2, u2, 0.1))
        np.testing.assert_allclose(heat_loop_generated(laplacian, update, u2, 0.25, 0.1, 5),
                                   heat_loop_by_hand(u2, 0.25, 0.1, 5), rtol=1e-12)
        generated, hand = median_times(lambda: heat_loop_generated(laplacian, update, u2, 0.25, 0.1, 200),
                                       lambda: heat_loop_by_hand(u2, 0.25, 0.1, 200), max(3, repeats // 7))
        print(f"{'heat loop, 200 steps 512^2':28} {'':9} {1000 * generated:13.1f} {1000 * hand:11.1f} {generated / hand:6.2f}")
    finally:
        daemon.stop()


if __name__ == "__main__":
    main()
