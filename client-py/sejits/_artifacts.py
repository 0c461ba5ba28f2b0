"""Loading artifacts: from the daemon's store when this process can read it,
otherwise fetched over RPC into the client's own content-addressed directory
and checked against its digest before it is loaded."""

import hashlib
import os

from sejits import _config, _daemon, _handle_cache
from sejits._errors import SpecializationError

_libraries = {}  # digest -> loaded Library


def _fetched_path(digest):
    return os.path.join(_config.cache_dir(), "artifacts", digest[:2], digest[2:] + ".so")


def _fetch(digest):
    from sejits.v1 import specializer_pb2 as pb

    path = _fetched_path(digest)
    if os.path.exists(path) and _handle_cache.file_digest(path) == digest:
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    hasher = hashlib.sha256()
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as f:
        for chunk in _daemon.call("FetchArtifact", pb.FetchArtifactRequest(digest=digest)):
            hasher.update(chunk.data)
            f.write(chunk.data)
    if hasher.hexdigest() != digest:
        os.unlink(temporary)
        raise SpecializationError(f"artifact {digest[:12]} arrived corrupted (digest mismatch); not loading it")
    os.replace(temporary, path)
    return path


def local_path(path, digest):
    """A readable path holding the artifact with this digest."""
    if path and os.access(path, os.R_OK):
        return path
    return _fetch(digest)


def load(path, digest):
    from sejits import _native

    library = _libraries.get(digest)
    if library is None:
        library = _native.load(path)
        _libraries[digest] = library
    return library
