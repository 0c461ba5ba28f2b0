"""Loading artifacts: from the daemon's store when this process can read it,
otherwise fetched over RPC into the client's own content-addressed directory
and checked against its digest before it is loaded."""

import hashlib
import os
import tempfile

from sejits import _config, _daemon, _handle_cache
from sejits._errors import SpecializationError

_libraries = {}  # digest -> loaded Library


def _fetched_path(digest):
    return os.path.join(_config.cache_dir(), "artifacts", digest[:2], digest[2:] + ".so")


def _fetch(digest):
    """Streams the artifact into the content-addressed directory; it appears
    there only complete and with the right digest."""
    from sejits.v1 import specializer_pb2 as pb

    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise SpecializationError(f"the daemon answered a malformed artifact digest {digest[:80]!r}")
    path = _fetched_path(digest)
    if os.path.exists(path) and _handle_cache.file_digest(path) == digest:
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    hasher = hashlib.sha256()
    descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as f:
            for chunk in _daemon.call("FetchArtifact", pb.FetchArtifactRequest(digest=digest)):
                hasher.update(chunk.data)
                f.write(chunk.data)
        if hasher.hexdigest() != digest:
            raise SpecializationError(f"artifact {digest[:12]} arrived corrupted (digest mismatch); not loading it")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def local_path(path, digest):
    """A readable path holding the artifact with this digest: the daemon's own
    file when it runs on this machine (a Unix socket), else a verified copy
    fetched over the connection."""
    if path and _config.daemon_address().startswith("unix:") and os.access(path, os.R_OK):
        return path
    return _fetch(digest)


def load(path, digest):
    from sejits import _native

    library = _libraries.get(digest)
    if library is None:
        library = _native.load(path)
        _libraries[digest] = library
    return library
