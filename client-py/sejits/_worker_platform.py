"""What this machine is, as requests report it to the daemon: a compile
server on another machine builds for this CPU level instead of its own
(see server/core/compile_target.h). The rules (which /proc/cpuinfo line lists
the CPU's features, the x86-64 levels and their features, what the CPU digest
hashes) are the daemon's own: both read codegen/include/sejits/worker_platform.h,
the client through sejits._native, so that equal digests mean the same CPU
features."""

import functools
import hashlib
import platform

from sejits import _native


def _cpu_features_line():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if _native.is_cpu_features_line(line):
                    return line.rstrip("\n")
    except OSError:
        pass
    return ""


def isa_level(features_line):
    """The highest x86-64 level whose features all appear on the line ("x86-64" at least)."""
    return _native.isa_level(features_line)


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
