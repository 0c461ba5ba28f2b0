"""Kernels and calls at the edges: long kernels, repeated doubling, forked
children, byte order, NumPy bool scalars, too many arrays."""

import multiprocessing
import textwrap

import numpy as np
import pytest

import sejits
from reference import assert_same


def load_kernel(tmp_path, name, body_lines):
    """A kernel written to a module file (its source must be readable)."""
    module = tmp_path / f"{name}.py"
    body = "\n".join(f"    {line}" for line in body_lines)
    module.write_text(f"def {name}(x, a):\n{body}\n    return x\n")
    namespace = {}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    return sejits.elementwise(namespace[name])


def test_a_long_kernel_compiles_and_the_daemon_survives(daemon, tmp_path):
    kernel = load_kernel(tmp_path, "long_chain", ["x = x * a + 1.0"] * 2000)
    x = np.linspace(0, 1, 11)
    expected = x.copy()
    for _ in range(2000):
        expected = expected * 0.5 + 1.0
    assert_same(kernel(x, 0.5), expected, 1e-12)
    assert daemon.healthy()


def test_repeated_doubling_stays_fast(daemon, tmp_path):
    kernel = load_kernel(tmp_path, "doubling", ["x = x + x"] * 40)
    x = np.array([1.0, 2.0])
    assert_same(kernel(x, 0.0), x * 2.0**40)


def _call_in_child(queue):
    kernel = sejits.elementwise(lambda v: v * 2.0)
    x = np.ones(2_000_000)
    queue.put(float(kernel(x).sum()))


def test_kernels_run_in_a_forked_child_after_running_in_the_parent(daemon):
    kernel = sejits.elementwise(lambda v: v * 2.0)
    kernel(np.ones(2_000_000))  # the parent's OpenMP threads exist now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_call_in_child, args=(queue,))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == 4_000_000.0


def test_big_endian_arrays_work_on_every_call(daemon):
    kernel = sejits.elementwise(lambda v, w: v * 2 + w)
    x = np.arange(3.0).astype(">f8")
    for _ in range(3):
        assert_same(kernel(x, 1.0), np.arange(3.0) * 2 + 1.0)


def test_numpy_bool_scalar_arguments(daemon):
    kernel = sejits.elementwise(lambda v, flag: v + flag)
    a = np.array([1, 2], dtype=np.int8)
    assert_same(kernel(a, np.True_), a + np.True_)
    assert_same(kernel(a, np.False_), a + np.False_)


def test_too_many_arrays_fall_back_with_the_reason(daemon):
    kernel = sejits.elementwise(lambda a, b, c, d, e, f, g, h, i: a + b + c + d + e + f + g + h + i)
    arrays = [np.full(3, float(k)) for k in range(9)]
    with pytest.raises(sejits.SpecializationError, match="at most 8 array arguments"):
        kernel(*arrays)


def test_rank_nine_arrays_fall_back(daemon):
    kernel = sejits.elementwise(lambda v: v + 1)
    kernel(np.ones((2, 2)))
    with pytest.raises(sejits.SpecializationError, match="rank 9"):
        kernel(np.ones((1,) * 9))
