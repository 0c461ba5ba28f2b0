"""One source of truth for tuning: the daemon computes a call's shape class
from the request's args and gives every candidate's request params in its
plan; the client has no rule for either, so the two cannot disagree.

For each specializer and entry role (element-wise call, stencil call and
iterate) the client's own request goes to a private daemon: the plan's shape
class is the expected one whatever the client's text says beyond the role,
the client's params for every variant of the space are the plan's, they
select exactly that variant, and the daemon serves the artifact of those
params once it has chosen that variant."""

import itertools

import numpy as np
import pytest

import sejits
from sejits import _request, _tuning
from sejits.v1 import specializer_pb2 as pb, specializer_pb2_grpc

import test_stencil_variants as variants
from conftest import Daemon


def blend(a, x, y):
    return a * x + (1 - a) * y


GRID = np.linspace(0, 1, 100 * 60).reshape(100, 60)
WIDE = np.linspace(0, 1, 4 * 3000).reshape(4, 3000)

# (id, kernel, args, entry role, the shape class: the largest array's extents
# as bit lengths, "c" when every array is C-contiguous)
CASES = [
    ("elementwise-call", lambda: sejits.elementwise(blend), (0.5, np.ones(1000), np.zeros(1000)), "call", "call:10:c"),
    ("elementwise-call-strided", lambda: sejits.elementwise(blend), (0.5, WIDE[:, ::2], np.ones(1500)), "call", "call:3x11:s"),
    ("stencil-call", lambda: sejits.stencil(boundary="nearest")(variants.heat_2d), (GRID, 0.1), "call", "call:7x6:c"),
    ("stencil-iterate", lambda: sejits.stencil(boundary="nearest")(variants.heat_2d), (GRID, 0.1), "iterate",
     "iterate:7x6:c"),
]


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    daemon = Daemon(tmp_path_factory.mktemp("one-source")).start()
    channel = daemon._channel()
    try:
        yield specializer_pb2_grpc.SpecializerStub(channel)
    finally:
        channel.close()
        daemon.stop()


def request_for(kernel, args, role, client_text=None):
    """The client's request (it names the role, TuningRequest.entry, and no
    shape class); `client_text`: a shape class of a client's own making beside it."""
    request = kernel._build_request(args, kernel._capture(), tuning=_request.TuningAsk("exhaustive", role))
    if client_text is not None:
        request.tuning.shape_class = client_text
    return request


def label_of(space, params):
    """The variant that `params` select: every parameter at its default unless a param names it."""
    chosen = {p.name: params.get("variant." + p.name, p.default_value) for p in space}
    return ",".join(f"{name}={chosen[name]}" for name in sorted(chosen))


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_the_client_and_the_daemon_agree_on_the_shape_class_and_every_candidates_params(stub, case):
    _, make, args, role, expected_class = case
    kernel = make()
    request = request_for(kernel, args, role)
    plan = stub.Specialize(request, timeout=120).tuning
    assert plan.shape_class == expected_class
    assert plan.record.shape_class == expected_class  # the record is kept under the daemon's class

    # The client's text counts for its role only: a wrong class changes nothing.
    for text in (role, f"{role}:99x99:s", f"{role}:garbage"):
        misled = stub.Specialize(request_for(kernel, args, role, client_text=text), timeout=120).tuning
        assert misled.shape_class == expected_class

    # Exhaustive: the first plan lists every variant of the space, each with its params.
    summary = _tuning.plan_summary(plan)
    names = [p.name for p in plan.space]
    every_variant = {",".join(f"{name}={value}" for name, value in sorted(zip(names, values)))
                     for values in itertools.product(*[p.values for p in plan.space])}
    assert len(every_variant) > 1
    assert set(plan.candidates) == every_variant
    for label in every_variant:
        params = _tuning.variant_params(summary, label)
        assert params == dict(plan.candidate_params[label].params)
        assert label_of(plan.space, params) == label
        assert all(value != next(p.default_value for p in plan.space if "variant." + p.name == name)
                   for name, value in params.items())  # defaults left out: the default variant is the plain request
    assert summary["candidate_params"][plan.variant] == dict(plan.variant_params)

    # The daemon serves the artifact of a candidate's params once it chose that candidate.
    label = sorted(every_variant)[-1]
    variant = pb.SpecializeRequest()
    variant.CopyFrom(request)
    variant.ClearField("tuning")
    variant.params.update(_tuning.variant_params(summary, label))
    variant_key = stub.Specialize(variant, timeout=120).key
    report = pb.ReportTimingsRequest(finish=True)
    report.request.CopyFrom(request)
    for other in sorted(every_variant):
        seconds = 1e-3 if other == label else 2e-3
        report.reports.add(variant=other, samples=[seconds] * 3)
    chosen = stub.ReportTimings(report, timeout=60)
    assert chosen.state == pb.TuningPlan.CHOSEN and chosen.variant == label
    assert dict(chosen.variant_params) == dict(plan.candidate_params[label].params)
    served = stub.Specialize(request, timeout=120)
    assert served.tuning.variant == label
    assert served.key == variant_key


def test_the_client_has_no_rule_of_its_own(stub):
    """Params come from the plan alone: a summary whose space is gone still
    gives them, and a label the plan does not name is an error, not a guess."""
    summary = {"space": [], "candidate_params": {"unroll=4": {"variant.unroll": "4"}}}
    assert _tuning.variant_params(summary, "unroll=4") == {"variant.unroll": "4"}
    with pytest.raises(LookupError, match="unroll=2"):
        _tuning.variant_params(summary, "unroll=2")
    # The client keys its tuned handles by its role and exact shapes, no size class.
    assert _tuning.tuning_scope("iterate", [np.ones((100, 60)), np.ones((5,))[::2]]) == "iterate:100x60,3:cs"
