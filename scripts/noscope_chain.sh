#!/usr/bin/env bash
# The whole NoScope chain on one video, timed in one command:
#   label (reference on every frame) -> train (specialized CNN) ->
#   optimize (thresholds for FP/FN targets) -> run (cascade on the test range) -> eval
# and the speedup of the cascade over the reference on every test frame, both
# measured here as whole commands (decode included, all stages in-process).
#
# Parameters (environment):
#   VIDEO          input video (required)
#   REFERENCE      reference model: hog, a .onnx/.cfg file (Darknet weights are
#                  taken from the .weights file beside the .cfg) or "reference"
#                  with REFERENCE_CONFIG set (default: hog)
#   REFERENCE_CONFIG  config.json text for a repository model named "reference"
#                  (e.g. a replay of exact labels), placed in the run's repository
#   OBJECT         object class (default: person)       ROI  X0,Y0,X1,Y1 (optional)
#   TRAIN FIT TEST frame ranges START:END (required), disjoint
#   TARGET_FP TARGET_FN   targets for the optimizer (default 0.05 each)
#   TRAIN_ARGS     extra arguments for `dnoscope train` (e.g. a smaller grid)
#   OPTIMIZE_ARGS  extra arguments for `dnoscope optimize` (e.g. --confidence 0.9)
#   OUT            output directory (default: out/chain)
#   DNS            the dnoscope binary (default: build/release/apps/dnoscope/dnoscope)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${VIDEO:?set VIDEO}" "${TRAIN:?set TRAIN}" "${FIT:?set FIT}" "${TEST:?set TEST}"
DNS=${DNS:-build/release/apps/dnoscope/dnoscope}
OUT=${OUT:-out/chain}
OBJECT=${OBJECT:-person}
TARGET_FP=${TARGET_FP:-0.05}
TARGET_FN=${TARGET_FN:-0.05}
REFERENCE=${REFERENCE:-hog}
ROI_ARGS=()
if [ -n "${ROI:-}" ]; then ROI_ARGS=(--roi "$ROI"); fi
read -r -a EXTRA_TRAIN <<< "${TRAIN_ARGS:-}"
read -r -a EXTRA_OPTIMIZE <<< "${OPTIMIZE_ARGS:-}"
mkdir -p "$OUT"
rm -rf "$OUT/repo"
mkdir -p "$OUT/repo"
if [ -n "${REFERENCE_CONFIG:-}" ]; then
  mkdir -p "$OUT/repo/reference/1"
  printf '%s\n' "$REFERENCE_CONFIG" > "$OUT/repo/reference/config.json"
fi
REPO=$(realpath "$OUT/repo")

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }

# Reference labels: the train+fit part, then the test range alone so that its
# time is the "reference on every test frame" baseline.
echo "== reference labels for ${TRAIN%%:*}:${FIT##*:} (training and fitting)"
"$DNS" label --video "$VIDEO" --model "$REFERENCE" --model-repository "$REPO" \
  --frames "${TRAIN%%:*}:${FIT##*:}" \
  --object "$OBJECT" --out "$OUT/ref_train_fit.csv"
echo "== reference on every test frame ($TEST)"
t0=$(now)
"$DNS" label --video "$VIDEO" --model "$REFERENCE" --model-repository "$REPO" --frames "$TEST" \
  --object "$OBJECT" \
  --out "$OUT/ref_test.csv"
reference_seconds=$(elapsed "$t0")
{ cat "$OUT/ref_train_fit.csv"; tail -n +2 "$OUT/ref_test.csv"; } > "$OUT/reference.csv"

echo "== train on $TRAIN"
"$DNS" train --video "$VIDEO" --labels "$OUT/reference.csv" --object "$OBJECT" "${ROI_ARGS[@]}" \
  --frames "$TRAIN" --out "$REPO" "${EXTRA_TRAIN[@]}"

echo "== optimize on $FIT (targets FP <= $TARGET_FP, FN <= $TARGET_FN)"
"$DNS" optimize --video "$VIDEO" --labels "$OUT/reference.csv" --object "$OBJECT" "${ROI_ARGS[@]}" \
  --frames "$FIT" --target-fp "$TARGET_FP" --target-fn "$TARGET_FN" --model-repository "$REPO" \
  --reference "$REFERENCE" --out "$OUT/cascade.json" "${EXTRA_OPTIMIZE[@]}"

echo "== cascade on $TEST"
t0=$(now)
"$DNS" run --video "$VIDEO" --config "$OUT/cascade.json" --frames "$TEST" \
  --out "$OUT/cascade.csv" --summary-json "$OUT/summary.json"
cascade_seconds=$(elapsed "$t0")

echo "== accuracy on $TEST against the reference"
"$DNS" eval --labels "$OUT/reference.csv" --predictions "$OUT/cascade.csv" --object "$OBJECT" \
  "${ROI_ARGS[@]}" --frames "$TEST" | tee "$OUT/eval.txt"
"$DNS" eval --labels "$OUT/reference.csv" --predictions "$OUT/cascade.csv" --object "$OBJECT" \
  "${ROI_ARGS[@]}" --frames "$TEST" --json > "$OUT/eval.json"

echo "== result"
printf 'test range %s: reference on every frame %.2f s, cascade %.2f s, speedup %.2fx\n' \
  "$TEST" "$reference_seconds" "$cascade_seconds" "$(echo "$reference_seconds / $cascade_seconds" | bc -l)"
python3 - "$OUT/eval.json" "$TARGET_FP" "$TARGET_FN" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"per-frame FP rate {j['fp_rate']:.4f} (target {sys.argv[2]}), FN rate {j['fn_rate']:.4f} "
      f"(target {sys.argv[3]}), accuracy {j['accuracy']:.4f}")
PY
