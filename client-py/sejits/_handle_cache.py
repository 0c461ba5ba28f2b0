"""The client's memory of handles across processes: kernel fingerprint and
argument signature -> the artifact the daemon answered with. A new process
that finds a handle here, with an artifact whose digest still matches, loads
it without any RPC (and without importing grpc)."""

import hashlib
import json
import os

from sejits import _config

_VERSION = "2"  # 2: handles carry the tuning plan


def _path(fingerprint, signature):
    from sejits import __version__  # a new client may generate other code: its own handles

    text = json.dumps([_VERSION, __version__, fingerprint, repr(signature), _config.daemon_address()])
    digest = hashlib.sha256(text.encode()).hexdigest()
    return os.path.join(_config.cache_dir(), "client", "handles", digest[:2], digest[2:] + ".json")


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def lookup(fingerprint, signature):
    """The remembered handle (a dict), if its artifact is intact."""
    try:
        with open(_path(fingerprint, signature)) as f:
            handle = json.load(f)
        if file_digest(handle["artifact_path"]) != handle["artifact_digest"]:
            return None
        return handle
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(fingerprint, signature, handle):
    path = _path(fingerprint, signature)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w") as f:
            json.dump(handle, f)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only cache only costs an RPC next time
