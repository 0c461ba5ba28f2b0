#!/usr/bin/env bash
# Runs the OpenCL benchmark (tests/bench/run.py --target opencl) on a machine
# with an NVIDIA GPU, no network and no gRPC stack: sejitsd, its libraries,
# the OpenCL loader and headers and the client's wheels come from .devbundle/
# (made beforehand by deploy/gpu/bundle.sh, carried with the working tree).
# From the repository root:
#
#     OUT=/some/dir bash deploy/gpu/run_h100.sh [run.py arguments]
#
# run.py arguments default to "--suite all --size full"; --target opencl,
# --device and --json/--plot under $OUT are always added. Writes
# $OUT/log.txt (everything printed), $OUT/gpu.json, the daemon's logs, and
# $OUT/gpu.png if matplotlib is there. Optional steps that fail are
# reported, and the benchmark still runs. Environment: PYTHON (python3),
# DEADLINE_S (whole script, 570), SMOKE=1 (a --size small run first),
# SEJITS_BENCH_DEVICE (the OpenCL device, "gpu").
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUNDLE=$ROOT/.devbundle
OUT=${OUT:-${TMPDIR:-/tmp}/sejits-gpu-results}
PYTHON=${PYTHON:-python3}
DEADLINE_S=${DEADLINE_S:-570}  # the benchmark gets what the steps before it left
SMOKE=${SMOKE:-0}
DEVICE=${SEJITS_BENCH_DEVICE:-gpu}
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sejits-gpu.XXXXXX")

step() { printf '\n==> [%ss] %s\n' "$SECONDS" "$*"; }
warn() { printf 'warning: %s\n' "$*"; }

ld_cache() { { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null; }
ld_cache_path() {  # SONAME: where the dynamic loader's cache has it (x86-64), or nothing
  ld_cache | awk -v name="$1" '$1 == name && /x86-64/ { print $NF; exit }'
}

show_machine() {
  step "machine"
  nvidia-smi -L || warn "nvidia-smi -L failed"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv || true
  uname -srm
  grep -E '^(PRETTY_NAME)=' /etc/os-release || true
  echo "glibc $(ldd --version 2>/dev/null | head -1 | awk '{print $NF}'), $(nproc) cores"
  free -g | head -2
  "$PYTHON" --version
  g++ --version | head -1 || warn "no g++: sejitsd cannot compile kernels"
  if [[ -d $BUNDLE ]]; then
    echo ".devbundle: $(du -sh "$BUNDLE" | cut -f1)"
    chmod u+x "$BUNDLE"/bin/* 2>/dev/null  # in case the copy lost the mode bits
  else
    warn "no .devbundle (run deploy/gpu/bundle.sh there, carry .devbundle): the sejits rows will fail"
  fi
}

# DAEMON_LD: the library path sejitsd runs with (the bundle's libraries; the
# compilers it starts inherit it, so zlib stays the system's where it has one).
setup_daemon_libraries() {
  step "libraries of sejitsd"
  DAEMON_LD=$WORK/lib
  mkdir -p "$DAEMON_LD"
  local lib name
  for lib in "$BUNDLE"/lib/*; do
    [[ -e $lib ]] || continue
    name=$(basename "$lib")
    if [[ $name == libz.so.1 && -n $(ld_cache_path "$name") ]]; then
      continue
    fi
    ln -sf "$lib" "$DAEMON_LD/$name"
  done
  echo "the bundle needs up to $(grep -h '^GLIBC_' "$BUNDLE/compat/REQUIRES" | tail -1)" \
    "and $(grep -h '^GLIBCXX_' "$BUNDLE/compat/REQUIRES" | tail -1)"
  local help
  help=$(env LD_LIBRARY_PATH="$DAEMON_LD" "$BUNDLE/bin/sejitsd" --help 2>&1)
  if ! grep -q "sejits specialization daemon" <<<"$help" && [[ -d $BUNDLE/compat ]]; then
    warn "sejitsd does not start on the system's C++ runtime: $(head -3 <<<"$help")"
    echo "trying the bundle's libstdc++ and libgcc_s (compat/)"
    DAEMON_LD=$DAEMON_LD:$BUNDLE/compat
    help=$(env LD_LIBRARY_PATH="$DAEMON_LD" "$BUNDLE/bin/sejitsd" --help 2>&1)
  fi
  if grep -q "sejits specialization daemon" <<<"$help"; then
    echo "sejitsd --help: ok"
  else
    warn "sejitsd does not start: $help"
  fi
  echo "ldd sejitsd, missing libraries:"
  env LD_LIBRARY_PATH="$DAEMON_LD" ldd "$BUNDLE/bin/sejitsd" | grep "not found" || echo "  none"
}

# OpenCL for the client and for the kernels sejitsd compiles (they include
# <CL/cl.h> and link -lOpenCL): the system's loader, headers and NVIDIA ICD
# where it has them, else CUDA's or the bundle's.
setup_opencl() {
  step "OpenCL loader, headers and ICD"
  local opencl=$WORK/opencl loader
  mkdir -p "$opencl"
  loader=$(ld_cache_path libOpenCL.so.1)
  if [[ -n $loader ]]; then
    echo "ICD loader: $loader (system)"
  else
    for loader in /usr/local/cuda/lib64/libOpenCL.so.1 /usr/local/cuda/targets/x86_64-linux/lib/libOpenCL.so.1 \
      "$BUNDLE/opencl/libOpenCL.so.1" ""; do
      [[ -z $loader || -e $loader ]] && break
    done
    if [[ -n $loader ]]; then
      echo "ICD loader: $loader (not in the loader's cache: put on LD_LIBRARY_PATH)"
      ln -sf "$loader" "$opencl/libOpenCL.so.1"
      export LD_LIBRARY_PATH=$opencl${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    else
      warn "no OpenCL ICD loader (libOpenCL.so.1) anywhere"
    fi
  fi
  # The linker's name for it (-lOpenCL): no libOpenCL.so without a -dev package.
  [[ -n $loader ]] && ln -sf "$loader" "$opencl/libOpenCL.so"
  export LIBRARY_PATH=$opencl${LIBRARY_PATH:+:$LIBRARY_PATH}
  if [[ -f /usr/include/CL/cl.h ]]; then
    echo "headers: /usr/include/CL (system)"
  elif [[ -f $BUNDLE/include/CL/cl.h ]]; then
    echo "headers: $BUNDLE/include/CL (bundle)"
    export CPATH=$BUNDLE/include${CPATH:+:$CPATH}
    export SEJITS_OPENCL_INCLUDE=$BUNDLE/include  # client-py/setup.py
  else
    warn "no OpenCL headers: the client builds without OpenCL, kernels do not compile"
  fi
  if grep -qsl nvidia /etc/OpenCL/vendors/*.icd; then
    echo "ICDs: $(grep -sH . /etc/OpenCL/vendors/*.icd | tr '\n' ' ')"
  else
    local driver
    driver=$(ld_cache_path libnvidia-opencl.so.1)
    if [[ -z $driver ]]; then
      driver=$(ls /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 /usr/lib64/libnvidia-opencl.so.1 \
        /usr/local/nvidia/lib64/libnvidia-opencl.so.1 2>/dev/null | head -1)
    fi
    if [[ -n $driver ]]; then
      mkdir -p "$WORK/vendors"
      echo "$driver" >"$WORK/vendors/nvidia.icd"
      export OCL_ICD_VENDORS=$WORK/vendors  # ocl-icd and the Khronos loader both read it
      echo "no NVIDIA ICD in /etc/OpenCL/vendors: OCL_ICD_VENDORS=$OCL_ICD_VENDORS ($driver)"
    else
      warn "no NVIDIA OpenCL driver (libnvidia-opencl.so.1) found; ICDs: $(ls /etc/OpenCL/vendors 2>/dev/null | tr '\n' ' ')"
    fi
  fi
}

install_wheel() {  # WHEEL: unpacked into $SITE (pip where there is one: a wheel is a zip file otherwise)
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$1" 2>/dev/null ||
    "$PYTHON" -m zipfile -e "$1" "$SITE"
}

setup_python() {
  step "Python client (grpcio, protobuf from the bundle; sejits from client-py/)"
  SITE=$WORK/site
  mkdir -p "$SITE"
  local wheel
  for wheel in "$BUNDLE"/wheels/grpcio-*.whl "$BUNDLE"/wheels/protobuf-*.whl; do
    [[ -e $wheel ]] && { install_wheel "$wheel" || warn "could not install $wheel"; }
  done
  if ! "$PYTHON" -c 'import typing_extensions' 2>/dev/null; then
    for wheel in "$BUNDLE"/wheels/typing_extensions-*.whl; do
      [[ -e $wheel ]] && { install_wheel "$wheel" || warn "could not install $wheel"; }
    done
  fi
  export PYTHONPATH=$SITE:$ROOT/client-py${PYTHONPATH:+:$PYTHONPATH}
  cp "$BUNDLE"/pb2/*_pb2*.py "$ROOT/client-py/sejits/v1/" || warn "no protocol modules in the bundle"
  local suffix native
  suffix=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
  native=$ROOT/client-py/sejits/_native$suffix
  rm -f "$native"
  if (cd "$ROOT/client-py" && "$PYTHON" setup.py -q build_ext --inplace) >"$WORK/build_ext.log" 2>&1 &&
    ! grep -qi "without OpenCL" "$WORK/build_ext.log"; then
    echo "built $native"
  else
    warn "building the extension here failed or left OpenCL out (last lines below); using the bundle's prebuilt one"
    tail -5 "$WORK/build_ext.log"
    cp "$BUNDLE/native/_native$suffix" "$native" || warn "no prebuilt _native$suffix in the bundle"
  fi
  "$PYTHON" -c 'import grpc, google.protobuf, numpy, sejits, sejits._native
print("grpcio", grpc.__version__, "| protobuf", google.protobuf.__version__, "| numpy", numpy.__version__,
      "| sejits from", sejits.__file__)' || warn "the sejits client does not import"
}

# sejitsd of the bundle, through a wrapper that gives it (and only it) the
# bundle's libraries and a log that outlives run.py's temporary directory.
setup_daemon() {
  step "sejitsd"
  mkdir -p "$WORK/bin" "$WORK/client-cache"
  cat >"$WORK/bin/sejitsd" <<EOF
#!/bin/sh
LD_LIBRARY_PATH='$DAEMON_LD'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
exec '$BUNDLE/bin/sejitsd' "--log_file=$WORK/sejitsd-\$\$.log" "\$@"
EOF
  chmod +x "$WORK/bin/sejitsd"
  # tests/bench/daemon.py starts its private daemon from SEJITS_DAEMON_BIN; if
  # that fails, the client autostarts one, on this socket, with this cache.
  export SEJITS_DAEMON_BIN=$WORK/bin/sejitsd
  export SEJITS_DAEMON=unix:$WORK/sejitsd.sock
  export SEJITS_CACHE_DIR=$WORK/client-cache
  # scikit-learn's array API dispatch (the GMM cases' torch-sklearn rows)
  # refuses to run unless SciPy's is on, which is read when SciPy is imported.
  export SCIPY_ARRAY_API=1
  echo "SEJITS_DAEMON_BIN=$SEJITS_DAEMON_BIN"
}

list_devices() {
  step "OpenCL devices"
  if command -v clinfo >/dev/null; then
    clinfo -l || warn "clinfo -l failed"
  fi
  DEVICE=$DEVICE timeout 120 "$PYTHON" -c '
import importlib, os
try:
    opencl = importlib.import_module("sejits.opencl")
    for device in opencl.devices():
        print(device)
    print("--device", os.environ["DEVICE"], "is", opencl.select_device(os.environ["DEVICE"]))
except Exception as exc:
    print(f"sejits.opencl: {type(exc).__name__}: {exc}")
' || warn "listing the devices failed"
}

run_bench() {
  local args=("$@")
  if [[ -n ${EXPERIMENT:-} ]]; then  # a script of deploy/gpu (e.g. variants.py) before the benchmark
    step "experiment: $EXPERIMENT"
    # shellcheck disable=SC2086 # EXPERIMENT is a script and its arguments
    PYTHONUNBUFFERED=1 timeout 300 "$PYTHON" $EXPERIMENT --device "$DEVICE" || warn "$EXPERIMENT exited with $?"
  fi
  [[ ${#args[@]} -gt 0 ]] || args=(--suite all --size full)
  if [[ $SMOKE == 1 ]]; then
    step "smoke run: --size small"
    PYTHONUNBUFFERED=1 timeout 180 "$PYTHON" tests/bench/run.py --target opencl --device "$DEVICE" --suite all \
      --size small --repeats 3 --json "$OUT/smoke.json" || warn "the smoke run exited with $?"
  fi
  local left=$((DEADLINE_S - SECONDS - 20))
  step "benchmark: run.py --target opencl --device $DEVICE ${args[*]} (at most ${left}s)"
  PYTHONUNBUFFERED=1 timeout --signal=INT --kill-after=10 "$left" \
    "$PYTHON" tests/bench/run.py --target opencl --device "$DEVICE" "${args[@]}" \
    --json "$OUT/gpu.json" --plot "$OUT/gpu.png"
  local status=$?
  ((status == 124)) && warn "the benchmark ran out of time (${left}s): gpu.json has the rows measured until then"
  return $status
}

collect_logs() {
  step "logs"
  local log
  for log in "$WORK"/sejitsd-*.log "$WORK"/client-cache/*.log; do
    [[ -e $log ]] && cp "$log" "$OUT/"
  done
  cp "$WORK/build_ext.log" "$OUT/" 2>/dev/null
  ls -l "$OUT"
}

main() {
  cd "$ROOT" || return 1
  show_machine
  setup_daemon_libraries
  setup_opencl
  setup_python
  setup_daemon
  list_devices
  run_bench "$@"
  local status=$?
  collect_logs
  rm -rf "$WORK"
  echo "benchmark exit status: $status (results in $OUT)"
  return $status
}

main "$@" 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
