#!/usr/bin/env bash
# From a fresh clone: install what is missing, build, install sejitsd and the
# Python client, then run the demo against a per-user daemon started on
# first use (the embedded default).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/deploy/python_env.sh"

"$ROOT/deploy/install_deps.sh"
# Exactly what `cmake --install` installs: every program installed through
# sejits_install_programs (CMakeLists.txt) is a dependency of `installables`.
"$ROOT/deploy/build.sh" --target installables

# $PREFIX as given (created if need be); by default /usr/local where it is
# writable, else ~/.local.
if [[ -z "${PREFIX:-}" ]]; then
  PREFIX=/usr/local
  [[ -w "$PREFIX/bin" ]] || PREFIX="$HOME/.local"
fi
echo "==> installing sejitsd and its tools into $PREFIX/bin (cmake --install)"
cmake --install "${SEJITS_BUILD_DIR:-$ROOT/build}" --prefix "$PREFIX" >/dev/null
export PATH="$PREFIX/bin:$PATH"
export SEJITS_DAEMON_BIN="$PREFIX/bin/sejitsd"

echo "==> demo"
"$PYTHON" "$ROOT/deploy/demo.py"
