# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the benchmark scripts: the engine socket, a scratch dir and node id, one agent, and cleanup of
# everything the run made (the agent's containers and those labelled io.force12.test=<node>).
# Set NAME before sourcing; the script then calls start_agent [agent args...].

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AGENT=${AGENT_BIN:-$TOP/build/force12-agent}
case "${DOCKER_HOST:-}" in
unix://*) ENGINE=${DOCKER_HOST#unix://} ;;
*) ENGINE=/var/run/docker.sock ;;
esac
DIR=$(mktemp -d "/tmp/force12-$NAME.XXXXXX")
NODE=${BENCH_NODE:-force12-$NAME-$$} # BENCH_NODE: a test that checks what is left behind
agent_pid=

cleanup() {
	if [ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null; then wait "$agent_pid" 2>/dev/null || true; fi
	local ids
	mapfile -t ids < <(docker ps -aq --filter "label=io.force12.agent=$NODE"
		docker ps -aq --filter "label=io.force12.test=$NODE")
	[ ${#ids[@]} -eq 0 ] || docker rm -f "${ids[@]}" >/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }
api() { curl -s --max-time 5 --unix-socket "$DIR/api.sock" "$@"; }

start_agent() { # agent args...; waits until it is ready
	"$AGENT" --node-id "$NODE" --api-socket "$DIR/api.sock" --state-dir "$DIR/state" --docker-socket "$ENGINE" \
		--log-level warning "$@" 2>"$DIR/agent.log" &
	agent_pid=$!
	until api http://localhost/v1/status | grep -q '"ready":true'; do
		kill -0 "$agent_pid" 2>/dev/null || {
			cat "$DIR/agent.log" >&2
			exit 1
		}
		sleep 0.05
	done
}

settled() { # every app runs its allocation, nothing starting or stopping
	api http://localhost/v1/status | jq -e 'all(.apps[]; .running == .allocated and .starting == 0 and .stopping == 0)' >/dev/null
}

footprint() { # prints "RSS_KiB open_fds" of the agent
	echo "$(awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status") $(find "/proc/$agent_pid/fd" -mindepth 1 | wc -l)"
}
