#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs dnoscope's main job
# fully offline on an embedded default: the whole NoScope chain
#   label (reference on every frame) -> train a specialized CNN ->
#   optimize thresholds for FP/FN <= 5% -> run the cascade -> eval
# printing the speedup over running the reference on every test frame and
# the test range's FP/FN rates (scripts/noscope_chain.sh does the work).
#
# Default input (DNS_DEMO_INPUT=synthetic): a 3000-frame synthetic scene from
# `dnoscope synth`; the reference replays its exact labels after an emulated
# 20 ms service time (a small YOLO's cost on this machine). Train on 0:1200,
# fit on 1200:2100, test on 2100:3000.
#
# DNS_DEMO_INPUT=vtest: Debian's vtest.avi with OpenCV's HOG people detector,
# "a person whose box centre is in the lower half of the frame"; train 0:300,
# fit 300:550, test 550:795. Measured: 26x faster than HOG, but the clip is
# too short for the specialized model to generalise to its last 25 seconds
# (test FN rate 36% against targets of 5%): a demonstration of the tools on
# real video, not of the accuracy.
#
#   DNS_DEMO_OUT=dir      where outputs go (default: out/demo)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target dnoscope

export DNS=build/release/apps/dnoscope/dnoscope
export OUT=${DNS_DEMO_OUT:-out/demo}
mkdir -p "$OUT"
export OBJECT=person TARGET_FP=${TARGET_FP:-0.05} TARGET_FN=${TARGET_FN:-0.05}
case "${DNS_DEMO_INPUT:-synthetic}" in
  vtest)
    export VIDEO=/usr/share/doc/opencv-doc/examples/data/vtest.avi REFERENCE=hog
    export ROI=0,288,768,576 TRAIN=0:300 FIT=300:550 TEST=550:795
    ;;
  synthetic)
    echo "== generating a synthetic scene"
    "$DNS" synth --out "$OUT/synth" --frames 3000 --seed 3 --object person --object-rate 0.008
    export VIDEO=$OUT/synth/video.avi REFERENCE=reference
    REFERENCE_CONFIG=$(printf \
      '{"backend": "replay", "files": {"labels": "%s"}, "replay": {"service_time_ms": 20}}' \
      "$(realpath "$OUT/synth/labels.csv")")
    export REFERENCE_CONFIG TRAIN=0:1200 FIT=1200:2100 TEST=2100:3000
    # Blocked MSE: a small object leaving changes one block a lot but the
    # global MSE little (measured: global MSE let labels stick, test FP 7.6%).
    # OPTIMIZE_ARGS= (set but empty) reproduces the global-MSE run.
    export OPTIMIZE_ARGS=${OPTIMIZE_ARGS---diff-metric blocked}
    ;;
  *)
    echo "DNS_DEMO_INPUT must be synthetic or vtest" >&2
    exit 2
    ;;
esac
echo "== video"
"$DNS" info --video "$VIDEO"
bash scripts/noscope_chain.sh
