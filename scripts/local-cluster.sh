#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A force12 cluster on one machine: Debian's etcd on loopback and N emulated hosts, each its own dockerd (own
# socket, data root, exec root and pid file, in its own network namespace, no bridge) with its own agent and node
# id, all following the totals in etcd. For trying cluster mode without VMs, and for the tests. Run as root.
#
# Usage: scripts/local-cluster.sh COMMAND
#   start [N]            etcd + N hosts (default 3); waits until every agent is ready
#   stop                 agents, their containers, the engines and etcd; removes the cluster's directory
#   status               etcd's revision and totals; per host: agent, share, running containers
#   put-targets JSON     sets the cluster totals, e.g. '{"priority1": 12, "priority2": 9}'
#   kill-host I          host I dies: its agent is SIGKILLed, its containers vanish, its engine stops
#   restart-etcd [SECS]  stops etcd, waits SECS (default 3), starts it again on the same data and ports
#   stop-etcd, start-etcd  the two halves of it
#   compact              compacts etcd's history up to its current revision
#   restart-agent I      stops host I's agent (TERM: its containers stay) and starts it again
#   endpoint             prints etcd's client URL
# Environment: F12_CLUSTER_DIR (default /tmp/force12-cluster), F12_CLUSTER_ID (node ids are ID-host-I; default
# local), F12_CAPACITY (default 9), F12_LEASE_TTL (default 10), AGENT_BIN (default build/force12-agent),
# AGENT_WRAPPER (e.g. valgrind ...), F12_LOG_DIR (stop copies each agent's log there as host-I.agent.log before
# removing everything).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
DIR=${F12_CLUSTER_DIR:-/tmp/force12-cluster}
ID=${F12_CLUSTER_ID:-local}
CAPACITY=${F12_CAPACITY:-9}
TTL=${F12_LEASE_TTL:-10}
AGENT_BIN=${AGENT_BIN:-$TOP/build/force12-agent}

# fd 4 is the script's stderr even inside a wait_for, which silences the command it polls.
exec 4>&2
log() { printf 'local-cluster: %s\n' "$*" >&4; }
die() {
	log "$*"
	[ -z "${STARTING:-}" ] || log "what was started is still running: $0 stop removes it"
	exit 1
}

host_dir() { echo "$DIR/host-$1"; }
host_sock() { echo "$DIR/host-$1/engine/docker.sock"; }
node_id() { echo "$ID-host-$1"; }
hdk() { # I docker-args...: the docker CLI on host I's engine
	local i=$1
	shift
	docker -H "unix://$(host_sock "$i")" "$@"
}
hosts() { # the host numbers, in order
	local d
	for d in "$DIR"/host-*; do
		[ -d "$d" ] && echo "${d##*-}"
	done | sort -n
}
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # SECONDS WHAT COMMAND...
	local limit=$(($1 * 10)) what=$2 i=0
	shift 2
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -ge "$limit" ] && die "gave up waiting for $what"
		sleep 0.1
	done
}

free_port() {
	local p
	for p in $(shuf -i 20000-40000 -n 100); do
		if ! (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port"
}

# Stops the process in PIDFILE with TERM, then KILL after SECONDS.
stop_pid() { # PIDFILE SECONDS
	local pid i
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$1"
}

# ---- etcd ----

etcd_url() { echo "http://127.0.0.1:$(cat "$DIR/etcd/client-port")"; }

etcd_start() {
	local d=$DIR/etcd client peer
	mkdir -p "$d"
	[ -f "$d/client-port" ] || free_port >"$d/client-port"
	[ -f "$d/peer-port" ] || free_port >"$d/peer-port"
	client=$(cat "$d/client-port")
	peer=$(cat "$d/peer-port")
	# etcd 3.4 runs only on amd64 unless told that the architecture is fine.
	case "$(uname -m)" in
	x86_64) ;;
	aarch64) export ETCD_UNSUPPORTED_ARCH=arm64 ;;
	*) ETCD_UNSUPPORTED_ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m) && export ETCD_UNSUPPORTED_ARCH ;;
	esac
	nohup etcd --name "$ID" --data-dir "$d/data" \
		--listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "$ID=http://127.0.0.1:$peer" >>"$d/etcd.log" 2>&1 4>&- &
	echo $! >"$d/pid"
	wait_for 30 "etcd to answer on 127.0.0.1:$client" curl -sf "http://127.0.0.1:$client/health"
}

b64() { printf '%s' "$1" | base64 -w0; }

put_targets() { # JSON
	jq -e 'type == "object"' >/dev/null <<<"$1" || die "put-targets: not a JSON object: $1"
	curl -sf "$(etcd_url)/v3/kv/put" \
		-d "{\"key\": \"$(b64 /force12/targets)\", \"value\": \"$(b64 "$1")\"}" >/dev/null ||
		die "put-targets: etcd did not take it"
}

compact() {
	local rev
	rev=$(curl -sf "$(etcd_url)/v3/kv/range" -d "{\"key\": \"$(b64 /force12/targets)\"}" | jq -r .header.revision)
	curl -sf "$(etcd_url)/v3/kv/compaction" -d "{\"revision\": \"$rev\", \"physical\": true}" >/dev/null ||
		die "compact: etcd refused to compact at revision $rev"
}

etcd_get() { # KEY: the value, or nothing
	curl -sf "$(etcd_url)/v3/kv/range" -d "{\"key\": \"$(b64 "$1")\"}" | jq -r '.kvs[0].value // empty' | base64 -d
}

# ---- hosts ----

engine_start() { # I
	local d
	d=$(host_dir "$1")/engine
	mkdir -p "$d"
	# Its own network namespace: nothing it does to interfaces can reach the host engine's.
	nohup unshare --net dockerd --host "unix://$d/docker.sock" --data-root "$d/data" --exec-root "$d/exec" \
		--pidfile "$d/docker.pid" --bridge none --iptables=false --ip-masq=false --ip-forward=false \
		>>"$d/dockerd.log" 2>&1 4>&- &
	echo $! >"$d/pid"
	wait_for 60 "host $1's engine" curl -sf --unix-socket "$d/docker.sock" http://localhost/_ping
	if ! hdk "$1" image inspect busybox:latest >/dev/null 2>&1; then
		[ -s "$DIR/busybox.tar" ] || docker save busybox:latest >"$DIR/busybox.tar"
		hdk "$1" load -i "$DIR/busybox.tar" >/dev/null
	fi
}

agent_start() { # I
	local d
	d=$(host_dir "$1")
	mkdir -p "$d/state"
	# shellcheck disable=SC2086 # AGENT_WRAPPER is a command line (make valgrind)
	nohup ${AGENT_WRAPPER:-} "$AGENT_BIN" --node-id "$(node_id "$1")" --capacity "$CAPACITY" --lease-ttl "$TTL" \
		--demand "etcd://127.0.0.1:$(cat "$DIR/etcd/client-port")" --docker-socket "$(host_sock "$1")" \
		--api-socket "$d/api.sock" --state-dir "$d/state" >>"$d/agent.log" 2>&1 4>&- &
	echo $! >"$d/agent.pid"
}

agent_api() { # I PATH
	curl -s --unix-socket "$(host_dir "$1")/api.sock" "http://localhost$2"
}

agent_ready() { # I [JQ-CONDITION]
	alive "$(host_dir "$1")/agent.pid" || die "host $1's agent exited; see $(host_dir "$1")/agent.log"
	agent_api "$1" /v1/status | jq -e ".ready == true and ${2:-true}" >/dev/null
}

host_stop() { # I: the agent, its containers, its engine
	local d ids
	d=$(host_dir "$1")
	stop_pid "$d/agent.pid" 10
	if [ -n "${F12_LOG_DIR:-}" ] && [ -f "$d/agent.log" ]; then
		cp "$d/agent.log" "$F12_LOG_DIR/host-$1.agent.log"
	fi
	if alive "$d/engine/pid"; then
		mapfile -t ids < <(hdk "$1" ps -aq)
		[ ${#ids[@]} -eq 0 ] || hdk "$1" rm -f "${ids[@]}" >/dev/null 2>&1 || true
	fi
	stop_pid "$d/engine/pid" 30
}

# ---- commands ----

cmd_start() {
	local n=${1:-3} i
	[[ $n =~ ^[1-9][0-9]?$ ]] || die "start N: N must be 1..99"
	[ "$(id -u)" -eq 0 ] || die "run as root: every host is its own dockerd"
	command -v etcd >/dev/null || die "etcd not found: apt-get install etcd-server (or scripts/setup-host.sh --test)"
	[ -x "$AGENT_BIN" ] || die "$AGENT_BIN not found: run make first"
	alive "$DIR/etcd/pid" && die "a cluster runs in $DIR already: $0 stop first"
	STARTING=1
	mkdir -p "$DIR"
	etcd_start
	log "etcd at $(etcd_url) (data in $DIR/etcd)"
	for ((i = 1; i <= n; i++)); do
		engine_start "$i"
		agent_start "$i"
	done
	for ((i = 1; i <= n; i++)); do
		wait_for 60 "host $i's agent to be ready" agent_ready "$i" '.cluster.reachable == true'
		log "host $i: node $(node_id "$i"), capacity $CAPACITY, engine $(host_sock "$i"), API $(host_dir "$i")/api.sock"
	done
	log "set the totals with: $0 put-targets '{\"priority1\": 12, \"priority2\": 9}'"
}

cmd_stop() {
	local i
	for i in $(hosts); do host_stop "$i"; done
	stop_pid "$DIR/etcd/pid" 10
	rm -rf "$DIR" 2>/dev/null || log "could not remove all of $DIR (mounts left by an engine?)"
}

cmd_status() {
	local i share counts
	if alive "$DIR/etcd/pid"; then
		echo "etcd $(etcd_url): totals $(etcd_get /force12/targets || true)"
	else
		echo "etcd: not running"
	fi
	for i in $(hosts); do
		if alive "$(host_dir "$i")/agent.pid"; then
			share=$(agent_api "$i" /v1/status | jq -c '.cluster | {share, members: (.members | length), revision, reachable}')
		else
			share="agent not running"
		fi
		counts=$(hdk "$i" ps --filter status=running --format '{{.Label "io.force12.app"}}' 2>/dev/null |
			sort | uniq -c | awk '{printf "%s=%s ", $2, $1}' || true)
		echo "host $i ($(node_id "$i")): $share running: ${counts:-none}"
	done
}

cmd_kill_host() { # I
	local d ids
	d=$(host_dir "$1")
	[ -d "$d" ] || die "no host $1"
	if [ -f "$d/agent.pid" ]; then
		kill -KILL "$(cat "$d/agent.pid")" 2>/dev/null || true
	fi
	rm -f "$d/agent.pid"
	# Its containers go with it: the others must take its share over, not share the work with ghosts.
	mapfile -t ids < <(hdk "$1" ps -aq 2>/dev/null)
	[ ${#ids[@]} -eq 0 ] || hdk "$1" rm -f "${ids[@]}" >/dev/null 2>&1 || true
	stop_pid "$d/engine/pid" 30
}

cmd_restart_etcd() { # [SECONDS]
	stop_pid "$DIR/etcd/pid" 10
	sleep "${1:-3}"
	etcd_start
}

cmd_restart_agent() { # I
	[ -d "$(host_dir "$1")" ] || die "no host $1"
	stop_pid "$(host_dir "$1")/agent.pid" 10
	agent_start "$1"
	wait_for 60 "host $1's agent to be ready" agent_ready "$1"
}

case "${1:-}" in
start) cmd_start "${2:-3}" ;;
stop) cmd_stop ;;
status) cmd_status ;;
put-targets) put_targets "${2:?put-targets JSON}" ;;
kill-host) cmd_kill_host "${2:?kill-host I}" ;;
restart-etcd) cmd_restart_etcd "${2:-3}" ;;
stop-etcd) stop_pid "$DIR/etcd/pid" 10 ;;
start-etcd) etcd_start ;;
compact) compact ;;
restart-agent) cmd_restart_agent "${2:?restart-agent I}" ;;
endpoint) etcd_url ;;
*)
	sed -n '6,20p' "$0" >&2
	exit 2
	;;
esac
