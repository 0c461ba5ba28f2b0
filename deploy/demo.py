"""The quickstart demo: a few element-wise kernels on large arrays, NumPy vs
sejits, with the first call's specialization time shown separately."""

import time

import numpy as np

import sejits


@sejits.elementwise
def blend(a, x, y):
    t = a * x + (1 - a) * y
    return t if t > 0 else 0.0


@sejits.elementwise
def trig(a, b):
    return np.sin(a) ** 2 + np.cos(b) ** 2


@sejits.elementwise
def poly(a, b, c, d, e, f):
    return a * b + c * d - e * f


def best_time(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def show_tuning(x, y):
    """Online tuning: the first calls of a new kernel try its variants."""
    sejits.config(tuning="online")
    tuned = sejits.elementwise(lambda a, b: 0.3 * a + 0.7 * b)
    calls, settled = 0, False
    while calls < 200 and not settled:
        tuned(x, y)
        calls += 1
        settled = type(next(iter(tuned._kernels.values()), None)).__name__ == "Kernel"
    outcome = f"settled after {calls} calls" if settled else f"still timing candidates after {calls} calls (they compile in the background)"
    print(f"\nonline tuning of 0.3*a + 0.7*b: {outcome}")
    print("\n".join(line for line in tuned.explain(x, y).splitlines() if line.startswith(("  tuning", "    "))))


def main():
    n = 10**7
    rng = np.random.default_rng(0)
    x, y, z, u, v, w = (rng.random(n) for _ in range(6))
    cases = [
        ("blend", lambda: blend(0.3, x, y), lambda: np.maximum(0.3 * x + 0.7 * y, 0.0)),
        ("sin^2+cos^2", lambda: trig(x, y), lambda: np.sin(x) ** 2 + np.cos(y) ** 2),
        ("a*b+c*d-e*f", lambda: poly(x, y, z, u, v, w), lambda: x * y + z * u - v * w),
    ]
    # The timing table compares the default variants; tuning is shown below.
    sejits.config(tuning="off")
    print(f"{n:,} float64 elements per array\n")
    print(f"{'kernel':<14}{'first call':>12}{'numpy':>10}{'sejits':>10}{'speed-up':>10}")
    for name, run, reference in cases:
        start = time.perf_counter()
        result = run()
        first = time.perf_counter() - start
        assert np.allclose(result, reference()), f"{name}: result differs from NumPy"
        numpy_time, sejits_time = best_time(reference), best_time(run)
        print(f"{name:<14}{first:>11.3f}s{numpy_time * 1e3:>8.1f}ms{sejits_time * 1e3:>8.1f}ms{numpy_time / sejits_time:>9.1f}x")
    print("\n" + blend.explain(0.3, x, y))
    show_tuning(x, y)
    print("\nsejits status:")
    from sejits import cli

    cli.main(["status"])


if __name__ == "__main__":
    main()
