"""The `sejits` command: status, stats, daemon start|stop, tune show|export|import|reset, devices."""

import argparse
import os
import signal
import sys
import time

import sejits
from sejits import _config, _daemon, _tune_cli


def _status(_args):
    try:
        stats = sejits.stats()
    except _daemon.DaemonUnavailable as error:
        print(f"sejitsd: not running ({error})")
        return 1
    hits, misses = stats["cache_hits"], stats["cache_misses"]
    total = hits + misses
    print(f"sejitsd {stats['version']} (pid {stats['pid']}) at {_config.daemon_address()}")
    print(f"  listening:   {', '.join(stats['listen_addresses'])}")
    # What it builds: remembered handles of another build identity are not trusted.
    print(f"  build:       {stats['build_identity'] or 'no build identity (an older sejitsd)'}")
    print(f"  uptime:      {stats['uptime_seconds']:.0f} s")
    print(f"  cache:       {stats['cache_entries']} artifacts, {stats['cache_bytes'] / 1e6:.1f} MB in {stats['cache_dir']}")
    print(f"  requests:    {stats['requests']}: {hits} hits, {misses} misses"
          + (f" ({100 * hits / total:.0f}% hits)" if total else ""))
    print(f"  compiles:    {stats['compiles']} (median {stats['compile_median_seconds']:.3f} s), "
          f"{stats['compile_failures']} failed, {stats['rejected']} kernels rejected, "
          f"{stats['joined_in_flight']} joined an in-flight compile")
    print(f"  store:       {stats['corrupt_artifacts']} corrupt artifacts removed, {stats['evictions']} evicted")
    return 0


def _stats(_args):
    try:
        stats = sejits.stats()
    except _daemon.DaemonUnavailable as error:
        print(f"sejitsd: not running ({error})", file=sys.stderr)
        return 1
    width = max(map(len, stats))
    for name, value in stats.items():
        print(f"{name:<{width}}  {value}")
    return 0


def _daemon_start(_args):
    try:
        connection = _daemon.connection(autostart=False)
        print(f"sejitsd already running at {connection.address}")
        return 0
    except _daemon.DaemonUnavailable:
        pass
    try:
        connection = _daemon.start_daemon(_config.daemon_address())
    except _daemon.DaemonUnavailable as error:
        print(f"cannot start sejitsd: {error}", file=sys.stderr)
        return 1
    print(f"sejitsd started at {connection.address}")
    return 0


def _daemon_stop(_args):
    try:
        pid = sejits.stats()["pid"]
    except _daemon.DaemonUnavailable:
        print("sejitsd is not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f"sejitsd (pid {pid}) stopped")
            return 0
        time.sleep(0.05)
    print(f"sejitsd (pid {pid}) did not stop within 5 s", file=sys.stderr)
    return 1


def _devices(_args):
    from sejits import opencl

    try:
        found = opencl.devices()
    except opencl.OpenCLUnavailable as error:
        print(f"OpenCL: {error}")
        return 0
    if not found:
        print("no OpenCL devices found (install a driver, e.g. `apt-get install pocl-opencl-icd` for the CPU)")
        return 0
    header = ("#", "platform", "device", "type", "memory", "CUs", "OpenCL", "fp64")
    rows = [header] + [
        (str(info.index), info.platform, info.name, info.type, f"{info.global_mem_bytes / 2**30:.1f} GiB",
         str(info.compute_units), _opencl_version_number(info.opencl_version), "yes" if info.fp64 else "no")
        for info in found
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _opencl_version_number(version):
    # CL_DEVICE_VERSION reads "OpenCL <major>.<minor> <vendor text>".
    words = version.split()
    return words[1] if len(words) > 1 and words[0] == "OpenCL" else version


def main(argv=None):
    parser = argparse.ArgumentParser(prog="sejits", description="sejits: talk to the sejitsd daemon")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="daemon address, version, uptime, cache and compile summary").set_defaults(run=_status)
    commands.add_parser("stats", help="every daemon counter").set_defaults(run=_stats)
    daemon = commands.add_parser("daemon", help="start or stop the per-user daemon")
    daemon_commands = daemon.add_subparsers(dest="action", required=True)
    daemon_commands.add_parser("start").set_defaults(run=_daemon_start)
    daemon_commands.add_parser("stop").set_defaults(run=_daemon_stop)
    devices = commands.add_parser("devices", help="the OpenCL devices sejits can run kernels on")
    devices.set_defaults(run=_devices)
    _tune_cli.add_commands(commands)
    args = parser.parse_args(argv)
    _config.settings.autostart = False  # only `daemon start` starts one
    if args.command == "tune":
        return _tune_cli.run_guarded(args.run, args)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
