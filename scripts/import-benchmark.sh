#!/usr/bin/env bash
# The 1,000,000-row contact import through the manager's HTTP API (BENCHMARKS.md).
#
# Starts a dialer-manager of its own (release build) in a fresh run directory, generates a CSV
# of ROWS distinct US numbers with two custom fields, creates a list, posts the file to
# POST /v1/lists/{id}/imports, polls the job until it ends, and prints the job's counts, the
# time from upload to the job's end, and the manager's peak resident memory (VmHWM).
#
#   scripts/import-benchmark.sh            # 1,000,000 rows
#   ROWS=100000 scripts/import-benchmark.sh
set -euo pipefail
ROWS=${ROWS:-1000000}
PORT=${PORT:-18080}
cd "$(dirname "$0")/.."
# SCRATCH_PATH=.build-release keeps this build apart from a debug build running meanwhile.
BUILD=(swift build -c release ${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"})
echo "building dialer-manager (release) ..." >&2
"${BUILD[@]}" --product dialer-manager >/dev/null
BIN=$("${BUILD[@]}" --show-bin-path)/dialer-manager
WORK=$(mktemp -d /tmp/dialer-import-bench.XXXXXX)
trap 'kill "$MANAGER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Numbers +1 212 2xx xxxx .. : distinct, valid NANP numbers.
awk -v rows="$ROWS" 'BEGIN {
  print "phone,first_name,city"
  for (i = 0; i < rows; i++) printf "+1%03d%07d,Name %d,City %d\n", 212 + int(i / 8000000), 2000000 + (i % 8000000), i, i % 100
}' > "$WORK/contacts.csv"
echo "file: $(wc -c < "$WORK/contacts.csv") bytes, $ROWS rows"

"$BIN" --set cluster.secret=bench --set cluster.run_directory="$WORK/run" \
  --set manager.http_address=127.0.0.1:$PORT --set manager.cluster_address=127.0.0.1:0 \
  >"$WORK/manager.log" 2>&1 &
MANAGER=$!
for _ in $(seq 100); do [ -f "$WORK/run/admin.token" ] && curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
TOKEN=$(cat "$WORK/run/admin.token")
API="http://127.0.0.1:$PORT/v1"
AUTH="Authorization: Bearer $TOKEN"
curl -sf -H "$AUTH" -d '{"id": "bench", "name": "Benchmark"}' "$API/lists" >/dev/null

START=$(date +%s.%N)
JOB=$(curl -sf -H "$AUTH" -H 'Content-Type: text/csv' -T "$WORK/contacts.csv" -X POST \
  "$API/lists/bench/imports?format=csv&name=contacts.csv" | sed -E 's/.*"id":([0-9]+).*/\1/')
UPLOADED=$(date +%s.%N)
while :; do
  STATE=$(curl -sf -H "$AUTH" "$API/imports/$JOB")
  case "$STATE" in *'"status":"succeeded"'*|*'"status":"failed"'*) break ;; esac
  sleep 0.5
done
END=$(date +%s.%N)
echo "job: $STATE"
echo "upload: $(echo "$UPLOADED - $START" | bc) s; upload to job end: $(echo "$END - $START" | bc) s"
grep -E 'VmHWM|VmRSS' "/proc/$MANAGER/status"
