#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vagrant-test.sh: `vagrant up --provider=docker` for real: the Vagrantfile's N nodes (default 3) as containers
# running systemd on a docker network this script makes (internal: traffic only between the nodes), provisioned by
# the Vagrantfile's own provisioners, each agent on the host engine under its own node id. Sets cluster totals in
# core-01's etcd, checks each node runs its share (by labels), halts one node, checks the others take its share over,
# and ends with `vagrant destroy -f` and nothing of its own left on the engine. Prints the times as figures.
# With --interrupt: `vagrant up` is interrupted (SIGINT, as Ctrl-C) once its first node exists, and the check is
# that `vagrant destroy -f` then leaves no node, network or container behind.
# Usage: vagrant-test.sh [--interrupt]  (AGENT_BIN, FORCE12_NODES, WAIT_FACTOR from the environment).
# Exit 77: cannot run here.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
AGENT_BIN=${AGENT_BIN:-$TOP/build/force12-agent}
NODES=${FORCE12_NODES:-3}
WAIT_FACTOR=${WAIT_FACTOR:-1}
skip() {
	echo "$*" >&2
	exit 77
}
if [ -n "${SANITIZE:-}" ] || ldd "$AGENT_BIN" 2>/dev/null | grep -q libasan; then
	skip "sanitizer run: vagrant up runs once, in the plain pass"
fi
command -v vagrant >/dev/null || skip "vagrant is not installed (apt-get install vagrant)"
[ -x "$AGENT_BIN" ] || skip "no agent binary at $AGENT_BIN (make all)"

T=$(mktemp -d /tmp/force12-vagrant.XXXXXX)
RUN_START=$(date +%s)
ID=f12v$(basename "$T" | cut -d. -f2 | tr '[:upper:]' '[:lower:]')-
NET=force12-vagrant-${ID%-}
export VAGRANT_CWD=$TOP VAGRANT_DOTFILE_PATH=$T/dot VAGRANT_HOME=${VAGRANT_HOME:-$HOME/.vagrant.d}
export FORCE12_NODE_ID_PREFIX=$ID FORCE12_AGENT_BIN=$AGENT_BIN FORCE12_NODES=$NODES

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# The nodes' machine ids: the node id an agent runs under before it is given its own. Read while the nodes run.
note_machine_ids() {
	local c
	for c in $(docker ps -q --filter "label=io.force12.vagrant=$ID"); do
		docker exec "$c" cat /etc/machine-id 2>/dev/null || true
	done | sort -u >>"$T/machine-ids"
}
# From the engine's events since the run began: no container was ever created under a node's machine id (an
# agent that ran there first and then under its cluster node id would leave those behind, no longer its own).
check_no_machine_id_agent() {
	local mid created left
	[ -s "$T/machine-ids" ] || return 0
	while read -r mid; do
		[ -n "$mid" ] || continue
		created=$(docker events --since "$RUN_START" --until "$(date +%s)" --filter type=container --filter event=create \
			--filter "label=io.force12.agent=$mid" --format '{{.Actor.Attributes.name}}' | wc -l)
		mapfile -t left < <(docker ps -aq --filter "label=io.force12.agent=$mid")
		[ ${#left[@]} -eq 0 ] || docker rm -f "${left[@]}" >/dev/null 2>&1 || true
		if [ "$created" -gt 0 ]; then
			echo "FAIL: $created containers were created under a node's machine id ($mid), ${#left[@]} left" >&2
			return 1
		fi
	done <"$T/machine-ids"
}
finish() {
	local rc=$? n
	note_machine_ids
	vagrant destroy -f >>"$T/vagrant.log" 2>&1 || rc=1
	check_no_machine_id_agent || rc=1
	# Only what this run made: its nodes (label), the agents' containers (node ids), its network.
	mapfile -t left < <(docker ps -aq --filter "label=io.force12.vagrant=$ID"
		for n in $(seq 1 "$NODES"); do docker ps -aq --filter "label=io.force12.agent=${ID}core-$(printf %02d "$n")"; done)
	if [ ${#left[@]} -gt 0 ]; then
		echo "FAIL: left on the engine after vagrant destroy -f: ${left[*]}" >&2
		docker rm -f "${left[@]}" >/dev/null 2>&1 || true
		rc=1
	fi
	if docker network inspect "$NET" >/dev/null 2>&1; then
		docker network rm "$NET" >/dev/null 2>&1 || true
	fi
	[ "$rc" -eq 0 ] || tail -n 30 "$T/vagrant.log" >&2
	[ -n "${KEEP_TEST_DIRS:-}" ] || rm -rf "$T"
	exit "$rc"
}
trap finish EXIT

wait_until() { # SECONDS WHAT COMMAND...
	local limit=$(($1 * WAIT_FACTOR)) what=$2 i=0
	shift 2
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt $((limit * 2)) ] || fail "gave up after ${limit}s waiting for: $what"
		sleep 0.5
	done
}

bash "$TOP/tests/vagrant/node-image.sh" || fail "could not make the node image"
# A free /24 for the nodes (not one the engine already has).
for _ in $(seq 1 20); do
	prefix=10.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
	docker network create --internal --subnet "$prefix.0/24" --label "io.force12.vagrant=$ID" "$NET" >/dev/null 2>&1 && break
	prefix=
done
[ -n "$prefix" ] || fail "could not make a docker network"
export FORCE12_NODE_PREFIX=$prefix

if [ "${1:-}" = --interrupt ]; then
	setsid vagrant up --provider=docker --no-parallel >"$T/vagrant.log" 2>&1 &
	up=$!
	wait_until 120 "vagrant up to create its first node" sh -c "docker ps -aq --filter label=io.force12.vagrant=$ID | grep -q ."
	kill -INT "$up"
	wait "$up" && fail "vagrant up was not interrupted"
	note_machine_ids
	grep -q 'Waiting for cleanup before exiting' "$T/vagrant.log" || echo "note: vagrant did not say it was interrupted" >&2
	vagrant destroy -f >>"$T/vagrant.log" 2>&1 || fail "vagrant destroy -f failed after the interrupt"
	[ -z "$(docker ps -aq --filter "label=io.force12.vagrant=$ID")" ] || fail "a node is left after vagrant destroy -f"
	# Networks: only this run's own is left (vagrant reused it and made none of its own for the subnet).
	[ "$(docker network ls -q --filter "label=io.force12.vagrant=$ID" | wc -l)" -eq 1 ] || fail "networks left"
	docker network ls --format '{{.Name}}' | grep -q "^vagrant_network_$prefix" && fail "vagrant left a network of its own"
	echo "vagrant-test: passed (interrupted up, destroy left nothing)"
	exit 0
fi

t0=$(date +%s%N)
vagrant up --provider=docker --no-parallel >"$T/vagrant.log" 2>&1 || fail "vagrant up --provider=docker failed"
up_ms=$((($(date +%s%N) - t0) / 1000000))
echo "vagrant_up_docker_${NODES}_nodes_ms: $up_ms"
note_machine_ids

# Each node's agent log (its journal) goes where the sanitizer check looks: $SANITIZER_LOG_DIR, else the test dir.
LOG_DIR=${SANITIZER_LOG_DIR:-$T}
agent_log() { # N
	vagrant ssh "core-$(printf %02d "$1")" -c "sudo journalctl -u force12-agent --no-pager -o cat" \
		>"$LOG_DIR/vagrant-${ID}core-$(printf %02d "$1").log" 2>/dev/null || true
}

running_of() { # NODE-ID: running containers of that agent
	docker ps -q --filter "label=io.force12.agent=$1" --filter status=running | wc -l
}
node() { echo "${ID}core-$(printf %02d "$1")"; }
# Totals through core-01's etcd (v3 JSON gateway; curl is in the node).
k=$(printf /force12/targets | base64 -w0)
v=$(printf '{"priority1": %d}' $((NODES * 2)) | base64 -w0)
vagrant ssh core-01 -c "curl -sf -X POST http://127.0.0.1:2379/v3/kv/put -d '{\"key\": \"$k\", \"value\": \"$v\"}'" >>"$T/vagrant.log" 2>&1 ||
	fail "could not set the totals in core-01's etcd"
all_have() { # N: every node runs N
	local i
	for i in $(seq 1 "$NODES"); do [ "$(running_of "$(node "$i")")" -eq "$1" ] || return 1; done
}
wait_until 120 "every node to run its share (2 each)" all_have 2

# Halt the last node: the others take its share over (the lease expires).
t0=$(date +%s%N)
agent_log "$NODES"
vagrant halt "core-$(printf %02d "$NODES")" >>"$T/vagrant.log" 2>&1 || fail "vagrant halt failed"
# A halted host's containers die with it; here they run on the host's engine, and stopping the agent leaves them
# running (by design), so they go now, as they would with the host.
mapfile -t gone < <(docker ps -aq --filter "label=io.force12.agent=$(node "$NODES")")
[ ${#gone[@]} -eq 0 ] || docker rm -f "${gone[@]}" >/dev/null
others_cover() {
	local i sum=0
	for i in $(seq 1 $((NODES - 1))); do sum=$((sum + $(running_of "$(node "$i")"))); done
	[ "$sum" -eq $((NODES * 2)) ]
}
wait_until 120 "the other nodes to take the halted node's share over" others_cover
echo "vagrant_takeover_after_halt_ms: $((($(date +%s%N) - t0) / 1000000))"

# Totals 0: the live agents stop their containers before the nodes go (a stopped agent leaves them running).
v=$(printf '{"priority1": 0}' | base64 -w0)
vagrant ssh core-01 -c "curl -sf -X POST http://127.0.0.1:2379/v3/kv/put -d '{\"key\": \"$k\", \"value\": \"$v\"}'" >>"$T/vagrant.log" 2>&1 ||
	fail "could not set the totals to 0"
none_left() {
	local i
	for i in $(seq 1 "$NODES"); do [ -z "$(docker ps -aq --filter "label=io.force12.agent=$(node "$i")")" ] || return 1; done
}
wait_until 60 "every agent to stop and remove its containers" none_left
for i in $(seq 1 $((NODES - 1))); do agent_log "$i"; done
grep -q 'ready' "$LOG_DIR/vagrant-${ID}core-01.log" || fail "core-01's agent log does not show it ready"
echo "vagrant-test: passed"
