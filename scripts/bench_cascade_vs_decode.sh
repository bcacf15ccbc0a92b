#!/usr/bin/env bash
# Measures `dnoscope run` (difference detector + a zero-cost replay reference)
# against a decode-and-resize-only pass over the same input, in one run each:
# the cascade's overhead over decoding, the physical limit of an edge client.
# Inputs: Debian's vtest.avi (when installed) and a synthetic 1080p video.
# Prints frames/s of both and their ratio. Needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
DNS=build/release/apps/dnoscope/dnoscope
OUT=${DNS_BENCH_OUT:-out/bench_cascade_vs_decode}
mkdir -p "$OUT"

# replay_repo DIR LABELS: a repository whose model "replay" answers from LABELS at no cost.
replay_repo() {
  mkdir -p "$1/replay/1"
  printf '{"backend": "replay", "files": {"labels": "%s"}, "replay": {"object_name": "person"}}\n' \
    "$(realpath "$2")" > "$1/replay/config.json"
}

measure() {  # NAME VIDEO REPO THRESHOLD
  "$DNS" --log-level warn run --video "$2" --reference replay --model-repository "$3" \
    --diff-threshold "$4" --progress off --compare-decode --summary-json "$OUT/$1.json" >/dev/null
  python3 - "$1" "$OUT/$1.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[2]))
print(f"{sys.argv[1]:<10} cascade {j['frames_per_second']:8.1f} frames/s  decode-only "
      f"{j['decode_only_frames_per_second']:8.1f} frames/s  ratio {j['cascade_over_decode_ratio']:.2f}"
      f"  (diff_reused {j['status_shares']['diff_reused']:.0%}, reference {j['status_shares']['reference']:.0%})")
PY
}

VTEST=/usr/share/doc/opencv-doc/examples/data/vtest.avi
if [ -f "$VTEST" ]; then
  printf 'frame,object_name,confidence,xmin,ymin,xmax,ymax\n' > "$OUT/empty.csv"
  replay_repo "$OUT/repo_vtest" "$OUT/empty.csv"
  measure vtest "$VTEST" "$OUT/repo_vtest" 15
fi
if [ ! -f "$OUT/synth1080/video.avi" ]; then
  "$DNS" --log-level warn synth --out "$OUT/synth1080" --frames 300 --width 1920 --height 1080 \
    --seed 5 --object-rate 0.02 >/dev/null
fi
replay_repo "$OUT/repo_1080" "$OUT/synth1080/labels.csv"
measure synth1080 "$OUT/synth1080/video.avi" "$OUT/repo_1080" 5
