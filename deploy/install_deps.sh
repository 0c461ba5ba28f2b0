#!/usr/bin/env bash
# Installs what is missing to build and run sejits: Debian packages (apt) and
# Python packages (PyPI). With --test, also what the tests and benchmarks need.
set -euo pipefail

WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1
source "$(dirname "$0")/python_env.sh"

APT_PACKAGES=(
  build-essential cmake pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libspdlog-dev libssl-dev libsqlite3-dev
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
)
[[ $WITH_TEST == 1 ]] && APT_PACKAGES+=(catch2 default-jre-headless)  # Java: Spark in tests/cluster
# Debian's own Python needs its headers (for the C extension) and venv.
if ! command -v python3 >/dev/null || [[ "$(command -v python3)" == /usr/bin/python3 ]]; then
  APT_PACKAGES+=(python3 python3-dev python3-venv python3-pip)
fi

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "==> Debian packages: all present"
fi

create_venv_if_needed
PY_MODULES=(numpy grpc google.protobuf grpc_tools setuptools wheel)
PY_PACKAGES=(numpy grpcio protobuf grpcio-tools setuptools wheel)
if [[ $WITH_TEST == 1 ]]; then
  PY_MODULES+=(pytest xdist numexpr numba scipy sklearn pyspark dask.distributed pandas pyarrow yaml)
  PY_PACKAGES+=(pytest pytest-xdist numexpr numba scipy scikit-learn pyspark "dask[distributed]" pandas pyarrow pyyaml)
fi
missing=()
for i in "${!PY_MODULES[@]}"; do
  "$PYTHON" -c "import ${PY_MODULES[$i]}" 2>/dev/null || missing+=("${PY_PACKAGES[$i]}")
done
if ((${#missing[@]})); then
  echo "==> installing Python packages: ${missing[*]}"
  "$PYTHON" -m pip install -q "${missing[@]}"
else
  echo "==> Python packages: all present"
fi
