#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Brings a fresh Debian 12 machine (as root) to what `make demo` (no argument) and `make check` (--test) need:
# the build (and test) packages, a running dockerd, and a local busybox:latest image.
# Every step is skipped when it is already done, so it is cheap to call every time.
set -euo pipefail

PACKAGES=(build-essential pkg-config libcurl4-openssl-dev libcjson-dev libsystemd-dev
	libmicrohttpd-dev libcmocka-dev docker.io busybox-static ca-certificates curl jq scdoc)
# promtool (package prometheus) checks /metrics; chromium + node drive the dashboard test; etcd-server is the
# local cluster's etcd (scripts/local-cluster.sh), python3 runs the http source's test server.
TEST_PACKAGES=(socat prometheus chromium nodejs npm valgrind clang vagrant python3-jsonschema python3-yaml debootstrap
	etcd-server python3 openssl dbus podman redis-server prometheus-redis-exporter man-db groff-base bash-completion
	docker-compose python3-websockets catatonit)
# Debian's Go and what the upstream tools of ../shared/third-party need to build (scripts/third-party.sh).
TEST_PACKAGES+=(golang-1.19-go libblkid-dev golang-github-aws-aws-sdk-go-dev)
[ "${1:-}" = --test ] && PACKAGES+=("${TEST_PACKAGES[@]}")
# make compare draws its plot with gnuplot, runs docker-compose and the local ECS control plane (python3-websockets)
# and builds the real ECS Agent with Go (--compare: just that; make check runs a short comparison too).
COMPARE_PACKAGES=(gnuplot-nox docker-compose python3-websockets golang-1.19-go libblkid-dev
	golang-github-aws-aws-sdk-go-dev)
case "${1:-}" in --test | --compare) PACKAGES+=("${COMPARE_PACKAGES[@]}") ;; esac

log() { printf 'setup-host: %s\n' "$*" >&2; }

install_packages() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		log "missing packages: ${missing[*]}; run as root or install them"
		return 1
	fi
	# A node/npm that came with the machine (not from Debian) is fine for the dashboard test.
	if command -v node >/dev/null && command -v npm >/dev/null; then
		mapfile -t missing < <(printf '%s\n' "${missing[@]}" | grep -vxE 'nodejs|npm')
		[ ${#missing[@]} -eq 0 ] && return 0
	fi
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

engine_socket() {
	case "${DOCKER_HOST:-}" in
	unix://*) echo "${DOCKER_HOST#unix://}" ;;
	*) echo /var/run/docker.sock ;;
	esac
}

start_dockerd() {
	local sock
	sock=$(engine_socket)
	if curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then
		return 0
	fi
	if [ "$sock" != /var/run/docker.sock ]; then
		log "no engine answers on $sock"
		return 1
	fi
	if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
		systemctl start docker || true
	fi
	if ! curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then
		log "starting dockerd (log: /var/log/force12-dockerd.log)"
		nohup dockerd >/var/log/force12-dockerd.log 2>&1 &
	fi
	for _ in $(seq 1 100); do
		curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	log "dockerd did not answer within 20 s; see /var/log/force12-dockerd.log"
	return 1
}

# The machines reach no registry: make busybox:latest from Debian's busybox-static.
ensure_busybox() {
	local sock tmp
	sock=$(engine_socket)
	if curl -sf --unix-socket "$sock" http://localhost/images/busybox:latest/json >/dev/null 2>&1; then
		return 0
	fi
	log "importing busybox:latest from busybox-static"
	tmp=$(mktemp -d)
	mkdir -p "$tmp/bin" "$tmp/tmp" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/etc"
	cp /bin/busybox "$tmp/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ -e "$tmp/bin/$applet" ] || ln -s busybox "$tmp/bin/$applet"
	done
	tar -C "$tmp" -c . | DOCKER_HOST="unix://$sock" docker import \
		-c 'CMD ["sh"]' -c 'ENV PATH=/bin' - busybox:latest >/dev/null
	rm -rf "$tmp"
}

install_packages
start_dockerd
ensure_busybox
