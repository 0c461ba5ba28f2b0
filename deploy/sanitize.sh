#!/usr/bin/env bash
# Builds the Catch2 unit tests with sanitizers and runs them:
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer): every unit test
#   build-tsan/  ThreadSanitizer: every unit test but unit.client (single-flight,
#                the fair worker pool, the store and the tuning core run threads).
# unit.client is left out of TSan: it runs a gRPC server and client in process,
# and Debian's libgrpc/libabsl are not instrumented, so TSan cannot see their
# locks and reports hundreds of races inside gRPC. It is also the only test
# that calls a kernel (OpenMP, libgomp is not instrumented either): no TSan
# test runs OpenMP code, so tests/sanitizers/tsan.supp needs no libgomp entries.
# Only the sejits_unit_tests target is built (no daemon, no tools), with clang
# at -O0 and line tables only: on 2 cores that builds in about a third of the
# time of g++ -O1 with the same sanitizers, and the tests spend their time
# waiting for the kernel compiler, not in our code.
# Usage: deploy/sanitize.sh [asan|tsan]...   (default: both)
# The kernels the tests compile at run time are built by the daemon's own
# CompilerConfig (g++ -O3 -fopenmp ...), never with these flags: they stay
# uninstrumented shared objects, which ASan loads fine. See tests/sanitizers/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-2}
SUPP=$ROOT/tests/sanitizers
FLAGS="-O0 -gline-tables-only"
MODES=("$@")
((${#MODES[@]})) || MODES=(asan tsan)

# The sanitizer runtimes ship with clang (Debian: clang, libclang-rt-dev; llvm for symbolized reports).
if [[ ! -f "$(clang++ -print-runtime-dir 2>/dev/null)/libclang_rt.asan-x86_64.a" ]]; then
  echo "==> installing clang and its sanitizer runtimes (clang libclang-rt-dev llvm)"
  SUDO=""; [[ $(id -u) != 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-dev llvm >/dev/null
fi

# configure_and_build <dir> <sanitizers>
configure_and_build() {
  local dir=$1 sanitize=$2
  if [[ ! -f "$dir/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS_SANITIZE="$FLAGS" -DCMAKE_C_FLAGS_SANITIZE="$FLAGS" \
      -DSEJITS_SANITIZE="$sanitize" >/dev/null
  fi
  echo "==> building $(basename "$dir") (-fsanitize=$sanitize, sejits_unit_tests only)"
  cmake --build "$dir" -j "$JOBS" --target sejits_unit_tests >/dev/null
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
      configure_and_build "$ROOT/build-asan" address,undefined
      echo "==> unit tests under ASan+UBSan"
      ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        run_tests "$ROOT/build-asan" '^unit\.'
      ;;
    tsan)
      configure_and_build "$ROOT/build-tsan" thread
      echo "==> unit tests under TSan (all but unit.client)"
      TSAN_OPTIONS="suppressions=$SUPP/tsan.supp:halt_on_error=1:second_deadlock_stack=1" \
        run_tests "$ROOT/build-tsan" '^unit\.' -E '^unit\.client$'
      ;;
    *) echo "usage: $0 [asan|tsan]..." >&2; exit 2 ;;
  esac
done
echo "==> sanitizers: no reports"
