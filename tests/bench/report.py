"""The outputs of a run: the table on stdout, JSON lines, the plot."""

import json

from measure import progress
from peers import install_command

HEADER = ("case", "impl", "median", "min", "max", "limit", "x limit", "x best peer")


def by_case(results):
    """Results grouped by case, cases in the order they first appear."""
    groups = {}
    for result in results:
        groups.setdefault(result.case, []).append(result)
    return groups


def best_peer_s(results):
    """Fastest median among the implementations sejits is compared with."""
    peers = [r.median_s for r in results if r.ok and not r.impl.startswith("sejits")]
    return min(peers, default=None)


def format_seconds(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_ratio(numerator, denominator):
    if numerator is None or not denominator:
        return "-"
    return f"{numerator / denominator:.3g}"


def format_bytes(count):
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(count) >= scale:
            return f"{count / scale:.3g}{unit}"
    return f"{count}B"


def format_extra(extra):
    """A result's case-specific figures as "key=value" words (*_s keys are
    seconds, *_per_s rates, gbs and *_gbs bandwidths in GB/s, *_bytes
    sizes)."""
    words = []
    for key, value in extra.items():
        if key.endswith("_bytes") and isinstance(value, int):
            value = format_bytes(value)
        elif isinstance(value, float):
            seconds = key.endswith("_s") and not key.endswith("_per_s")
            bandwidth = key == "gbs" or key.endswith("_gbs")
            if seconds:
                value = format_seconds(value).replace(" ", "")
            else:
                value = f"{value:.1f}" if bandwidth else f"{value:.3g}"
        words.append(f"{key}={value}")
    return " ".join(words)


def _row(result, best_peer):
    if result.skipped:
        return (result.case, result.impl, result.skipped)
    if not result.ok:
        return (result.case, result.impl, f"FAILED: {result.error}")
    times = (result.median_s, result.min_s, result.max_s, result.limit_s)
    return (
        result.case,
        result.impl,
        *(format_seconds(t) for t in times),
        format_ratio(result.median_s, result.limit_s),
        format_ratio(result.median_s, best_peer),
        format_extra(result.extra),
    )


def format_gbs(gbs):
    return "-" if gbs is None else f"{gbs:.1f}"


def machine_headline(machine):
    """What the limits were measured on: the CPU and its STREAM triad, or the
    OpenCL device and its best device-to-device copy."""
    if machine.get("target") == "opencl":
        return (
            f"{machine['device']} (driver {machine['driver']}) through OpenCL, "
            f"device copy {format_gbs(machine['copy_gbs'])} GB/s "
            f"(sejits {format_gbs(machine['copy_gbs_sejits'])}, torch {format_gbs(machine['copy_gbs_torch'])}); "
            f"host {machine['cpu']}, {machine['cores']} cores"
        )
    peak = machine.get("peak_gflops")
    return (f"{machine['cpu']}, {machine['cores']} cores, STREAM triad {machine['stream_triad_gbs']:.1f} GB/s, "
            f"peak {'-' if peak is None else f'{peak:.1f}'} GFLOP/s (float64)")


def print_table(machine, results):
    print(f"machine: {machine_headline(machine)}")
    if missing := machine.get("peers_not_installed"):
        print(f"not installed: {', '.join(missing)} ({install_command(missing)})")
    if missing := machine.get("peers_missing"):  # OpenCL target: peers with no rows, and why
        print(f"peers missing: {'; '.join(f'{peer} ({why})' for peer, why in missing.items())}")
    rows = [(*HEADER, "notes")]  # notes: a result's extra figures (D1's calls/s, tuning's calls and ratios)
    for case_results in by_case(results).values():
        best_peer = best_peer_s(case_results)
        rows += [_row(result, best_peer) for result in case_results]
    full_rows = [row for row in rows if len(row) == len(rows[0])]  # failures and skipped rows span the columns
    widths = [max(len(row[column]) for row in full_rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def write_json(path, machine, results):
    with open(path, "w") as out:
        for record in [machine, *(result.to_json() for result in results)]:
            out.write(json.dumps(record) + "\n")


def _grouped_bars(axes, results, value, colors):
    """One group of bars per case, one bar per implementation measured there."""
    groups = by_case(results)
    width = 0.8 / max(len(case_results) for case_results in groups.values())
    for position, case_results in enumerate(groups.values()):
        for index, result in enumerate(case_results):
            offset = (index - (len(case_results) - 1) / 2) * width
            axes.bar(position + offset, value(result), width, color=colors[result.impl], label=result.impl)
    axes.set_xticks(range(len(groups)), list(groups))
    handles_by_label = dict(zip(*reversed(axes.get_legend_handles_labels())))
    axes.legend(handles_by_label.values(), handles_by_label.keys(), fontsize="small")


def _draw_limited(axes, results, colors):
    _grouped_bars(axes, results, lambda r: r.median_s / r.limit_s, colors)
    axes.axhline(1.0, color="black", linewidth=1, linestyle="--")
    axes.set_ylabel("median / limit_s (1 = physical limit)")


def _draw_unlimited(axes, results, colors):
    _grouped_bars(axes, results, lambda r: r.median_s, colors)
    axes.set_yscale("log")
    axes.set_ylabel("median seconds")


def plot(path, machine, results):
    """Per case, each implementation's median relative to limit_s; cases
    without a limit are drawn below, in seconds on a log scale."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        progress("matplotlib is not installed (pip install matplotlib): skipping --plot")
        return
    measured = [result for result in results if result.ok]
    panels = [
        (draw, rows)
        for draw, rows in (
            (_draw_limited, [result for result in measured if result.limit_s]),
            (_draw_unlimited, [result for result in measured if not result.limit_s]),
        )
        if rows
    ]
    if not panels:
        progress("nothing was measured: skipping --plot")
        return
    impls = dict.fromkeys(result.impl for result in measured)
    colors = {impl: f"C{index}" for index, impl in enumerate(impls)}
    figure, axes_list = plt.subplots(len(panels), 1, figsize=(10, 4.5 * len(panels)), squeeze=False)
    for axes, (draw, rows) in zip(axes_list[:, 0], panels):
        draw(axes, rows, colors)
    long_title = {"fontsize": "small"} if machine.get("target") == "opencl" else {}
    axes_list[0, 0].set_title(machine_headline(machine), **long_title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
