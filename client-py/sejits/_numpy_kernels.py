"""Kernels of the daemon's "numpy" platform: a Python module of vectorized
NumPy printed from the same IR as the native kernel, answered at once
(nothing compiled). The client runs it while the native kernel compiles.

A loaded kernel is called as a native one is: `kernel(args, out)`, with the
(normalized) call arguments in order and a preallocated C-contiguous `out` of
the result's shape and dtype; it writes into `out` the elements the native
kernel writes and returns None."""

import numpy as np

from sejits import _arguments, _daemon, _interface, _platforms

PLATFORM = _platforms.NUMPY
FILENAME = "<sejits numpy kernel>"


def load(source, entry_symbol):
    """The function `entry_symbol` of the module text `source`, executed in a
    namespace of its own."""
    namespace = {"__name__": "sejits_numpy_kernel"}
    exec(compile(source, FILENAME, "exec"), namespace)  # noqa: S102 - the daemon's printed module
    return namespace[entry_symbol]


def request(dispatcher, args):
    """The daemon's answer (a SpecializeResponse) to a numpy-platform request
    for `dispatcher` called with `args`. Raises grpc.RpcError where the daemon
    has no NumPy form (FAILED_PRECONDITION, "no vectorized NumPy form: ...")."""
    args = tuple(_arguments.normalize(a, k) for k, a in enumerate(args))
    kernel_args, key_values = dispatcher._kernel_arguments(args)  # the free names read at this call
    message = dispatcher._build_request(kernel_args, dispatcher._capture(key_values), platform=PLATFORM)
    return _daemon.call("Specialize", message)


def specialize(dispatcher, args):
    """(kernel, result dtype, response) for `dispatcher` called with `args`."""
    response = request(dispatcher, args)
    interface = _interface.from_proto(response.interface)
    call = _interface.entry(interface, "call")
    return load(response.source, call["symbol"]), _interface.result_dtype(interface), response
