"""The benchmark runner's limits do not depend on which optional peers are
installed (issue 16: without numba, as after the quickstart, the STREAM triad
was NumPy's `a + s*b`, about half the bandwidth, and E1's sejits ran at 0.495x
its "limit"). The triad is the native stream-triad of this build; a missing
peer is listed once with the command that installs it and its rows say "not
installed", which fails nothing. Peers are hidden from a child Python the way
a missing package is: its import raises ModuleNotFoundError.
Run: python3 -m pytest -q tests/deploy/test_bench_limits.py"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench"


def bench_module(name):
    """tests/bench/<name>.py, loaded under a name of its own: tests/bench is
    not put on this process's path, where its `run` or `cases` would shadow
    other suites' modules."""
    spec = importlib.util.spec_from_file_location(f"sejits_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


peers = bench_module("peers")  # stdlib only
NOT_INSTALLED, PEER_PACKAGES = peers.NOT_INSTALLED, peers.PEER_PACKAGES
HIDDEN = list(PEER_PACKAGES)  # in the order the runner lists them
CHILD_TIMEOUT_S = 600
FAKE_TRIAD_GBS = 12.5
TRIAD_VARIANTS = {"plain_stores", "streaming_stores", "plain_stores_one_thread", "streaming_stores_one_thread"}

HIDE_THEN_RUN = """\
import sys
for module in sys.argv[1].split(","):
    if module:
        sys.modules[module] = None  # `import module` raises ModuleNotFoundError, as when not installed
sys.path.insert(0, sys.argv[2])
"""

LIMITS = HIDE_THEN_RUN + """\
import json

import cases
import elementwise
import run

machine, settings = run.cpu_settings(run.parse_args(["--size", "small"]))
print(json.dumps({
    "E1_limit_s": elementwise.limit_s(cases.CASE_E1, settings.elements, settings.stream_triad_gbs),
    "stream_triad_gbs": machine["stream_triad_gbs"],
    "stream_triad_variant": machine["stream_triad_variant"],
    "stream_triad_elements": machine["stream_triad_elements"],
    "missing": list(settings.missing_peers),
}))
"""

RUNNER = HIDE_THEN_RUN + """\
import runpy
sys.argv = [sys.argv[2] + "/run.py", *sys.argv[3:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_child(script, hidden, *argv, env=None):
    return subprocess.run([sys.executable, "-c", script, ",".join(hidden), str(BENCH), *argv],
                          env=dict(os.environ, **(env or {})), capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)


def limits(hidden, env=None):
    child = run_child(LIMITS, hidden, env=env)
    assert child.returncode == 0, f"the runner could not measure the machine:\n{child.stderr[-3000:]}"
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    if hidden:
        assert measured["missing"] == HIDDEN, measured
    else:
        assert not set(measured["missing"]) & {"numba", "numexpr"}, measured
    assert measured["stream_triad_gbs"] > 0 and measured["E1_limit_s"] > 0, measured
    measured["triad_program"] = [line for line in child.stderr.splitlines() if "STREAM triad (" in line]
    return measured


@pytest.fixture(scope="module")
def peers_installed():
    absent = [module for module in ("numba", "numexpr") if importlib.util.find_spec(module) is None]
    if absent:
        pytest.skip(f"{', '.join(absent)} not installed here: there is no run with the peers to compare")


def test_limit_s_comes_from_the_triad_program_alone(peers_installed, tmp_path):
    # A stand-in for stream-triad with a fixed figure: whatever the runner
    # imports or finds missing, E1's limit is its bytes over that figure.
    fake = tmp_path / "stream-triad"
    line = json.dumps({"stream_triad_gbs": FAKE_TRIAD_GBS, "best_variant": "fake", "elements": 1, "threads": 1})
    fake.write_text(f"#!/bin/sh\necho '{line}'\n")
    fake.chmod(0o755)
    env = {"SEJITS_STREAM_TRIAD_BIN": str(fake)}
    expected_s = 24 * 2**20 / (FAKE_TRIAD_GBS * 1e9)  # E1 at --size small: 24 B per element, 2^20 elements
    for hidden in ((), HIDDEN):
        assert limits(hidden, env)["E1_limit_s"] == pytest.approx(expected_s, rel=1e-12), hidden


def test_the_native_triad_measures_the_machine_with_and_without_the_optional_peers(peers_installed):
    # Which program measures the bandwidth, and on how many elements, decides
    # the limit; the figure itself moves by more than 10% between two runs on a
    # shared 2-core machine, so it is not compared here (the stand-in above
    # shows the figure is used as measured).
    with_peers, without_peers = limits(()), limits(HIDDEN)
    for measured in (with_peers, without_peers):
        assert len(measured["triad_program"]) == 1, measured
        assert measured["stream_triad_variant"] in TRIAD_VARIANTS, measured
    assert with_peers["triad_program"] == without_peers["triad_program"], (with_peers, without_peers)
    assert with_peers["stream_triad_elements"] == without_peers["stream_triad_elements"], (with_peers, without_peers)


def test_missing_peers_are_listed_once_and_their_rows_say_not_installed(tmp_path):
    json_path = tmp_path / "bench.json"
    child = run_child(RUNNER, HIDDEN, "--suite", "elementwise", "--size", "small", "--repeats", "1",
                      "--json", str(json_path))
    assert child.returncode == 0, f"a run without the optional peers failed:\n{child.stdout}\n{child.stderr[-3000:]}"

    install = f"{sys.executable} -m pip install {' '.join(PEER_PACKAGES[m] for m in HIDDEN)}"
    listings = [line for line in child.stderr.splitlines() if install in line]
    assert len(listings) == 1, f"expected one line with `{install}` on stderr:\n{child.stderr[-3000:]}"
    assert f"not installed: {', '.join(HIDDEN)} ({install})" in child.stdout.splitlines()[1], child.stdout

    records = [json.loads(line) for line in json_path.read_text().splitlines()]
    machine, rows = records[0], records[1:]
    assert machine["case"] == "machine" and machine["stream_triad_gbs"] > 0, machine
    assert machine["peers_not_installed"] == HIDDEN, machine
    peer_rows = [row for row in rows if row["impl"].split("-")[0] in HIDDEN]
    own_rows = [row for row in rows if row not in peer_rows]
    assert {row["impl"] for row in peer_rows} == {"numexpr", "numba-njit", "numba-vectorize"}, rows
    for row in peer_rows:
        assert row["ok"] is False and row["skipped"] == NOT_INSTALLED and row["repeats"] == 0, row
        assert "error" not in row, row
    assert {row["impl"] for row in own_rows} == {"numpy", "sejits", "sejits-out"}, rows
    assert all(row["ok"] and row["repeats"] == 1 for row in own_rows), own_rows
    for case in ("E1", "E2", "E3"):  # every row of a case has the case's limit, skipped or not
        case_limits = {row["limit_s"] for row in rows if row["case"] == case}
        assert len(case_limits) == 1 and next(iter(case_limits)) > 0, (case, case_limits)
    table_rows = [line.split() for line in child.stdout.splitlines()[2:]]
    for impl in ("numexpr", "numba-njit", "numba-vectorize"):
        assert [case for case, row_impl, *rest in table_rows if row_impl == impl and rest == ["not", "installed"]] == [
            "E1", "E2", "E3"], child.stdout
