"""sejits.opencl against a real OpenCL driver (PoCL in CI): device listing and
selection, contexts, device arrays (creation, transfers, views, copies,
fills) and `sejits devices`. No daemon and no kernels are involved."""

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

from sejits import _config, _native, opencl

DTYPES = [np.float32, np.float64, np.int64, np.int32, np.int8, np.uint8, np.uint16, np.bool_]
SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 4)]


@pytest.fixture(scope="module")
def found():
    try:
        listed = opencl.devices()
    except opencl.OpenCLUnavailable as error:
        pytest.skip(f"OpenCL is not available here: {error}")
    if not listed:
        pytest.skip("no OpenCL device: install pocl-opencl-icd to run these tests on the CPU")
    return listed


@pytest.fixture(scope="module")
def ctx(found):
    return opencl.context()


def dtypes_of(ctx):
    return [dtype for dtype in DTYPES if dtype != np.float64 or ctx.device.fp64]


def sample(shape, dtype, seed=0):
    values = np.random.default_rng(seed).integers(-50, 100, size=shape)
    if np.dtype(dtype) == np.bool_:
        return np.asarray(values > 20)
    if np.dtype(dtype).kind == "u":
        values = np.abs(values)
    return np.asarray(values / (4 if np.dtype(dtype).kind == "f" else 1)).astype(dtype)


def assert_same(device_array, expected):
    host = device_array.get()
    assert host.shape == expected.shape and host.dtype == expected.dtype
    np.testing.assert_array_equal(host, expected)


# ---- devices and selection -------------------------------------------------

def test_devices_are_listed_with_sane_fields(found):
    for position, info in enumerate(found):
        assert info.index == position
        assert info.name and info.platform and info.driver_version
        assert info.type in ("gpu", "cpu", "accelerator", "other")
        assert info.global_mem_bytes > 0 and info.local_mem_bytes > 0
        assert info.compute_units >= 1 and info.max_work_group_size >= 1
        assert info.opencl_version.startswith("OpenCL ")
        assert isinstance(info.fp64, bool)
        assert info.platform_index >= 0 and info.device_index >= 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        found[0].name = "renamed"
    assert opencl.devices() == found


def test_select_device_by_type_index_and_name(found):
    cpus = [info for info in found if info.type == "cpu"]
    if cpus:
        assert opencl.select_device("cpu") == cpus[0]
        assert opencl.select_device("CPU") == cpus[0]
    assert opencl.select_device(0) == found[0]
    assert opencl.select_device(np.int64(0)) == found[0] and opencl.select_device("0") == found[0]
    assert opencl.select_device(len(found) - 1) == found[-1]
    part = found[-1].name[2:9].swapcase()
    assert opencl.select_device(part) == next(info for info in found if part.lower() in info.name.lower())
    assert opencl.select_device(found[0]) is found[0]


def test_select_device_default_and_environment(found, monkeypatch):
    monkeypatch.delenv("SEJITS_OPENCL_DEVICE", raising=False)
    gpus = [info for info in found if info.type == "gpu"]
    assert opencl.select_device() == (gpus[0] if gpus else found[0])
    monkeypatch.setenv("SEJITS_OPENCL_DEVICE", str(len(found) - 1))
    assert opencl.select_device() == found[-1]
    monkeypatch.setenv("SEJITS_OPENCL_DEVICE", "no-such-device-anywhere")
    with pytest.raises(opencl.OpenCLUnavailable, match=r"\$SEJITS_OPENCL_DEVICE"):
        opencl.select_device()


def test_no_matching_device_lists_the_devices(found):
    with pytest.raises(opencl.OpenCLUnavailable) as error:
        opencl.select_device("no-such-device-anywhere")
    assert isinstance(error.value, RuntimeError)
    message = str(error.value)
    assert "no-such-device-anywhere" in message and found[0].name in message and "[0]" in message
    with pytest.raises(opencl.OpenCLUnavailable):
        opencl.select_device(len(found))
    for wrong in (1.5, True):
        with pytest.raises(TypeError):
            opencl.select_device(wrong)


def test_no_devices_or_no_loader_say_how_to_get_one(monkeypatch):
    uncached_listing = opencl._device_infos.__wrapped__
    monkeypatch.setattr(opencl, "_device_infos", lambda: ())
    with pytest.raises(opencl.OpenCLUnavailable, match="pocl-opencl-icd"):
        opencl.select_device()

    def no_loader():
        raise RuntimeError("no OpenCL ICD loader (libOpenCL.so.1) found")

    monkeypatch.setattr(_native, "opencl_devices", no_loader)
    with pytest.raises(opencl.OpenCLUnavailable, match="libOpenCL"):
        uncached_listing()


def test_contexts_are_cached_per_device(found, ctx):
    assert opencl.context() is ctx
    assert opencl.context(ctx.device.index) is ctx
    named = opencl.context(ctx.device.name)
    assert named is opencl.context(named.device.index)
    assert ctx.device == opencl.select_device()
    assert ctx.name == ctx.device.name and ctx.name in repr(ctx)
    assert ctx._device.binary_cache_dir == os.path.join(_config.cache_dir(), "opencl")
    assert ctx._device.device_key == f"{ctx.device.platform}|{ctx.device.name}|{ctx.device.driver_version}"


# ---- creation ------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_creation_functions_match_numpy(ctx, shape):
    for dtype in dtypes_of(ctx):
        empty = ctx.empty(shape, dtype)
        assert empty.shape == shape and empty.dtype == dtype and empty.get().shape == shape
        assert_same(ctx.zeros(shape, dtype), np.zeros(shape, dtype))
        assert_same(ctx.ones(shape, dtype), np.ones(shape, dtype))
        value = True if dtype == np.bool_ else 3
        assert_same(ctx.full(shape, value, dtype), np.full(shape, value, dtype))
        host = sample(shape, dtype)
        assert ctx.empty_like(host).shape == shape and ctx.empty_like(host).dtype == dtype
        assert_same(ctx.zeros_like(host), np.zeros_like(host))
        assert_same(ctx.ones_like(ctx.asarray(host)), np.ones_like(host))
        assert_same(ctx.zeros_like(host, dtype=np.int32), np.zeros_like(host, dtype=np.int32))


def test_creation_defaults_follow_numpy(ctx):
    if ctx.device.fp64:
        assert ctx.empty(3).dtype == np.float64 and ctx.zeros((2, 2)).dtype == np.float64
        assert_same(ctx.full(4, 2.5), np.full(4, 2.5))
        assert_same(ctx.arange(1.0, 3.0, 0.5), np.arange(1.0, 3.0, 0.5))
    assert_same(ctx.full((2,), 7), np.full((2,), 7))
    assert_same(ctx.full((2, 3), [1, 2, 3], np.int16), np.full((2, 3), [1, 2, 3], np.int16))
    assert_same(ctx.arange(10), np.arange(10))
    assert_same(ctx.arange(2, 11, 3, dtype=np.uint8), np.arange(2, 11, 3, dtype=np.uint8))
    assert_same(ctx.arange(1.0, 3.0, 0.5, dtype=np.float32), np.arange(1.0, 3.0, 0.5, dtype=np.float32))
    assert_same(ctx.zeros((0, 3), np.int32), np.zeros((0, 3), np.int32))
    with pytest.raises(ValueError, match="negative"):
        ctx.empty((2, -1), np.int32)


def test_unsupported_dtypes_are_refused(ctx):
    with pytest.raises(TypeError, match="complex128"):
        ctx.empty(3, np.complex128)
    with pytest.raises(TypeError, match="float16"):
        ctx.asarray(np.ones(3, np.float16))
    with pytest.raises(TypeError, match="<U1"):
        ctx.asarray(np.array(["a"]))


def test_float64_needs_fp64(ctx):
    without_fp64 = opencl.Context(dataclasses.replace(ctx.device, fp64=False))
    with pytest.raises(TypeError, match="no float64 support.*float32"):
        without_fp64.zeros(3)
    with pytest.raises(TypeError, match="float64"):
        without_fp64.asarray([1.5, 2.5])
    assert_same(without_fp64.asarray([1.5, 2.5], dtype=np.float32), np.array([1.5, 2.5], np.float32))


# ---- transfers ----------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES + [(0,), (4, 0)])
def test_round_trip(ctx, shape):
    for dtype in dtypes_of(ctx):
        host = sample(shape, dtype)
        device = ctx.asarray(host)
        assert device.shape == shape and device.dtype == dtype and device.context is ctx
        assert device.ndim == len(shape) and device.size == host.size and device.nbytes == host.nbytes
        assert device.strides == np.empty(shape, dtype).strides or host.size == 0
        assert_same(device, host)


def test_round_trip_of_non_contiguous_and_foreign_input(ctx):
    host = sample((6, 8), np.int32)
    for view in (host[:, ::2], host.T, host[::-1, 1:5], host[2]):
        assert_same(ctx.asarray(view), np.array(view))
    swapped = host.astype(host.dtype.newbyteorder())
    device = ctx.asarray(swapped)
    assert device.dtype == np.int32 and device.dtype.isnative
    assert_same(device, host)
    assert_same(ctx.asarray([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4]]))
    assert_same(ctx.asarray(host, dtype=np.uint8), host.astype(np.uint8))


def test_numpy_conversion(ctx):
    host = sample((3, 4), np.float32)
    device = ctx.asarray(host)
    np.testing.assert_array_equal(np.asarray(device), host)
    assert np.asarray(device, dtype=np.int64).dtype == np.int64
    with pytest.raises(ValueError, match="always copies"):
        np.asarray(device, copy=False)
    assert len(device) == 3 and "(3, 4)" in repr(device) and "float32" in repr(device)
    with pytest.raises(TypeError):
        len(ctx.zeros((), np.int32))


def test_asarray_of_device_arrays(ctx):
    device = ctx.asarray(sample((5,), np.int16))
    assert ctx.asarray(device) is device
    assert ctx.asarray(device, dtype=np.int16) is device
    converted = ctx.asarray(device, dtype=np.float32)
    assert converted.dtype == np.float32 and converted.context is ctx
    assert_same(converted, device.get().astype(np.float32))


def test_arrays_move_between_contexts_through_the_host(ctx):
    other = opencl.Context(ctx.device)  # a second cl_context on the same device
    device = ctx.asarray(sample((4, 3), np.int32))
    moved = other.asarray(device)
    assert moved.context is other and moved._buffer.device is other._device
    assert_same(moved, device.get())
    with pytest.raises(ValueError, match="another OpenCL context"):
        other._device.read(device._buffer, 0, np.empty(12, np.int32))


# ---- views, copies, fills ---------------------------------------------------------

def test_contiguous_views(ctx):
    host = np.arange(24, dtype=np.int32).reshape(4, 6)
    device = ctx.asarray(host)
    for key in (np.s_[1:4], np.s_[2], np.s_[1, 1:3], np.s_[1:3, :], np.s_[-1], np.s_[1, ...], np.s_[...],
                np.s_[3, 5], np.s_[2:2], np.s_[1:3, 0:6], np.s_[np.int64(1)]):
        view = device[key]
        assert view._buffer is device._buffer
        assert_same(view, np.array(host[key]))
    inner = device[1:4][1]
    assert_same(inner, host[2])
    assert inner._offset == 2 * 6 * 4 and inner._descriptor() == (device._buffer, 48, (6,), (4,), 4)
    assert_same(ctx.asarray(np.arange(10.0, dtype=np.float32))[3:], np.arange(3.0, 10.0, dtype=np.float32))


@pytest.mark.parametrize("key", [np.s_[:, 1], np.s_[::2], np.s_[1:3, 2], np.s_[None],
                                 np.s_[[0, 1]], np.s_[True], np.s_[1.0], np.s_[:, 1:3]])
def test_non_contiguous_views_are_refused(ctx, key):
    device = ctx.zeros((4, 6), np.int32)
    with pytest.raises(IndexError, match=r"\.get\(\)"):
        device[key]


def test_index_errors(ctx):
    device = ctx.zeros((4, 6), np.int32)
    with pytest.raises(IndexError, match="out of bounds"):
        device[4]
    with pytest.raises(IndexError, match="out of bounds"):
        device[1, -7]
    with pytest.raises(IndexError, match="too many indices"):
        device[1, 2, 3]


def test_copy_is_independent(ctx):
    host = sample((5, 3), np.float32)
    device = ctx.asarray(host)
    duplicate = device.copy()
    assert duplicate._buffer is not device._buffer
    device.fill(0)
    assert_same(duplicate, host)
    assert_same(device, np.zeros_like(host))
    assert_same(ctx.asarray(host)[2:4].copy(), host[2:4])
    assert_same(ctx.zeros((0,), np.uint8).copy(), np.zeros((0,), np.uint8))


def test_fill(ctx):
    for dtype in dtypes_of(ctx):
        device = ctx.empty((3, 4), dtype)
        device.fill(1)
        assert_same(device, np.ones((3, 4), dtype))
    device = ctx.zeros((3, 4), np.int16)
    device[1].fill(-7)
    device[2, 1:3].fill(5)
    expected = np.zeros((3, 4), np.int16)
    expected[1] = -7
    expected[2, 1:3] = 5
    assert_same(device, expected)
    ints = ctx.empty(3, np.int32)
    ints.fill(2.75)  # truncates, as ndarray.fill does
    assert_same(ints, np.full(3, 2, np.int32))
    with pytest.raises(ValueError, match="scalar"):
        ints.fill([1, 2, 3])


def test_strided_arrays_read_back(ctx):
    base = ctx.asarray(np.arange(8, dtype=np.int32))
    broadcast = opencl.DeviceArray(ctx, base._buffer, 4, (3, 2), np.int32, strides=(0, 4))
    assert_same(broadcast, np.broadcast_to(np.arange(1, 3, dtype=np.int32), (3, 2)))
    reversed_view = opencl.DeviceArray(ctx, base._buffer, 7 * 4, (8,), np.int32, strides=(-4,))
    assert_same(reversed_view, np.arange(8, dtype=np.int32)[::-1])
    assert_same(reversed_view.copy(), np.arange(8, dtype=np.int32)[::-1])
    with pytest.raises(IndexError):
        reversed_view[1:3]


def test_broadcast_descriptors(ctx):
    column = ctx.zeros((3, 1), np.float32)
    buffer, offset, shape, strides, code = column._broadcast_descriptor((2, 3, 4))
    assert (buffer, offset, shape, strides, code) == (column._buffer, 0, (2, 3, 4), (0, 4, 0), 10)
    assert column._broadcast_descriptor((3, 1))[3] == (4, 4)
    scalar = ctx.zeros((), np.uint64)
    assert scalar._broadcast_descriptor((5,))[2:] == ((5,), (0,), 9)
    for bad in ((2, 4), (3,), (5, 1)):
        with pytest.raises(ValueError, match="broadcast"):
            column._broadcast_descriptor(bad)
    codes = {np.bool_: 1, np.int8: 2, np.int32: 4, np.int64: 5, np.uint8: 6, np.uint16: 7, np.float32: 10}
    for dtype, code in codes.items():
        assert ctx.zeros(2, dtype)._descriptor()[4] == code


def test_native_kernel_has_call_device():
    assert callable(getattr(_native.Kernel, "call_device", None))
    assert "DeviceBuffer" in dir(_native) and "Device" in dir(_native)


# ---- sejits devices ----------------------------------------------------------------

def run_cli(*args, **env):
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), **env)
    result = subprocess.run([sys.executable, "-m", "sejits.cli", *args], env=environment, capture_output=True,
                            text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def test_cli_lists_devices(found):
    code, output = run_cli("devices")
    assert code == 0, output
    lines = output.splitlines()
    assert "platform" in lines[0] and "fp64" in lines[0] and "GiB" in output
    for info in found:
        assert info.name in output and info.platform in output


def test_cli_without_platforms(found, tmp_path):
    # The ICD loader reads its vendor list from OCL_ICD_VENDORS: an empty one hides every driver.
    code, output = run_cli("devices", OCL_ICD_VENDORS=str(tmp_path), OCL_ICD_FILENAMES="")
    assert code == 0, output
    assert "no OpenCL devices" in output and "pocl-opencl-icd" in output
