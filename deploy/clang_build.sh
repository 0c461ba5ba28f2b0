# Sourced by deploy/sanitize.sh and deploy/fuzz.sh: the clang builds with
# sanitizers. Expects ROOT.
#
# build-asan/ serves both scripts: AddressSanitizer + UBSan, and
# fuzzer-no-link (every library carries libFuzzer's coverage; only the fuzz
# targets link libFuzzer's main), so the unit tests and the fuzz targets share
# one build of the libraries instead of two. build-tsan/ is ThreadSanitizer.
# -O0 with line tables only: on 2 cores clang builds this in about a third of
# the time of g++ -O1 with the same sanitizers, and the tests spend their time
# waiting for the kernel compiler, not in our code.
ASAN_BUILD=$ROOT/build-asan
ASAN_SANITIZERS=address,undefined,fuzzer-no-link
TSAN_BUILD=$ROOT/build-tsan
CLANG_BUILD_FLAGS="-O0 -gline-tables-only"

# The sanitizer runtimes and libFuzzer ship with clang (Debian: clang, libclang-rt-dev; llvm for symbolized reports).
ensure_clang() {
  local runtime_dir
  runtime_dir=$(clang++ -print-runtime-dir 2>/dev/null || true)
  if [[ ! -f "$runtime_dir/libclang_rt.asan-x86_64.a" || ! -f "$runtime_dir/libclang_rt.fuzzer-x86_64.a" ]]; then
    echo "==> installing clang, its sanitizer runtimes and libFuzzer (clang libclang-rt-dev llvm)"
    local sudo=""; [[ $(id -u) != 0 ]] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang libclang-rt-dev llvm >/dev/null
  fi
}

# configure_clang_build <dir> <sanitizers> [cmake args]: once per directory.
configure_clang_build() {
  local dir=$1 sanitize=$2; shift 2
  ensure_clang
  if [[ ! -f "$dir/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS_SANITIZE="$CLANG_BUILD_FLAGS" \
      -DCMAKE_C_FLAGS_SANITIZE="$CLANG_BUILD_FLAGS" -DSEJITS_SANITIZE="$sanitize" "$@" >/dev/null
  fi
}

configure_asan_build() { configure_clang_build "$ASAN_BUILD" "$ASAN_SANITIZERS" -DSEJITS_FUZZ=ON; }
