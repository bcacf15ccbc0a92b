#!/usr/bin/env bash
# Soak test of live-paced runs (not part of the default test run): STREAMS
# `dnoscope run --realtime` clients, each pacing the same synthetic 10 fps
# video at its frame rate for DURATION_S seconds with events, lateness and
# /metrics on, while this script samples every client's resident memory
# (VmRSS) every INTERVAL_S seconds. After the warm-up (WARMUP_S), a client's
# RSS must grow by less than MAX_GROWTH_PCT percent: the mean of its last 3
# samples against the mean of its first 3 samples after the warm-up. At the
# end every client gets SIGTERM and must exit 0 with one row per frame it
# read. Exit status 1 when any check fails.
#
# One process per stream: `dnoscope run --streams` (all streams in one
# process) does not exist on this branch; with it, run one process instead
# and sample that.
#
#   scripts/soak.sh                         # 8 streams, 10 minutes
#   DURATION_S=120 WARMUP_S=30 scripts/soak.sh   # the shortened run
#
# Environment: BIN (default build/release/apps/dnoscope/dnoscope), STREAMS (8),
# DURATION_S (600), WARMUP_S (DURATION_S/5, at least 30), INTERVAL_S (5),
# SIZE (640x360), MAX_GROWTH_PCT (5), MAX_LATENESS_MS (1000: clients that
# cannot keep up drop frames, as live clients should), MAX_MODEL_FRAMES (8:
# frames queued for the models at most, which bounds how late a row can be
# and how long SIGTERM takes to drain), OUT (a fresh temp dir; kept).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-build/release/apps/dnoscope/dnoscope}
STREAMS=${STREAMS:-8}
DURATION_S=${DURATION_S:-600}
WARMUP_S=${WARMUP_S:-$(( DURATION_S / 5 > 30 ? DURATION_S / 5 : 30 ))}
INTERVAL_S=${INTERVAL_S:-5}
SIZE=${SIZE:-640x360}
MAX_GROWTH_PCT=${MAX_GROWTH_PCT:-5}
MAX_LATENESS_MS=${MAX_LATENESS_MS:-1000}
MAX_MODEL_FRAMES=${MAX_MODEL_FRAMES:-8}
OUT=${OUT:-$(mktemp -d /tmp/dnoscope-soak.XXXXXX)}
mkdir -p "$OUT"

[ -x "$BIN" ] || { echo "soak: $BIN not built (cmake --build --preset release --target dnoscope)" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "soak: the ffmpeg CLI is missing (scripts/setup.sh)" >&2; exit 2; }
(( WARMUP_S + 6 * INTERVAL_S <= DURATION_S )) ||
  { echo "soak: DURATION_S must leave 6 samples after WARMUP_S" >&2; exit 2; }

# A video a little longer than the run, so every client is still live at the end.
frames=$(( (DURATION_S + 30) * 10 ))
video="$OUT/soak_${SIZE}_10fps.avi"
echo "soak: $STREAMS streams x ${DURATION_S}s, warm-up ${WARMUP_S}s, output in $OUT"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc=size=${SIZE}:rate=10" \
  -frames:v "$frames" -c:v mjpeg -q:v 8 "$video"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for i in $(seq 1 "$STREAMS"); do
  "$BIN" run --video "$video" --realtime --max-lateness-ms "$MAX_LATENESS_MS" \
    --max-model-frames "$MAX_MODEL_FRAMES" --progress off --metrics-port 0 \
    --out "$OUT/stream$i.csv" --events "$OUT/stream$i.events.jsonl" \
    --summary-json "$OUT/stream$i.summary.json" > "$OUT/stream$i.log" 2>&1 &
  pids+=($!)
done

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
samples="$OUT/rss.csv"
echo "t_s,$(seq -s, -f 'stream%g_kb' 1 "$STREAMS")" > "$samples"
start=$(date +%s)
while true; do
  now=$(( $(date +%s) - start ))
  (( now > DURATION_S )) && break
  row="$now"
  for p in "${pids[@]}"; do row="$row,$(rss_kb "$p")"; done
  echo "$row" >> "$samples"
  sleep "$INTERVAL_S"
done

status=0
for p in "${pids[@]}"; do
  kill -TERM "$p" 2>/dev/null || echo "soak: pid $p had already exited"
done
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "soak: stream$((i + 1)) did not exit 0 on SIGTERM (log: $OUT/stream$((i + 1)).log)"
    status=1
  fi
done
pids=()

# Rows written == frames in the summary, per stream; lateness figures.
for i in $(seq 1 "$STREAMS"); do
  rows=$(( $(wc -l < "$OUT/stream$i.csv") - 1 ))
  python3 - "$OUT/stream$i.summary.json" "$rows" "stream$i" <<'PY' || status=1
import json, sys
s = json.load(open(sys.argv[1])); rows = int(sys.argv[2]); name = sys.argv[3]
live = s["live"]["lateness_ms"]
print(f"soak: {name}: {rows} rows, {s['frames']} frames, lateness mean {live['mean']:.1f} ms "
      f"max {live['max']:.1f} ms, dropped {s['live']['dropped_frames']}")
sys.exit(0 if rows == s["frames"] else 1)
PY
done

python3 - "$samples" "$WARMUP_S" "$MAX_GROWTH_PCT" <<'PY' || status=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
warmup, limit = float(sys.argv[2]), float(sys.argv[3])
after = [r for r in rows if float(r["t_s"]) >= warmup]
worst = 0.0
for name in [k for k in rows[0] if k != "t_s"]:
    values = [float(r[name]) for r in after]
    first, last = sum(values[:3]) / 3, sum(values[-3:]) / 3
    growth = 100 * (last - first) / first
    worst = max(worst, growth)
    print(f"soak: {name}: RSS {first / 1024:.1f} MiB after warm-up -> {last / 1024:.1f} MiB "
          f"({growth:+.2f}%)")
print(f"soak: worst RSS growth after warm-up {worst:+.2f}% (limit {limit}%)")
sys.exit(0 if worst < limit else 1)
PY
echo "soak: $([ $status -eq 0 ] && echo PASS || echo FAIL) (samples: $samples)"
exit $status
