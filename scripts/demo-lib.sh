# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# What the demos share (scripts/demo.sh, scripts/demo-queue.sh). The caller sets AGENT, NODE, ENGINE, DIR and
# agent_pid, and defines owned (how many containers of NODE the engine holds).

# demo_scale_down: stops the demo's agent, then lets a fresh agent scale NODE to 0, so that the agent itself (not
# a docker rm) leaves nothing behind.
demo_scale_down() {
	local down
	if [ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null; then wait "$agent_pid" 2>/dev/null || true; fi
	echo
	echo "Scaling the demo down to 0 with the agent itself..."
	"$AGENT" --node-id "$NODE" --docker-socket "$ENGINE" --api-socket "$DIR/down.sock" --state-dir "$DIR/down" \
		--target priority1=0 --target priority2=0 --log-level warning &
	down=$!
	for _ in $(seq 1 150); do
		[ "$(owned)" -eq 0 ] && break
		sleep 0.2
	done
	if kill -TERM "$down" 2>/dev/null; then wait "$down" 2>/dev/null || true; fi
}
