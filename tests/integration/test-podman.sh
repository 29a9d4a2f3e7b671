# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2153 # T, NODE, AGENT_BIN come from lib.sh
# The core scenarios against Podman's Docker-compatible API (podman system service on a socket of the test's
# own, see podman.sh): the same scenario functions as against dockerd, from test-core.sh and test-standby.sh,
# with the engine socket and the docker CLI pointed at Podman. Nothing is masked: a scenario that fails here
# fails against Podman. docs/engines.md lists the differences found.

PODMAN_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/podman.sh
. "$PODMAN_HERE/podman.sh"

# The exit trap: lib.sh's cleanup (agent, our containers, sanitizer check) while the service still answers, then
# the service and its storage, then the test dir.
podman_exit() {
	local rc=$?
	trap - ERR
	set +eE
	( (exit "$rc"); KEEP_TEST_DIRS=1 cleanup )
	rc=$?
	stop_podman_engine
	[ -n "${KEEP_TEST_DIRS:-}" ] || rm -rf "$T"
	exit "$rc"
}

# on_podman SCENARIO-FILE FUNCTION: runs a scenario of another test file against a Podman of this test's own.
on_podman() {
	local why
	if [ -n "${SANITIZE:-}" ] || ldd "$AGENT_BIN" 2>/dev/null | grep -q libasan; then
		skip "sanitizer run: the Podman scenario set runs once, in the plain pass"
	fi
	why=$(podman_skip_reason)
	if [ -n "$why" ]; then
		skip "$why"
	fi
	# shellcheck disable=SC1090
	. "$PODMAN_HERE/$1"
	trap podman_exit EXIT
	start_podman_engine
	ENGINE_SOCK=$PODMAN_SOCK
	DOCKER_HOST=unix://$PODMAN_SOCK
	export ENGINE_SOCK DOCKER_HOST
	"$2"
}

# Podman's one difference that the scenarios' own counting must know: a container whose stop is in flight is
# "stopping" on Podman (its process still runs, Running is false) where Docker says "running" until the process
# is gone, and Podman refuses the filter status=stopping. Counted as running here: the stricter reading for the
# capacity checks, and the one the standby scenario's "slowstop still runs" needs. Otherwise lib.sh's count.
count() { # APP STATUS
	local filters=(--filter "label=io.force12.agent=$NODE")
	[ "$1" != "*" ] && filters+=(--filter "label=io.force12.app=$1")
	case $2 in
	all) dk ps -aq "${filters[@]}" | wc -l ;;
	running) dk ps -a "${filters[@]}" --format '{{.State}}' | { grep -cxE 'running|stopping' || true; } ;;
	*) dk ps -aq "${filters[@]}" --filter "status=$2" | wc -l ;;
	esac
}

test_podman_converge_up_and_down() { on_podman test-core.sh test_converge_up_and_down; }
test_podman_priority_under_capacity() { on_podman test-core.sh test_priority_under_capacity; }
test_podman_preemption_stops_before_starts() { on_podman test-core.sh test_preemption_stops_before_starts; }
test_podman_leftovers_removed_at_startup() { on_podman test-core.sh test_leftovers_removed_at_startup; }
test_podman_killed_container_is_replaced() { on_podman test-core.sh test_killed_container_is_replaced; }
test_podman_removed_container_is_replaced() { on_podman test-core.sh test_removed_container_is_replaced; }
test_podman_restart_adopts_without_duplicates() { on_podman test-core.sh test_restart_adopts_without_duplicates; }
test_podman_foreign_containers_untouched() { on_podman test-core.sh test_foreign_containers_untouched; }
test_podman_term_ignoring_container_is_killed_and_counted() {
	on_podman test-core.sh test_term_ignoring_container_is_killed_and_counted
}
test_podman_standby_pool_fill_consume_refill_park_and_drain() {
	on_podman test-standby.sh test_standby_pool_fill_consume_refill_park_and_drain
}
