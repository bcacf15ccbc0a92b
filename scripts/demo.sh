#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs dnoscope's main job
# fully offline on an embedded default:
#   1. label the video with the reference detector on every frame,
#   2. run the cascade (difference detector + reference) over it,
#   3. compare the two and print what was found and how fast.
# Default input: Debian's vtest.avi (pedestrians, 768x576) with OpenCV's HOG
# people detector, asking "is there a person in the lower half of the frame?".
# Without vtest.avi it falls back to a synthetic scene.
#
#   DNS_DEMO_VIDEO=path   use another video (with DNS_DEMO_ROI=X0,Y0,X1,Y1, optional)
#   DNS_DEMO_OUT=dir      where outputs go (default: out/demo)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target dnoscope

DNS=build/release/apps/dnoscope/dnoscope
OUT=${DNS_DEMO_OUT:-out/demo}
mkdir -p "$OUT"
VTEST=/usr/share/doc/opencv-doc/examples/data/vtest.avi
VIDEO=${DNS_DEMO_VIDEO:-}
ROI=${DNS_DEMO_ROI:-}
OBJECT=person
REFERENCE=(--model hog)
RUN_REFERENCE=(--reference hog)
THRESHOLD=${DNS_DEMO_DIFF_THRESHOLD:-15}
if [ -z "$VIDEO" ] && [ -f "$VTEST" ]; then
  VIDEO=$VTEST
  ROI=${ROI:-0,384,768,576}
elif [ -z "$VIDEO" ]; then
  echo "== vtest.avi not found: generating a synthetic scene"
  "$DNS" synth --out "$OUT/synth" --frames 600 --seed 1 --object person
  VIDEO=$OUT/synth/video.avi
  mkdir -p "$OUT/repo/truth/1"
  printf '{"backend": "replay", "files": {"labels": "%s"}, "replay": {"service_time_ms": 50}}\n' \
    "$(realpath "$OUT/synth/labels.csv")" > "$OUT/repo/truth/config.json"
  REFERENCE=(--model truth --model-repository "$OUT/repo")
  RUN_REFERENCE=(--reference truth --model-repository "$OUT/repo")
fi
ROI_ARGS=()
if [ -n "$ROI" ]; then ROI_ARGS=(--roi "$ROI"); fi

echo "== video"
"$DNS" info --video "$VIDEO"

echo "== 1/3 reference labels on every frame (${REFERENCE[*]})"
start=$(date +%s.%N)
"$DNS" label --video "$VIDEO" "${REFERENCE[@]}" --object "$OBJECT" "${ROI_ARGS[@]}" \
  --out "$OUT/reference.csv"
label_seconds=$(echo "$(date +%s.%N) - $start" | bc)

echo "== 2/3 cascade: difference detector (threshold $THRESHOLD) + reference"
"$DNS" run --video "$VIDEO" "${RUN_REFERENCE[@]}" --object "$OBJECT" "${ROI_ARGS[@]}" \
  --diff-threshold "$THRESHOLD" --compare-decode \
  --out "$OUT/cascade.csv" --summary-json "$OUT/summary.json"

echo "== 3/3 accuracy of the cascade against the reference on every frame"
"$DNS" eval --labels "$OUT/reference.csv" --predictions "$OUT/cascade.csv" --object "$OBJECT" \
  "${ROI_ARGS[@]}"

cascade_seconds=$(grep -m1 '"wall_seconds"' "$OUT/summary.json" | tr -dc '0-9.')
echo "== result"
printf 'reference on every frame: %.1f s; cascade: %.1f s; speedup %.2fx\n' \
  "$label_seconds" "$cascade_seconds" "$(echo "$label_seconds / $cascade_seconds" | bc -l)"
echo "outputs in $OUT/ (reference.csv, cascade.csv, summary.json)"
