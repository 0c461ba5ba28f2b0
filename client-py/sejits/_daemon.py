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


class DaemonUnavailable(Exception):
    """No daemon answers at the configured address (and none could be started)."""


class Connection:
    def __init__(self, address):
        import grpc

        from sejits.v1 import specializer_pb2_grpc

        self.address = address
        target = address[len("tcp://"):] if address.startswith("tcp://") else address
        # Short reconnect backoff: a daemon that was just started (or restarted)
        # is seen within milliseconds, not after gRPC's default one second.
        options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.enable_retries", 0),
                   ("grpc.initial_reconnect_backoff_ms", 20), ("grpc.min_reconnect_backoff_ms", 20),
                   ("grpc.max_reconnect_backoff_ms", 500)]
        settings = _config.settings
        if settings.tls_ca:
            self.channel = grpc.secure_channel(target, _tls_credentials(settings), options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self.metadata = (("authorization", f"Bearer {settings.token}"),) if settings.token else ()
        self.stub = specializer_pb2_grpc.SpecializerStub(self.channel)
        self._health = self.channel.unary_unary("/grpc.health.v1.Health/Check")

    def healthy(self, timeout=1.0):
        import grpc

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
    global _connection
    with _lock:
        if _connection is not None:
            _connection.close()
        _connection = None


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
    subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)
    connection = Connection(address)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if connection.healthy(timeout=0.5):
            return connection
        time.sleep(0.05)
    connection.close()
    raise DaemonUnavailable(f"started {command[0]} but it did not answer at {address} within {wait_s:.0f} s "
                            f"(see {os.path.join(log_dir, 'sejitsd.log')})")


def connection(autostart=None):
    """A healthy connection to the configured daemon, starting one if allowed."""
    global _connection
    autostart = _config.settings.autostart if autostart is None else autostart
    with _lock:
        if _connection is not None:
            return _connection
        address = _config.daemon_address()
        candidate = Connection(address)
        if candidate.healthy():
            _connection = candidate
            return _connection
        candidate.close()
        if not autostart or not address.startswith("unix:"):
            raise candidate.unavailable()
        _connection = start_daemon(address)
        return _connection


def call(method, request, timeout=None, retry=True):
    """Calls an RPC, reconnecting (and restarting a local daemon) once if the
    daemon went away."""
    import grpc

    timeout = timeout or _config.settings.rpc_timeout_s
    conn = connection()
    try:
        return getattr(conn.stub, method)(request, timeout=timeout, metadata=conn.metadata)
    except grpc.RpcError as error:
        if retry and error.code() == grpc.StatusCode.UNAVAILABLE:
            reset_connection()
            return call(method, request, timeout, retry=False)
        raise
