# Sourced by the deploy scripts: chooses the Python that sejits is installed
# into and exports it as PYTHON. $PYTHON wins if set; otherwise python3 if it
# may pip-install packages; otherwise (Debian's own python3 is "externally
# managed") a virtual environment in the repository's .venv, created on demand.
SEJITS_ROOT=${SEJITS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
SEJITS_VENV="$SEJITS_ROOT/.venv"

python_is_externally_managed() {
  "$1" -c 'import os, sys, sysconfig
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'
}

select_python() {
  if [[ -n "${PYTHON:-}" ]]; then
    return
  fi
  if [[ -x "$SEJITS_VENV/bin/python" ]]; then
    PYTHON="$SEJITS_VENV/bin/python"
  elif command -v python3 >/dev/null && ! python_is_externally_managed python3; then
    PYTHON=python3
  else
    PYTHON="$SEJITS_VENV/bin/python"  # created by create_venv_if_needed
  fi
  export PYTHON
}

create_venv_if_needed() {
  if [[ "$PYTHON" == "$SEJITS_VENV/bin/python" && ! -x "$PYTHON" ]]; then
    echo "==> the system python3 is externally managed: creating a virtual environment in $SEJITS_VENV"
    python3 -m venv "$SEJITS_VENV"
  fi
}

select_python
