# Shared helpers for bw's demo and benchmark scripts; source it, do not run it.
#
# Background processes started with start_bg are killed on exit (normal or
# not) by cleanup, which callers install with: trap cleanup EXIT

BG_PIDS=()

# log prints a progress line to stderr.
log() { printf '==> %s\n' "$*" >&2; }

# die prints an error and exits 1.
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# start_bg LOGFILE CMD... starts CMD in the background with stdout and stderr
# in LOGFILE and sets BG_PID.
start_bg() {
	local logfile=$1; shift
	: >"$logfile"
	"$@" >"$logfile" 2>&1 &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# wait_listening PID LOGFILE [TIMEOUT_SECONDS] waits until the process writes
# "listening on http://ADDR" to LOGFILE and prints ADDR. It fails, showing the
# log, if the process exits first or the timeout passes.
wait_listening() {
	local pid=$1 logfile=$2 timeout=${3:-60} addr i
	for ((i = 0; i < timeout * 10; i++)); do
		addr=$(sed -n 's|^listening on http://\([^[:space:]]*\).*|\1|p' "$logfile" | head -n 1)
		if [[ -n $addr ]]; then
			printf '%s\n' "$addr"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			printf 'error: process %s exited before listening; its output:\n' "$pid" >&2
			sed 's/^/    /' "$logfile" >&2
			return 1
		fi
		sleep 0.1
	done
	printf 'error: process %s did not print "listening on" within %ss; its output:\n' "$pid" "$timeout" >&2
	sed 's/^/    /' "$logfile" >&2
	return 1
}

# stop PID [SIGNAL] [TIMEOUT_SECONDS] sends SIGNAL (default INT) and waits for
# the process to exit, killing it after TIMEOUT. Returns the exit status.
stop() {
	local pid=$1 sig=${2:-INT} timeout=${3:-30} i status=0
	kill -s "$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		printf 'error: process %s still running %ss after SIG%s; killing it\n' "$pid" "$timeout" "$sig" >&2
		kill -s KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || status=$?
	forget "$pid"
	return "$status"
}

# forget PID drops PID from the processes cleanup kills.
forget() {
	local p keep=()
	for p in "${BG_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

# cleanup kills the background processes still running; install it with
# trap cleanup EXIT.
cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -s TERM "$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	BG_PIDS=()
}

# rss_kb PID NAME prints the NAME field of /proc/PID/status in kB (VmRSS, VmHWM, ...).
rss_kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
