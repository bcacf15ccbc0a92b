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
  libboost-dev zlib1g-dev curl clang libclang-rt-14-dev iproute2 python3 gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Optional: onnxruntime-node, an ONNX runtime independent of OpenCV, for the
# test that checks `dnoscope export` graphs (tests/e2e/onnx_check.js). It goes
# into build/node-tools (never committed). Best effort: without node, npm or
# the npm registry setup still succeeds and that test reports Skipped.
ORT_NODE_VERSION=1.31.1
install_onnxruntime_node() {
  local root tools
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  tools="$root/build/node-tools"
  if [ -f "$tools/node_modules/onnxruntime-node/package.json" ] &&
     grep -q "\"version\": \"$ORT_NODE_VERSION\"" "$tools/node_modules/onnxruntime-node/package.json"; then
    echo "setup: onnxruntime-node $ORT_NODE_VERSION already in $tools"
    return 0
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "setup: installing nodejs and npm (optional)"
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm ||
      { echo "setup: warning: no nodejs/npm; the onnxruntime-node check will skip"; return 0; }
  fi
  mkdir -p "$tools"
  # ONNXRUNTIME_NODE_INSTALL=skip: the CPU runtime ships in the package; its
  # install script would only fetch optional CUDA binaries from NuGet.
  if ONNXRUNTIME_NODE_INSTALL=skip timeout 600 npm install --silent --no-audit --no-fund \
       --prefix "$tools" "onnxruntime-node@$ORT_NODE_VERSION"; then
    echo "setup: onnxruntime-node $ORT_NODE_VERSION installed in $tools"
  else
    echo "setup: warning: npm install onnxruntime-node failed; the onnxruntime-node check will skip"
  fi
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} Debian packages already installed"
else
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
install_onnxruntime_node || echo "setup: warning: onnxruntime-node not installed"
