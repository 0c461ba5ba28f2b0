"""The values the client and the daemon both need have one definition each
(codegen/include/sejits/: kernel_abi.h's MAX_RANK and dtype table,
target_platforms.h, worker_platform.h), which the client reads through
sejits._native: here each is checked against the daemon's behaviour (a
private daemon's answers to the client's own requests) or against the wire's
enum, so that a copy that drifted would fail."""

import re
from pathlib import Path

import grpc
import numpy as np
import pytest

import sejits
from sejits import _arguments, _encode, _native, _platforms, _worker_platform
from sejits.v1 import ast_pb2, specializer_pb2, specializer_pb2_grpc

from conftest import Daemon

ISA_LEVELS = Path(__file__).resolve().parents[1] / "golden" / "isa_levels.txt"


def scale(a):
    return a * 2.0


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    daemon = Daemon(tmp_path_factory.mktemp("shared-tables")).start()
    channel = daemon._channel()
    try:
        yield specializer_pb2_grpc.SpecializerStub(channel)
    finally:
        channel.close()
        daemon.stop()


def request_for(*args, platform=_platforms.DEFAULT):
    """The client's own request for `scale` on `args`."""
    kernel = sejits.elementwise(scale)
    request = kernel._build_request(args, kernel._capture())
    request.target.platform = platform
    return request


def refusal(stub, request):
    with pytest.raises(grpc.RpcError) as error:
        stub.Specialize(request, timeout=120)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    return error.value.details()


# ---- dtypes ----------------------------------------------------------------------

def test_every_kernel_dtype_has_the_wire_enums_number_for_its_name():
    assert len(_native.DTYPES) == 11
    for code, name in _native.DTYPES:
        assert ast_pb2.DType.Value(name.upper()) == code
        assert np.dtype(name).name == name


def test_the_encoder_and_the_fast_path_give_every_numpy_dtype_one_code():
    kernel_codes = {code for code, _ in _native.DTYPES}
    dtypes = [np.dtype(char) for char in np.typecodes["All"]]
    dtypes += [d.newbyteorder("S") for d in dtypes]
    for dtype in dtypes:
        native = _native.dtype_code(dtype)
        if native:
            assert _encode.dtype_code(dtype) == native, dtype
            assert dtype in _arguments.SUPPORTED_DTYPES
        else:
            assert _encode.dtype_code(dtype) not in kernel_codes, dtype
            assert dtype not in _arguments.SUPPORTED_DTYPES
    assert _encode.dtype_code(np.float16) == ast_pb2.FLOAT16  # named on the wire, taken by no kernel
    assert _encode.dtype_code(np.dtype(">f8") if np.little_endian else np.dtype("<f8")) == ast_pb2.OTHER
    assert _encode.dtype_code(np.longlong) == _encode.dtype_code(np.int64) == ast_pb2.INT64


def test_the_daemon_takes_every_kernel_dtype_and_names_the_others(stub):
    for code, name in _native.DTYPES:  # the NumPy platform: the same front end, nothing compiled
        response = stub.Specialize(request_for(np.ones(4, dtype=name), platform=_platforms.NUMPY), timeout=120)
        assert response.interface.entries[0].params[0].dtype == code, name
    request = request_for(np.ones(4))
    request.args[0].dtype = ast_pb2.FLOAT16
    assert "FLOAT16" in refusal(stub, request)


# ---- ranks -----------------------------------------------------------------------

def test_the_daemon_takes_ranks_up_to_the_clients_max_rank(stub):
    assert _arguments.MAX_RANK == _native.MAX_RANK == 8
    request = request_for(np.ones((1,) * _native.MAX_RANK), platform=_platforms.NUMPY)
    assert stub.Specialize(request, timeout=120).outcome == specializer_pb2.NUMPY_SOURCE
    request.args[0].rank += 1
    request.args[0].shape.append(1)
    request.args[0].strides.append(8)
    assert f"outside 0..{_native.MAX_RANK}" in refusal(stub, request)
    with pytest.raises(sejits.SpecializationError, match=f"ranks up to {_native.MAX_RANK}"):
        _arguments.normalize(np.ones((1,) * (_native.MAX_RANK + 1)), 0)


# ---- platforms -------------------------------------------------------------------

def test_the_daemon_knows_exactly_the_clients_platform_names(stub):
    request = request_for(np.ones(4))
    request.target.platform = "no-such-platform"
    known = re.search(r"known: ([^)]*)\)", refusal(stub, request)).group(1)
    assert set(known.split(", ")) == set(_platforms.ALL) == {"cpu-openmp", "opencl", "numpy"}
    assert _platforms.DEFAULT == _platforms.CPU_OPENMP


def test_the_default_platform_is_the_daemons(stub):
    named = request_for(np.ones(4))
    named.target.platform = _platforms.DEFAULT
    unnamed = request_for(np.ones(4))
    unnamed.target.ClearField("platform")
    assert stub.Specialize(unnamed, timeout=120).key == stub.Specialize(named, timeout=120).key
    numpy = request_for(np.ones(4))
    numpy.target.platform = _platforms.NUMPY
    assert stub.Specialize(numpy, timeout=120).outcome == specializer_pb2.NUMPY_SOURCE


# ---- the worker platform ---------------------------------------------------------

def isa_level_cases():
    for line in ISA_LEVELS.read_text().splitlines():
        if line and not line.startswith("#"):
            expected, _, features = line.partition(" ")
            yield expected, features


def test_the_client_gives_each_sample_line_the_level_the_daemon_does():
    # tests/unit/shared_tables_test.cc checks the daemon on the same file.
    cases = list(isa_level_cases())
    assert len(cases) >= 10
    for expected, features in cases:
        assert _worker_platform.isa_level(features) == expected, features
        assert expected in _native.X86_64_LEVELS


def test_the_features_line_is_the_one_the_daemon_hashes(stub):
    # The daemon compiles for its own CPU (-march=native) only when the
    # worker's digest is its own: on one machine, the client's must be.
    response = stub.Specialize(request_for(np.ones(5)), timeout=120)
    assert not [note for note in response.notes if "compiled for" in note], response.notes
    assert _native.is_cpu_features_line("flags\t\t: fpu") and _native.is_cpu_features_line("Features\t: fp")
    assert not _native.is_cpu_features_line("model name\t: x")


@pytest.mark.skipif(_worker_platform.describe()[0] != "x86_64", reason="x86-64 levels")
def test_the_daemon_builds_for_every_level_the_client_can_report(stub):
    for level in _native.X86_64_LEVELS:
        request = request_for(np.ones(6))
        request.target.worker.isa_level = level
        request.target.worker.cpu_digest = "0" * 64  # another CPU than the daemon's
        notes = stub.Specialize(request, timeout=120).notes
        assert [note for note in notes if f"compiled for {level}," in note], (level, notes)
