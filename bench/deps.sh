#!/usr/bin/env bash
# deps.sh installs what bench/proxy.sh needs besides Go, nginx and wrk, with
# apt-get (Debian, Ubuntu) when they are missing. Uses sudo unless root.
set -euo pipefail

have_nginx() { command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]]; }
have_wrk() { command -v wrk >/dev/null; }

if have_nginx && have_wrk; then
	exit 0
fi
command -v apt-get >/dev/null || {
	echo "error: nginx and wrk are needed for the proxy benchmark; install them (no apt-get here)" >&2
	exit 1
}
sudo=()
if [[ $(id -u) != 0 ]]; then
	sudo=(sudo)
fi
"${sudo[@]}" apt-get update
pkgs=()
if ! have_nginx; then
	# nginx-light is the smaller build where it still exists; else plain nginx.
	if apt-cache policy nginx-light 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		pkgs+=(nginx-light)
	else
		pkgs+=(nginx)
	fi
fi
have_wrk || pkgs+=(wrk)
echo "installing ${pkgs[*]}"
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${pkgs[@]}"
