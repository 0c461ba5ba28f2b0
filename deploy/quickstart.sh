#!/usr/bin/env bash
# From a fresh clone: install what is missing, build, install sejitsd and the
# Python client, then run the demo against a per-user daemon started on
# first use (the embedded default).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/deploy/python_env.sh"

"$ROOT/deploy/install_deps.sh"
"$ROOT/deploy/build.sh" --target sejitsd

PREFIX=${PREFIX:-/usr/local}
[[ -w "$PREFIX/bin" ]] || PREFIX="$HOME/.local"
echo "==> installing sejitsd into $PREFIX/bin"
cmake --install "${SEJITS_BUILD_DIR:-$ROOT/build}" --prefix "$PREFIX" >/dev/null
export PATH="$PREFIX/bin:$PATH"
export SEJITS_DAEMON_BIN="$PREFIX/bin/sejitsd"

echo "==> demo"
"$PYTHON" "$ROOT/deploy/demo.py"
