# SPDX-License-Identifier: Apache-2.0
# Replays the fake engines' event log of a cluster simulation (scripts/cluster-sim.sh), sorted by time:
#   TIME_NS ENGINE ACTION ID NODE APP         an engine event
#   TIME_NS ENGINE mark WORDS...              cap NODE N | totals P1 P2 | kill K | join K | leave NODE
# and checks at every event: no node runs more than its capacity, and no app runs more, cluster-wide, than
# max(totals before, totals after) of the last change (dead nodes' containers die with them here, so the
# "dead but unexpired" term of the bound in docs/scale.md is 0). Prints figures; writes dir/running.dat for the
# plot. Exit status 1 on a broken invariant. Variables: t0 (ms, the run's start), dir.

function max(a, b) { return a > b ? a : b }
function ceil(x) { return x == int(x) ? x : int(x) + 1 }

function sample(t) {
	printf "%.3f %d %d %d %d\n", (t / 1e6 - t0) / 1000, arun["priority1"], arun["priority2"], cur["priority1"], cur["priority2"] > (dir "/running.dat")
}

function new_phase(name, t) {
	phase = name
	phase_start[phase] = t
	phases[++n_phases] = phase
}

function percentile(arr, n, p,    k) {
	k = ceil(p * n)
	if (k < 1) k = 1
	return arr[k]
}

# Sorts vals[1..n] numerically (insertion sort: a few hundred values).
function sort_values(vals, n,    i, j, v) {
	for (i = 2; i <= n; i++) {
		v = vals[i]
		for (j = i - 1; j >= 1 && vals[j] > v; j--) vals[j + 1] = vals[j]
		vals[j + 1] = v
	}
}

BEGIN { violations = 0; phase = "start"; n_phases = 0; leaving = "" }

$3 == "mark" {
	t = $1
	if ($4 == "cap") cap[$5] = $6
	else if ($4 == "totals") {
		prev["priority1"] = cur["priority1"]; prev["priority2"] = cur["priority2"]
		cur["priority1"] = $5; cur["priority2"] = $6
		new_phase("change-" (++changes), t)
	} else if ($4 == "kill") new_phase("kill", t)
	else if ($4 == "join") {
		new_phase("join", t)
		for (n in nrun) old_node[n] = 1
	} else if ($4 == "leave") {
		new_phase("leave", t)
		leaving = $5
		lost = nrun[$5] + 0
	}
	sample(t)
	next
}

{
	t = $1; action = $3; id = $4; node = $5; app = $6
	if (action == "start" || action == "die" || action == "destroy") last[phase, node] = t
	if (action == "start") {
		starts[phase, node]++
		if (phase == "leave" && node != leaving) moved_in++
		if (phase == "join" && !(node in old_node)) join_started++
		if (running[id]) next
		running[id] = 1; node_of[id] = node; app_of[id] = app
		nrun[node]++; arun[app]++
		if (node in cap && nrun[node] > cap[node]) {
			violations++
			printf "VIOLATION: node %s ran %d, capacity %d, at %.3f s (%s)\n", node, nrun[node], cap[node], (t / 1e6 - t0) / 1000, phase
		}
		if (arun[app] > max(prev[app], cur[app])) {
			violations++
			printf "VIOLATION: the cluster ran %d of %s, bound %d, at %.3f s (%s)\n", arun[app], app, max(prev[app], cur[app]), (t / 1e6 - t0) / 1000, phase
		}
		if (arun[app] > peak_over[app] + max(prev[app], cur[app])) peak_over[app] = arun[app] - max(prev[app], cur[app])
		sample(t)
	} else if (action == "die") {
		if (!running[id]) next
		running[id] = 0
		nrun[node_of[id]]--; arun[app_of[id]]--
		if (phase == "leave" && node != leaving) moved_out++
		if (phase == "join" && (node in old_node)) join_stopped++
		stops[phase, node]++
		sample(t)
	}
}

END {
	# Per phase: each node's last change after the phase began; beyond the engine's own time for what it did
	# (create + start 503 ms, stop + remove 173 ms, 8 calls in flight as the agent's default parallel).
	for (i = 1; i <= n_phases; i++) {
		p = phases[i]; n = 0; m = 0
		delete v; delete w
		for (key in last) {
			split(key, kk, SUBSEP)
			if (kk[1] != p) continue
			lat = (last[key] - phase_start[p]) / 1e9
			eng = ceil(starts[key] / 8) * 0.503 + ceil(stops[key] / 8) * 0.173
			v[++n] = lat; w[++m] = lat - eng
		}
		if (n == 0) { printf "%s: no node changed anything\n", p; continue }
		sort_values(v, n); sort_values(w, m)
		printf "%s: %d nodes changed; until each node's last change p50 %.2f s, p99 %.2f s, max %.2f s; beyond the engine's own time p99 %.2f s, max %.2f s\n", p, n, percentile(v, n, 0.5), percentile(v, n, 0.99), v[n], percentile(w, m, 0.99), w[m]
	}
	printf "join: %d containers started on the joining nodes, %d stopped on the others\n", join_started, join_stopped
	printf "one node leaving: it ran %d; %d containers started on the others, %d stopped on the others\n", lost, moved_in, moved_out
	printf "invariants: %d violations (capacity of every node; cluster total of each app within max(before, after))\n", violations
	exit violations > 0
}
