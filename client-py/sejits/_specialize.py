"""A signature's miss: the handle cache, else the daemon; then the loaded
kernel, a tuning session, or (compile="async") a PendingKernel running the
kernel's NumPy form while the compiled one builds. Any kind of kernel
(a decorated function, a library kernel) comes here with a Miss."""

import dataclasses
import os
import time
from typing import Callable

from sejits import _artifacts, _config, _daemon, _handle_cache, _interface, _numpy_kernels, _pending, _request
from sejits._handle import Handle


@dataclasses.dataclass(frozen=True)
class Miss:
    """What one signature's miss needs to know of its kernel."""

    fingerprint: str  # the kernel's identity in the handle cache (a captured function's: its source and names)
    handle_key: tuple  # the signature, the options and, with tuning, the mode and the tuning scope
    request: Callable  # () -> the SpecializeRequest; called on first need: a handle-cache hit imports no protobuf


def specialize(miss, *, send, load, start_tuning, interim=None):
    """What calls on the missed signature run: the loaded kernel, or a
    TuningSession while the plan's candidates are timed, or a PendingKernel.

    `send(request)` answers a Handle (ask_daemon); `load(handle, origin)`
    gives the kernel (None: nothing to run); `start_tuning(request, handle,
    kernel, remember)` gives a TuningSession (`remember(handle)` keeps a
    handle in the handle cache); `interim(request)`, given only when misses
    compile in the background, gives an InterimKernel or None. Failures
    raise: the caller's fallback policy decides."""
    request = None

    def the_request():
        nonlocal request
        request = request or miss.request()
        return request

    def remember(handle):
        _handle_cache.remember(miss.fingerprint, miss.handle_key, handle)

    def ask():
        handle = send(the_request())
        if handle.tuning_settled:  # a plan still in progress is the daemon's to update
            remember(handle)
        return handle, f"daemon at {_config.daemon_address()}"

    def build(handle, origin):
        if handle is None:
            handle, origin = ask()
        try:
            kernel = load(handle, origin)
        except Exception:  # noqa: BLE001 - a missing file is the one failure asked about again
            if os.path.exists(handle.artifact_path):
                raise
            # The daemon's cache evicted the artifact between its answer and
            # this load: asked again, it builds the kernel once more.
            handle, origin = ask()
            kernel = load(handle, origin)
        if kernel is not None and handle.tuning_in_progress:
            return start_tuning(the_request(), handle, kernel, remember)
        return kernel

    handle = _handle_cache.lookup(miss.fingerprint, miss.handle_key)
    if handle is not None:
        handle = handle.replace(rpc_seconds=0.0)  # the RPC was another process's: this one made none
    if handle is not None or interim is None:
        return build(handle, "handle cache (no RPC)")
    interim_kernel = interim(the_request())
    if interim_kernel is None:  # without a NumPy form the call waits for the compile anyway: here
        return build(None, None)
    return _pending.PendingKernel(lambda: build(None, None), interim_kernel)


def compiles_in_background():
    """compile="async": misses are built on a daemon thread while calls run
    the NumPy form; under fallback="error" only compiled code runs."""
    return _config.settings.compile == "async" and _config.settings.fallback != "error"


def ask_daemon(request):
    """The daemon's answer to `request`, as a Handle whose artifact path is
    where this process reads it (fetched now if the daemon's file is not
    ours to read)."""
    started = time.perf_counter()
    response = _daemon.call("Specialize", request)
    handle = Handle.from_response(response, rpc_seconds=time.perf_counter() - started)
    return handle.replace(artifact_path=_artifacts.local_path(handle.artifact_path, handle.artifact_digest))


def interim_kernel(request, signature):
    """The kernel's vectorized NumPy form (an InterimKernel), or None (the
    daemon has none for it, or cannot be asked). `signature`: the call's, for people."""
    try:
        response = _daemon.call("Specialize", _request.untuned_copy(request, platform=_numpy_kernels.PLATFORM))
        handle = Handle.from_response(response, rpc_seconds=0.0)
        function = _numpy_kernels.load(response.source, _interface.entry(handle.interface, "call")["symbol"])
    except Exception:  # noqa: BLE001 - without a NumPy form, calls wait for the compiled kernel
        return None
    info = {"origin": "the daemon's vectorized NumPy form (while the kernel compiles)", "signature": signature,
            "result_dtype": str(handle.result_dtype), "key": handle.key, "outcome": "numpy",
            "notes": list(handle.notes), "output_dtypes": _interface.output_dtypes(handle.interface)}
    return _pending.InterimKernel(function, info["result_dtype"], info)

