#!/usr/bin/env bash
# proxy.sh measures what bw capture costs in front of an HTTP service. On
# loopback, one after the other, wrk loads:
#
#   direct   the upstream (bench/upstream: a ~200-byte JSON body per GET)
#   nginx    nginx proxy_pass to the same upstream (keepalive 64)
#   bw       bw capture --upstream to the same upstream, recording to a temp db
#
# and prints requests/s, p50 and p99 for each, bw's throughput relative to
# nginx, bw's added median latency, its memory under load and how many
# exchanges it stored. Run it with `make bench-proxy` (or `make bench`), which
# builds what it needs; by hand:
#
#   BW=bin/bw BIN=bin bench/proxy.sh
#
# Environment: BW (bw binary, default bin/bw), BIN (directory holding the
# upstream and freeport helpers, default bin), DURATION (per run, default 10s),
# WARMUP (an unmeasured wrk run before each, default 2s; 0 skips it),
# THREADS (default 2), CONNS (default 32), TARGETS (default "direct nginx bw"),
# NGINX, WRK (binaries), OUT (raw outputs, default bench/out/proxy-TIMESTAMP).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

BW=${BW:-bin/bw}
BIN=${BIN:-bin}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
WRK=${WRK:-$(command -v wrk || true)}
NGINX=${NGINX:-$(command -v nginx || command -v /usr/sbin/nginx || true)}
OUT=${OUT:-bench/out/proxy-$(date +%Y%m%d-%H%M%S)}
TARGETS=${TARGETS:-direct nginx bw}

# want TARGET reports whether TARGET is to be measured.
want() { [[ " $TARGETS " == *" $1 "* ]]; }

want bw && { [[ -x $BW ]] || die "$BW is not an executable bw; run 'make build' or set BW"; }
want nginx && { [[ -n $NGINX ]] || die "nginx not found; install it (apt-get install nginx) or set NGINX"; }
[[ -x $BIN/upstream && -x $BIN/freeport ]] || die "$BIN/upstream or $BIN/freeport missing; run 'make tools'"
[[ -n $WRK ]] || die "wrk not found; install it (apt-get install wrk) or set WRK"

mkdir -p "$OUT"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bw-bench.XXXXXX")
chmod 755 "$tmp" # nginx workers may run as another user
trap 'cleanup; rm -rf "$tmp"' EXIT

# to_ms converts a wrk duration (850.00us, 1.23ms, 2.00s, 1.00m) to milliseconds.
to_ms() {
	awk -v d="$1" 'BEGIN {
		if (d ~ /us$/) { sub(/us$/, "", d); printf "%.3f", d / 1000 }
		else if (d ~ /ms$/) { sub(/ms$/, "", d); printf "%.3f", d }
		else if (d ~ /m$/) { sub(/m$/, "", d); printf "%.3f", d * 60000 }
		else if (d ~ /s$/) { sub(/s$/, "", d); printf "%.3f", d * 1000 }
		else { printf "nan" }
	}'
}

# wait_port PORT waits until something accepts connections on 127.0.0.1:PORT.
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# measure NAME URL runs wrk (after a warm-up) and sets RPS, P50, P99 (ms),
# REQS (completed in the measured run), ERRS (socket errors + non-2xx) and
# WARM_REQS (completed during the warm-up).
measure() {
	local name=$1 url=$2 f="$OUT/$1.wrk" w="$OUT/$1-warmup.wrk"
	WARM_REQS=0
	if [[ $WARMUP != 0 ]]; then
		"$WRK" -t"$THREADS" -c"$CONNS" -d"$WARMUP" "$url" >"$w"
		WARM_REQS=$(awk '/requests in/ { print $1 }' "$w")
	fi
	log "$name: wrk -t$THREADS -c$CONNS -d$DURATION --latency $url"
	"$WRK" -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$url" >"$f"
	RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f")
	P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
	P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
	REQS=$(awk '/requests in/ { print $1 }' "$f")
	ERRS=$(awk '
		/Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { sub(/,/, "", $i); n += $i } }
		/Non-2xx or 3xx responses:/ { n += $NF }
		END { print n + 0 }' "$f")
	[[ -n $RPS && -n $REQS ]] || die "could not read wrk's output for $name; see $f"
}

# latency NAME URL measures the median over one connection (no queueing:
# the latency a proxy adds per request) and sets LP50 (ms).
LAT_DURATION=${LAT_DURATION:-5s}
latency() {
	local f="$OUT/$1-latency.wrk"
	"$WRK" -t1 -c1 -d"$LAT_DURATION" --latency "$2" >"$f"
	LP50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
}

declare -A rps p50 p99 reqs errs lp50

# 1. direct
log "starting the upstream"
start_bg "$tmp/upstream.log" "$BIN/upstream" -listen 127.0.0.1:0
up_pid=$BG_PID
up=$(wait_listening "$up_pid" "$tmp/upstream.log")
if want direct; then
	measure direct "http://$up/api/v1/users/4711"
	rps[direct]=$RPS p50[direct]=$P50 p99[direct]=$P99 reqs[direct]=$REQS errs[direct]=$ERRS
	latency direct "http://$up/api/v1/users/4711"
	lp50[direct]=$LP50
fi

# 2. nginx
read -r nginx_port bw_port < <("$BIN/freeport" -n 2 | paste -sd ' ')
if want nginx; then
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/client_body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    upstream backend {
        server $up;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
cp "$tmp/nginx/nginx.conf" "$OUT/nginx.conf"
log "starting nginx on 127.0.0.1:$nginx_port"
start_bg "$tmp/nginx.log" "$NGINX" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" -g 'daemon off;'
nginx_pid=$BG_PID
if ! wait_port "$nginx_port"; then
	cat "$tmp/nginx.log" "$tmp/nginx/error.log" >&2 || true
	die "nginx did not start"
fi
measure nginx "http://127.0.0.1:$nginx_port/api/v1/users/4711"
rps[nginx]=$RPS p50[nginx]=$P50 p99[nginx]=$P99 reqs[nginx]=$REQS errs[nginx]=$ERRS
latency nginx "http://127.0.0.1:$nginx_port/api/v1/users/4711"
lp50[nginx]=$LP50
stop "$nginx_pid" QUIT 10 || true
fi

# 3. bw capture
db="$tmp/bench.db"
if want bw; then
log "starting bw capture on 127.0.0.1:$bw_port"
start_bg "$tmp/capture.log" "$BW" --db "$db" capture --upstream "http://$up" --listen "127.0.0.1:$bw_port"
bw_pid=$BG_PID
bw=$(wait_listening "$bw_pid" "$tmp/capture.log")
measure bw "http://$bw/api/v1/users/4711"
rps[bw]=$RPS p50[bw]=$P50 p99[bw]=$P99 reqs[bw]=$REQS errs[bw]=$ERRS
bw_warm=$WARM_REQS
latency bw "http://$bw/api/v1/users/4711"
lp50[bw]=$LP50
bw_lat_reqs=$(awk '/requests in/ { print $1 }' "$OUT/bw-latency.wrk")
hwm_kb=$(rss_kb "$bw_pid" VmHWM)
rss_kb_now=$(rss_kb "$bw_pid" VmRSS)
log "stopping bw capture (SIGINT)"
status=0
stop "$bw_pid" INT 60 || status=$?
cp "$tmp/capture.log" "$OUT/capture.log"
((status == 0)) || { sed 's/^/    /' "$tmp/capture.log" >&2; die "bw capture exited with status $status"; }
stored=$("$BW" --db "$db" stats --json | sed -n 's/^[[:space:]]*"exchanges":[[:space:]]*\([0-9]*\).*/\1/p' | head -n 1)
db_bytes=$(stat -c %s "$db")
expected=$((bw_warm + reqs[bw] + bw_lat_reqs))
fi
stop "$up_pid" TERM 10 || true

# Report.
{
	echo
	echo "proxy benchmark: wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up), GET of a 198-byte JSON body, loopback"
	echo "machine: $(nproc) CPUs, $(uname -sr); $(go version 2>/dev/null | cut -d' ' -f3-); $("$NGINX" -v 2>&1 | sed 's/.*version: //'); $("$WRK" -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
	echo
	printf '%-12s %12s %10s %10s %12s %8s\n' target "requests/s" "p50 ms" "p99 ms" requests errors
	for t in direct nginx bw; do
		want $t || continue
		label=$t
		[[ $t == bw ]] && label="bw capture"
		printf '%-12s %12s %10s %10s %12s %8s\n' "$label" "${rps[$t]}" "${p50[$t]}" "${p99[$t]}" "${reqs[$t]}" "${errs[$t]}"
	done
	echo
	if want bw && want nginx; then
		awk -v b="${rps[bw]}" -v n="${rps[nginx]}" 'BEGIN { printf "throughput bw/nginx: %.2f\n", b / n }'
	fi
	for t in nginx bw; do
		if want $t && want direct; then
			awk -v t="$t" -v x="${rps[$t]}" -v d="${rps[direct]}" -v p="${p50[$t]}" -v q="${p50[direct]}" \
				-v lp="${lp50[$t]}" -v lq="${lp50[direct]}" \
				'BEGIN { printf "%s vs direct: throughput %.2f, added p50 %+.3f ms under load; added p50 over one connection (wrk -t1 -c1, no queueing) %+.3f ms\n", t, x / d, p - q, lp - lq }'
		fi
	done
	if want bw; then
		awk -v h="$hwm_kb" -v r="$rss_kb_now" \
			'BEGIN { printf "bw memory at the end of the run: VmHWM %.1f MiB, VmRSS %.1f MiB\n", h / 1024, r / 1024 }'
		echo "bw stored exchanges: ${stored:-?} (wrk completed $expected: $bw_warm warm-up + ${reqs[bw]} measured + $bw_lat_reqs one-connection; up to $((2 * CONNS)) more were in flight when wrk stopped), db $((db_bytes / 1024 / 1024)) MiB"
		echo "bw capture's own summary:"
		grep -v '^listening on' "$tmp/capture.log" | sed 's/^/    /'
	fi
	echo
	echo "raw outputs: $OUT"
} | tee "$OUT/report.txt"

if want bw && { [[ -z $stored ]] || ((stored < expected)); }; then
	die "bw stored ${stored:-no} exchanges, fewer than the $expected requests wrk completed"
fi
