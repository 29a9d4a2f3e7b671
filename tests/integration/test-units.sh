# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# The systemd units as make install writes them: systemd-analyze verify is clean, the exposure score is 1.5 or
# less, the keys the agent relies on are there (the engine ordered before it but never required, a dynamic
# non-root user in the engine's group), and the sysusers.d entry makes the docker group where there is none.

test_units_verify_and_security() {
	command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (package systemd)"
	make -s -C "$TOP" install DESTDIR="$T/root" PREFIX=/opt BUILD="$(dirname "$AGENT_BIN")" >/dev/null
	local unit=$T/root/opt/lib/systemd/system/force12-agent.service out score
	[ -f "$unit" ] || fail "make install did not install the service"
	grep -qx 'ExecStart=/opt/bin/force12-agent' "$unit" || fail "ExecStart is not under the install prefix"
	for key in Type=notify WatchdogSec= Restart=on-failure RestartSec= StateDirectory=force12 \
		DynamicUser=yes SupplementaryGroups=docker; do
		grep -q "^$key" "$unit" || fail "the service lacks $key"
	done
	# Engines: ordered after whichever the host runs, required by nothing (Requires=/BindsTo=/PartOf= would stop
	# the agent with the engine, and stop + start of the engine would leave it stopped).
	local after
	after=$(sed -n 's/^After=//p' "$unit" | tr ' ' '\n')
	for u in docker.socket docker.service podman.socket podman.service force12-agent.socket; do
		echo "$after" | grep -qx "$u" || fail "the service is not ordered after $u"
	done
	grep -E '^(Requires|BindsTo|PartOf|Requisite)=.*(docker|podman)' "$unit" &&
		fail "the service requires the engine: an engine restart would stop it for good"
	grep -q '^User=\|^Group=' "$unit" && fail "a fixed User=/Group= (DynamicUser= allocates one)"
	grep -qx 'ListenStream=/run/force12/agent.sock' "$T/root/opt/lib/systemd/system/force12-agent.socket" ||
		fail "the socket unit does not listen on /run/force12/agent.sock"
	grep -qx 'SocketMode=0660' "$T/root/opt/lib/systemd/system/force12-agent.socket" || fail "socket mode"
	# The docker group the socket and the service need: made by systemd-sysusers where the engine did not.
	local sysusers=$T/root/opt/lib/sysusers.d/force12.conf
	[ -f "$sysusers" ] || fail "make install did not install the sysusers.d entry"
	mkdir -p "$T/sysroot/etc"
	echo 'root:x:0:' >"$T/sysroot/etc/group"
	echo 'root:x:0:0::/root:/bin/sh' >"$T/sysroot/etc/passwd"
	out=$(systemd-sysusers --root="$T/sysroot" --dry-run "$sysusers" 2>&1) || fail "systemd-sysusers refuses it: $out"
	echo "$out" | grep -q "Creating group 'docker'" || fail "the sysusers.d entry does not make the docker group: $out"
	# verify wants ExecStart to exist: check a copy that points at the binary just built.
	mkdir -p "$T/verify"
	sed "s|^ExecStart=.*|ExecStart=$AGENT_BIN|" "$unit" >"$T/verify/force12-agent.service"
	cp "$T/root/opt/lib/systemd/system/force12-agent.socket" "$T/verify/"
	out=$(cd "$T/verify" && systemd-analyze verify force12-agent.service force12-agent.socket 2>&1) ||
		fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify is not clean: $out"
	out=$(systemd-analyze security --offline=true --threshold=15 "$T/verify/force12-agent.service" 2>&1) ||
		fail "exposure above 1.5: $(echo "$out" | tail -n 1)"
	score=$(echo "$out" | sed -n 's/.*Overall exposure level for force12-agent.service: \([0-9.]*\).*/\1/p')
	figure unit_exposure_score "$score"
}
