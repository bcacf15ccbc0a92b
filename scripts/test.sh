#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs the whole test
# suite: installs the Debian packages (idempotent), builds the release preset
# and runs every test, then builds the ASan+UBSan preset and runs the tests
# again under those sanitizers, then the threaded components' tests (queues,
# cascade, scheduler, HTTP server and client, REST handler) under
# ThreadSanitizer, then a short libFuzzer run of the protocol decoders (clang).
# `.ci/run` runs exactly this.
#
#   DNS_SKIP_SANITIZERS=1   skip the sanitizer pass (faster local runs)
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on absolute paths unless told the project root: with it, a
# fresh clone in another folder reuses earlier compilations.
export CCACHE_BASEDIR="$PWD"

bash scripts/setup.sh

echo "== release build"
cmake --preset release
cmake --build --preset release
echo "== release tests"
ctest --preset release --parallel 2

if [ "${DNS_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== ASan+UBSan build"
  cmake --preset asan
  cmake --build --preset asan
  echo "== ASan+UBSan tests"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset asan --parallel 2
  echo "== TSan build and tests of the threaded components"
  cmake --preset tsan
  TSAN_TESTS=(common_test cascade_test serving_test http_server_test client_test rest_handler_test
              remote_model_test distributed_test remote_cascade_test)
  cmake --build --preset tsan --target "${TSAN_TESTS[@]}"
  TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" \
    ctest --preset tsan --parallel 2 --tests-regex "^($(IFS='|'; echo "${TSAN_TESTS[*]}"))\$"
  echo "== libFuzzer smoke run of the KServe / TF Serving decoders"
  cmake --preset fuzz
  cmake --build --preset fuzz --target protocol_fuzzer
  ctest --preset fuzz
fi
