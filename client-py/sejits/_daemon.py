"""The connection to sejitsd: address, channel, health check, and starting a
per-user daemon when none answers (the embedded default)."""

import os
import shlex
import shutil
import subprocess
import threading
import time

from sejits import _config

_lock = threading.Lock()
_connection = None
_HEALTH_SERVING = b"\x08\x01"  # grpc.health.v1.HealthCheckResponse{status: SERVING}
# While a call is in progress the daemon's health is checked every
# _PROBE_EVERY_S; _HUNG_AFTER unanswered checks in a row give the call up.
# (Not gRPC keepalive: the daemon's server allows one ping per 5 minutes
# during a call without data and answers more with GOAWAY, which would fail
# every compile longer than a few pings.)
_PROBE_EVERY_S = 5.0
_HUNG_AFTER = 2
# After no daemon could be reached, calls fail at once for this long: a loop
# of fallback calls must not wait for a health check (or start a daemon) each.
_RETRY_AFTER_S = 5.0
_outage = None  # (why, until when) while calls fail at once
_outage_told = False  # whether this outage was reported: one warning however many kernels fall back
# address -> (build identity, what it was learned from): see build_identity.
_identities = {}


class DaemonUnavailable(Exception):
    """No daemon answers at the configured address (and none could be started)."""


class Connection:
    def __init__(self, address):
        import grpc

        from sejits.v1 import specializer_pb2_grpc

        self.address = address
        target = address[len("tcp://"):] if address.startswith("tcp://") else address
        settings = _config.settings
        # Short reconnect backoff: a daemon that was just started (or restarted)
        # is seen within milliseconds, not after gRPC's default one second.
        # gRPC takes "min_reconnect_backoff" as the time a connection attempt
        # gets to complete (at least 100 ms): the health timeout, so that a
        # busy daemon is not taken for a missing one.
        options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.enable_retries", 0),
                   ("grpc.initial_reconnect_backoff_ms", 20),
                   ("grpc.min_reconnect_backoff_ms", int(settings.health_timeout_s * 1000)),
                   ("grpc.max_reconnect_backoff_ms", 500)]
        if settings.tls_ca:
            self.channel = grpc.secure_channel(target, _tls_credentials(settings), options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self.metadata = (("authorization", f"Bearer {settings.token}"),) if settings.token else ()
        self.stub = specializer_pb2_grpc.SpecializerStub(self.channel)
        self._health = self.channel.unary_unary("/grpc.health.v1.Health/Check")

    def healthy(self, timeout=None):
        import grpc

        timeout = timeout or _config.settings.health_timeout_s
        try:
            return self._health(b"", timeout=timeout) == _HEALTH_SERVING
        except grpc.RpcError as error:
            self.last_error = error.details() or error.code().name
            return False

    def unavailable(self):
        """Why this daemon does not answer, with what to check."""
        reason = f"no daemon answers at {self.address}"
        if getattr(self, "last_error", None):
            reason += f" ({self.last_error})"
        if self.address.startswith("tcp://") and not _config.settings.tls_ca:
            reason += "; if it serves TLS, give its CA with SEJITS_TLS_CA or sejits.config(tls_ca=...)"
        return DaemonUnavailable(reason)

    def close(self):
        self.channel.close()


def _tls_credentials(settings):
    import grpc

    def read(path, what):
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as error:
            raise DaemonUnavailable(f"cannot read the {what} {path}: {error.strerror}") from None

    roots = read(settings.tls_ca, "TLS CA file (SEJITS_TLS_CA)")
    key = read(settings.tls_key, "TLS key (SEJITS_TLS_KEY)") if settings.tls_key else None
    chain = read(settings.tls_cert, "TLS certificate (SEJITS_TLS_CERT)") if settings.tls_cert else None
    return grpc.ssl_channel_credentials(root_certificates=roots, private_key=key, certificate_chain=chain)


def reset_connection():
    """Forgets the connection, any outage and the daemons' identities (the settings changed)."""
    global _connection, _outage, _outage_told
    with _lock:
        if _connection is not None:
            _connection.close()
        _connection, _outage, _outage_told = None, None, False
        _identities.clear()


# ---- the daemon's build identity -------------------------------------------
# A handle remembered on disk is trusted only while the daemon at the address
# has the build identity recorded in it (sejitsd's version, its specializers'
# versions, compiler identity and flags, kernel ABI). It is learned once per
# daemon: from the file a Unix-socket daemon writes beside its socket (no
# RPC, no gRPC import: a stat per lookup tells whether another daemon wrote
# it since), or with one GetStats per process from a TCP daemon (then from its
# answers). Unknown (no daemon, an older one, an error): no handle is trusted.


def identity_file(socket_path):
    """Where sejitsd publishes "<build identity>\n<pid>\n" (server/main.cc)."""
    return socket_path + ".identity"


def build_identity():
    """The build identity of the daemon at the configured address, or None."""
    address = _config.daemon_address()
    if address.startswith("unix:"):
        return _unix_identity(address)
    known = _identities.get(address)
    if known is None:
        known = _identities[address] = (_ask_identity(), "GetStats")
    return known[0] or None


def answered_by(identity):
    """Notes the build identity a TCP daemon just answered with (a restarted
    daemon is recognized by its answers)."""
    address = _config.daemon_address()
    if identity and not address.startswith("unix:"):
        _identities[address] = (identity, "answer")


def _unix_identity(address):
    path = identity_file(address[len("unix:"):])
    try:
        status = os.stat(path)
    except OSError:
        return None  # no daemon (it is started by the RPC path), or one that writes no identity
    written = (status.st_ino, status.st_mtime_ns, status.st_size)
    known = _identities.get(address)
    if known is not None and known[1] == written:
        return known[0]
    try:
        with open(path) as f:
            identity, pid = f.read().split()
        pid = int(pid)
    except (OSError, ValueError):
        return None
    # A daemon killed without its clean exit leaves its file: its identity
    # says nothing about the daemon the next RPC starts.
    if not _alive(pid):
        return None
    _identities[address] = (identity, written)
    return identity


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's daemon (a shared one): it exists
    return True


def _ask_identity():
    import grpc

    from sejits.v1 import specializer_pb2 as pb

    try:
        return call("GetStats", pb.GetStatsRequest(), timeout=_config.settings.health_timeout_s).build_identity
    except (DaemonUnavailable, grpc.RpcError):
        return None  # the Specialize that follows tells the user why


def _drop(conn, why=None):
    """Closes `conn` if it is still the connection; with `why`, calls fail at
    once with it for _RETRY_AFTER_S."""
    global _connection, _outage
    with _lock:
        if _connection is conn:
            _connection = None
            conn.close()
            _identities.pop(conn.address, None)  # the daemon that answers next may be another
        if why is not None:
            _outage = (why, time.monotonic() + _RETRY_AFTER_S)


def first_report_of_outage():
    """True once per outage (until a daemon answers again): the warning that
    kernels run as Python is given once, not once per kernel."""
    global _outage_told
    with _lock:
        first, _outage_told = not _outage_told, True
        return first


def daemon_binary():
    explicit = os.environ.get("SEJITS_DAEMON_BIN")
    if explicit:
        return explicit
    found = shutil.which("sejitsd")
    if found:
        return found
    raise DaemonUnavailable("sejitsd was not found on PATH; install it (./deploy/quickstart.sh) or set SEJITS_DAEMON_BIN")


def start_daemon(address, wait_s=20.0):
    """Starts a per-user sejitsd listening on the Unix socket `address`."""
    if not address.startswith("unix:"):
        raise DaemonUnavailable(f"no daemon answers at {address} (only Unix-socket daemons are started automatically)")
    socket_path = address[len("unix:"):]
    log_dir = _config.cache_dir()
    os.makedirs(log_dir, exist_ok=True)
    command = [daemon_binary(), f"--listen_unix={socket_path}", f"--log_file={os.path.join(log_dir, 'sejitsd.log')}"]
    command += shlex.split(os.environ.get("SEJITS_DAEMON_ARGS", ""))
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, close_fds=True)
    connection = Connection(address)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if connection.healthy(timeout=0.5):
            return connection
        # It refuses at once when another sejitsd holds the socket's lock (a
        # stopped one, or one whose socket file was removed): no use waiting.
        if process.poll() is not None:
            connection.close()
            raise DaemonUnavailable(f"started {command[0]} but it exited ({process.returncode}): "
                                    f"{_last_line(os.path.join(log_dir, 'sejitsd.log'))}")
        time.sleep(0.05)
    connection.close()
    raise DaemonUnavailable(f"started {command[0]} but it did not answer at {address} within {wait_s:.0f} s "
                            f"(see {os.path.join(log_dir, 'sejitsd.log')})")


def _last_line(log):
    try:
        with open(log, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
            lines = f.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"{log} is empty"
    except OSError:
        return f"no log at {log}"


def connection(autostart=None):
    """A healthy connection to the configured daemon, starting one if allowed."""
    global _connection, _outage, _outage_told
    autostart = _config.settings.autostart if autostart is None else autostart
    with _lock:
        if _connection is not None:
            return _connection
        if _outage is not None and time.monotonic() < _outage[1]:
            raise DaemonUnavailable(_outage[0])
        address = _config.daemon_address()
        candidate = Connection(address)
        try:
            if not candidate.healthy():
                candidate.close()
                if not autostart or not address.startswith("unix:"):
                    raise candidate.unavailable()
                candidate = start_daemon(address)
        except DaemonUnavailable as error:
            _outage = (str(error), time.monotonic() + _RETRY_AFTER_S)
            raise
        _connection, _outage, _outage_told = candidate, None, False
        return _connection


def call(method, request, timeout=None, retry=True):
    """Calls an RPC under a deadline (default: rpc_timeout_s), reconnecting
    (and restarting a local daemon) once if the daemon went away. A stream's
    errors come while it is read."""
    import grpc

    timeout = timeout or _config.settings.rpc_timeout_s
    conn = connection()
    rpc = getattr(conn.stub, method)
    if isinstance(rpc, grpc.UnaryStreamMultiCallable):
        return rpc(request, timeout=timeout, metadata=conn.metadata)
    try:
        return _await(conn, rpc.future(request, timeout=timeout, metadata=conn.metadata), method)
    except grpc.RpcError as error:
        # A daemon that died closes its socket: UNAVAILABLE at once, not at the deadline.
        if retry and error.code() == grpc.StatusCode.UNAVAILABLE:
            _drop(conn)
            return call(method, request, timeout, retry=False)
        raise


def _await(conn, future, method):
    """The reply of a call in progress, checking meanwhile that the daemon
    still answers: a stopped or hung daemon fails the call within about
    _HUNG_AFTER * (_PROBE_EVERY_S + health_timeout_s), not at its deadline."""
    import grpc

    misses = 0
    while True:
        try:
            return future.result(timeout=_PROBE_EVERY_S)
        except grpc.FutureTimeoutError:
            pass
        misses = 0 if conn.healthy() else misses + 1
        if misses == _HUNG_AFTER:
            future.cancel()
            why = (f"the daemon at {conn.address} stopped answering during {method} ({misses} health checks "
                   f"unanswered within {_config.settings.health_timeout_s:g} s; is it stopped or overloaded?)")
            _drop(conn, why)
            raise DaemonUnavailable(why)
