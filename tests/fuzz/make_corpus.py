"""Writes the fuzzers' seed corpora (tests/fuzz/corpus/<target>/): real
SpecializeRequest messages as the Python client builds them, captured at the
RPC (no daemon is contacted: the capture fails the call and the client falls
back to Python), plus a few tuning-database JSON lines and index entries.
Run once by hand when the protocol changes:  python3 tests/fuzz/make_corpus.py"""

import hashlib
import json
import math
import pathlib
import warnings

import numpy as np

import sejits
from sejits import _daemon

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"
captured = []


def capture_call(method, request, timeout=None, retry=True):
    captured.append(request.SerializeToString(deterministic=True))
    raise RuntimeError("captured for the fuzz corpus")


def elementwise_kernels():
    @sejits.elementwise
    def axpy(a, x, y):
        return a * x + y

    @sejits.elementwise
    def clamp(x, low, high):
        if x < low:
            return low
        return high if x > high else x

    @sejits.elementwise
    def mixed(x, y):
        return math.sqrt(abs(x)) + max(x, y) * -(y // 3) if x > 0 and y != 2 else np.float32(1.5) ** 2

    a, b = np.linspace(0, 1, 8), np.arange(8, dtype=np.int32)
    axpy(2.0, a, a)
    clamp(b, 1, 5)
    mixed(a.reshape(2, 4), b.reshape(2, 4)[:, ::2].repeat(2, axis=1))


def stencil_kernels():
    @sejits.stencil
    def average(a):
        return 0.25 * (a[0, 1] + a[1, 0] + a[0, -1] + a[-1, 0])

    @sejits.stencil(boundary="nearest")
    def choose(mask, a, b):
        return a[0, 1] if mask[0, 0] > 0 else b[-1, 0]

    @sejits.stencil(boundary="wrap")
    def laplacian_27(a):
        total = 0.0
        for i in range(-1, 2):
            for j in range(-1, 2):
                for k in range(-1, 2):
                    total += a[i, j, k] / (1 + abs(i) + abs(j) + abs(k))
        return total

    @sejits.stencil(neighborhood=((-5, 0),))
    def trailing_mean(a):
        total = 0.0
        for i in range(-5, 1):
            total += a[i]
        return total / 6

    class Jacobi(sejits.StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = self.center * in_grid[x]
                for y in in_grid.neighbors(x, 1):
                    out_grid[x] = out_grid[x] + self.edge * in_grid[y]

    grid = np.arange(36.0).reshape(6, 6)
    average(grid)
    choose(np.ones((6, 6), np.int32), grid, grid)
    laplacian_27(np.ones((4, 4, 4), np.float32))
    trailing_mean(np.arange(10.0))
    grids = [sejits.StencilGrid((6, 6)) for _ in range(2)]
    Jacobi(center=-4.0, edge=1.0).kernel(*grids)


def write(target, items):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    for data in items:
        (folder / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)
    print(f"{target}: {len(items)} seeds, {sum(map(len, items))} bytes")


def requests(kernels, variant_params):
    """The kernels' requests, plus the first one as a code variant (tuning
    params) and for OpenCL, so the seeds reach the plans and both lowerings."""
    from sejits.v1 import specializer_pb2 as pb

    captured.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kernels()
    first = pb.SpecializeRequest.FromString(captured[0])
    variant = pb.SpecializeRequest()
    variant.CopyFrom(first)
    variant.params.update({f"variant.{name}": value for name, value in variant_params.items()})
    opencl = pb.SpecializeRequest()
    opencl.CopyFrom(first)
    opencl.target.platform = "opencl"
    captured.extend(message.SerializeToString(deterministic=True) for message in (variant, opencl))
    return list(dict.fromkeys(captured))  # in order, without repeats


def main():
    _daemon.call = capture_call
    write("elementwise_request",
          requests(elementwise_kernels, {"unroll": "4", "chunk": "4096", "threads": "half", "streaming_stores": "1"}))
    write("stencil_request", requests(stencil_kernels, {"temporal_blocking": "1", "temporal_depth": "4",
                                                       "tile_rows": "16", "tile_cols": "32", "threads": "1"}))
    digest = "0123456789abcdef" * 4
    write("artifact_index", [
        f"{digest}\nentry=sejits_elementwise\nresult_dtype=12\ncompile_seconds=0.8\nspecializer_version=1\n".encode(),
        f"{digest}\n".encode(), digest.encode(), b"\n\n", b"../" * 20])
    record = {"kernel_key": "k" * 64, "shape_class": "call:1d", "platform": "p" * 16, "kernel_name": "axpy",
              "variants": [{"variant": "", "samples": [0.001, 0.002], "errors": 0},
                           {"variant": "block_x=64,threads=2", "samples": [], "errors": 1, "last_error": "timeout"}],
              "choice": {"variant": "block_x=64,threads=2", "samples": 2, "reason": "fastest"}}
    lines = [json.dumps(record), json.dumps(dict(record, shape_class="call:2d", choice=None, variants=[]))]
    write("tuning_import", [line.encode() + b"\n" for line in lines] + ["\n".join(lines).encode()])


if __name__ == "__main__":
    main()
