#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang, ASan and UBSan in
# build-asan/ (shared with deploy/sanitize.sh's unit tests), fuzzes each for a
# bounded time from a scratch copy of its seed corpus
# (tests/fuzz/corpus/<target>/), then replays the kept crash inputs
# (tests/fuzz/regressions/<target>/) once each. Exits non-zero on any crash,
# sanitizer report, timeout or out-of-memory.
#   SEJITS_FUZZ_SECONDS  fuzzing time per target (default 30; 0: replay only)
#   JOBS                 targets fuzzed at once and build jobs (default 2)
# A crash input is left in build-asan/fuzz-artifacts/<target>/: once fixed,
# copy it into tests/fuzz/regressions/<target>/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ_SECONDS=${SEJITS_FUZZ_SECONDS:-30}
JOBS=${JOBS:-2}
TARGETS=(elementwise_request stencil_request artifact_index tuning_import)

source "$ROOT/deploy/clang_build.sh"
BUILD=$ASAN_BUILD
configure_asan_build
echo "==> building the fuzz targets (clang, -fsanitize=fuzzer,address,undefined)"
cmake --build "$BUILD" -j "$JOBS" --target "${TARGETS[@]/#/fuzz_}" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LOGS="$BUILD/fuzz-logs"
mkdir -p "$LOGS"
failed=()

# fuzz <target>: a bounded run from a scratch copy (new inputs stay out of the repo).
fuzz() {
  local target=$1 scratch="$BUILD/fuzz-corpus/$1"
  rm -rf "$scratch" && mkdir -p "$scratch" "$BUILD/fuzz-artifacts/$target"
  cp "$ROOT/tests/fuzz/corpus/$target/"* "$scratch/"
  "$BUILD/tests/fuzz/fuzz_$target" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$BUILD/fuzz-artifacts/$target/" "$scratch" >"$LOGS/$target.log" 2>&1
}

if ((FUZZ_SECONDS > 0)); then
  echo "==> fuzzing ${#TARGETS[@]} targets, ${FUZZ_SECONDS}s each, $JOBS at a time"
  # Oldest first: every run lasts about the same time.
  pids=() names=()
  for target in "${TARGETS[@]}"; do
    if ((${#pids[@]} >= JOBS)); then
      wait "${pids[0]}" || failed+=("${names[0]}")
      pids=("${pids[@]:1}") names=("${names[@]:1}")
    fi
    fuzz "$target" & pids+=($!) names+=("$target")
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done
  for target in "${TARGETS[@]}"; do
    echo "    $target: $(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$LOGS/$target.log" | awk '{print $2}') runs," \
      "$(grep -m1 -o 'cov: [0-9]*' <(tac "$LOGS/$target.log") | awk '{print $2}') edges"
  done
fi

echo "==> replaying kept crash inputs (tests/fuzz/regressions)"
for target in "${TARGETS[@]}"; do
  inputs=("$ROOT/tests/fuzz/regressions/$target/"*)
  [[ -e "${inputs[0]}" ]] || continue
  "$BUILD/tests/fuzz/fuzz_$target" -rss_limit_mb=2048 -timeout=10 "${inputs[@]}" >"$LOGS/$target.replay.log" 2>&1 \
    || failed+=("$target (regression replay)")
  echo "    $target: ${#inputs[@]} inputs"
done

if ((${#failed[@]})); then
  for target in "${failed[@]}"; do
    log="$LOGS/${target%% *}.log"; [[ $target == *replay* ]] && log="$LOGS/${target%% *}.replay.log"
    echo "==> FAILED: $target; the end of $log:" >&2
    tail -n 40 "$log" >&2
  done
  exit 1
fi
echo "==> fuzzing: no crashes"
