#!/usr/bin/env bash
# From a fresh clone: install what is missing, build everything, run every
# test: Catch2 unit tests (ctest, then again under ASan+UBSan; TSan with
# SEJITS_TSAN=1), the
# libFuzzer targets for a bounded time, the pytest suites (differential,
# end-to-end, cluster, deployment and reliability, against daemons of their
# own) and the small benchmark run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SEJITS_BUILD_DIR:-$ROOT/build}
source "$ROOT/deploy/python_env.sh"
# Each stage says when it starts (minutes since the start), so that CI's log shows where the time goes.
stage() { echo "==> [$((SECONDS / 60)) min] $*"; }

"$ROOT/deploy/install_deps.sh" --test
"$ROOT/deploy/build.sh"

stage "C++ unit tests (ctest)"
(cd "$BUILD" && ctest --output-on-failure -j 2)

# ThreadSanitizer is a clang build of its own (about 6 of CI's 90 minutes,
# which the full run came close to): SEJITS_TSAN=1 adds it, and
# `deploy/sanitize.sh tsan` runs it alone.
sanitizers=(asan)
[[ ${SEJITS_TSAN:-0} == 1 ]] && sanitizers+=(tsan)
stage "C++ unit tests under sanitizers (deploy/sanitize.sh ${sanitizers[*]})"
"$ROOT/deploy/sanitize.sh" "${sanitizers[@]}"

stage "fuzzing, ${SEJITS_FUZZ_SECONDS:=20} s per target (deploy/fuzz.sh)"
SEJITS_FUZZ_SECONDS=$SEJITS_FUZZ_SECONDS "$ROOT/deploy/fuzz.sh"

export SEJITS_DAEMON_BIN="$BUILD/server/sejitsd"
# Most suites wait for the kernel compiler, one compile at a time: two pytest
# workers (each file on one worker, each worker with daemons of its own) keep
# both cores busy. The suites that measure time (tuning by timings, fairness,
# time bounds of faults, load and soak) run afterwards, alone on the machine.
TIMED=(tests/e2e/test_tuning_e2e.py tests/cluster/test_fairness.py tests/reliability/test_client_faults.py
       tests/reliability/test_hanging_compiler.py tests/reliability/test_load.py tests/reliability/test_soak.py)
# The Spark suite forks its JVM (pyspark's Popen with preexec_fn): it runs in
# a pytest process of its own, where no earlier test left gRPC calls or
# background compiles in flight (a fork beside them failed the JVM's start).
SPARK=tests/cluster/test_spark.py
stage "Python tests (pytest, 2 workers)"
"$PYTHON" -m pytest -q -n 2 --dist loadfile --durations=30 "${TIMED[@]/#/--ignore=$ROOT/}" --ignore="$ROOT/$SPARK" "$ROOT/tests/python" "$ROOT/tests/e2e" \
  "$ROOT/tests/cluster" "$ROOT/tests/deploy" "$ROOT/tests/reliability"
stage "the Spark engine suite (pytest, a process of its own)"
"$PYTHON" -m pytest -q "$ROOT/$SPARK"
stage "Python tests that measure time (pytest, alone)"
# The soak runs 30 s here; SEJITS_SOAK_SECONDS=300 gives the full five minutes.
SEJITS_SOAK_SECONDS=${SEJITS_SOAK_SECONDS:-30} "$PYTHON" -m pytest -q "${TIMED[@]/#/$ROOT/}"

stage "benchmarks, small size (correctness of every implementation; timings for information)"
"$PYTHON" "$ROOT/tests/bench/run.py" --suite all --size small --json "$BUILD/bench-small.json"
