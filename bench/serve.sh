#!/usr/bin/env bash
# serve.sh measures bw serve. On loopback, one after the other:
#
#   replay     wrk -t2 -c32 against a bare Go net/http handler (bench/upstream,
#              a ~200-byte JSON body) and against bw serve replaying that
#              response, recorded through bw capture and inferred by bw infer,
#              with request validation enforced and responses reported
#   petstore   wrk against bw serve and Prism 5 (prism mock) serving the
#              Swagger Petstore v3 spec, both answering from the spec (examples,
#              or generated from schemas), cycling through five GETs
#   p99        for each of the four, the latency at half of its maximum
#              throughput, with an open-loop load generator (bench/serveload;
#              wrk2 is not available)
#   startup    time from exec to "listening on" for a generated spec with 500
#              operations and no recordings (best and median of STARTS runs)
#   rss        REQUESTS (default 1,000,000) replayed requests through bw serve,
#              its VmRSS sampled (bench/load): flat within TOLERANCE after the
#              warm-up
#
# It prints requests/s, p50 and p99 of each, the ratios, and writes raw
# outputs to OUT. Run it with `make bench-serve`; by hand:
#
#   BW=bin/bw BIN=bin bench/serve.sh
#
# Environment: BW (bw binary, default bin/bw), BIN (holding upstream, load,
# serveload, freeport; default bin), DURATION (per wrk run, default 10s),
# WARMUP (default 2s), THREADS (2), CONNS (32), PRISM (binary; installed with
# npm i -g @stoplight/prism-cli@5.16.0 when missing), SPEC (the petstore spec),
# REQUESTS (1000000; 0 skips the RSS run), STARTS (5), TOLERANCE (0.10),
# PARTS (default "replay petstore p99 startup rss"), OUT (default
# bench/out/serve-TIMESTAMP).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

BW=${BW:-bin/bw}
BIN=${BIN:-bin}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
REQUESTS=${REQUESTS:-1000000}
STARTS=${STARTS:-5}
TOLERANCE=${TOLERANCE:-0.10}
SPEC=${SPEC:-../shared/eval/specs/swagger-petstore-v3.yaml}
[[ -f $SPEC ]] || SPEC=/work/shared/eval/specs/swagger-petstore-v3.yaml
WRK=${WRK:-$(command -v wrk || true)}
PRISM=${PRISM:-$(command -v prism || true)}
PARTS=${PARTS:-replay petstore p99 startup rss}
OUT=${OUT:-bench/out/serve-$(date +%Y%m%d-%H%M%S)}

part() { [[ " $PARTS " == *" $1 "* ]]; }

[[ -x $BW ]] || die "$BW is not an executable bw; run 'make build' or set BW"
for t in upstream load serveload freeport; do
	[[ -x $BIN/$t ]] || die "$BIN/$t missing; run 'make tools' (with ./bench/serveload in TOOLS)"
done
[[ -n $WRK ]] || die "wrk not found; install it (apt-get install wrk) or set WRK"
if part petstore && [[ -z $PRISM ]]; then
	log "installing Prism: npm i -g @stoplight/prism-cli@5.16.0"
	npm i -g --no-fund --no-audit @stoplight/prism-cli@5.16.0 >&2
	PRISM=$(command -v prism) || die "prism did not install"
fi
[[ -f $SPEC ]] || die "petstore spec $SPEC not found; set SPEC"

mkdir -p "$OUT"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bw-serve-bench.XXXXXX")
trap 'cleanup; rm -rf "$tmp"' EXIT

# to_ms converts a wrk duration (850.00us, 1.23ms, 2.00s) to milliseconds.
to_ms() {
	awk -v d="$1" 'BEGIN {
		if (d ~ /us$/) { sub(/us$/, "", d); printf "%.3f", d / 1000 }
		else if (d ~ /ms$/) { sub(/ms$/, "", d); printf "%.3f", d }
		else if (d ~ /m$/) { sub(/m$/, "", d); printf "%.3f", d * 60000 }
		else if (d ~ /s$/) { sub(/s$/, "", d); printf "%.3f", d * 1000 }
		else { printf "nan" }
	}'
}

# wrk.lua cycles through the paths in WRK_PATHS (space-separated).
cat >"$tmp/cycle.lua" <<'EOF'
local paths = {}
for p in string.gmatch(os.getenv("WRK_PATHS") or "/", "%S+") do paths[#paths + 1] = p end
local i = 0
-- credentials, for Prism, which enforces the spec's security schemes
wrk.headers["api_key"] = "special-key"
wrk.headers["Authorization"] = "Bearer bench-token"
request = function()
	i = i % #paths + 1
	return wrk.format("GET", paths[i])
end
EOF

declare -A rps p50 p99 errs hp50 hp99 hrate

# measure NAME BASE PATHS... runs wrk (after a warm-up) on BASE cycling
# through PATHS and sets rps/p50/p99/errs[NAME].
measure() {
	local name=$1 base=$2 f="$OUT/$1.wrk"
	shift 2
	export WRK_PATHS="$*"
	if [[ $WARMUP != 0 ]]; then
		"$WRK" -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$tmp/cycle.lua" "$base" >/dev/null
	fi
	log "$name: wrk -t$THREADS -c$CONNS -d$DURATION --latency $base ($*)"
	"$WRK" -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$tmp/cycle.lua" "$base" >"$f"
	rps[$name]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f")
	p50[$name]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
	p99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
	errs[$name]=$(awk '
		/Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { sub(/,/, "", $i); n += $i } }
		/Non-2xx or 3xx responses:/ { n += $NF }
		END { print n + 0 }' "$f")
	[[ -n ${rps[$name]} ]] || die "could not read wrk's output for $name; see $f"
}

# halfload NAME BASE PATHS... runs serveload at half of rps[NAME] and sets
# hp50/hp99/hrate[NAME].
halfload() {
	local name=$1 base=$2 f="$OUT/$1-half.txt" urls=""
	shift 2
	for p in "$@"; do urls+="${urls:+,}$base$p"; done
	local rate=$((${rps[$name]} / 2))
	log "$name: serveload -rate $rate -duration $DURATION -conns 64"
	"$BIN/serveload" -url "$urls" -header "api_key: special-key" -header "Authorization: Bearer bench-token" -rate "$rate" -duration "$DURATION" -warmup 2s -conns 64 -allow-errors >"$f"
	hrate[$name]=$rate
	hp50[$name]=$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' "$f")
	hp99[$name]=$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' "$f")
}

# start_serve LOG ARGS... starts bw serve and sets SERVE_PID and SERVE_ADDR.
start_serve() {
	local logf=$1
	shift
	start_bg "$logf" "$BW" -q serve "$@"
	SERVE_PID=$BG_PID
	SERVE_ADDR=$(wait_listening "$SERVE_PID" "$logf")
}

REPLAY_PATH=/api/v1/users/4711
PET_PATHS=(/pet/1 /pet/findByStatus?status=available /store/inventory /store/order/1 /user/user1)

# 1. replay: bare handler vs bw serve replaying its recorded response
if part replay || part p99 || part rss; then
	start_bg "$tmp/upstream.log" "$BIN/upstream" -listen 127.0.0.1:0
	up_pid=$BG_PID
	up=$(wait_listening "$up_pid" "$tmp/upstream.log")
	db="$tmp/replay.db"
	port=$("$BIN/freeport")
	start_bg "$tmp/capture.log" "$BW" --db "$db" capture --upstream "http://$up" --listen "127.0.0.1:$port"
	cap_pid=$BG_PID
	cap=$(wait_listening "$cap_pid" "$tmp/capture.log")
	for _ in 1 2 3; do curl -fsS -o /dev/null "http://$cap$REPLAY_PATH"; done
	stop "$cap_pid" INT 30 || die "bw capture failed; see $tmp/capture.log"
	"$BW" --db "$db" infer -o "$tmp/replay-api.yaml"
	cp "$tmp/replay-api.yaml" "$OUT/replay-api.yaml"
	start_serve "$tmp/serve-replay.log" "$tmp/replay-api.yaml" --db "$db" --listen "127.0.0.1:$("$BIN/freeport")" --no-reload
	replay_pid=$SERVE_PID replay_addr=$SERVE_ADDR
	check=$(curl -fsS -D - -o /dev/null "http://$replay_addr$REPLAY_PATH" | tr -d '\r' | grep -i '^bw-' || true)
	[[ $check == *"score=100"* && $check != *"Bw-Validation"* ]] || die "bw serve does not replay the recording exactly: $check"
	if part replay || part p99; then
		measure bare "http://$up" "$REPLAY_PATH"
		measure bw-replay "http://$replay_addr" "$REPLAY_PATH"
		if part p99; then
			halfload bare "http://$up" "$REPLAY_PATH"
			halfload bw-replay "http://$replay_addr" "$REPLAY_PATH"
		fi
	fi
fi

# 2. petstore: bw serve vs prism mock, from the spec alone
if part petstore; then
	start_serve "$tmp/serve-pet.log" "$SPEC" --listen "127.0.0.1:$("$BIN/freeport")" --no-reload
	pet_pid=$SERVE_PID pet_addr=$SERVE_ADDR
	prism_port=$("$BIN/freeport")
	log "starting prism mock on 127.0.0.1:$prism_port"
	start_bg "$tmp/prism.log" "$PRISM" mock -h 127.0.0.1 -p "$prism_port" "$SPEC"
	prism_pid=$BG_PID
	for ((i = 0; i < 300; i++)); do
		curl -sS -o /dev/null "http://127.0.0.1:$prism_port/user/user1" 2>/dev/null && break
		kill -0 "$prism_pid" 2>/dev/null || { cat "$tmp/prism.log" >&2; die "prism exited"; }
		sleep 0.1
	done
	for p in "${PET_PATHS[@]}"; do
		for base in "http://$pet_addr" "http://127.0.0.1:$prism_port"; do
			code=$(curl -s -o /dev/null -w '%{http_code}' -H 'api_key: special-key' -H 'Authorization: Bearer bench-token' "$base$p")
			[[ $code == 200 ]] || die "GET $base$p: status $code"
		done
	done
	measure bw-petstore "http://$pet_addr" "${PET_PATHS[@]}"
	measure prism "http://127.0.0.1:$prism_port" "${PET_PATHS[@]}"
	if part p99; then
		halfload bw-petstore "http://$pet_addr" "${PET_PATHS[@]}"
		halfload prism "http://127.0.0.1:$prism_port" "${PET_PATHS[@]}"
	fi
	stop "$prism_pid" TERM 10 || true
	stop "$pet_pid" INT 10 || true
fi

# 3. startup with a generated 500-operation spec
if part startup; then
	spec500="$tmp/spec500.yaml"
	{
		printf 'openapi: 3.0.3\ninfo: {title: generated, version: "1"}\npaths:\n'
		for ((i = 0; i < 250; i++)); do
			cat <<EOF
  /r$i/items/{id}:
    get:
      operationId: get$i
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {\$ref: '#/components/schemas/Item'}}}}
        "404": {description: none}
    post:
      operationId: post$i
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      requestBody: {required: true, content: {application/json: {schema: {\$ref: '#/components/schemas/NewItem'}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {\$ref: '#/components/schemas/Item'}}}}
EOF
		done
		cat <<'EOF'
components:
  schemas:
    NewItem:
      type: object
      required: [name, price]
      properties:
        name: {type: string, minLength: 1, maxLength: 100}
        price: {type: number, minimum: 0}
        tags: {type: array, items: {type: string}}
    Item:
      allOf:
        - $ref: '#/components/schemas/NewItem'
        - {type: object, required: [id], properties: {id: {type: integer, format: int64}}}
EOF
	} >"$spec500"
	starts=()
	for ((i = 0; i < STARTS; i++)); do
		port=$("$BIN/freeport")
		slog="$tmp/start-$i.log"
		: >"$slog" # empty before the process starts, so an old line cannot count
		t0=$(date +%s%N)
		"$BW" -q serve "$spec500" --listen "127.0.0.1:$port" --no-reload 2>>"$slog" &
		pid=$!
		while ! grep -q '^listening on' "$slog"; do
			kill -0 "$pid" 2>/dev/null || { cat "$slog" >&2; die "bw serve exited"; }
			sleep 0.002
		done
		t1=$(date +%s%N)
		starts+=($(((t1 - t0) / 1000000)))
		# TERM: a script's background jobs start with SIGINT ignored
		kill -TERM "$pid"
		wait "$pid" || true
	done
	startup_best=$(printf '%s\n' "${starts[@]}" | sort -n | head -n 1)
	startup_median=$(printf '%s\n' "${starts[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
	curl_ops=$(grep -c 'operationId' "$spec500")
fi

# 4. RSS over REQUESTS replayed requests
rss_status=0
if part rss && ((REQUESTS > 0)); then
	rss_ran=1
	log "sending $REQUESTS requests to bw serve (pid $replay_pid), sampling its memory"
	"$BIN/load" -url "http://$replay_addr$REPLAY_PATH" -n "$REQUESTS" -c "$CONNS" -pid "$replay_pid" \
		-every 5s -warmup 100000 -tolerance "$TOLERANCE" >"$OUT/rss.txt" 2>&1 || rss_status=$?
fi
if [[ -n ${replay_pid:-} ]]; then
	stop "$replay_pid" INT 30 || true
	stop "$up_pid" TERM 10 || true
fi

# Report.
{
	echo
	echo "bw serve benchmark: wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up), loopback"
	echo "machine: $(nproc) CPUs, $(uname -sr); $(go version 2>/dev/null | cut -d' ' -f3-); $("$WRK" -v 2>&1 | head -n 1 | cut -d' ' -f1-2)${PRISM:+; prism $("$PRISM" --version 2>/dev/null)}"
	echo
	printf '%-12s %12s %10s %10s %8s   %s\n' target "requests/s" "p50 ms" "p99 ms" errors "at half load: rate, p50 ms, p99 ms"
	for t in bare bw-replay bw-petstore prism; do
		[[ -n ${rps[$t]:-} ]] || continue
		half=""
		[[ -n ${hrate[$t]:-} ]] && half="${hrate[$t]}/s, ${hp50[$t]}, ${hp99[$t]}"
		printf '%-12s %12s %10s %10s %8s   %s\n' "$t" "${rps[$t]}" "${p50[$t]}" "${p99[$t]}" "${errs[$t]}" "$half"
	done
	echo
	if [[ -n ${rps[bw-replay]:-} ]]; then
		awk -v b="${rps[bw-replay]}" -v n="${rps[bare]}" -v p="${p50[bw-replay]}" -v q="${p50[bare]}" \
			'BEGIN { printf "replay: bw serve / bare handler throughput %.2f, added p50 %+.3f ms\n", b / n, p - q }'
	fi
	if [[ -n ${rps[prism]:-} ]]; then
		awk -v b="${rps[bw-petstore]}" -v n="${rps[prism]}" -v p="${p99[bw-petstore]}" -v q="${p99[prism]}" \
			'BEGIN { printf "petstore: bw serve / prism throughput %.2f, p99 %.3f vs %.3f ms\n", b / n, p, q }'
	fi
	if [[ -n ${startup_best:-} ]]; then
		echo "startup, $curl_ops operations, no recordings: best ${startup_best} ms, median ${startup_median} ms of $STARTS (exec to listening)"
	fi
	if [[ -n ${rss_ran:-} ]]; then
		echo "memory over $REQUESTS replayed requests:"
		sed 's/^/    /' "$OUT/rss.txt"
	fi
	echo
	echo "raw outputs: $OUT"
} | tee "$OUT/report.txt"
exit "$rss_status"
