#!/usr/bin/env bash
# Soak test of live-paced runs (not part of the default test run): one
# `dnoscope run --streams --realtime` client with STREAMS streams, each
# pacing a synthetic 10 fps video at its frame rate for DURATION_S seconds
# over shared stages, with events, lateness and /metrics on, while this
# script samples the client's resident memory (VmRSS) every INTERVAL_S
# seconds. After the warm-up (WARMUP_S), its RSS must grow by less than
# MAX_GROWTH_PCT percent: the mean of the last 3 samples against the mean of
# the first 3 after the warm-up. At the end the client gets SIGTERM and must
# exit 0 with one row per frame read on every stream. Exit status 1 when any
# check fails.
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

# Every stream: the same video, HOG as the reference, its own CSV.
echo '{"object": "person", "reference": {"model": "hog"}}' > "$OUT/cascade.json"
python3 - "$OUT" "$video" "$STREAMS" > "$OUT/streams.json" <<'PY'
import json, sys
out, video, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(json.dumps([{"name": f"stream{i}", "video": video, "config": f"{out}/cascade.json",
                   "out": f"{out}/stream{i}.csv"} for i in range(1, n + 1)], indent=1))
PY

pid=""
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true; }
trap cleanup EXIT
"$BIN" run --streams "$OUT/streams.json" --realtime --max-lateness-ms "$MAX_LATENESS_MS" \
  --max-model-frames "$MAX_MODEL_FRAMES" --progress off --metrics-port 0 \
  --events "$OUT/events.jsonl" --summary-json "$OUT/summary.json" > "$OUT/client.log" 2>&1 &
pid=$!

samples="$OUT/rss.csv"
echo "t_s,client_kb" > "$samples"
start=$(date +%s)
while true; do
  now=$(( $(date +%s) - start ))
  (( now > DURATION_S )) && break
  kill -0 "$pid" 2>/dev/null || { echo "soak: the client ended early (log: $OUT/client.log)"; exit 1; }
  echo "$now,$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")" >> "$samples"
  sleep "$INTERVAL_S"
done

status=0
kill -TERM "$pid"
if ! wait "$pid"; then
  echo "soak: the client did not exit 0 on SIGTERM (log: $OUT/client.log)"
  status=1
fi
pid=""

# Rows written == frames in the summary, per stream; lateness figures.
python3 - "$OUT" <<'PY' || status=1
import json, sys
out = sys.argv[1]
summary = json.load(open(f"{out}/summary.json"))
ok = True
for s in summary["streams"]:
    rows = sum(1 for _ in open(f"{out}/{s['name']}.csv")) - 1
    live = s["live"]["lateness_ms"]
    print(f"soak: {s['name']}: {rows} rows, {s['frames']} frames, lateness mean "
          f"{live['mean']:.1f} ms max {live['max']:.1f} ms, dropped {s['live']['dropped_frames']}")
    ok &= rows == s["frames"]
sys.exit(0 if ok else 1)
PY

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
