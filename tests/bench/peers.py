"""The optional peers of the CPU suites: which are not installed, and the one
command that installs them. A missing peer's rows are "not installed", never
a failure of the run; its absence changes no limit (see machine.py)."""

import importlib
import shlex
import sys

# The module an implementation imports -> the pip package that provides it.
# An implementation needs the peer its name starts with ("numba-njit": numba).
PEER_PACKAGES = {
    "numexpr": "numexpr", "numba": "numba", "scipy": "scipy", "sklearn": "scikit-learn", "pyamg": "pyamg", "jax": "jax",
}
NOT_INSTALLED = "not installed"


def peer_of(impl):
    """The optional module `impl` needs, or None (numpy, sejits)."""
    module = impl.split("-")[0]
    return module if module in PEER_PACKAGES else None


def _not_installed(module):
    """True if `module` cannot be found at all. A peer that is installed but
    fails to import is not "missing": its rows fail with the reason."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        return exc.name == module or exc.name is None
    except Exception:  # installed, broken: measured (and failed) like any other
        return False
    return False


def missing_peers():
    """The peers that are not installed, in a stable order."""
    return tuple(module for module in PEER_PACKAGES if _not_installed(module))


def install_command(missing, python=None):
    """The one command that installs every missing peer into this Python."""
    packages = " ".join(PEER_PACKAGES[module] for module in missing)
    return f"{shlex.quote(python or sys.executable)} -m pip install {packages}"
