"""Nothing a request says reaches the generated source as text: identifiers
are generated and literals are printed from parsed values. Hostile names
(C syntax, preprocessor lines, Python calls, unicode) and extreme constants
either give a correct kernel whose source holds none of the request's text,
or a clear INVALID_ARGUMENT; never a compile of what the client wrote."""

import math
import textwrap

import grpc
import numpy as np
import pytest

import sejits
from sejits import _arguments, _capture, _encode
from sejits.v1 import specializer_pb2 as pb

HOSTILE_NAMES = [
    '"); system("id',
    "__import__('os').system('id')",
    "int",
    "return",
    "asm",
    "a\n#include <stdio.h>\nint main",
    "*/ system(\"id\"); /*",
    "x; } void __attribute__((constructor)) evil() { system(\"id\"); } {",
    "ξψ_unicode",
    "??=define",
    "a\\\nb",
]


def load_kernel(tmp_path, name, source):
    module = tmp_path / f"{name}.py"
    module.write_text(textwrap.dedent(source))
    namespace = {"np": np, "math": math}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    return namespace[name]


def request_for(function, args):
    captured = _capture.capture(function)
    request = pb.SpecializeRequest(specializer="elementwise")
    _encode.encode_function(captured, request.function)
    for value in args:
        request.args.append(_arguments.describe(value, pb, _encode.dtype_code))
    request.options.want_source = True
    return request


def rename_everywhere(message, old, new):
    """Every Argument.name and Name.id equal to `old` becomes `new`."""
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if field.message_type is not None and not field.message_type.GetOptions().map_entry:
                rename_everywhere(item, old, new)
    if message.DESCRIPTOR.name in ("Argument",) and message.name == old:
        message.name = new
    if message.DESCRIPTOR.name == "Name" and message.id == old:
        message.id = new


def specialize(address, request):
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary("/sejits.v1.Specializer/Specialize",
                                   request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=pb.SpecializeResponse.FromString)
        return call(request, timeout=120)


BLEND = """
def blend_zq9(alpha_zq9, beta_zq9):
    gamma_zq9 = alpha_zq9 * 2.0 + beta_zq9
    return gamma_zq9 - 1.0
"""


def test_generated_source_holds_no_request_identifier(daemon, tmp_path):
    function = load_kernel(tmp_path, "blend_zq9", BLEND)
    request = request_for(function, [np.ones(5), np.ones(5)])
    request.function.filename = "evil_zq9.py"
    response = specialize(daemon.address, request)
    assert response.source
    assert "zq9" not in response.source


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_hostile_names_never_reach_the_source(daemon, tmp_path, hostile):
    # Every request-provided name carries the marker "zq9", so any copy of
    # request text into the source shows; hostile texts longer than a C
    # keyword must not appear either.
    function = load_kernel(tmp_path, "blend_zq9", BLEND)
    request = request_for(function, [np.ones(5), np.ones(5)])
    for name in ("alpha_zq9", "gamma_zq9"):
        rename_everywhere(request.function, name, f"{hostile}zq9{name[0]}")
    request.function.name = hostile + "zq9"
    request.function.filename = hostile + "zq9"
    try:
        response = specialize(daemon.address, request)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
        assert daemon.healthy()
        return
    assert "zq9" not in response.source
    if len(hostile) > 8:
        assert hostile not in response.source
    for fragment in ("system", "#include <stdio.h>", "evil", "unicode", "__import__"):
        assert fragment not in response.source, fragment
    assert daemon.healthy()


def test_a_unicode_kernel_computes_the_same_as_python(daemon, tmp_path):
    source = """
    def ünïcode_kernel(ξ, ψ):
        φ = ξ * ψ
        return φ + 1.0
    """
    kernel = sejits.elementwise(load_kernel(tmp_path, "ünïcode_kernel", source))
    x, y = np.linspace(-2, 2, 13), np.linspace(0, 1, 13)
    np.testing.assert_array_equal(kernel(x, y), x * y + 1.0)
    assert "ξ" not in kernel.source(x, y) and "φ" not in kernel.source(x, y)


# Literals that must be printed from their values: each kernel returns
# x * c for a captured constant c, and must agree with NumPy exactly.
EXTREME_FLOATS = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 5e-324, 2.2250738585072014e-308,
                  -0.0, 1.7976931348623157e308, 0.1]


@pytest.mark.parametrize("constant", EXTREME_FLOATS, ids=repr)
def test_extreme_float_constants_are_printed_exactly(daemon, constant):
    kernel = sejits.elementwise(_times(constant))
    x = np.array([0.0, 1.0, -1.0, 0.5, 3.0, -7.25, 1e-300])
    with np.errstate(all="ignore"):
        expected = x * constant
    np.testing.assert_array_equal(kernel(x), expected)


def _times(constant):
    c = constant

    def times_c(x):
        return x * c

    return times_c


@pytest.mark.parametrize("exponent", ["1e309", "1e-400", "9" * 400 + ".0"])
def test_huge_exponent_literals_follow_python(daemon, tmp_path, exponent):
    function = load_kernel(tmp_path, "huge_literal", f"""
    def huge_literal(x):
        return x * {exponent} + 1.0
    """)
    kernel = sejits.elementwise(function)
    x = np.array([1.0, 0.5, -2.0])
    with np.errstate(all="ignore"):
        expected = x * float(exponent) + 1.0
    np.testing.assert_array_equal(kernel(x), expected)


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), np.uint64(2**64 - 1)], ids=repr)
def test_integer_extremes_are_printed_exactly(daemon, value):
    kernel = sejits.elementwise(_times(value))
    dtype = np.uint64 if isinstance(value, np.uint64) else np.int64
    x = np.array([0, 1, 3], dtype=dtype)
    with np.errstate(all="ignore"):
        expected = x * value
    np.testing.assert_array_equal(kernel(x), expected)
