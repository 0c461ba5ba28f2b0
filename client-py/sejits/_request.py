"""The SpecializeRequest for a kernel and a call's arguments, and the
requests derived from it (a tuning candidate, the NumPy form, a timings
report). A decorated function sends its captured AST; a library kernel
sends none, only its specializer's name and params.

Protobuf is imported on first use (_wire): a call that finds its handle in
the handle cache builds no request, and a process whose calls all do so
never imports protobuf or grpc."""

from typing import NamedTuple

from sejits import _arguments, _platforms, _worker_platform


class TuningAsk(NamedTuple):
    """What the request asks of tuning: the mode ("online", "exhaustive"),
    the entry role whose calls are timed ("call", "iterate") and, for calls
    on an OpenCL device, the device (device_identity): the choice is kept
    per device. The daemon computes the shape class from the request's args."""

    mode: str
    entry: str
    device: str = ""


def device_identity(info):
    """An OpenCL device (opencl.DeviceInfo) as tuning records name it."""
    return f"{info.name} | {info.driver_version}"


def _wire():
    # Here, not at the top: see the module's docstring.
    from sejits import _encode
    from sejits.v1 import specializer_pb2

    return specializer_pb2, _encode


def build(specializer, args, *, function=None, params=None, kernel_name="", tuning=None, want_source=False,
          platform=_platforms.CPU_OPENMP):
    """The request for `args` (normalized; arrays and scalars in the entry's
    order). `function`: the captured kernel (_capture.bind), or None for a
    library kernel; `tuning`: a TuningAsk, or None for no tuning."""
    pb, encode = _wire()
    request = pb.SpecializeRequest(specializer=specializer, params=params or {})
    if function is not None:
        encode.encode_function(function, request.function)
    request.options.want_source = want_source
    request.target.platform = platform
    _worker_platform.fill(request.target.worker)
    for value in args:
        request.args.append(_arguments.describe(value, pb, encode.dtype_code))
    if tuning is not None:
        request.tuning.mode = pb.TUNING_EXHAUSTIVE if tuning.mode == "exhaustive" else pb.TUNING_ONLINE
        request.tuning.entry = tuning.entry
        request.tuning.device = tuning.device
        request.tuning.kernel_name = kernel_name
    return request


def untuned_copy(request, params=None, platform=None):
    """`request` without tuning, with `params` added (a tuning candidate's) or for another platform."""
    pb, _ = _wire()
    copy = pb.SpecializeRequest()
    copy.CopyFrom(request)
    copy.ClearField("tuning")
    for name, value in (params or {}).items():
        copy.params[name] = value
    if platform is not None:
        copy.target.platform = platform
    return copy


def timings_report(request, reports, finish):
    """A ReportTimingsRequest: (variant label, samples in seconds, error) per variant."""
    pb, _ = _wire()
    message = pb.ReportTimingsRequest(finish=finish)
    message.request.CopyFrom(request)  # not request=: that copy parses, and refuses deep trees
    for label, samples, error in reports:
        message.reports.add(variant=label, samples=samples, error=error)
    return message
