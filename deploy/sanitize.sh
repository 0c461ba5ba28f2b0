#!/usr/bin/env bash
# Builds the Catch2 unit tests with sanitizers and runs them:
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer): every unit test
#                (the fuzz targets of deploy/fuzz.sh are built in the same directory)
#   build-tsan/  ThreadSanitizer: every unit test but unit.client (single-flight,
#                the fair worker pool, the store and the tuning core run threads).
# unit.client is left out of TSan: it runs a gRPC server and client in process,
# and Debian's libgrpc/libabsl are not instrumented, so TSan cannot see their
# locks and reports hundreds of races inside gRPC. It is also the only test
# that calls a kernel (OpenMP, libgomp is not instrumented either): no TSan
# test runs OpenMP code, so tests/sanitizers/tsan.supp needs no libgomp entries.
# Only the sejits_unit_tests target is built (no daemon, no tools), with clang
# at -O0 and line tables only (deploy/clang_build.sh says why).
# Usage: deploy/sanitize.sh [asan|tsan]...   (default: both)
# The kernels the tests compile at run time are built by the daemon's own
# CompilerConfig (g++ -O3 -fopenmp ...), never with these flags: they stay
# uninstrumented shared objects, which ASan loads fine. See tests/sanitizers/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-2}
SUPP=$ROOT/tests/sanitizers
MODES=("$@")
((${#MODES[@]})) || MODES=(asan tsan)

source "$ROOT/deploy/clang_build.sh"

# build <dir>: the unit tests only (no daemon, no tools).
build() {
  echo "==> building $(basename "$1") (sejits_unit_tests only)"
  cmake --build "$1" -j "$JOBS" --target sejits_unit_tests >/dev/null
}

# run_tests <dir> <ctest args>: one process per test file, 2 at a time; a
# hang (a lost wake-up, a deadlock) fails after 5 minutes instead of blocking CI.
run_tests() {
  local dir=$1; shift
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" --timeout 300 -R "$@")
}

for mode in "${MODES[@]}"; do
  case $mode in
    asan)
      configure_asan_build && build "$ASAN_BUILD"
      echo "==> unit tests under ASan+UBSan"
      ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        run_tests "$ASAN_BUILD" '^unit\.'
      ;;
    tsan)
      configure_clang_build "$TSAN_BUILD" thread && build "$TSAN_BUILD"
      echo "==> unit tests under TSan (all but unit.client)"
      TSAN_OPTIONS="suppressions=$SUPP/tsan.supp:halt_on_error=1:second_deadlock_stack=1" \
        run_tests "$TSAN_BUILD" '^unit\.' -E '^unit\.client$'
      ;;
    *) echo "usage: $0 [asan|tsan]..." >&2; exit 2 ;;
  esac
done
echo "==> sanitizers: no reports"
