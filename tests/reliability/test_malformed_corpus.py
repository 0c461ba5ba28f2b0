"""Every request in tests/reliability/malformed/ goes to a real daemon through
a gRPC channel and gets the status its header names; afterwards the daemon is
still healthy and still compiles a good kernel.

A corpus file is a SpecializeRequest in protobuf text format, after header
lines:
    # expect: INVALID_ARGUMENT          the status code (OK for the controls)
    # says: text                        a part of the message (optional, repeatable)
    # truncate: N                       send only the first N bytes
    # append_hex: ff 01                 send these bytes after the message
    # any other header line is a comment
"""

import pathlib

import grpc
import numpy as np
import pytest
from google.protobuf import text_format

import sejits
from sejits.v1 import specializer_pb2

CORPUS = pathlib.Path(__file__).parent / "malformed"


def load(path):
    directives = {"says": []}
    body = []
    for line in path.read_text().splitlines():
        key, _, value = line[2:].partition(":")
        if line.startswith("#") and not body:
            if key == "says":
                directives["says"].append(value.strip())
            elif key in ("expect", "truncate", "append_hex"):
                directives[key] = value.strip()
            # other header lines are comments
        else:
            body.append(line)
    request = text_format.Parse("\n".join(body), specializer_pb2.SpecializeRequest())
    payload = request.SerializeToString()
    if "truncate" in directives:
        payload = payload[: int(directives["truncate"])]
    if "append_hex" in directives:
        payload += bytes.fromhex(directives["append_hex"])
    return payload, directives


def send(address, payload):
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary("/sejits.v1.Specializer/Specialize")
        try:
            call(payload, timeout=60)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as error:
            return error.code(), error.details()


CASES = sorted(CORPUS.glob("*.textproto"))


def test_the_corpus_covers_the_kinds_of_malformed_request():
    names = {case.stem for case in CASES}
    for expected in ("truncated", "unknown_binary_operator", "unknown_dtype", "shape_shorter_than_rank",
                     "shapes_do_not_broadcast", "zero_size_arrays", "expression_kind_unset", "return_a_tuple",
                     "stencil_reads_an_undefined_grid"):
        assert expected in names


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_each_malformed_request_gets_its_status(daemon, case):
    payload, directives = load(case)
    code, details = send(daemon.address, payload)
    assert code.name == directives["expect"], f"{case.name}: {code.name}: {details}"
    for fragment in directives["says"]:
        assert fragment in details, f"{case.name}: {details!r} lacks {fragment!r}"
    if code != grpc.StatusCode.OK:
        assert details, f"{case.name}: an error without a message"


def test_the_daemon_is_healthy_after_the_whole_corpus(daemon):
    before = daemon.stats()
    for case in CASES:
        send(daemon.address, load(case)[0])
    assert daemon.healthy()
    after = daemon.stats()
    refused = sum(1 for case in CASES if load(case)[1]["expect"] != "OK")
    assert after.rejected - before.rejected >= refused
    kernel = sejits.elementwise(lambda v: v * 3 + 1)
    x = np.arange(7.0)
    np.testing.assert_array_equal(kernel(x), x * 3 + 1)
