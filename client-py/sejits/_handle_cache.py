"""The client's memory of handles across processes: kernel fingerprint and
argument signature -> the artifact the daemon answered with. A new process
that finds a handle here loads it without any RPC (and without importing
grpc) when the handle is one the daemon at the configured address would serve
today: it records the build identity of the daemon that answered, which must
equal that daemon's current one (_daemon.build_identity: read from a file
beside a Unix socket, asked once per process of a TCP daemon), and its
artifact's digest must still match. Any other handle is ignored, and replaced
by the daemon's answer."""

import hashlib
import json
import os

from sejits import _config, _daemon
from sejits._handle import Handle

# 2: handles carry the tuning plan; 3: and the artifact's interface; 4: a
# Handle's fields, and tuned handles keyed by the entry role and exact shapes.
_VERSION = "4"


def _path(fingerprint, signature):
    from sejits import __version__  # a new client may generate other code: its own handles

    text = json.dumps([_VERSION, __version__, fingerprint, repr(signature), _config.daemon_address()])
    digest = hashlib.sha256(text.encode()).hexdigest()
    return os.path.join(_config.cache_dir(), "client", "handles", digest[:2], digest[2:] + ".json")


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def lookup(fingerprint, signature):
    """The remembered Handle, if the daemon would serve it today and its
    artifact is intact."""
    try:
        with open(_path(fingerprint, signature)) as f:
            handle = Handle.from_json(f.read())
        if not handle.build_identity or handle.build_identity != _daemon.build_identity():
            return None
        if file_digest(handle.artifact_path) != handle.artifact_digest:
            return None
        return handle
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(fingerprint, signature, handle):
    """Keeps a handle the daemon just answered (with its build identity)."""
    _daemon.answered_by(handle.build_identity)
    path = _path(fingerprint, signature)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w") as f:
            f.write(handle.to_json())
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only cache only costs an RPC next time
