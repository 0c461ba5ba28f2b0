"""explain()'s text: whether a signature gets a specialized kernel and why,
from what its signature maps to (a loaded kernel's info, a tuning session,
an interim NumPy kernel or a fallback)."""

from sejits import _tuning
from sejits._fallback_policy import Fallback


def explain(name, specializer, kernel, *, last_run, target=None, read_at_each_call=(), constants=(), notes=()):
    """`last_run`: which code ran the last call; `target`: the OpenCL
    device's name, for a device call; `read_at_each_call`/`constants`: the
    free names passed as scalar arguments / compiled in as constants;
    `notes`: the client's own notes (e.g. arrays copied to the device)."""
    last = f"  last call:   ran {last_run}"
    if type(kernel) is Fallback:
        return f"{name}: NOT specialized; runs as plain Python/NumPy.\n  reason: {kernel.reason}\n{last}"
    info = kernel.info
    lines = [
        f"{name}: specialized ({specializer}), via {info['origin']}",
        f"  signature:   {info['signature']} -> {info['result_dtype']}",
        f"  key:         {info['key']}",
        f"  cache:       {info['outcome']}"
        + (f" (compiled in {info['compile_seconds']:.3f} s)" if info["outcome"] == "compiled" else ""),
    ]
    if "artifact_path" in info:
        lines += [
            f"  artifact:    {info['artifact_path']} (sha256 {info['artifact_digest'][:16]}...)",
            f"  first call:  {1000 * info['load_seconds']:.1f} ms to specialize and load"
            + (f" (of which the RPC {1000 * info['rpc_seconds']:.1f} ms)" if info.get("rpc_seconds") else ""),
        ]
    if read_at_each_call:
        lines.append(f"  read at each call: {', '.join(read_at_each_call)} (passed as scalar arguments)")
    if constants:
        lines.append(f"  constants:   {', '.join(constants)} (a new value builds another kernel)")
    if target is not None:
        lines.insert(1, f"  target:      OpenCL on {target}")
    lines += [f"  note:        {note}" for note in [*info.get("notes", []), *sorted(notes)]]
    lines += _tuning.describe(kernel.summary if type(kernel) is _tuning.TuningSession else info.get("tuning"))
    lines.append(last)
    return "\n".join(lines)
