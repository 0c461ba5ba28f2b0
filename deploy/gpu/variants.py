"""Times the OpenCL code variants of the GPU benchmark cases on a device, to
choose the defaults: work-group shapes and work per item for E1/E2, and
work-group shapes and marching lengths along axis 0 for S2/S3 (one `iterate`
of 10 sweeps each). Run by run_h100.sh with EXPERIMENT=deploy/gpu/variants.py.

    python3 deploy/gpu/variants.py [--device gpu] [--size full|small]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "bench"))

import sejits  # noqa: E402
from cases import e1, e2  # noqa: E402
from stencil import jacobi2, jacobi3  # noqa: E402


def median_seconds(context, call, repeats):
    call()
    context.finish()
    times = []
    for _ in range(repeats):
        context.finish()
        start = time.perf_counter()
        call()
        context.finish()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def with_params(dispatcher, params):
    """The dispatcher with `params` added to its requests (variant.* select the variant)."""
    base = dispatcher._params
    dispatcher._params = lambda: {**base(), **params}
    return dispatcher


def elementwise_variants(context, n, repeats, cases):
    rng = np.random.default_rng(1)
    for name, kernel, arity in (("E1", e1, 2), ("E2", e2, 6)):
        if name not in cases:
            continue
        inputs = [context.asarray(rng.random(n, dtype=np.float32)) for _ in range(arity)]
        out = context.empty_like(inputs[0])
        reference = kernel(*(a.get() for a in inputs))
        for wg in (128, 256, 512, 1024):
            for items in (1, 2, 4):
                dispatcher = with_params(sejits.elementwise(kernel), {"variant.wg_x": str(wg), "variant.items": str(items)})
                dispatcher(*inputs, out=out)
                ok = np.allclose(out.get(), reference, rtol=1e-5, atol=1e-6)
                seconds = median_seconds(context, lambda: dispatcher(*inputs, out=out), repeats)
                print(f"{name} wg_x={wg:4d} items={items}: {seconds * 1e3:7.3f} ms {'ok' if ok else 'WRONG'}", flush=True)


def stencil_variants(context, edges, repeats, cases):
    rng = np.random.default_rng(2)
    for name, point, rank in (("S2", jacobi2, 2), ("S3", jacobi3, 3)):
        if name not in cases:
            continue
        grid = context.asarray(rng.random((edges[rank],) * rank, dtype=np.float32))
        reference = None
        for wg_x, wg_y in ((32, 4), (32, 8), (64, 4), (128, 2), (256, 1), (128, 4)):
            for march in (0, 8, 16) if rank == 3 else (0, 8, 16, 32):
                params = {"variant.wg_x": str(wg_x), "variant.wg_y": str(wg_y), "variant.march": str(march)}
                dispatcher = with_params(sejits.stencil(boundary="skip")(point), params)
                result = dispatcher.iterate(grid, steps=10).get()
                reference = result if reference is None else reference
                ok = np.array_equal(result, reference)
                seconds = median_seconds(context, lambda: dispatcher.iterate(grid, steps=10), repeats)
                print(f"{name} wg={wg_x}x{wg_y} march={march:2d}: {seconds * 1e3:7.2f} ms {'ok' if ok else 'DIFFERS'}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="gpu")
    parser.add_argument("--size", choices=("full", "small"), default="full")
    parser.add_argument("--cases", default="E1,E2,S2,S3", help="comma-separated subset of E1,E2,S2,S3")
    args = parser.parse_args()
    os.environ.setdefault("SEJITS_TUNING", "off")
    context = sejits.opencl.context(args.device)
    print(f"variants on {context.name}", flush=True)
    full = args.size == "full"
    cases = set(args.cases.split(","))
    elementwise_variants(context, 2**28 if full else 2**20, 10 if full else 3, cases)
    stencil_variants(context, {2: 16384, 3: 1024} if full else {2: 512, 3: 64}, 5 if full else 2, cases)


if __name__ == "__main__":
    main()
