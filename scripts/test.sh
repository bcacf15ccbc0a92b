#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs the whole test
# suite, each suite once where a pass adds nothing (labels in
# cmake/dnoscope.cmake):
#   1. release (g++): every suite, the slow ones (training, bench,
#      multi-host) included;
#   2. asan (clang): the build fails on any warning, thread-safety analysis
#      of every ABSL_GUARDED_BY included; unit, threaded and e2e suites under
#      ASan+UBSan, and a libFuzzer smoke run of the protocol decoders;
#   3. tsan (g++): the threaded suites under ThreadSanitizer.
# `.ci/run` runs exactly this.
#
#   DNS_SKIP_SANITIZERS=1   release pass only (faster local runs)
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on absolute paths unless told the project root: with it, a
# fresh clone in another folder reuses earlier compilations.
export CCACHE_BASEDIR="$PWD"
start=$(date +%s)
elapsed() { echo "== $1 ($(( $(date +%s) - start )) s since start)"; }

bash scripts/setup.sh

elapsed "release build"
cmake --preset release
cmake --build --preset release
elapsed "release tests (every suite)"
ctest --preset release --parallel 2

if [ "${DNS_SKIP_SANITIZERS:-0}" != "1" ]; then
  elapsed "asan build (clang, -Werror, thread-safety analysis)"
  cmake --preset asan
  cmake --build --preset asan
  elapsed "asan tests (unit, threaded, e2e, fuzz smoke)"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset asan --parallel 2
  elapsed "tsan build of the threaded suites"
  cmake --preset tsan
  mapfile -t TSAN_TESTS < <(ctest --preset tsan -N -L threaded | awk '/Test +#/ {print $3}')
  cmake --build --preset tsan --target "${TSAN_TESTS[@]}"
  elapsed "tsan tests"
  TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" \
    ctest --preset tsan --parallel 2 -L threaded
fi
elapsed "all passed"
