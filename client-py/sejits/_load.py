"""A handle's artifact, loaded: the entry point playing a role ("call",
"iterate", ...), as the interface describes it, bound by the C extension.
No client code names a symbol; nothing here needs protobuf (a handle-cache
hit loads its kernel through here)."""

import time

from sejits import _artifacts, _interface, _native


def entry(handle, role, *, origin, signature, started):
    """The loaded entry point playing `role` in `handle`'s artifact, called
    as kernel(args, out); its `info` is the handle's, with `origin` (where
    the handle came from), `signature` (the call's, for people) and the
    seconds since `started` (the miss began)."""
    path = _artifacts.local_path(handle.artifact_path, handle.artifact_digest)
    library = _artifacts.load(path, handle.artifact_digest)
    info = handle.info(origin=origin, signature=signature, load_seconds=time.perf_counter() - started)
    return _bind(library, handle.interface, role, handle.result_dtype, info)


def sibling_entry(loaded, role):
    """The entry point playing `role` in the artifact of `loaded` (an entry
    loaded by entry()), or None where the artifact has none (e.g. a stencil
    variant without temporal blocking: the daemon's notes say why)."""
    interface = loaded.info.get("interface")
    if interface is None or not _interface.has_entry(interface, role):
        return None
    try:
        return _bind(loaded.library, interface, role, loaded.result_dtype, dict(loaded.info))
    except (ImportError, ValueError):
        return None


def _bind(library, interface, role, result_dtype, info):
    point = _interface.entry(interface, role)
    codes = _interface.argument_codes(point, _native.dtype_code)  # not _encode's: protobuf stays unimported
    return library.entry(point["symbol"], codes, result_dtype, info)
