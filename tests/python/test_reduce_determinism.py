"""Float sums are reproducible (issue 19): the summation order depends on the
data's size and the reduction's shape only, never on the thread count, so a
child process with OMP_NUM_THREADS=1 (and one with 3, more threads than this
machine's cores) gives bitwise the parent's result."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sejits

# The thread-count children cost minutes on PoCL: only the tests that name
# their targets run on OpenCL (tests/conftest.py).
OPENCL_ONLY_WHERE_SAMPLED = True

sum_of = sejits.reduce("sum")(lambda v: v)
mean_of = sejits.reduce("mean")(lambda v: v)
running_sum_of = sejits.scan("sum")(lambda v: v)

HERE = Path(__file__).resolve().parent


def inputs(dtype):
    rng = np.random.default_rng(2222)
    vector = (rng.random(2 ** 22 + 17) - 0.3).astype(dtype)
    matrix = (rng.random((2048, 2048)) * 1e3 - 1.0).astype(dtype)
    return vector, matrix


def results(dtype):
    vector, matrix = inputs(dtype)
    three_rows = vector[: 3 * 99991].reshape(3, -1)  # fewer rows than 2 x threads: scanned in rounds of blocks
    return {"full": sum_of(vector), "axis0": sum_of(matrix, axis=0), "axis1": sum_of(matrix, axis=1),
            "strided": sum_of(vector[::-3]), "mean0": mean_of(matrix, axis=0), "scan": running_sum_of(vector),
            "scan_rows": running_sum_of(three_rows, axis=1), "scan_columns": running_sum_of(matrix[:, :3], axis=0)}


def child(path, target, dtype):
    """The child process's side: the same sums, saved to `path`."""
    import contextlib

    context = sejits.target("opencl", device="cpu") if target == "opencl" else contextlib.nullcontext()
    with context:
        found = results(np.dtype(dtype))
    np.savez(path, **{name: np.asarray(value) for name, value in found.items()})


def run_child(python_env, tmp_path, target, dtype, threads):
    path = tmp_path / f"{dtype}-{threads}.npz"
    env = dict(python_env)
    env["OMP_NUM_THREADS"] = str(threads)
    env["POCL_MAX_PTHREAD_COUNT"] = env["POCL_CPU_MAX_CU_COUNT"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    code = f"import test_reduce_determinism as t; t.child({str(path)!r}, {target!r}, {dtype!r})"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(path) as saved:
        return {name: saved[name] for name in saved.files}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sums_do_not_depend_on_the_thread_count(target, python_env, tmp_path, dtype):
    parent = results(np.dtype(dtype))
    again = results(np.dtype(dtype))
    vector, matrix = inputs(np.dtype(dtype))
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(parent["full"], np.sum(vector.astype(np.float64)), rtol=rtol)
    np.testing.assert_allclose(parent["axis0"], np.sum(matrix.astype(np.float64), axis=0), rtol=rtol)
    np.testing.assert_allclose(parent["axis1"], np.sum(matrix.astype(np.float64), axis=1), rtol=rtol)
    assert type(parent["full"]) is np.dtype(dtype).type
    for threads in (1, 3):
        children = run_child(python_env, tmp_path, target, dtype, threads)
        for name, value in parent.items():
            ours, theirs = np.asarray(value), children[name]
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, name
            assert ours.tobytes() == theirs.tobytes(), \
                f"{name}: OMP_NUM_THREADS={threads} gives other bits than the parent " \
                f"({np.count_nonzero(ours != theirs)} of {ours.size} values differ)"
            assert np.asarray(again[name]).tobytes() == ours.tobytes(), f"{name}: two runs differ"


# Every variant of the reduce tuning space computes the same bits: the tile
# and the thread count choose which subtrees a task computes, never the tree.
VARIANTS = [{}, {"variant.threads": "1"}, {"variant.threads": "half", "variant.tile": "64"}, {"variant.tile": "8"},
            {"variant.tile": "512", "variant.threads": "1"}, {"variant.tile": "1024"}]


def variant_sum(params, *args):
    from sejits import _reduce

    arrays = [a for a in args if isinstance(a, np.ndarray)]
    kernel = _reduce._ReductionKernel(sum_of.fn, {"op": "sum", "reduced_dims": "1", **params})
    lookup = kernel._resolve(args)
    assert type(lookup.kernel).__name__ == "Kernel", f"variant {params}: {lookup.kernel}"
    out = np.empty(arrays[0].shape[:-1], lookup.kernel.result_dtype)
    lookup.kernel(lookup.args, out)
    return out


def test_every_variant_gives_the_same_bits(target):
    rng = np.random.default_rng(77)
    matrix = rng.random((1500, 700)) * 10 - 3
    layouts = {"rows (axis 1)": matrix, "columns (axis 0, row mode)": matrix.T, "one long row": matrix.reshape(1, -1)}
    for name, laid_out in layouts.items():
        expected = variant_sum({}, laid_out)
        np.testing.assert_allclose(expected, laid_out.sum(axis=-1), rtol=1e-12)
        for params in VARIANTS[1:]:
            assert variant_sum(params, laid_out).tobytes() == expected.tobytes(), f"{name}: variant {params} differs"


SCAN_BLOCK, SCAN_LANES = 4096, 8  # SEJITS_SCAN_BLOCK and SEJITS_SCAN_LANES of reduce_runtime.h


def blocked_running_sum(x):
    """The scans' documented order (reduce_runtime.h), in NumPy: each block's
    running sum from its first element (np.cumsum adds in order), after the
    block's offset; a block's total is its lanes' in-order sums combined
    pairwise, and the offsets add the totals in block order."""
    out, offset = np.empty_like(x), None
    for lo in range(0, x.size, SCAN_BLOCK):
        block = x[lo:lo + SCAN_BLOCK]
        local = np.cumsum(block)
        out[lo:lo + SCAN_BLOCK] = local if offset is None else offset + local
        if lo + SCAN_BLOCK >= x.size:
            break  # the last block's total is never an offset
        lanes = [np.cumsum(block[k::SCAN_LANES])[-1] for k in range(SCAN_LANES)]
        width = SCAN_LANES // 2
        while width >= 1:
            lanes[:width] = [lanes[k] + lanes[k + width] for k in range(width)]
            width //= 2
        offset = lanes[0] if offset is None else offset + lanes[0]
    return out


@pytest.mark.parametrize("target", ["cpu", "opencl"], indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scans_add_in_the_documented_order(target, dtype):
    rng = np.random.default_rng(5)
    x = (rng.random(3 * 65536 + 4097) - 0.4).astype(dtype)
    assert running_sum_of(x).tobytes() == blocked_running_sum(x).tobytes()
    assert running_sum_of(x[::-2]).tobytes() == blocked_running_sum(x[::-2]).tobytes()
    rows = x[: 2 * 70001].reshape(2, -1)
    expected = np.stack([blocked_running_sum(row) for row in rows])
    assert running_sum_of(rows, axis=1).tobytes() == expected.tobytes()
