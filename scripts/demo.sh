#!/usr/bin/env bash
# demo.sh records the sample API through bw capture and shows the result.
# Run it with `make demo`, which builds what it needs; by hand:
#
#   BW=~/go/bin/bw BIN=bin scripts/demo.sh
#
# Environment: BW (the bw binary), BIN (directory holding the sampleapi and
# freeport helpers), DB (default demo.db), N (requests, default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
trap cleanup EXIT

BW=${BW:?set BW to the bw binary}
BIN=${BIN:-bin}
DB=${DB:-demo.db}
N=${N:-300}
[[ -x $BW ]] || die "$BW is not an executable bw"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bw-demo.XXXXXX")
trap 'cleanup; rm -rf "$tmp"' EXIT

rm -f "$DB"

log "starting the sample API"
start_bg "$tmp/sampleapi.log" "$BIN/sampleapi" -listen 127.0.0.1:0
api_pid=$BG_PID
api_addr=$(wait_listening "$api_pid" "$tmp/sampleapi.log")
log "sample API on http://$api_addr"

port=$("$BIN/freeport")
log "starting: bw capture --upstream http://$api_addr --listen 127.0.0.1:$port --db $DB"
start_bg "$tmp/capture.log" "$BW" --db "$DB" capture --upstream "http://$api_addr" --listen "127.0.0.1:$port"
bw_pid=$BG_PID
bw_addr=$(wait_listening "$bw_pid" "$tmp/capture.log")
log "bw capture on http://$bw_addr"

log "driving $N requests through the proxy"
"$BIN/sampleapi" -drive "http://$bw_addr" -n "$N"

log "stopping bw capture (SIGINT)"
status=0
stop "$bw_pid" INT 30 || status=$?
sed 's/^/    /' "$tmp/capture.log" >&2
((status == 0)) || die "bw capture exited with status $status"

stop "$api_pid" TERM 10 || true

log "$BW --db $DB stats"
"$BW" --db "$DB" stats
echo
log "$BW --db $DB ls --limit 15"
"$BW" --db "$DB" ls --limit 15
echo
# The id of the first exchange, from `ls --json` (no jq needed).
first=$("$BW" --db "$DB" ls --json --limit 1 |
	grep -o '"id"[[:space:]]*:[[:space:]]*"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
[[ -n $first ]] || die "bw ls --json --limit 1 printed no id"
log "$BW --db $DB show $first"
"$BW" --db "$DB" show "$first"
echo
API=${API:-demo-api.yaml}
log "$BW --db $DB infer > $API   (Backworks YAML; the endpoints it learned:)"
"$BW" --db "$DB" infer >"$API"
grep -E '^    path: |^    methods: ' "$API" | paste - - | sed 's/^ *path: //; s/ *methods: / /'
echo
log "$BW --db $DB infer --format openapi -o demo-openapi.yaml   (OpenAPI 3.1; one operation:)"
"$BW" --db "$DB" infer --format openapi -o demo-openapi.yaml
# Through a file: head closing the pipe early would fail the script (pipefail).
sed -n '/^  \/api\/v1\/users\/{userId}:/,/^  \/api/p' demo-openapi.yaml | sed '$d' >"$tmp/op.yaml"
head -n 60 "$tmp/op.yaml"
echo
log "$BW --db $DB test --target <a fresh sample API> --header 'Authorization: Bearer ...'"
echo "    (the recordings as contract tests against the real service; capture redacted the"
echo "     token, so it is supplied again; exchanges recorded with other tokens are skipped)"
start_bg "$tmp/sampleapi2.log" "$BIN/sampleapi" -listen 127.0.0.1:0
api2_pid=$BG_PID
api2_addr=$(wait_listening "$api2_pid" "$tmp/sampleapi2.log")
"$BW" --db "$DB" test --target "http://$api2_addr" --header "Authorization: Bearer sampleapi-demo-token" \
	--junit demo-junit.xml | sed -n '/^bw test:/,$p' || die "bw test against the sample API failed"
stop "$api2_pid" TERM 10 || true
echo

log "$BW serve $API --db $DB   (serving what was learned, replaying the recordings)"
start_bg "$tmp/serve.log" "$BW" -q serve "$API" --db "$DB" --listen "127.0.0.1:$("$BIN/freeport")"
serve_pid=$BG_PID
serve_addr=$(wait_listening "$serve_pid" "$tmp/serve.log")
log "$BW --db $DB test --target http://$serve_addr --header 'Authorization: Bearer ...'   (the same contract tests, against bw serve)"
"$BW" --db "$DB" test --target "http://$serve_addr" --header "Authorization: Bearer sampleapi-demo-token" | sed -n '/^bw test:/,$p' || die "bw test against bw serve failed"
echo
log "curl -i -X POST http://$serve_addr/api/v1/users -d '{\"name\": 42}'   (validated against the learned schema)"
curl -s -i -X POST -H 'Content-Type: application/json' -d '{"name": 42}' "http://$serve_addr/api/v1/users" >"$tmp/post.txt"
head -c 800 "$tmp/post.txt"
echo
echo

# The showcase ends with a replayed answer: the recorded body, byte for byte.
path=/api/v1/users/1
log "curl -i http://$serve_addr$path   (the recorded answer, replayed)"
curl -s -i "http://$serve_addr$path" | tee "$tmp/last.txt"
echo
head -n 1 "$tmp/last.txt" | grep -q ' 200' || die "GET $path did not answer 200"
grep -qi '^Bw-Match: [0-9A-Z]\{26\}' "$tmp/last.txt" || die "GET $path was not answered from a recording"
stop "$serve_pid" INT 10 || true

log "done: recordings in $DB, the API in $API and demo-openapi.yaml, a JUnit report in demo-junit.xml (try: $BW --db $DB ls --path /api/v1/orders)"
