#!/usr/bin/env bash
# rss.sh shows that bw capture's memory stays flat under sustained load: it
# sends REQUESTS (default 1,000,000) GETs through bw capture to bench/upstream
# from 32 keep-alive connections, samples bw's VmRSS every few seconds and
# checks that after the warm-up every sample lies within ±10% of the median
# (RssAnon, the heap, is judged too, and printed).
# Run it with `make bench-rss`; by hand:
#
#   BW=bin/bw BIN=bin bench/rss.sh
#
# Environment: BW (default bin/bw), BIN (holding upstream, load and freeport;
# default bin), REQUESTS (default 1000000), CONNS (default 32), EVERY
# (sampling interval, default 5s), WARMUP_REQUESTS (default 250000: until the
# heap has grown to its steady collector goal),
# TOLERANCE (default 0.10), METRIC (what must be flat: VmRSS, the default, or
# RssAnon, which leaves out the mapped database file).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

BW=${BW:-bin/bw}
BIN=${BIN:-bin}
REQUESTS=${REQUESTS:-1000000}
CONNS=${CONNS:-32}
EVERY=${EVERY:-5s}
WARMUP_REQUESTS=${WARMUP_REQUESTS:-250000}
TOLERANCE=${TOLERANCE:-0.10}
METRIC=${METRIC:-VmRSS}

[[ -x $BW ]] || die "$BW is not an executable bw; run 'make build' or set BW"
for t in upstream load freeport; do
	[[ -x $BIN/$t ]] || die "$BIN/$t missing; run 'make tools'"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bw-rss.XXXXXX")
trap 'cleanup; rm -rf "$tmp"' EXIT

start_bg "$tmp/upstream.log" "$BIN/upstream" -listen 127.0.0.1:0
up_pid=$BG_PID
up=$(wait_listening "$up_pid" "$tmp/upstream.log")

db="$tmp/rss.db"
port=$("$BIN/freeport")
start_bg "$tmp/capture.log" "$BW" --db "$db" capture --upstream "http://$up" --listen "127.0.0.1:$port"
bw_pid=$BG_PID
bw=$(wait_listening "$bw_pid" "$tmp/capture.log")

log "sending $REQUESTS requests through bw capture (pid $bw_pid) from $CONNS connections, sampling its memory every $EVERY"
load_status=0
"$BIN/load" -url "http://$bw/api/v1/users/4711" -n "$REQUESTS" -c "$CONNS" -pid "$bw_pid" \
	-every "$EVERY" -warmup "$WARMUP_REQUESTS" -tolerance "$TOLERANCE" -metric "$METRIC" || load_status=$?

log "stopping bw capture (SIGINT)"
status=0
stop "$bw_pid" INT 120 || status=$?
echo "bw capture's own summary:"
grep -v '^listening on' "$tmp/capture.log" | sed 's/^/    /'
((status == 0)) || die "bw capture exited with status $status"
stored=$("$BW" --db "$db" stats --json | sed -n 's/^[[:space:]]*"exchanges":[[:space:]]*\([0-9]*\).*/\1/p' | head -n 1)
echo "bw stored exchanges: ${stored:-?} of $REQUESTS sent; db $(($(stat -c %s "$db") / 1024 / 1024)) MiB"
stop "$up_pid" TERM 10 || true
exit "$load_status"
