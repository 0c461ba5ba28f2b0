"""Kernel calls with device arrays (sejits.opencl): results stay on the device,
host arguments are copied in, `out=` on the device, stencil sweeps that never
leave it, the errors of mismatched arrays and contexts, and a target without
an OpenCL device. The differential suites run NumPy calls on the OpenCL
target too (the `target` fixture); this file covers what only device arrays
and the target setting do."""

import subprocess
import sys

import numpy as np
import pytest

import sejits
from reference import assert_same
from sejits import opencl

MODES = ["constant", "nearest", "reflect", "mirror", "wrap", "skip"]

axpy = sejits.elementwise(lambda a, x, y: a * x + y)
square = sejits.elementwise(lambda v: v * v)


def laplace_2d(a, k):
    return k * (a[0, 1] + a[0, -1] + a[1, 0] + a[-1, 0] - 4 * a[0, 0])


@pytest.fixture(scope="module")
def ctx(daemon, opencl_device):
    return opencl.context(opencl_device)


def rng():
    return np.random.default_rng(17)


def assert_on_device(result, context, expected):
    assert isinstance(result, opencl.DeviceArray), f"{type(result).__name__} is not a DeviceArray"
    assert result.context is context
    assert_same(result.get(), expected)


# ---- element-wise calls ------------------------------------------------------

def test_device_arrays_in_device_array_out(ctx):
    x, y = rng().random((6, 7)), rng().random((6, 7))
    assert_on_device(axpy(2.0, ctx.asarray(x), ctx.asarray(y)), ctx, 2.0 * x + y)
    ints = np.arange(-20, 22, dtype=np.int32).reshape(6, 7)
    assert_on_device(square(ctx.asarray(ints)), ctx, ints * ints)
    assert "target:      OpenCL on " + ctx.name in axpy.explain(2.0, ctx.asarray(x), ctx.asarray(y))


def test_device_arrays_decide_the_target(ctx):
    x = rng().random(11)
    with sejits.target("cpu"):
        assert_on_device(square(ctx.asarray(x)), ctx, x * x)
    assert type(square(x)) is np.ndarray  # NumPy calls stay on the CPU target


def test_mixed_host_and_device_arguments(ctx):
    x, y = rng().random((5, 8)), rng().random((5, 8))
    host_view = y[:, ::-1]  # non-contiguous: copied C-contiguous
    result = axpy(0.5, ctx.asarray(x), host_view)
    assert_on_device(result, ctx, 0.5 * x + host_view)
    explained = axpy.explain(0.5, ctx.asarray(x), host_view)
    assert f"argument 2 was a host array: copied to {ctx.name} for the call" in explained
    assert "argument 1 was a host array" not in explained
    assert "argument 0 was a host array" not in explained  # a scalar stays a scalar


def test_the_same_kernel_on_device_arrays_of_every_rank(ctx):
    # OpenCL kernels are generated per rank: each rank is its own kernel and cache entry.
    cube = sejits.elementwise(lambda v: v * v * v)
    for shape in [(2, 3), (7,), ()]:
        x = rng().random(shape)
        assert_on_device(cube(ctx.asarray(x)), ctx, x * x * x)


def test_out_on_the_device(ctx):
    x = rng().random((4, 5))
    out = ctx.empty((4, 5), np.float64)
    assert axpy(2.0, ctx.asarray(x), 1.0, out=out) is out
    assert_same(out.get(), 2.0 * x + 1.0)
    assert square(x, out=out) is out  # host inputs, device out: the result stays on the device
    assert_same(out.get(), x * x)
    rows = ctx.zeros((3, 4, 5), np.float64)
    square(ctx.asarray(x), out=rows[1])  # a view: only its elements are written
    expected = np.zeros((3, 4, 5))
    expected[1] = x * x
    assert_same(rows.get(), expected)
    aliased = ctx.asarray(x)
    assert square(aliased, out=aliased) is aliased
    assert_same(aliased.get(), x * x)


def test_out_of_the_wrong_shape_or_dtype(ctx):
    x = ctx.asarray(rng().random(5))
    with pytest.raises(ValueError, match=r"out has shape \(6,\), the result has shape \(5,\)"):
        square(x, out=ctx.empty(6, np.float64))
    with pytest.raises(ValueError, match=r"out has shape \(1, 5\)"):
        square(x, out=ctx.empty((1, 5), np.float64))  # no broadcasting into a device out
    with pytest.raises(TypeError, match="out has dtype float32, the kernel computes float64 .no casts on the device."):
        square(x, out=ctx.empty(5, np.float32))
    with sejits.target("opencl", device=ctx.device):  # a host out is checked as on the CPU
        with pytest.raises(TypeError, match="cannot cast the result from float64 to out's int64"):
            square(np.ones(5), out=np.empty(5, np.int64))
        with pytest.raises(ValueError, match="shape"):
            square(np.ones(5), out=np.empty(6))


def test_device_arrays_of_another_context(ctx):
    other = opencl.Context(ctx.device)  # a second cl_context on the same device
    x = rng().random(6)
    mine, theirs = ctx.asarray(x), other.asarray(x)
    with pytest.raises(ValueError, match="device arrays of different OpenCL contexts .*ctx.asarray"):
        axpy(1.0, mine, theirs)
    with pytest.raises(ValueError, match="different OpenCL contexts"):
        square(mine, out=other.empty(6, np.float64))
    with pytest.raises(ValueError, match="different OpenCL contexts"):
        sejits.stencil(laplace_2d)(ctx.asarray(np.ones((3, 3))), 1.0, out=other.empty((3, 3), np.float64))
    assert_on_device(axpy(1.0, theirs, other.asarray(x)), other, x + x)  # one context, whichever it is
    assert_on_device(axpy(1.0, mine, ctx.asarray(theirs)), ctx, x + x)  # moved through the host


def test_broadcasting_between_device_arrays(ctx):
    column, row = rng().random((5, 1)), rng().random(3)
    assert_on_device(axpy(2.0, ctx.asarray(column), ctx.asarray(row)), ctx, 2.0 * column + row)
    assert_on_device(axpy(2.0, ctx.asarray(row), ctx.asarray(np.array(0.5))), ctx, 2.0 * row + 0.5)
    with pytest.raises(ValueError, match="broadcast"):
        axpy(2.0, ctx.asarray(np.ones(3)), ctx.asarray(np.ones(4)))


def test_zero_size_and_zero_rank_device_arrays(ctx):
    assert_on_device(square(ctx.zeros((0, 3))), ctx, np.zeros((0, 3)))
    assert_on_device(axpy(2.0, ctx.zeros((4, 0)), ctx.ones(1)), ctx, np.zeros((4, 0)))
    assert_on_device(square(ctx.asarray(np.array(3.0))), ctx, np.array(9.0))  # device in, device out, even 0-d


def test_python_fallback_keeps_the_result_on_the_device(ctx):
    # A product of Python ints beyond 64 bits makes the kernel ask for Python.
    scaled = sejits.elementwise(lambda x, n, m: x * (n * m))
    x = np.array([1.0, 2.0])
    assert_on_device(scaled(ctx.asarray(x), 3, 4), ctx, x * 12)
    big = 10**10
    assert_on_device(scaled(ctx.asarray(x), big, big), ctx, x * (big * big))
    out = ctx.zeros(2, np.float64)
    assert scaled(ctx.asarray(x), big, big, out=out) is out
    assert_same(out.get(), x * (big * big))


# ---- stencils ------------------------------------------------------------------

@pytest.mark.parametrize("boundary", MODES)
def test_stencil_iterate_stays_on_the_device(ctx, boundary):
    kernel = sejits.stencil(boundary=boundary, cval=0.5)(laplace_2d)
    grid = rng().random((9, 7))
    result = kernel.iterate(ctx.asarray(grid), 0.1, steps=5)
    assert_on_device(result, ctx, kernel.iterate(grid, 0.1, steps=5))  # the CPU target's sweeps
    assert_on_device(kernel.iterate(ctx.asarray(grid), 0.1, steps=1), ctx, kernel.iterate(grid, 0.1, steps=1))


def test_stencil_iterate_on_integers_changes_dtype_after_the_first_sweep(ctx):
    kernel = sejits.stencil(boundary="wrap")(laplace_2d)
    grid = np.arange(63, dtype=np.int32).reshape(9, 7)
    result = kernel.iterate(ctx.asarray(grid), 0.25, steps=3)
    assert result.dtype == np.float64
    assert_on_device(result, ctx, kernel.iterate(grid, 0.25, steps=3))


@pytest.mark.parametrize("boundary", ["reflect", "skip"])
def test_stencil_out_aliasing_the_grid(ctx, boundary):
    kernel = sejits.stencil(boundary=boundary)(laplace_2d)
    grid = rng().random((6, 8))
    expected = grid.copy()
    kernel(grid, 0.5, out=expected)  # the CPU: neighbours are read before points are written
    on_device = ctx.asarray(grid)
    assert kernel(on_device, 0.5, out=on_device) is on_device
    assert_same(on_device.get(), expected)
    if boundary == "skip":
        assert (on_device.get()[0] == grid[0]).all() and (on_device.get()[:, -1] == grid[:, -1]).all()


def test_stencil_out_on_the_device(ctx):
    kernel = sejits.stencil(boundary="skip")(laplace_2d)
    grid = rng().random((5, 8))
    out = ctx.full((5, 8), 42.0)
    assert kernel(ctx.asarray(grid), 1.0, out=out) is out
    expected = np.full((5, 8), 42.0)
    kernel(grid, 1.0, out=expected)
    assert_same(out.get(), expected)
    with pytest.raises(ValueError, match=r"out has shape \(5, 7\)"):
        kernel(ctx.asarray(grid), 1.0, out=ctx.empty((5, 7), np.float64))
    with pytest.raises(TypeError, match="out has dtype float32"):
        kernel(ctx.asarray(grid), 1.0, out=ctx.empty((5, 8), np.float32))


def test_stencil_mixed_host_and_device_grids(ctx):
    @sejits.stencil(boundary="nearest")
    def choose(mask, a, b):
        return a[0, 1] if mask[0, 0] > 0 else b[-1, 0]

    mask = rng().integers(-2, 2, (6, 5)).astype(np.int32)
    a, b = rng().random((6, 5)), rng().random((6, 5))
    assert_on_device(choose(ctx.asarray(mask), a, ctx.asarray(b)), ctx, choose(mask, a, b))


# ---- the target setting --------------------------------------------------------

def test_a_device_that_does_not_exist_is_a_clear_error(daemon, opencl_device):
    kernel = sejits.elementwise(lambda v: v + 1)
    x = np.arange(4.0)
    previous = sejits.config().device
    try:
        sejits.config(target="opencl", device="no-such-device")
        with pytest.raises(opencl.OpenCLUnavailable, match="no OpenCL device matches 'no-such-device'; the devices are: "
                                                           r"\[0\] "):
            kernel(x)
    finally:
        sejits.config(target="cpu", device=previous)
    assert_same(kernel(x), x + 1)


def test_no_opencl_platform_is_a_clear_error_and_the_cpu_still_works(python_env, tmp_path):
    # The ICD loader reads its vendor list from OCL_ICD_VENDORS: an empty one hides every driver.
    script = """
import numpy as np, sejits
from sejits import opencl
kernel = sejits.elementwise(lambda v: v * 3)
with sejits.target("opencl"):
    try:
        kernel(np.arange(3.0))
    except opencl.OpenCLUnavailable as error:
        print("refused:", error)
print("cpu:", kernel(np.arange(3.0)).tolist())
"""
    path = tmp_path / "no_platform.py"  # a file: kernels are captured from their source
    path.write_text(script)
    vendors = tmp_path / "no-vendors"
    vendors.mkdir()
    env = dict(python_env, OCL_ICD_VENDORS=str(vendors), OCL_ICD_FILENAMES="")
    result = subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "refused: no OpenCL device found" in result.stdout and "pocl-opencl-icd" in result.stdout
    assert "cpu: [0.0, 3.0, 6.0]" in result.stdout


def test_unknown_targets_are_refused(daemon):
    with pytest.raises(ValueError, match=r"target must be one of \('cpu', 'opencl'\), not 'bogus'"):
        sejits.config(target="bogus")
    with pytest.raises(ValueError, match="target must be one of"):
        with sejits.target("gpu"):
            pass
    assert sejits.config().target == "cpu"


def test_target_block_restores_the_previous_target(daemon, opencl_device):
    with pytest.raises(ZeroDivisionError):
        with sejits.target("opencl", device=opencl_device.index):
            assert sejits.config().target == "opencl"
            1 / 0
    assert sejits.config().target == "cpu" and type(square(np.ones(3))) is np.ndarray
