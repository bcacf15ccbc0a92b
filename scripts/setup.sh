#!/usr/bin/env bash
# Installs the Debian 12 packages dnoscope needs to build, test and run.
# Idempotent: packages already present are not reinstalled, and apt-get update
# runs only when something is missing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ ccache pkg-config git bc
  libopencv-dev opencv-doc ffmpeg
  libcli11-dev libspdlog-dev nlohmann-json3-dev libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libtorch-dev libonnx-dev
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-grpc-tools
  libboost-dev curl clang libclang-rt-14-dev iproute2 python3 gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} Debian packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
