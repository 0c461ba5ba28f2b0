#!/usr/bin/env bash
# Configures (once) and builds sejits into build/, then installs the Python
# client from client-py/. Incremental: a second run rebuilds only what changed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SEJITS_BUILD_DIR:-$ROOT/build}
source "$ROOT/deploy/python_env.sh"
JOBS=${JOBS:-2}

if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
echo "==> building (cmake --build, -j$JOBS)"
cmake --build "$BUILD" -j "$JOBS" "$@"

echo "==> installing the Python client (pip install ./client-py) into $PYTHON"
PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install -q --no-build-isolation "$ROOT/client-py"
"$PYTHON" -c "import sejits._native" || { echo "error: the Python client did not install" >&2; exit 1; }
