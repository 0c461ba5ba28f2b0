"""A node daemon without a compiler in front of an upstream compile server:
misses go upstream once, hits stay on the node, an upstream that is down
leaves the node serving what it has; many processes at once; and code built
for a worker whose CPU differs from the compile server's."""

import os
import subprocess
import sys
import textwrap

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import Daemon  # noqa: E402

TOKEN = "node-to-upstream-token-0815"
KERNELS = 20

# KERNELS distinct element-wise kernels (their constants differ), each checked
# against NumPy; written out, since kernels are captured from their source.
CLIENT = "\n".join([
    "import sys",
    "import numpy as np",
    "import sejits",
    *(f"def kernel_{k}(x):\n    return x * {k}.5 - {k}" for k in range(KERNELS)),
    textwrap.dedent("""
        first, count = int(sys.argv[1]), int(sys.argv[2])
        a = np.linspace(-3.0, 3.0, 257)
        for k in range(first, first + count):
            kernel = sejits.elementwise(globals()[f"kernel_{k}"])
            np.testing.assert_array_equal(kernel(a), a * (k + 0.5) - k)
        print("ok")
    """),
])


def run_clients(tmp_path, address, processes=1, first=0, count=1, timeout=300):
    """`processes` fresh client processes at once, each calling kernels first..first+count-1."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    children = []
    for index in range(processes):
        env = dict(os.environ, SEJITS_DAEMON=address, SEJITS_AUTOSTART="0", SEJITS_FALLBACK="error",
                   SEJITS_TUNING="off", SEJITS_CACHE_DIR=str(tmp_path / f"client-cache-{index}"))
        children.append(subprocess.Popen([sys.executable, str(script), str(first), str(count)], env=env,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for child in children:
        out, err = child.communicate(timeout=timeout)
        results.append((child.returncode, out, err))
    return results


def assert_all_ok(results):
    for returncode, out, err in results:
        assert returncode == 0 and out.strip() == "ok", err[-3000:]


@pytest.fixture
def upstream(tmp_path):
    instance = Daemon(tmp_path / "upstream", unix=False, tcp=True, token=TOKEN).start()
    yield instance
    instance.stop()


@pytest.fixture
def node(tmp_path, upstream):
    """A node daemon with no compiler that forwards its misses to `upstream`."""
    instance = Daemon(tmp_path / "node").start("--compiler=none", f"--upstream={upstream.tcp_address}",
                                              f"--upstream_token_file={upstream.root / 'token'}")
    yield instance
    instance.stop()


def test_the_node_serves_upstream_builds_and_its_own_hits(node, upstream, tmp_path):
    assert node.stats().compiler == "none" and node.stats().upstream == upstream.tcp_address
    assert_all_ok(run_clients(tmp_path / "first", node.address))
    assert upstream.stats().compiles == 1
    assert node.stats().upstream_requests == 1 and node.stats().compiles == 0
    upstream_requests = upstream.stats().requests

    assert_all_ok(run_clients(tmp_path / "second", node.address))  # a fresh client cache: asks the node
    assert node.stats().cache_hits >= 1
    assert upstream.stats().requests == upstream_requests, "the node asked the upstream for what it had"

    upstream.stop()
    assert_all_ok(run_clients(tmp_path / "third", node.address))  # a hit needs no upstream
    [(returncode, _, err)] = run_clients(tmp_path / "fourth", node.address, first=7)  # a miss does
    assert returncode != 0
    assert "UNAVAILABLE" in err and f"upstream {upstream.tcp_address}" in err
    # (The client retries an UNAVAILABLE call once, as it would for a restarting daemon.)
    assert node.stats().upstream_failures >= 1 and node.stats().cache_entries == 1


def test_a_node_without_upstream_or_compiler_does_not_start(tmp_path):
    with pytest.raises(RuntimeError, match="--compiler=none needs an --upstream"):
        Daemon(tmp_path / "lonely").start("--compiler=none")


def test_many_processes_through_one_node_compile_each_kernel_once(node, upstream, tmp_path):
    assert_all_ok(run_clients(tmp_path, node.address, processes=32, count=KERNELS, timeout=600))
    assert upstream.stats().compiles == KERNELS
    assert upstream.stats().compile_failures == 0
    assert node.stats().upstream_requests == KERNELS and node.stats().upstream_failures == 0
    assert node.stats().compiles == 0


# ---- a worker whose CPU is not the compile server's ------------------------------

WORKER = textwrap.dedent("""
    import sys
    import numpy as np
    import sejits
    from sejits import _worker_platform

    # This process claims another CPU than the daemon's: x86-64-v2 (no AVX), or another architecture.
    machine, level = sys.argv[1], sys.argv[2]
    _worker_platform.describe = lambda: (machine, "linux", "glibc 2.36", level, "0" * 64)

    @sejits.elementwise
    def damped(a, b):
        return a * b + 0.25 * a

    a = np.linspace(0.0, 1.0, 1001)
    np.testing.assert_array_equal(damped(a, a), a * a + 0.25 * a)
    print(damped.explain(a, a))
""")


def run_worker(tmp_path, address, machine, level):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "worker.py").write_text(WORKER)
    env = dict(os.environ, SEJITS_DAEMON=address, SEJITS_TOKEN=TOKEN, SEJITS_AUTOSTART="0", SEJITS_FALLBACK="error",
               SEJITS_TUNING="off", SEJITS_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.run([sys.executable, str(tmp_path / "worker.py"), machine, level], env=env, capture_output=True,
                          text=True, timeout=120)


def test_code_for_another_cpu_uses_its_level_not_the_servers(upstream, tmp_path):
    result = run_worker(tmp_path / "v2", upstream.tcp_address, "x86_64", "x86-64-v2")
    assert result.returncode == 0, result.stderr
    assert "compiled for x86-64-v2" in result.stdout
    [artifact] = (tmp_path / "v2" / "cache" / "artifacts").rglob("*.so")
    disassembly = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(artifact)], capture_output=True, text=True,
                                 check=True).stdout
    assert "%ymm" not in disassembly and "%zmm" not in disassembly, "AVX instructions in code for an x86-64-v2 worker"


def test_a_worker_of_another_architecture_is_refused(upstream, tmp_path):
    result = run_worker(tmp_path / "arm", upstream.tcp_address, "aarch64", "")
    assert result.returncode != 0
    assert "this daemon compiles for x86_64 but the worker is aarch64" in result.stderr
