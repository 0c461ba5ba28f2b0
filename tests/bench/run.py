"""The benchmark runner: sejits against its peers and the machine's limit.

    python3 tests/bench/run.py [--suite NAME|all] [--size small|full]
                               [--json FILE] [--plot FILE.png] [--repeats N]
                               [--target cpu|opencl] [--device SPEC]

See BENCHMARKS.md. Progress goes to stderr, the table to stdout; the exit
status is non-zero if any implementation failed or gave a wrong result (a
peer that is not installed is listed at the start and its rows say "not
installed"; that is no failure).
--target opencl runs the GPU suites of gpu.py (elementwise, stencil, gmm,
reductions) on the OpenCL device SPEC (default "gpu") instead of the CPU
suites.
"""

import argparse
import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass

from daemon import fresh_daemon
from daemon_throughput import run_daemon_throughput
from elementwise import run_elementwise
from fuse import FuseScale, run_fuse
from gmm import GmmScale, run_gmm
from gpu import GPU_SUITES, run_opencl
from machine import describe_machine
from measure import BenchFailure, Settings, progress
from heat import run_heat_first_run
from overhead import run_first_calls, run_import, run_per_call, run_stencil_per_call
from peers import install_command, missing_peers
from reductions import run_reductions
from report import plot, print_table, write_json
from sparse import SparseScale, run_sparse
from stencil import run_stencil
from tuning import run_tuning

SUITES = {
    "elementwise": [run_elementwise],
    "reductions": [run_reductions],
    "overhead": [run_per_call, run_stencil_per_call, run_first_calls, run_import, run_heat_first_run],
    "stencil": [run_stencil],
    "daemon": [run_daemon_throughput],
    "gmm": [run_gmm],
    "sparse": [run_sparse],
    "fuse": [run_fuse],
    "tuning": [run_tuning],  # sets its own tuning mode; every other suite measures the default variant
}

STREAM_RUNS = 10


@dataclass(frozen=True)
class Size:
    elements: int  # element-wise cases
    stream_elements: int  # per STREAM array: large enough to defeat the caches
    grid_edges: dict  # rank -> edge of the stencil cases' grids
    gmm: GmmScale  # the GMM cases' N (divided from BENCHMARKS.md's) and timed fits
    sparse: SparseScale  # the sparse cases' matrices and timed repeats
    fuse: FuseScale  # the fusion cases' sizes and timed repeats


SIZES = {
    "small": Size(2**20, 2**23, {2: 512, 3: 64}, GmmScale(samples_divisor=100, repeats=2),
                  SparseScale(edge_2d=512, edge_3d=48, graph_vertices=2**17, cg_edge_2d=128, repeats=5),
                  FuseScale(grid_edge=256, options=2**16, softmax_rows=256, softmax_columns=128, points=2**12,
                            repeats=5)),
    "full": Size(2**24, 2**25, {2: 4096, 3: 256}, GmmScale(samples_divisor=1, repeats=3),
                 SparseScale(edge_2d=2048, edge_3d=128, graph_vertices=2**21, cg_edge_2d=2048, repeats=5),
                 FuseScale(grid_edge=4096, options=2**24, softmax_rows=8192, softmax_columns=1024, points=2**20,
                           repeats=5)),
}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", choices=[*SUITES, "all"], default="all")
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--json", metavar="FILE", help="write one JSON object per line")
    parser.add_argument("--plot", metavar="FILE.png", help="draw each case's times relative to its limit")
    parser.add_argument("--repeats", type=int, metavar="N", help="timed repeats per implementation (default: per case)")
    parser.add_argument("--target", choices=("cpu", "opencl"), default="cpu", help="where kernels run (default: cpu)")
    parser.add_argument(
        "--device", default="gpu", metavar="SPEC",
        help="--target opencl: the device, as sejits.opencl.context(device=SPEC) takes it (default: gpu)",
    )
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.target == "opencl" and args.suite not in (*GPU_SUITES, "all"):
        parser.error(f"--target opencl runs the suites {', '.join(GPU_SUITES)} or all; {args.suite!r} is CPU only")
    return args


def use_private_daemon(stack):
    """Point sejits (this process and its children) at a sejitsd of this
    checkout with an empty cache, not at a per-user daemon left running."""
    workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="sejits-bench-"))
    try:
        os.environ.update(stack.enter_context(fresh_daemon(workdir)))
    except BenchFailure as exc:
        progress(f"no private sejitsd for this run ({exc}); sejits uses its default daemon")


def cpu_settings(args):
    """The machine line and the CPU suites' settings. The optional peers that
    are not installed are listed first, once, with the command that installs
    them; the limits do not depend on them (machine.py)."""
    missing = missing_peers()
    if missing:
        progress(f"not installed: {', '.join(missing)} (their rows say \"not installed\"); "
                 f"install them with: {install_command(missing)}")
    size = SIZES[args.size]
    machine = describe_machine(size.stream_elements, STREAM_RUNS)
    machine["peers_not_installed"] = list(missing)
    return machine, Settings(size.elements, machine["stream_triad_gbs"], args.repeats, size.grid_edges, missing,
                             peak_gflops=machine["peak_gflops"], gmm_scale=size.gmm,
                             sparse_scale=size.sparse, fuse_scale=size.fuse)


def run_cpu(args):
    """The machine line (STREAM triad) and the results of the CPU suites."""
    machine, settings = cpu_settings(args)
    suites = [suite for name, suites in SUITES.items() if args.suite in (name, "all") for suite in suites]
    return machine, [result for suite in suites for result in suite(settings)]


def main(argv=None):
    args = parse_args(argv)
    # A kernel sejits cannot specialize must fail here, not run as NumPy.
    os.environ["SEJITS_FALLBACK"] = "error"
    # Every suite measures the default variant (and so do the processes it
    # starts), except "tuning", which turns tuning on for its own rows.
    os.environ["SEJITS_TUNING"] = "off"
    if "sejits" in sys.modules:  # imported before main(): its settings are already read
        sys.modules["sejits"].config(tuning="off")
    with contextlib.ExitStack() as stack:
        use_private_daemon(stack)
        try:
            if args.target == "opencl":
                machine, results = run_opencl(args.suite, args.size, args.device, args.repeats)
            else:
                machine, results = run_cpu(args)
        except BenchFailure as exc:  # no machine line, so no limits: nothing to compare against
            progress(f"error: {exc}")
            return 2
    print_table(machine, results)
    if args.json:
        write_json(args.json, machine, results)
    if args.plot:
        plot(args.plot, machine, results)
    return 1 if any(result.failed for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
