"""The machine line of an OpenCL run: the device, its driver, and the limit,
the best device-to-device copy bandwidth measured (bytes read + written),
with sejits' OpenCL context and, when it is importable, with PyTorch."""

import os
import statistics
import subprocess
import time

import numpy as np

from gpu_impls import sejits_context
from machine import cpu_model
from measure import describe, progress

COPY_RUNS = 10
SEED = 20240604
NVIDIA_SMI_TIMEOUT_S = 30


def median_copy_gbs(name, copy, sync, nbytes):
    """Median over COPY_RUNS of one `copy()` (bracketed by `sync()`), after a warm-up."""
    kept = copy()
    sync()
    del kept
    samples = []
    for run in range(1, COPY_RUNS + 1):
        progress(f"machine: {name} device copy {run}/{COPY_RUNS}")
        sync()
        start = time.perf_counter()
        kept = copy()
        sync()
        samples.append(time.perf_counter() - start)
        del kept  # after the clock stopped
    return 2 * nbytes / statistics.median(samples) / 1e9


def sejits_copy_gbs(device_spec, source):
    """DeviceArray.copy(): a new device buffer, copied on the device."""
    context = sejits_context(device_spec)
    device_source = context.asarray(source)
    return median_copy_gbs("sejits", device_source.copy, context.finish, source.nbytes)


def torch_copy_gbs(source):
    import torch

    device_source = torch.from_numpy(source).to("cuda")
    target = torch.empty_like(device_source)
    return median_copy_gbs("torch", lambda: target.copy_(device_source), torch.cuda.synchronize, source.nbytes)


def _first_string(objects, names):
    for obj in objects:
        for name in names:
            value = getattr(obj, name, None)
            if isinstance(value, str) and value:
                return value
    return None


def sejits_device_identity(device_spec):
    """(device name, driver version) as sejits' context reports them, where it does."""
    try:
        context = sejits_context(device_spec)
    except Exception:
        return None, None
    objects = (context, getattr(context, "device", None))
    return _first_string(objects, ("device_name", "name")), _first_string(objects, ("driver_version", "driver"))


def nvidia_smi_identity():
    """(name, driver version) of the first NVIDIA GPU, or Nones."""
    try:
        output = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=True,
        ).stdout
        name, driver = (field.strip() for field in output.splitlines()[0].split(","))
        return name, driver
    except Exception:
        return None, None


def describe_gpu_machine(device_spec, copy_elements, peers_missing):
    source = np.random.default_rng(SEED).random(copy_elements, dtype=np.float32)
    machine = {"case": "machine", "target": "opencl", "device_spec": device_spec}
    copies = {}
    try:
        copies["sejits"] = sejits_copy_gbs(device_spec, source)
    except Exception as exc:
        progress(f"machine: no sejits device copy ({describe(exc)})")
        machine["copy_sejits_error"] = describe(exc)
    if "torch" in peers_missing:
        progress(f"machine: no torch device copy (torch: {peers_missing['torch']})")
    else:
        try:
            copies["torch"] = torch_copy_gbs(source)
        except Exception as exc:
            progress(f"machine: no torch device copy ({describe(exc)})")
            machine["copy_torch_error"] = describe(exc)
    name, driver = sejits_device_identity(device_spec)
    smi_name, smi_driver = nvidia_smi_identity()
    machine.update(
        {
            "device": name or smi_name or "unknown device",
            "driver": driver or smi_driver or "unknown",
            "copy_gbs": max(copies.values(), default=None),  # the limit: the best copy achieved
            "copy_gbs_sejits": copies.get("sejits"),
            "copy_gbs_torch": copies.get("torch"),
            "copy_bytes": source.nbytes,
            "cores": len(os.sched_getaffinity(0)),
            "cpu": cpu_model(),
        }
    )
    if smi_name:
        machine["nvidia_smi"] = f"{smi_name}, driver {smi_driver}"
    if peers_missing:
        machine["peers_missing"] = peers_missing
    return machine
