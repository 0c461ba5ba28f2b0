#!/usr/bin/env bash
# From a fresh clone: install what is missing, build everything, run every
# test: Catch2 unit tests (ctest), the pytest suites (differential and
# end-to-end, against a daemon of their own) and the small benchmark run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SEJITS_BUILD_DIR:-$ROOT/build}
source "$ROOT/deploy/python_env.sh"

"$ROOT/deploy/install_deps.sh" --test
"$ROOT/deploy/build.sh"

echo "==> C++ unit tests (ctest)"
(cd "$BUILD" && ctest --output-on-failure -j 2)

export SEJITS_DAEMON_BIN="$BUILD/server/sejitsd"
echo "==> Python tests (pytest)"
"$PYTHON" -m pytest -q "$ROOT/tests/python" "$ROOT/tests/e2e" "$ROOT/tests/cluster" "$ROOT/tests/deploy"

echo "==> benchmarks, small size (correctness of every implementation; timings for information)"
"$PYTHON" "$ROOT/tests/bench/run.py" --suite all --size small --json "$BUILD/bench-small.json"
