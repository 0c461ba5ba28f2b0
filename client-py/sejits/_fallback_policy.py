"""What happens when a kernel cannot be specialized: it runs as plain
Python/NumPy (sejits.config(fallback="warn" or "silent")) or the call raises
(fallback="error"); a failure that may pass (the daemon down, an artifact
gone) is asked about again on the next call, a rejection of the kernel is
final for its signature."""

import os
import sys
import warnings

from sejits import _config, _daemon
from sejits._errors import KernelNotSendable, SpecializationError, SpecializationWarning, UndefinedNameError


class Fallback:
    """What a signature maps to when its calls run the kernel's Python form: the reason, for explain()."""

    __slots__ = ("reason",)

    def __init__(self, reason):
        self.reason = reason


class Retry:
    """A fallback for this call only: the failure may pass (daemon restarted)."""

    __slots__ = ("fallback",)

    def __init__(self, fallback):
        self.fallback = fallback


class FallbackPolicy:
    """One kernel's fallbacks: warned about once per kernel (once per outage for an unreachable daemon)."""

    def __init__(self, kernel_name, runs_instead="plain Python/NumPy"):
        self.kernel_name = kernel_name
        self.runs_instead = runs_instead  # what runs in the kernel's place, for the warning
        self._warned = False

    def fall_back(self, reason, outage=False, error_class=SpecializationError):
        """A Fallback for `reason`; raises `error_class` (a SpecializationError) under fallback="error"."""
        if _config.settings.fallback == "error":
            raise error_class(f"{self.kernel_name}: {reason}")
        if _config.settings.fallback == "warn":
            # A daemon that cannot be reached is told once per outage, by the
            # kernel that meets it first; a kernel's own reason once per kernel.
            if outage:
                first = _daemon.first_report_of_outage()
                more = "; so do other kernels that need the daemon until it answers, without another warning"
            else:
                first, more = not self._warned, ""
                self._warned = True
            if first:
                warnings.warn(f"sejits: {self.kernel_name} runs as {self.runs_instead}: {reason}{more}",
                              SpecializationWarning, stacklevel=_user_stacklevel())
        return Fallback(reason)

    def failure(self, error):
        """What a signature whose specialization raised `error` maps to: a
        Fallback, or a Retry when the failure may pass."""
        fallback = self.fall_back(describe_failure(error), outage=isinstance(error, _daemon.DaemonUnavailable),
                                  error_class=raised_as(error))
        return fallback if is_final(error) else Retry(fallback)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_stacklevel():
    """The stacklevel of the first frame outside this package: the warning
    names the user's line, however deep the kernel's call path is."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def raised_as(error):
    """What fall_back raises for `error` under fallback="error": a
    SpecializationError, of its class where it is one (an UndefinedNameError
    is a NameError too)."""
    if isinstance(error, UndefinedNameError):
        return lambda message: UndefinedNameError(message, name=error.name)
    return type(error) if isinstance(error, SpecializationError) else SpecializationError


def is_final(error):
    """Whether a failure to specialize will repeat for the same kernel and signature."""
    if isinstance(error, (SpecializationError, KernelNotSendable)):
        return True
    grpc = _grpc_if_imported()
    final_codes = () if grpc is None else (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED,
                                           grpc.StatusCode.FAILED_PRECONDITION)
    return grpc is not None and isinstance(error, grpc.RpcError) and error.code() in final_codes


def describe_failure(error):
    grpc = _grpc_if_imported()
    if grpc is not None and isinstance(error, grpc.RpcError):
        return f"the daemon answered {error.code().name}: {error.details()}"
    if isinstance(error, _daemon.DaemonUnavailable):
        return f"no daemon: {error}"
    return f"{type(error).__name__}: {error}" if not isinstance(error, SpecializationError) else str(error)


def _grpc_if_imported():
    """grpc, when installed. Imported here, not at the top: a process whose
    kernels all come from the handle cache never imports it (an RpcError
    means it is imported already)."""
    try:
        import grpc
    except ImportError:
        return None
    return grpc
