#!/usr/bin/env bash
# run.sh scores `bw infer` with the shared evaluation instrument (shared/eval,
# see its README.md). For each truth spec:
#
#   upstream.py SPEC            Prism mock of the spec on a free loopback port
#   bw capture --upstream URL   recording proxy in front of it, on another free port
#   drive.py SPEC http://bw     realistic traffic through the proxy (HAR + JSONL log)
#   SIGINT bw, stop upstream
#   bw infer --format openapi   the inferred OpenAPI document
#   score.py SPEC inferred      scored against the truth, counting only what the traffic showed
#
# and prints one markdown table: bw's row per spec next to the baseline figures
# published in shared/eval/README.md ("Development specs"; hard-coded in
# report.py), then per spec whether bw is >= the best baseline on every column,
# whether strict >= 0.95 and whether ops F1 >= 0.98.
#
# usage: bench/eval/run.sh [--baselines] [--gate] [--direct] [--per-op N] [--seed N] [SPEC...]
#
#   SPEC...       truth specs (default: every *.yaml/*.json in shared/eval/specs/)
#   --baselines   also run shared/eval/baselines.sh live (har-to-openapi, Optic) on
#                 the same specs and show its rows (needs npm; installs the pinned
#                 tools into the scratch copy of the instrument once)
#   --gate        exit 1 when a spec misses a target (default: exit 1 only when a step failed)
#   --direct      drive Prism directly, without bw capture (for while `bw capture
#                 --upstream` is missing), then `bw import` the driver's HAR and
#                 infer from that; if the import fails, the bw row is the truth ceiling
#   --per-op N    requests per operation (drive.py, default 6 as in the README's figures)
#   --seed N      driver seed (default 1)
#
# While `bw infer` does not exist, the bw row is the truth spec scored against
# the same traffic (score.py SPEC SPEC --ignore-servers), labelled
# "(truth ceiling; bw infer missing)".
#
# Environment: BW (bw binary; default: go build -o bin/bw ./cmd/bw), PYTHON
# (python3 with PyYAML; default: found or installed, see pick_python), EVAL_SRC
# (the instrument; default: ../shared/eval beside the repo), OUT (default
# bench/out/eval). Artifacts per spec: OUT/<spec>/ (upstream.log, capture.log,
# cap.db, cap.har, cap.jsonl, drive.log, inferred.yaml, infer.log, score.json,
# score.txt, meta.json); the table also goes to OUT/summary.md. The instrument
# is copied to OUT/instrument (shared/ may be read-only; npm writes into it).
#
# Prerequisites installed when missing: prism (npm install -g
# @stoplight/prism-cli@5.16.0) and PyYAML (apt-get install python3-yaml, used
# through Debian's /usr/bin/python3 when the python3 on PATH cannot see it).
set -uo pipefail

ORIG_PWD=$PWD
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

PRISM_PKG=@stoplight/prism-cli@5.16.0

log() { printf '%s\n' "eval: $*" >&2; }
die() { printf '%s\n' "eval: $*" >&2; exit 2; }
now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

usage() { sed -n '/^# usage:/,/^# Prerequisites/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

BASELINES=0 DIRECT=0 PER_OP=6 SEED=1
specs=()
while [ $# -gt 0 ]; do
	case $1 in
	--baselines) BASELINES=1 ;;
	--gate) export EVAL_GATE=1 ;;
	--direct) DIRECT=1 ;;
	--per-op) [ $# -ge 2 ] || die "--per-op needs a number"; PER_OP=$2; shift ;;
	--seed) [ $# -ge 2 ] || die "--seed needs a number"; SEED=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) die "unknown flag $1; see bench/eval/run.sh --help" ;;
	*) case $1 in /*) specs+=("$1") ;; *) specs+=("$ORIG_PWD/$1") ;; esac ;;
	esac
	shift
done

# ---------------------------------------------------------------- processes
# Only processes started here are stopped, each by its own pid.
UP="" BWP=""

# stop_pid PID SIGNAL SECONDS: signal PID, wait up to SECONDS for it to exit
# (then SIGKILL), reap it and return its exit code.
stop_pid() {
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

# stop_upstream: Prism (upstream.py's child) exits at once on SIGINT, after
# which upstream.py exits by itself; upstream.py's own SIGTERM path stops Prism
# with SIGTERM, which Prism 5.16 ignores for 10 s before it is killed.
stop_upstream() {
	[ -n "$UP" ] || return 0
	local c i kids
	kids=$(pgrep -P "$UP" 2>/dev/null)
	for c in $kids; do kill -INT "$c" 2>/dev/null; done
	for ((i = 0; i < 30; i++)); do kill -0 "$UP" 2>/dev/null || break; sleep 0.1; done
	for c in $kids; do kill -0 "$c" 2>/dev/null && kill -KILL "$c" 2>/dev/null; done
	stop_pid "$UP" TERM 15
	UP=""
}

cleanup() {
	[ -z "$BWP" ] || stop_pid "$BWP" INT 10
	stop_upstream
	BWP="" UP=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- prerequisites
# pick_python sets PY to a python3 >= 3.11 that imports yaml. Order: $PYTHON;
# python3 on PATH; Debian's /usr/bin/python3. If none can, it installs Debian's
# python3-yaml (visible to /usr/bin/python3 only: a pyenv python3 on PATH does
# not see /usr/lib/python3/dist-packages) and, failing that, tries pip (PyPI
# may be unreachable; pip then uses whatever local wheels its config names).
py_ok() { "$1" -c 'import sys, yaml; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
pick_python() {
	local c
	if [ -n "${PYTHON:-}" ]; then
		py_ok "$PYTHON" || die "PYTHON=$PYTHON is not a python >= 3.11 with PyYAML"
		PY=$PYTHON
		return
	fi
	for c in "$(command -v python3)" /usr/bin/python3; do
		[ -n "$c" ] && [ -x "$c" ] && py_ok "$c" && { PY=$c; return; }
	done
	log "no python3 >= 3.11 with PyYAML; installing python3-yaml"
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo=$(command -v sudo || true)
	if command -v apt-get >/dev/null; then
		export DEBIAN_FRONTEND=noninteractive
		$sudo apt-get install -y python3-yaml >&2 ||
			{ $sudo apt-get update >&2 && $sudo apt-get install -y python3-yaml >&2; }
	fi
	for c in /usr/bin/python3 "$(command -v python3)"; do
		[ -n "$c" ] && [ -x "$c" ] && py_ok "$c" && { PY=$c; return; }
	done
	c=$(command -v python3) && "$c" -m pip install --user pyyaml >&2 && py_ok "$c" && { PY=$c; return; }
	die "cannot get a python3 >= 3.11 with PyYAML (tried python3, /usr/bin/python3, apt-get install python3-yaml, pip)"
}

ensure_prism() {
	if ! command -v prism >/dev/null; then
		command -v npm >/dev/null || die "prism is missing and npm is not installed to install it"
		log "installing prism: npm install -g $PRISM_PKG"
		npm install -g "$PRISM_PKG" >&2 || die "npm install -g $PRISM_PKG failed"
		hash -r
		command -v prism >/dev/null || PATH="$(npm prefix -g)/bin:$PATH"
		command -v prism >/dev/null || die "prism installed but not on PATH"
	fi
	local v
	v=$(prism --version 2>/dev/null | tail -1)
	[ "$v" = 5.16.0 ] || log "warning: prism $v on PATH; the README's figures used 5.16.0"
}

find_eval_src() {
	local c
	for c in "${EVAL_SRC:-}" "$ROOT/../shared/eval" /work/shared/eval; do
		[ -n "$c" ] && [ -f "$c/score.py" ] && { (cd "$c" && pwd); return; }
	done
	die "shared/eval not found beside the repo; set EVAL_SRC"
}

# copy_instrument SRC DST: a writable copy of SRC in DST, keeping DST's
# node/node_modules when node/package.json is unchanged (npm install is slow).
copy_instrument() {
	local src=$1 dst=$2
	mkdir -p "$dst"
	find "$dst" -path "$dst/node/node_modules" -prune -o -exec chmod u+w {} + 2>/dev/null
	cmp -s "$src/node/package.json" "$dst/node/package.json" 2>/dev/null || rm -rf "$dst/node/node_modules"
	find "$dst" -mindepth 1 -maxdepth 1 ! -name node -exec rm -rf {} +
	rm -f "$dst/node/package.json" "$dst/node/package-lock.json"
	cp -r "$src"/. "$dst"/
	find "$dst" -path "$dst/node/node_modules" -prune -o -exec chmod u+w {} +
}

OUT=${OUT:-bench/out/eval}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
T_ALL=$(now)

pick_python
log "python: $PY ($("$PY" -c 'import sys, yaml; print(sys.version.split()[0], "PyYAML", yaml.__version__)'))"
# The instrument's shell scripts (baselines.sh, selftest.sh) call python3 by name.
if [ "$(command -v python3)" != "$PY" ]; then
	mkdir -p "$OUT/.pybin" && ln -sf "$PY" "$OUT/.pybin/python3" && PATH="$OUT/.pybin:$PATH"
fi
ensure_prism

EVAL_SRC=$(find_eval_src)
INST=$OUT/instrument
copy_instrument "$EVAL_SRC" "$INST"
log "instrument: $EVAL_SRC (copied to $INST)"

if [ ${#specs[@]} = 0 ]; then
	for f in "$INST"/specs/*.yaml "$INST"/specs/*.yml "$INST"/specs/*.json; do
		[ -f "$f" ] && specs+=("$f")
	done
fi
[ ${#specs[@]} -gt 0 ] || die "no specs"
for s in "${specs[@]}"; do [ -f "$s" ] || die "no such spec: $s"; done

if [ -n "${BW:-}" ]; then
	case $BW in /*) ;; *) BW=$ORIG_PWD/$BW ;; esac
	[ -x "$BW" ] || die "BW=$BW is not executable"
else
	log "building bin/bw"
	go build -o bin/bw ./cmd/bw || die "go build ./cmd/bw failed"
	BW=$ROOT/bin/bw
fi

HAVE_UPSTREAM=0 HAVE_INFER=0
# has_flag CMD FLAG: CMD's --help lists FLAG as an option (not just mentions it).
has_flag() { "$BW" "$1" --help 2>&1 | grep -qE -- "^[[:space:]]+(-[a-z], )?$2([ ,=]|\$)"; }
has_flag capture --upstream && HAVE_UPSTREAM=1
"$BW" infer --help >/dev/null 2>&1 && HAVE_INFER=1
# --db is a global flag; pass it after the command too if the command defines its own.
cap_db_local=0 inf_db_local=0
has_flag capture --db && cap_db_local=1
[ $HAVE_INFER = 1 ] && has_flag infer --db && inf_db_local=1
if [ $DIRECT = 0 ] && [ $HAVE_UPSTREAM = 0 ]; then
	die "$BW capture has no --upstream flag yet; rerun later, or with --direct to drive Prism without bw"
fi
[ $HAVE_INFER = 1 ] || log "bw infer is missing: the bw rows are the truth ceiling (truth spec scored against the same traffic)"
[ $DIRECT = 0 ] || log "--direct: driving Prism without bw capture"

# ---------------------------------------------------------------- one spec
# run_spec SPEC: every step into $OUT/<name>/; writes meta.json (label, error, timings).
run_spec() {
	local spec=$1 name d url port try rc t t0 label="bw" err="" timings=""
	name=$(basename "$spec"); name=${name%.*}
	d=$OUT/$name
	rm -rf "$d" && mkdir -p "$d"
	t0=$(now)
	log "== $name"
	_step() { timings+="${timings:+, }\"$1\": $2"; }
	_done() {
		printf '{"spec": "%s", "label": "%s", "error": %s, "timings": {%s}}\n' \
			"$spec" "$label" "$([ -n "$err" ] && printf '"%s"' "$err" || printf null)" "$timings" >"$d/meta.json"
	}
	local infer=$HAVE_INFER
	[ $infer = 1 ] || label="bw (truth ceiling; bw infer missing)"

	# 1. upstream
	t=$(now)
	"$PY" "$INST/upstream.py" "$spec" --ready-file "$d/up.url" >"$d/upstream.log" 2>&1 &
	UP=$!
	for ((i = 0; i < 3000; i++)); do
		[ -s "$d/up.url" ] && break
		kill -0 "$UP" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$d/up.url" ]; then
		tail -5 "$d/upstream.log" >&2
		stop_upstream
		err="upstream did not start"; _done; return 1
	fi
	url=$(head -1 "$d/up.url")
	_step upstream "$(since "$t")"

	# 2. bw capture in front of it
	local target=$url db=$d/cap.db
	if [ $DIRECT = 0 ]; then
		t=$(now)
		local dbl=()
		[ $cap_db_local = 0 ] || dbl=(--db "$db")
		for try in 1 2 3; do
			port=$(free_port)
			BW_DB=$db "$BW" --db "$db" capture --upstream "$url" --listen "127.0.0.1:$port" "${dbl[@]}" \
				>"$d/capture.out" 2>"$d/capture.log" &
			BWP=$!
			for ((i = 0; i < 300; i++)); do
				grep -q 'listening on' "$d/capture.log" && break
				kill -0 "$BWP" 2>/dev/null || break
				sleep 0.1
			done
			grep -q 'listening on' "$d/capture.log" && break
			stop_pid "$BWP" INT 5; BWP=""
			grep -qi 'address already in use' "$d/capture.log" || break # a port race is worth a retry
		done
		if [ -z "$BWP" ]; then
			tail -5 "$d/capture.log" >&2
			stop_upstream
			err="bw capture did not start"; _done; return 1
		fi
		target=http://127.0.0.1:$port
		_step capture_start "$(since "$t")"
	fi

	# 3. traffic
	t=$(now)
	"$PY" "$INST/drive.py" "$spec" "$target" --har "$d/cap.har" --log "$d/cap.jsonl" \
		--per-op "$PER_OP" --seed "$SEED" 2>"$d/drive.log"
	rc=$?
	tail -1 "$d/drive.log" | sed "s|^$INST/||" >&2
	_step drive "$(since "$t")"
	[ $rc = 0 ] || err="drive.py exit $rc"

	# 4. stop bw (SIGINT: finish, flush, summary), then the upstream
	if [ -n "$BWP" ]; then
		t=$(now)
		stop_pid "$BWP" INT 60
		rc=$?
		BWP=""
		grep -v 'listening on' "$d/capture.log" | tail -3 | sed 's/^/bw capture: /' >&2
		[ $rc = 0 ] || [ -n "$err" ] || err="bw capture exit $rc on SIGINT"
		_step capture_stop "$(since "$t")"
	fi
	t=$(now)
	stop_upstream
	_step upstream_stop "$(since "$t")"
	if [ -n "$err" ]; then _done; return 1; fi

	# 4b. --direct: the recording comes from the driver's HAR
	if [ $DIRECT = 1 ] && [ $infer = 1 ]; then
		t=$(now)
		BW_DB=$db "$BW" --db "$db" import "$d/cap.har" >"$d/import.out" 2>"$d/import.log"
		rc=$?
		_step import "$(since "$t")"
		if [ $rc = 0 ] && [ -s "$db" ]; then
			label="bw (--direct: HAR via bw import)"
		else
			log "bw import of the HAR failed (exit $rc): $(tail -1 "$d/import.log")"
			infer=0 label="bw (truth ceiling; --direct, bw import failed)"
		fi
	fi

	# 5. infer (or the truth ceiling while bw infer is missing)
	local inferred=$d/inferred.yaml sflags=()
	if [ $infer = 1 ]; then
		t=$(now)
		local dbl=()
		[ $inf_db_local = 0 ] || dbl=(--db "$db")
		BW_DB=$db "$BW" --db "$db" infer --format openapi -o "$inferred" "${dbl[@]}" >"$d/infer.out" 2>"$d/infer.log"
		rc=$?
		_step infer "$(since "$t")"
		if [ $rc != 0 ] || [ ! -s "$inferred" ]; then
			tail -5 "$d/infer.log" >&2
			err="bw infer exit $rc"; _done; return 1
		fi
	else
		inferred=$spec
		sflags=(--ignore-servers) # the truth's servers/basePath is not on the wire (Prism serves at /)
	fi

	# 6. score
	t=$(now)
	"$PY" "$INST/score.py" "$spec" "$inferred" --log "$d/cap.jsonl" --json "${sflags[@]}" \
		>"$d/score.json" 2>"$d/score.txt"
	rc=$?
	sed 's/^/  /' "$d/score.txt" >&2
	_step score "$(since "$t")"
	[ $rc = 0 ] || err="score.py exit $rc"
	_step total "$(since "$t0")"
	_done
	[ -z "$err" ]
}

failed=0
for spec in "${specs[@]}"; do
	run_spec "$spec" || failed=1
done

names=()
for spec in "${specs[@]}"; do n=$(basename "$spec"); names+=("${n%.*}"); done

live=()
if [ $BASELINES = 1 ]; then
	t=$(now)
	if [ ! -d "$INST/node/node_modules" ]; then
		log "installing the baseline tools: npm install --prefix $INST/node"
		npm install --prefix "$INST/node" >&2 || die "npm install of the baseline tools failed"
	fi
	rm -rf "$OUT/baselines" && mkdir -p "$OUT/baselines"
	log "== baselines.sh (live)"
	bash "$INST/baselines.sh" "$OUT/baselines" "${specs[@]}" | tee "$OUT/baselines/table.md" >&2 || failed=1
	live=(--live "$OUT/baselines")
	log "baselines: $(since "$t")s"
fi

log "total: $(since "$T_ALL")s"
"$PY" "$ROOT/bench/eval/report.py" "${live[@]}" "$OUT" "${names[@]}" | tee "$OUT/summary.md"
rc=${PIPESTATUS[0]}
[ $failed = 0 ] || exit 1
exit "$rc"
