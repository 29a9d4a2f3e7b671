#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# API latency: N (default 1000) GET /v1/status over the unix socket on one kept-alive connection, then the
# same over N fresh connections; p50/p99 of curl's time_total, and the agent's RSS before and after.
set -euo pipefail

NAME=api
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

N=${N:-1000}

rss() { awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status"; }
percentiles() { # prints "p50_ms p99_ms" of seconds on stdin
	sort -n | awk '{a[NR] = $1} END {printf "%.3f %.3f\n", a[int(NR * 0.50 + 0.5)] * 1000, a[int(NR * 0.99 + 0.5)] * 1000}'
}

start_agent --target priority1=2
sleep 2
rss0=$(rss)

urls=()
for ((i = 0; i < N; i++)); do urls+=(http://localhost/v1/status); done
read -r p50 p99 < <(curl -s --unix-socket "$DIR/api.sock" -o /dev/null -w '%{time_total}\n' "${urls[@]}" | percentiles)
echo "api_status_keepalive_p50: ${p50} ms ($N GET /v1/status on one connection)"
echo "api_status_keepalive_p99: ${p99} ms"
read -r p50 p99 < <(for ((i = 0; i < N; i++)); do
	curl -s --unix-socket "$DIR/api.sock" -o /dev/null -w '%{time_total}\n' http://localhost/v1/status
done | percentiles)
echo "api_status_new_connection_p50: ${p50} ms ($N GET /v1/status, a connection each)"
echo "api_status_new_connection_p99: ${p99} ms"
echo "api_agent_rss_before: ${rss0} KiB"
echo "api_agent_rss_after: $(rss) KiB (after $((2 * N)) requests)"
