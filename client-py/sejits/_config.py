"""Process-wide settings: sejits.config(...) and the SEJITS_* environment."""

import os
from dataclasses import dataclass, field

FALLBACK_MODES = ("warn", "error", "silent")
COMPILE_MODES = ("async", "sync")
TARGETS = ("cpu", "opencl")


@dataclass
class Config:
    daemon: str = field(default_factory=lambda: os.environ.get("SEJITS_DAEMON", ""))
    fallback: str = field(default_factory=lambda: os.environ.get("SEJITS_FALLBACK", "warn"))
    autostart: bool = field(default_factory=lambda: os.environ.get("SEJITS_AUTOSTART", "1") != "0")
    # The deadline of every call to the daemon (a Specialize may compile for
    # minutes: the daemon's own compile timeout is 120 s).
    rpc_timeout_s: float = 300.0
    # How long a health check waits for the daemon: when connecting, and
    # while a call is in progress, to tell a stopped or hung daemon from a
    # slow compile (sejits._daemon gives up after two unanswered checks).
    health_timeout_s: float = field(default_factory=lambda: _float_or(os.environ.get("SEJITS_HEALTH_TIMEOUT_S"), 2.0))
    # "online": the known best variant, else time candidates on the first
    # calls; "exhaustive": every variant; "off": the default variant.
    tuning: str = field(default_factory=lambda: os.environ.get("SEJITS_TUNING", "online"))
    # "async": a kernel compiles in the background while its calls run its
    # vectorized NumPy form (or wait, when it has none), and tuning
    # candidates compile without blocking calls; "sync": a call that needs a
    # compile waits for it.
    compile: str = field(default_factory=lambda: os.environ.get("SEJITS_COMPILE", "async"))
    tuning_budget: int = field(default_factory=lambda: _int_or_none(os.environ.get("SEJITS_TUNING_BUDGET")))
    # Where kernels called with NumPy arrays run: "cpu" (C++/OpenMP) or
    # "opencl" (on `device`; see sejits.opencl.select_device). Calls with
    # device arrays always run on their device.
    target: str = field(default_factory=lambda: os.environ.get("SEJITS_TARGET", "cpu"))
    device: object = field(default_factory=lambda: _int_or_text(os.environ.get("SEJITS_OPENCL_DEVICE")))
    # A daemon on TCP: the bearer token it requires, and the PEM roots to
    # verify its TLS certificate with (TLS is used when set); tls_cert and
    # tls_key are this client's certificate for mutual TLS.
    token: str = field(default_factory=lambda: os.environ.get("SEJITS_TOKEN", ""))
    tls_ca: str = field(default_factory=lambda: os.environ.get("SEJITS_TLS_CA", ""))
    tls_cert: str = field(default_factory=lambda: os.environ.get("SEJITS_TLS_CERT", ""))
    tls_key: str = field(default_factory=lambda: os.environ.get("SEJITS_TLS_KEY", ""))


def _float_or(text, default):
    try:
        return float(text) if text else default
    except ValueError:
        return default


def _int_or_none(text):
    return int(text) if text else None


def _int_or_text(text):
    if not text:
        return None
    return int(text) if text.isdigit() else text


settings = Config()


def config(**options):
    """Changes settings: daemon="unix:/path" | "tcp://host:port",
    fallback="warn" | "error" | "silent", autostart=True | False,
    compile="async" | "sync" (async: calls run the vectorized NumPy form
    while the kernel compiles; fallback="error" always waits for the compile),
    tuning="online" | "exhaustive" | "off", tuning_budget=calls (None: 200
    online, unlimited exhaustive), target="cpu" | "opencl", device="gpu" |
    "cpu" | a name | an index (the OpenCL device), token="..." (a TCP daemon's
    bearer token), tls_ca="ca.pem" (verify the daemon's TLS certificate),
    tls_cert=, tls_key= (this client's, for mutual TLS), rpc_timeout_s= (every
    call's deadline), health_timeout_s= (how long a health check of the daemon
    waits). Returns the current settings."""
    for name, value in options.items():
        if not hasattr(settings, name):
            raise TypeError(f"sejits.config() got an unknown option {name!r}")
        if name == "fallback" and value not in FALLBACK_MODES:
            raise ValueError(f"fallback must be one of {FALLBACK_MODES}, not {value!r}")
        if name == "compile" and value not in COMPILE_MODES:
            raise ValueError(f"compile must be one of {COMPILE_MODES}, not {value!r}")
        if name == "tuning" and value not in ("online", "exhaustive", "off"):
            raise ValueError(f"tuning must be 'online', 'exhaustive' or 'off', not {value!r}")
        if name == "tuning_budget" and value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"tuning_budget must be a number of calls (at least 1) or None, not {value!r}")
        if name in ("rpc_timeout_s", "health_timeout_s") and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
            raise ValueError(f"{name} must be a number of seconds (more than 0), not {value!r}")
        if name == "target" and value not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, not {value!r}")
        setattr(settings, name, value)
    if "target" in options:
        _native_fast_path()
    if {"daemon", "token", "tls_ca", "tls_cert", "tls_key"} & options.keys():
        from sejits import _daemon

        _daemon.reset_connection()
    return settings


def runtime_dir():
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        return os.path.join(base, "sejits")
    return f"/tmp/sejits-{os.getuid()}"


def cache_dir():
    explicit = os.environ.get("SEJITS_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sejits")


def daemon_address():
    """The configured address as "unix:/path" or "tcp://host:port"."""
    address = settings.daemon or os.path.join(runtime_dir(), "sejitsd.sock")
    if address.startswith(("unix:", "tcp://")):
        return address
    return "unix:" + address


def _native_fast_path():
    """The native dispatch fast path runs CPU kernels on NumPy arrays: only
    while the target is the CPU."""
    from sejits import _native

    _native.set_host_fast_path(settings.target == "cpu")
