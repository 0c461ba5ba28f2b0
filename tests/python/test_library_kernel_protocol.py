"""A library kernel over the raw protocol: a SpecializeRequest that names the
test-only specializer test_column_stats (served by daemons started with
--enable_test_specializers, as the session daemon is) and carries params and
argument descriptors but no function. The answer's interface lists both entry
points with their parameters' roles, dtypes and shape rules; the artifact's
entries, called through the kernel ABI with ctypes, agree with NumPy."""

import ctypes
import os

import grpc
import numpy as np
import pytest

from sejits.v1 import ast_pb2 as ast, specializer_pb2 as pb, specializer_pb2_grpc
from conftest import Daemon

MAX_RANK = 8
DTYPES = {np.dtype(np.float32): ast.FLOAT32, np.dtype(np.float64): ast.FLOAT64, np.dtype(np.int32): ast.INT32}


class SejitsArg(ctypes.Structure):  # codegen/include/sejits/kernel_abi.h
    class Scalar(ctypes.Union):
        _fields_ = [("i", ctypes.c_int64), ("u", ctypes.c_uint64), ("f", ctypes.c_double)]

    _fields_ = [("data", ctypes.c_void_p), ("kind", ctypes.c_int32), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("flags", ctypes.c_int32), ("shape", ctypes.c_int64 * MAX_RANK), ("strides", ctypes.c_int64 * MAX_RANK),
                ("scalar", Scalar)]


def abi_arg(array):
    arg = SejitsArg(data=array.ctypes.data, kind=1, dtype=DTYPES[array.dtype], rank=array.ndim)
    for d in range(array.ndim):
        arg.shape[d], arg.strides[d] = array.shape[d], array.strides[d]
    return arg


def request_for(x, **params):
    descriptor = pb.ArgDescriptor(kind=pb.ARRAY, dtype=DTYPES[x.dtype], rank=x.ndim, shape=list(x.shape),
                                  strides=list(x.strides), c_contiguous=x.flags.c_contiguous)
    return pb.SpecializeRequest(specializer="test_column_stats", args=[descriptor], params=params)


@pytest.fixture(scope="module")
def stub(daemon):
    with daemon._channel() as channel:
        yield specializer_pb2_grpc.SpecializerStub(channel)


def entries_by_role(response):
    return {entry.role: entry for entry in response.interface.entries}


def axis_of(parameter, axis):
    return pb.Dimension(axis_of=pb.Dimension.AxisOf(parameter=parameter, axis=axis))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_interface_lists_both_entries_with_roles_dtypes_and_shape_rules(stub, dtype):
    request = request_for(np.ones((5, 3), dtype), scale="0.5")
    assert not request.HasField("function")
    response = stub.Specialize(request, timeout=120)
    code = DTYPES[np.dtype(dtype)]
    entries = entries_by_role(response)
    assert [entry.role for entry in response.interface.entries] == ["call", "center"]
    call, center = entries["call"], entries["center"]
    assert [(p.name, p.role, p.dtype) for p in call.params] == [
        ("X", pb.PARAM_INPUT, code), ("col_sums", pb.PARAM_OUTPUT, code), ("row_max", pb.PARAM_OUTPUT, code)]
    assert list(call.params[1].shape.dims) == [axis_of(0, 1)]  # [X.shape[1]]
    assert list(call.params[2].shape.dims) == [axis_of(0, 0)]  # [X.shape[0]]
    assert not call.params[1].shape.broadcast and not call.params[1].shape.shape_entry
    assert [(p.name, p.role, p.dtype) for p in center.params] == [
        ("X", pb.PARAM_INPUT, code), ("col_sums", pb.PARAM_INPUT, code), ("Y", pb.PARAM_OUTPUT, code)]
    assert list(center.params[2].shape.broadcast) == [0]  # shaped like X
    assert call.symbol and center.symbol and call.symbol != center.symbol
    # The fields older clients read: the call entry's symbol and its first output's dtype.
    assert response.entry_symbol == call.symbol
    assert response.result.dtype == code
    assert os.path.exists(response.artifact_path)


def test_one_artifact_serves_every_shape_of_a_dtype_and_scale(stub):
    first = stub.Specialize(request_for(np.ones((4, 4)), scale="3"), timeout=120)
    again = stub.Specialize(request_for(np.ones((40, 2))[::2], scale="3"), timeout=120)
    assert again.outcome == pb.HIT and again.key == first.key
    other_scale = stub.Specialize(request_for(np.ones((4, 4)), scale="2"), timeout=120)
    assert other_scale.key != first.key


def call_entry(response, role, *arrays):
    library = ctypes.CDLL(response.artifact_path)
    entry = getattr(library, entries_by_role(response)[role].symbol)
    entry.restype = ctypes.c_int32
    entry.argtypes = [ctypes.POINTER(SejitsArg), ctypes.c_int32, ctypes.c_char_p, ctypes.c_int64]
    args = (SejitsArg * len(arrays))(*[abi_arg(a) for a in arrays])
    error = ctypes.create_string_buffer(1024)
    assert entry(args, len(arrays), error, len(error)) == 0, error.value.decode()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,view", [((1, 1), None), ((7, 5), None), ((0, 3), None), ((4, 0), None),
                                        ((7, 11), (slice(None), slice(None, None, 2))), ((6, 4), "T")])
def test_the_entries_agree_with_numpy(stub, dtype, shape, view):
    base = (np.arange(np.prod(shape), dtype=dtype).reshape(shape) % 7 - 3) * dtype(0.5)
    x = base.T if view == "T" else base[view] if view else base
    response = stub.Specialize(request_for(x, scale="0.25"), timeout=120)
    col_sums = np.empty(x.shape[1], dtype)  # the shape rules: [X.shape[1]], [X.shape[0]]
    row_max = np.empty(x.shape[0], dtype)
    call_entry(response, "call", x, col_sums, row_max)
    np.testing.assert_allclose(col_sums, 0.25 * x.sum(axis=0, dtype=np.float64), rtol=1e-6)
    expected_max = x.max(axis=1) if x.shape[1] else np.full(x.shape[0], -np.inf, dtype)
    np.testing.assert_array_equal(row_max, expected_max)
    y = np.empty_like(x, order="C")
    call_entry(response, "center", x, col_sums, y)
    if x.shape[0]:
        np.testing.assert_allclose(y, x - col_sums / dtype(x.shape[0]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("x,params,code,needle", [
    (np.ones((3, 3), np.int32), {}, grpc.StatusCode.INVALID_ARGUMENT, "float32 or float64, not int32"),
    (np.ones(3), {}, grpc.StatusCode.INVALID_ARGUMENT, "2-D, not of rank 1"),
    (np.ones((3, 3)), {"scale": "big"}, grpc.StatusCode.INVALID_ARGUMENT, "'scale' must be a finite number"),
    (np.ones((3, 3)), {"scael": "2"}, grpc.StatusCode.INVALID_ARGUMENT, "unknown param 'scael'"),
])
def test_bad_library_requests_are_clear_errors(stub, daemon, x, params, code, needle):
    with pytest.raises(grpc.RpcError) as error:
        stub.Specialize(request_for(x, **params), timeout=60)
    assert error.value.code() == code and needle in error.value.details(), error.value.details()
    assert daemon.healthy()


def test_other_platforms_and_a_function_are_refused(stub, daemon):
    request = request_for(np.ones((3, 3)))
    request.target.platform = "opencl"
    with pytest.raises(grpc.RpcError) as error:
        stub.Specialize(request, timeout=60)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED, error.value.details()
    request = request_for(np.ones((3, 3)))
    request.function.name = "f"
    with pytest.raises(grpc.RpcError) as error:
        stub.Specialize(request, timeout=60)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "takes params, not a function's AST" in error.value.details()
    assert daemon.healthy()


def test_a_daemon_without_the_flag_does_not_know_the_test_specializer(tmp_path):
    plain = Daemon(tmp_path).start()
    try:
        with plain._channel() as channel:
            with pytest.raises(grpc.RpcError) as error:
                specializer_pb2_grpc.SpecializerStub(channel).Specialize(request_for(np.ones((2, 2))), timeout=30)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "unknown specializer 'test_column_stats'" in error.value.details()
    finally:
        plain.stop()


def test_tuning_a_library_kernel_has_nothing_to_try(stub):
    request = request_for(np.ones((1000, 30)))
    request.tuning.mode = pb.TUNING_ONLINE
    request.tuning.entry = "center"
    response = stub.Specialize(request, timeout=120)
    assert response.tuning.state == pb.TuningPlan.UNTUNED
    assert not response.tuning.candidates
    assert "no variants to tune" in response.tuning.reason
    assert [entry.role for entry in response.interface.entries] == ["call", "center"]
