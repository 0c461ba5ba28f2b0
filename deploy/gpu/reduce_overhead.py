"""Where the time of a small OpenCL reduction goes: the whole call, then its
parts (the client's configuration, the kernel lookup, the output's
allocation, the native call alone), each the median of many runs after a
warm-up. Run on the GPU machine through run_h100.sh:

    EXPERIMENT=deploy/gpu/reduce_overhead.py OUT=... bash deploy/gpu/run_h100.sh --suite reductions --size small
"""

import argparse
import statistics
import time

import numpy as np

import sejits
from sejits import _device_calls, opencl


def median_us(run, context, repeats=200):
    for _ in range(10):
        run()
    context.finish()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        context.finish()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="gpu")
    args = parser.parse_args()
    context = opencl.context(args.device)
    sumsq = sejits.reduce("sum")(lambda x, y: (x - y) * (x - y))
    square = sejits.elementwise(lambda x, y: (x - y) * (x - y))
    rng = np.random.default_rng(0)
    for n in (256, 2048):
        a = context.asarray(rng.random((n, n), dtype=np.float32))
        b = context.asarray(rng.random((n, n), dtype=np.float32))
        print(f"--- {n}x{n} float32 on {context.name}")
        for axis in (None, 1, 0):
            print(f"reduce axis={axis}: {median_us(lambda: sumsq(a, b, axis=axis), context):.1f} us")
        print(f"element-wise map (a device result): {median_us(lambda: square(a, b), context):.1f} us")
        call = sumsq._configure((a, b), 1, {})
        print(f"  _configure: {median_us(lambda: sumsq._configure((a, b), 1, {}), context):.1f} us")
        print(f"  _resolve_device: {median_us(lambda: call.kernel._resolve_device(context, call.laid_out), context):.1f} us")
        print(f"  context.empty: {median_us(lambda: context.empty((n,), np.float32), context):.1f} us")
        lookup = call.kernel._resolve_device(context, call.laid_out)
        target = context.empty((n,), np.float32)
        items = _device_calls.call_items(lookup.args, call.laid_out[0].shape)
        print(f"  call_device alone: {median_us(lambda: lookup.kernel.call_device(context._device, items, target._descriptor()), context):.1f} us")
        print(f"  context.finish alone: {median_us(lambda: None, context):.1f} us")


if __name__ == "__main__":
    main()
