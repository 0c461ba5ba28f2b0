"""Each request limit of sejitsd, exceeded: the answer is INVALID_ARGUMENT or
RESOURCE_EXHAUSTED with a message naming the limit's flag (and the kernel's
file and line where the request has them), and the daemon keeps serving.
Most cases run against one daemon started with small limits."""

import concurrent.futures
import textwrap
import time

import grpc
import numpy as np
import pytest

import sejits
from conftest import Daemon
from sejits import _arguments, _capture, _encode
from sejits.v1 import ast_pb2, specializer_pb2 as pb

SMALL_LIMITS = ["--max_ast_nodes=300", "--max_ast_depth=40", "--max_string_bytes=200", "--max_arguments=4",
                "--max_request_bytes=65536", "--max_variants=4"]


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    daemon = Daemon(tmp_path_factory.mktemp("strict")).start(*SMALL_LIMITS)
    yield daemon
    daemon.stop()


def load_kernel(tmp_path, name, source):
    module = tmp_path / f"{name}.py"
    module.write_text(textwrap.dedent(source))
    namespace = {"np": np}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    return namespace[name]


def request_for(function, args):
    request = pb.SpecializeRequest(specializer="elementwise")
    _encode.encode_function(_capture.capture(function), request.function)
    for value in args:
        request.args.append(_arguments.describe(value, pb, _encode.dtype_code))
    return request


def call(address, method, payload, response=pb.SpecializeResponse):
    with grpc.insecure_channel(address) as channel:
        stub = channel.unary_unary(f"/sejits.v1.Specializer/{method}", response_deserializer=response.FromString)
        return stub(payload if isinstance(payload, bytes) else payload.SerializeToString(), timeout=60)


def refused(address, payload, method="Specialize"):
    with pytest.raises(grpc.RpcError) as error:
        call(address, method, payload)
    return error.value.code(), error.value.details()


def nested_unary_request(depth, filename="deep.py"):
    """A request whose return value is -(-(...x...)) `depth` levels deep,
    built as bytes from the inside out: Python's protobuf would recurse."""

    def field(number, payload):
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    leaf = field(2, field(1, b"x"))  # Expr.name { id: "x" }
    position = field(1, b"\x08\x07")  # Expr.pos { line: 7 }
    # Each level: Expr { pos, unary_op { op: USUB, operand: <inner> } }. The
    # sizes are computed first so the bytes are written once, outside in.
    op = b"\x08" + _varint(ast_pb2.USUB)
    sizes = [len(leaf)]
    for _ in range(depth):
        inner = sizes[-1]
        unary = len(op) + 1 + len(_varint(inner)) + inner
        sizes.append(len(position) + 1 + len(_varint(unary)) + unary)
    parts = []
    for level in range(depth, 0, -1):
        inner = sizes[level - 1]
        unary = len(op) + 1 + len(_varint(inner)) + inner
        parts += [position, _varint(5 << 3 | 2), _varint(unary), op, _varint(2 << 3 | 2), _varint(inner)]
    expr = b"".join(parts) + leaf
    return_stmt = field(4, field(1, expr))  # Stmt.return_stmt { value: expr }
    function = field(1, b"deep") + field(2, filename.encode()) + field(3, field(1, b"x")) + field(4, return_stmt)
    arg = pb.ArgDescriptor(kind=pb.ARRAY, dtype=ast_pb2.FLOAT64, rank=1, shape=[3], strides=[8], c_contiguous=True)
    return field(1, b"elementwise") + field(2, function) + field(3, arg.SerializeToString())


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def test_a_syntax_tree_100k_levels_deep_is_refused_without_recursion(daemon):
    payload = nested_unary_request(100_000)
    start = time.monotonic()
    code, details = refused(daemon.address, payload)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "--max_ast_depth" in details and details.startswith("deep.py:7:"), details
    assert time.monotonic() - start < 10
    assert daemon.healthy()


def test_nesting_within_the_limit_is_compiled(daemon):
    # 300 unary minus signs: an even count, so the kernel is the identity.
    response = call(daemon.address, "Specialize", nested_unary_request(300))
    assert response.artifact_digest


def test_a_300_term_sum_computes_like_python(daemon, tmp_path):
    terms = " + ".join(f"x * {k}.0" for k in range(300))
    function = load_kernel(tmp_path, "long_sum", f"def long_sum(x):\n    return {terms}\n")
    x = np.linspace(-1, 1, 17)
    expected = sum(x * float(k) for k in range(300))
    np.testing.assert_allclose(sejits.elementwise(function)(x), expected, rtol=1e-12)


def test_too_deep_for_the_strict_daemon(strict):
    code, details = refused(strict.address, nested_unary_request(41))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "--max_ast_depth" in details
    assert call(strict.address, "Specialize", nested_unary_request(30)).artifact_digest


def test_too_many_nodes(strict, tmp_path):
    lines = "\n".join("    x = x + 1.0" for _ in range(200))
    function = load_kernel(tmp_path, "many_nodes", f"def many_nodes(x):\n{lines}\n    return x\n")
    code, details = refused(strict.address, request_for(function, [np.ones(3)]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "--max_ast_nodes" in details and "many_nodes.py:" in details, details


def test_too_long_a_name(strict, tmp_path):
    long_name = "v" * 201
    function = load_kernel(tmp_path, "long_name", f"def long_name(x):\n    {long_name} = x * 2.0\n    return {long_name}\n")
    code, details = refused(strict.address, request_for(function, [np.ones(3)]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Name.id is 201 bytes long" in details and "--max_string_bytes" in details, details


def test_too_many_arguments(strict, tmp_path):
    function = load_kernel(tmp_path, "five", "def five(a, b, c, d, e):\n    return a + b + c + d + e\n")
    code, details = refused(strict.address, request_for(function, [np.ones(3)] * 5))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "--max_arguments" in details, details


def test_too_large_a_request(strict, tmp_path):
    function = load_kernel(tmp_path, "small", "def small(x):\n    return x\n")
    request = request_for(function, [np.ones(3)])
    request.params["padding"] = "p" * 70000
    code, details = refused(strict.address, request)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details


def test_too_many_variant_parameters_and_reports(strict, tmp_path):
    function = load_kernel(tmp_path, "small", "def small(x):\n    return x\n")
    request = request_for(function, [np.ones(3)])
    for k in range(5):
        request.params[f"variant.p{k}"] = "1"
    code, details = refused(strict.address, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "--max_variants" in details, details
    report = pb.ReportTimingsRequest(request=request_for(function, [np.ones(3)]))
    for k in range(5):
        report.reports.add(variant=f"v{k}", samples=[1.0])
    code, details = refused(strict.address, report, method="ReportTimings")
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "--max_variants" in details, details


def test_the_strict_daemon_still_serves(strict, tmp_path):
    function = load_kernel(tmp_path, "fine", "def fine(x):\n    return x * 2.0 + 1.0\n")
    assert call(strict.address, "Specialize", request_for(function, [np.ones(3)])).artifact_digest
    assert strict.healthy()
    assert strict.stats().rejected >= 4


def test_a_client_beyond_its_queue_bound_is_refused_and_others_are_served(tmp_path):
    slow = tmp_path / "slow-g++"
    slow.write_text("#!/bin/sh\nsleep 2\nexec g++ \"$@\"\n")
    slow.chmod(0o755)
    daemon = Daemon(tmp_path / "queue").start(f"--compiler={slow}", "--max_compiles_per_client=1",
                                                 "--max_queued_per_client=2", "--compile_jobs=2")
    try:
        requests = []
        for k in range(8):
            function = load_kernel(tmp_path, f"queued{k}", f"def queued{k}(x):\n    return x * {k}.5\n")
            requests.append(request_for(function, [np.ones(3)]).SerializeToString())
        # One channel: the daemon sees one client (this process).
        with grpc.insecure_channel(daemon.address) as channel:
            stub = channel.unary_unary("/sejits.v1.Specializer/Specialize")
            futures = [stub.future(payload, timeout=120) for payload in requests]
            outcomes = []
            for future in futures:
                try:
                    future.result()
                    outcomes.append("ok")
                except grpc.RpcError as error:
                    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
                    assert "--max_queued_per_client" in error.details()
                    outcomes.append("refused")
        # One running and two waiting at most: of 8 sent at once, at least 5 are refused.
        assert outcomes.count("refused") >= 5 and outcomes.count("ok") >= 1, outcomes
        assert daemon.healthy()
    finally:
        daemon.stop()


@pytest.mark.parametrize("flag, says", [("--max_artifact_bytes=4096", "--max_artifact_bytes"),
                                        ("--compile_memory_bytes=40000000", "--compile_memory_bytes")])
def test_a_build_beyond_its_resource_limit_is_refused_and_not_stored(tmp_path, flag, says):
    daemon = Daemon(tmp_path / "tight").start(flag)
    try:
        function = load_kernel(tmp_path, "fat", "def fat(x):\n    return x * 2.0 + 1.0\n")
        code, details = refused(daemon.address, request_for(function, [np.ones(3)]))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
        assert says in details and "'fat'" in details, details
        stats = daemon.stats()
        assert stats.cache_entries == 0 and stats.compile_failures == 1
        assert daemon.healthy()
    finally:
        daemon.stop()
