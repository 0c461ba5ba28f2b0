"""Compiling in the background (sejits.config(compile="async")).

A signature whose kernel is not built yet gets a PendingKernel in the
dispatcher's map: a daemon thread asks the daemon for the compiled kernel
and loads it, while the calls run the interim code, the vectorized NumPy
form of the same kernel (printed by the daemon from the same IR, in
milliseconds, with no compiler). The first call after the build finished
puts the compiled kernel in the map; from then on calls go straight to it.
A kernel without a NumPy form is built on the calling thread: the call waits."""

import threading

import numpy as np


class InterimKernel:
    """The vectorized NumPy form of a kernel, called like a native kernel:
    kernel(args, out) writes the result into `out`."""

    library = None  # no other entry points: iterate runs sweep by sweep

    def __init__(self, function, result_dtype, info):
        self._function = function
        self.result_dtype = np.dtype(result_dtype)
        self.info = info

    def __call__(self, args, out):
        self._function(args, out)


class PendingKernel:
    """`build()` runs on a daemon thread (a process that exits does not wait
    for it; the daemon finishes the compile and caches it for the next run)
    and returns what the signature maps to once built: a loaded kernel or a
    tuning session. Its exception, if it raises, is kept for the dispatcher
    to report on the caller's thread."""

    def __init__(self, build, interim):
        self.interim = interim
        self._outcome = self._error = None
        self._done = threading.Event()
        threading.Thread(target=self._run, args=(build,), name="sejits-compile", daemon=True).start()

    def _run(self, build):
        try:
            self._outcome = build()
        except Exception as error:  # noqa: BLE001 - reported by the call that finds it
            self._error = error
        finally:
            self._done.set()

    def ready(self):
        return self._done.is_set()

    def wait(self):
        """(the built outcome, None) or (None, the exception): waits for it."""
        self._done.wait()
        return self._outcome, self._error
