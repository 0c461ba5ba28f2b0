"""What this machine is, as requests report it to the daemon: a compile
server on another machine builds for this CPU level instead of its own
(see server/core/compile_target.h; the CPU digest is computed the same way
as the daemon's own, so that equal digests mean the same CPU features)."""

import functools
import hashlib
import platform

# The x86-64 psABI levels, in /proc/cpuinfo's names (as codegen/host_platform.cc).
_X86_LEVELS = (
    ("x86-64-v2", ("cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3")),
    ("x86-64-v3", ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave")),
    ("x86-64-v4", ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl")),
)


def _cpu_features_line():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line.rstrip("\n")
    except OSError:
        pass
    return ""


def isa_level(features_line):
    present = set(features_line.partition(":")[2].split())
    level = "x86-64"
    for name, required in _X86_LEVELS:
        if not present.issuperset(required):
            break
        level = name
    return level


@functools.lru_cache(maxsize=None)
def describe():
    """(machine, os, libc, isa_level, cpu_digest)"""
    line = _cpu_features_line()
    machine = platform.machine()
    libc_name, libc_version = platform.libc_ver()
    return (machine, platform.system().lower(), f"{libc_name} {libc_version}".strip(),
            isa_level(line) if machine == "x86_64" else "", hashlib.sha256(line.encode()).hexdigest())


def fill(worker):
    """Fills a sejits.v1.WorkerPlatform message."""
    worker.machine, worker.os, worker.libc, worker.isa_level, worker.cpu_digest = describe()
