#!/usr/bin/env bash
# run.sh scores `bw infer` on traffic recorded from REAL servers (issue 9, item 6).
#
# For each server: install it (Debian / npm / Go module proxy, cached), start it on 127.0.0.1,
# take its own published OpenAPI/Swagger document as the truth spec, put
# `bw capture` in front of it, replay a scripted stateful scenario
# (scenarios/NAME.jsonl) through the proxy with shared/eval's drive-har.mjs
# (which also writes a HAR), stop everything, then:
#   bw infer --format openapi            on bw's recording
#   har-to-openapi, Optic                on the HAR drive-har.mjs wrote (same traffic)
#   har2log.py + score.py                for all three against the truth spec
# and print a table. Not part of `make test`; takes a few minutes.
#
# usage: bash bench/eval-real/run.sh [--no-baselines] [SERVER...]
#   SERVER: alertmanager powerdns loopback-todo hydra (default: all)
# env:   BW=path/to/bw (default: go build ./cmd/bw -> bin/bw)
#        OUT=dir (default: bench/out/eval-real; git-ignored), EVAL_SRC=shared/eval folder
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/eval-real
ORIG_PWD=$PWD
cd "$ROOT"

log() { printf 'eval-real: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
now() { date +%s; }

ALL_SERVERS=(alertmanager powerdns loopback-todo hydra)
BASELINES=1
servers=()
while [ $# -gt 0 ]; do
	case $1 in
	--no-baselines) BASELINES=0 ;;
	-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown flag $1" ;;
	*) servers+=("$1") ;;
	esac
	shift
done
[ ${#servers[@]} -gt 0 ] || servers=("${ALL_SERVERS[@]}")
for s in "${servers[@]}"; do
	case " ${ALL_SERVERS[*]} " in *" $s "*) ;; *) die "unknown server $s (known: ${ALL_SERVERS[*]})" ;; esac
done

# ---------------------------------------------------------------- processes
# Only processes started here are stopped, each by its own pid.
SRV="" BWP=""
stop_pid() { # PID SIGNAL SECONDS
	local pid=$1 sig=$2 secs=$3 i
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid did not stop after SIG$sig in ${secs}s; killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}
cleanup() {
	[ -z "$BWP" ] || stop_pid "$BWP" INT 10
	[ -z "$SRV" ] || stop_pid "$SRV" TERM 15
	BWP="" SRV=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PY=python3
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_http URL SECONDS [CURL_ARGS...]: until URL answers 2xx, or the server died.
wait_http() {
	local url=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		curl -fsS -m 2 -o /dev/null "$@" "$url" 2>/dev/null && return 0
		[ -z "$SRV" ] || kill -0 "$SRV" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# ---------------------------------------------------------------- prerequisites
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo=$(command -v sudo || true)
	log "apt-get install $*"
	timeout 600 $sudo apt-get install -y --no-install-recommends "$@" >&2 ||
		{ timeout 300 $sudo apt-get update >&2 && timeout 600 $sudo apt-get install -y --no-install-recommends "$@" >&2; }
}
py_ok() { "$1" -c 'import sys, yaml; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
pick_python() {
	local c
	for c in "${PYTHON:-}" "$(command -v python3)" /usr/bin/python3; do
		[ -n "$c" ] && [ -x "$c" ] && py_ok "$c" && { PY=$c; return; }
	done
	apt_install python3-yaml
	py_ok /usr/bin/python3 && { PY=/usr/bin/python3; return; }
	die "no python3 >= 3.11 with PyYAML"
}
command -v node >/dev/null || die "node (>= 18) is needed for drive-har.mjs"
command -v curl >/dev/null || apt_install curl || die "curl is needed"
pick_python

OUT=${OUT:-bench/out/eval-real}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
mkdir -p "$OUT/cache"
T_ALL=$(now)

find_eval_src() {
	local c
	for c in "${EVAL_SRC:-}" "$ROOT/../shared/eval" /work/shared/eval; do
		[ -n "$c" ] && [ -f "$c/score.py" ] && [ -f "$c/drive-har.mjs" ] && { (cd "$c" && pwd); return; }
	done
	die "shared/eval (with drive-har.mjs) not found beside the repo; set EVAL_SRC"
}
# A writable copy of the instrument; node/node_modules is kept while node/package.json is unchanged.
EVAL_SRC=$(find_eval_src)
INST=$OUT/instrument
mkdir -p "$INST"
cmp -s "$EVAL_SRC/node/package.json" "$INST/node/package.json" 2>/dev/null || rm -rf "$INST/node/node_modules"
find "$INST" -mindepth 1 -maxdepth 1 ! -name node -exec rm -rf {} +
rm -f "$INST/node/package.json" "$INST/node/package-lock.json"
cp -r "$EVAL_SRC"/. "$INST"/
chmod -R u+w "$INST" 2>/dev/null
log "instrument: $EVAL_SRC (copied to $INST)"
if [ $BASELINES = 1 ] && [ ! -x "$INST/node/node_modules/.bin/optic" ]; then
	log "installing the baseline tools: npm install --prefix $INST/node"
	timeout 900 npm install --no-audit --no-fund --prefix "$INST/node" >"$OUT/cache/baselines-npm.log" 2>&1 ||
		{ tail -5 "$OUT/cache/baselines-npm.log" >&2; die "npm install of the baseline tools failed"; }
fi

if [ -n "${BW:-}" ]; then
	case $BW in /*) ;; *) BW=$ORIG_PWD/$BW ;; esac
	[ -x "$BW" ] || die "BW=$BW is not executable"
else
	log "building bin/bw"
	go build -o bin/bw ./cmd/bw || die "go build ./cmd/bw failed"
	BW=$ROOT/bin/bw
fi

# ---------------------------------------------------------------- servers
# Each server defines:
#   install_X           make its program available (cached; idempotent)
#   start_X DIR PORT    start it in the background on 127.0.0.1:PORT, set SRV to its pid
#   ready_X PORT        wait until it serves
#   spec_X DIR PORT     write its truth spec to DIR/truth.(json|yaml), echo the path
# and may write DIR/vars.sed (sed expressions applied to the scenario).

# --- Prometheus Alertmanager 0.25.0, Debian package prometheus-alertmanager.
# Its binary does not serve its OpenAPI document, and Debian ships none; the truth
# spec is the upstream api/v2/openapi.yaml of the same version (shared/eval/specs).
install_alertmanager() {
	command -v prometheus-alertmanager >/dev/null || apt_install prometheus-alertmanager ||
		die "apt-get install prometheus-alertmanager failed"
}
start_alertmanager() {
	local d=$1 port=$2
	mkdir -p "$d/server/data"
	cat >"$d/server/alertmanager.yml" <<-'EOF'
		route:
		  receiver: team-oncall
		  group_by: [alertname]
		  group_wait: 1s
		receivers:
		  - name: team-oncall
	EOF
	prometheus-alertmanager --config.file="$d/server/alertmanager.yml" --storage.path="$d/server/data" \
		--web.listen-address="127.0.0.1:$port" --cluster.listen-address= >"$d/server.log" 2>&1 &
	SRV=$!
}
ready_alertmanager() { wait_http "http://127.0.0.1:$1/-/ready" 30; }
spec_alertmanager() {
	local v
	v=$(prometheus-alertmanager --version 2>&1 | head -1 | sed -n 's/.*version \([0-9.]*\).*/\1/p')
	[ "$v" = 0.25.0 ] || log "warning: alertmanager $v installed; the truth spec is 0.25.0's"
	cp "$INST/specs/alertmanager-v2-0.25.0.yaml" "$1/truth.yaml" && echo "$1/truth.yaml"
}

# --- PowerDNS Authoritative 4.7, Debian packages pdns-server + pdns-backend-sqlite3.
# The truth spec is the Swagger document the server itself serves at /api/docs.
PDNS_KEY=eval-real-key
install_powerdns() {
	{ command -v pdns_server >/dev/null && [ -f /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql ] &&
		command -v sqlite3 >/dev/null; } ||
		apt_install pdns-server pdns-backend-sqlite3 sqlite3 || die "apt-get install pdns-server failed"
}
start_powerdns() {
	local d=$1 port=$2 dnsport
	mkdir -p "$d/server"
	sqlite3 "$d/server/pdns.sqlite3" </usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql ||
		die "cannot create the PowerDNS sqlite database"
	dnsport=$(free_port)
	cat >"$d/server/pdns.conf" <<-EOF
		launch=gsqlite3
		gsqlite3-database=$d/server/pdns.sqlite3
		gsqlite3-dnssec=yes
		local-address=127.0.0.1
		local-port=$dnsport
		api=yes
		api-key=$PDNS_KEY
		webserver=yes
		webserver-address=127.0.0.1
		webserver-port=$port
		webserver-allow-from=127.0.0.0/8
		socket-dir=$d/server
		guardian=no
		daemon=no
		disable-syslog=yes
		setuid=
		setgid=
	EOF
	echo "s/{{apikey}}/$PDNS_KEY/g" >"$d/vars.sed"
	pdns_server --config-dir="$d/server" >"$d/server.log" 2>&1 &
	SRV=$!
}
ready_powerdns() { wait_http "http://127.0.0.1:$1/api/v1/servers" 30 -H "X-API-Key: $PDNS_KEY"; }
spec_powerdns() {
	curl -fsS -m 10 -H "X-API-Key: $PDNS_KEY" "http://127.0.0.1:$2/api/docs" -o "$1/truth.yaml" &&
		echo "$1/truth.yaml"
}

# --- LoopBack 4 todo example, npm @loopback/example-todo (memory connector).
# The truth spec is the OpenAPI document the server itself serves at /openapi.json.
LB_PKG=@loopback/example-todo@6.0.0
LB_DIR=$OUT/cache/loopback-todo
install_loopback_todo() {
	[ -f "$LB_DIR/node_modules/@loopback/example-todo/dist/index.js" ] && return 0
	mkdir -p "$LB_DIR"
	log "npm install $LB_PKG (into $LB_DIR)"
	timeout 600 npm install --no-audit --no-fund --prefix "$LB_DIR" "$LB_PKG" >"$LB_DIR/install.log" 2>&1 ||
		{ tail -5 "$LB_DIR/install.log" >&2; die "npm install $LB_PKG failed"; }
}
start_loopback_todo() {
	local d=$1 port=$2
	mkdir -p "$d/server/data" # the memory connector persists to ./data/db.json: start empty
	(cd "$d/server" && PORT=$port HOST=127.0.0.1 exec node "$LB_DIR/node_modules/@loopback/example-todo/dist/index.js") \
		>"$d/server.log" 2>&1 &
	SRV=$!
}
ready_loopback_todo() { wait_http "http://127.0.0.1:$1/openapi.json" 60; }
spec_loopback_todo() {
	curl -fsS -m 10 "http://127.0.0.1:$2/openapi.json" -o "$1/truth.json" && echo "$1/truth.json"
}

# --- Ory Hydra 2.3.0, Go module github.com/ory/hydra/v2, built from the Go module proxy in a
# small wrapper module (hydra's own go.mod replace of gobuffalo/pop is repeated there; -tags
# sqlite for DSN=memory; the first build takes about 5 minutes). Only the admin API is
# recorded: bw capture has one upstream. The truth spec is spec/api.json of the module.
HYDRA_MOD=github.com/ory/hydra/v2
HYDRA_VER=v2.3.0
HYDRA_DIR=$OUT/cache/hydra
install_hydra() {
	[ -x "$HYDRA_DIR/hydra" ] && [ -s "$HYDRA_DIR/api.json" ] && return 0
	command -v go >/dev/null || die "go is needed to build hydra"
	mkdir -p "$HYDRA_DIR"
	log "building $HYDRA_MOD@$HYDRA_VER from the Go module proxy (into $HYDRA_DIR; minutes)"
	(
		set -e
		cd "$HYDRA_DIR"
		rm -f go.mod go.sum
		printf 'module evalreal/hydra\n\ngo 1.24\n' >go.mod
		export GOFLAGS=-mod=mod
		timeout 900 go get -tool "$HYDRA_MOD@$HYDRA_VER"
		go mod edit -replace github.com/gobuffalo/pop/v6=github.com/ory/pop/v6@v6.2.1-0.20241121111754-e5dfc0f3344b
		timeout 600 go mod tidy
		timeout 1500 go build -tags sqlite,sqlite_omit_load_extension -o hydra.tmp "$HYDRA_MOD"
		cp "$(go list -m -f '{{.Dir}}' "$HYDRA_MOD")/spec/api.json" api.json
		mv hydra.tmp hydra
	) >"$HYDRA_DIR/install.log" 2>&1 || { tail -5 "$HYDRA_DIR/install.log" >&2; die "building hydra failed (see $HYDRA_DIR/install.log)"; }
}
start_hydra() {
	local d=$1 port=$2 pport
	mkdir -p "$d/server"
	pport=$(free_port)
	(cd "$d/server" && DSN=memory SERVE_ADMIN_HOST=127.0.0.1 SERVE_ADMIN_PORT=$port \
		SERVE_PUBLIC_HOST=127.0.0.1 SERVE_PUBLIC_PORT=$pport URLS_SELF_ISSUER=http://127.0.0.1:$pport \
		SECRETS_SYSTEM=eval-real-system-secret-0123456789 exec "$HYDRA_DIR/hydra" serve all --dev) \
		>"$d/server.log" 2>&1 &
	SRV=$!
}
ready_hydra() { wait_http "http://127.0.0.1:$1/health/ready" 60; }
spec_hydra() { cp "$HYDRA_DIR/api.json" "$1/truth.json" && echo "$1/truth.json"; }

# ---------------------------------------------------------------- one server
# run_server NAME: every step into $OUT/NAME/; returns non-zero on a failure
# (the message is in $OUT/NAME/error).
run_server() {
	local name=$1 fn=${1//-/_} d port bport truth rc i t0
	d=$OUT/$name
	rm -rf "$d" && mkdir -p "$d"
	t0=$(now)
	fail() { log "$name: $*"; echo "$*" >"$d/error"; cleanup; return 1; }
	log "== $name"
	"install_$fn"

	port=$(free_port)
	"start_$fn" "$d" "$port"
	"ready_$fn" "$port" || { tail -5 "$d/server.log" >&2; fail "server did not start (see $d/server.log)"; return 1; }
	truth=$("spec_$fn" "$d" "$port") && [ -s "$truth" ] || { fail "could not get the truth spec"; return 1; }

	# bw capture in front of the server
	for try in 1 2 3; do
		bport=$(free_port)
		"$BW" --db "$d/cap.db" capture --upstream "http://127.0.0.1:$port" --listen "127.0.0.1:$bport" \
			--session "eval-real-$name" >"$d/capture.out" 2>"$d/capture.log" &
		BWP=$!
		for ((i = 0; i < 300; i++)); do
			grep -q 'listening on' "$d/capture.log" && break
			kill -0 "$BWP" 2>/dev/null || break
			sleep 0.1
		done
		grep -q 'listening on' "$d/capture.log" && break
		stop_pid "$BWP" INT 5
		BWP=""
		grep -qi 'address already in use' "$d/capture.log" || break
	done
	[ -n "$BWP" ] || { tail -5 "$d/capture.log" >&2; fail "bw capture did not start"; return 1; }

	# the scenario, through the proxy
	if [ -f "$d/vars.sed" ]; then sed -f "$d/vars.sed" "$HERE/scenarios/$name.jsonl"; else cat "$HERE/scenarios/$name.jsonl"; fi >"$d/scenario.jsonl"
	timeout 300 node "$INST/drive-har.mjs" "http://127.0.0.1:$bport" "$d/scenario.jsonl" "$d/session.har" >"$d/drive.log" 2>&1
	rc=$?
	log "$name: $(tail -1 "$d/drive.log")"
	[ $rc = 0 ] || { fail "drive-har.mjs exit $rc (see $d/drive.log)"; return 1; }
	# The scenarios are written to succeed step by step; a 4xx/5xx means one no longer fits the server.
	bad=$(tail -1 "$d/drive.log" | sed -n 's/.*statuses //p' | "$PY" -c \
		'import json, sys; print(sum(n for s, n in json.load(sys.stdin).items() if int(s) >= 400))' 2>/dev/null)
	[ "${bad:-0}" = 0 ] || log "$name: warning: $bad exchanges answered >= 400 (see $d/session.har); they are scored as recorded"

	stop_pid "$BWP" INT 60
	rc=$?
	BWP=""
	[ $rc = 0 ] || { fail "bw capture exit $rc on SIGINT"; return 1; }
	log "$name: bw capture: $(grep -v 'listening on' "$d/capture.log" | tail -1)"
	stop_pid "$SRV" TERM 15
	SRV=""

	# infer, convert, score
	"$BW" --db "$d/cap.db" infer --format openapi -o "$d/bw.yaml" >"$d/infer.out" 2>"$d/infer.log"
	rc=$?
	[ $rc = 0 ] && [ -s "$d/bw.yaml" ] || { tail -5 "$d/infer.log" >&2; echo '{}' >"$d/bw.yaml"; log "$name: bw infer exit $rc: scored as empty"; }
	"$PY" "$INST/har2log.py" "$truth" "$d/session.har" --log "$d/session.jsonl" 2>"$d/har2log.log" ||
		{ fail "har2log.py failed (see $d/har2log.log)"; return 1; }
	tools=(bw)
	if [ $BASELINES = 1 ]; then
		timeout 300 node "$INST/baseline_har_to_openapi.mjs" "$d/session.har" "$d/har-to-openapi.json" \
			2>"$d/har-to-openapi.log" && [ -s "$d/har-to-openapi.json" ] ||
			{ log "$name: har-to-openapi failed: scored as empty"; echo '{}' >"$d/har-to-openapi.json"; }
		timeout 300 bash "$INST/baseline_optic.sh" "$d/session.har" "$d/optic.yml" 2>"$d/optic.log" && [ -s "$d/optic.yml" ] ||
			{ log "$name: optic failed: scored as empty"; echo '{}' >"$d/optic.yml"; }
		tools+=(har-to-openapi optic)
	fi
	for tool in "${tools[@]}"; do
		f=$(ls "$d/$tool".* | grep -vE '\.(log|score\.json|score\.txt)$' | head -1)
		"$PY" "$INST/score.py" "$truth" "$f" --log "$d/session.jsonl" --json >"$d/$tool.score.json" 2>"$d/$tool.score.txt" ||
			{ fail "score.py failed on $tool"; return 1; }
	done
	# the ceiling: the truth spec scored against its own traffic
	"$PY" "$INST/score.py" "$truth" "$truth" --log "$d/session.jsonl" --json >"$d/truth.score.json" 2>"$d/truth.score.txt"
	log "$name: done in $(($(now) - t0))s"
}

failed=0
for s in "${servers[@]}"; do
	run_server "$s" || failed=1
done
log "total: $(($(now) - T_ALL))s"
"$PY" "$HERE/report.py" "$OUT" "${servers[@]}" | tee "$OUT/summary.md"
[ $failed = 0 ]
