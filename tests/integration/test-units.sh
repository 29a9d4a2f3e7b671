# shellcheck shell=bash
# The systemd units as make install writes them: systemd-analyze verify is clean, the exposure score is 2.5 or
# less, and the keys the agent relies on are there.

test_units_verify_and_security() {
	command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (package systemd)"
	make -s -C "$TOP" install DESTDIR="$T/root" PREFIX=/opt BUILD="$(dirname "$AGENT_BIN")" >/dev/null
	local unit=$T/root/opt/lib/systemd/system/force12-agent.service out score
	[ -f "$unit" ] || fail "make install did not install the service"
	grep -qx 'ExecStart=/opt/bin/force12-agent' "$unit" || fail "ExecStart is not under the install prefix"
	for key in Type=notify WatchdogSec= Restart=on-failure RestartSec= StateDirectory=force12 \
		'Requires=docker.service' 'After=docker.socket docker.service'; do
		grep -q "^$key" "$unit" || fail "the service lacks $key"
	done
	grep -qx 'ListenStream=/run/force12/agent.sock' "$T/root/opt/lib/systemd/system/force12-agent.socket" ||
		fail "the socket unit does not listen on /run/force12/agent.sock"
	grep -qx 'SocketMode=0660' "$T/root/opt/lib/systemd/system/force12-agent.socket" || fail "socket mode"
	# verify wants ExecStart to exist: check a copy that points at the binary just built.
	mkdir -p "$T/verify"
	sed "s|^ExecStart=.*|ExecStart=$AGENT_BIN|" "$unit" >"$T/verify/force12-agent.service"
	cp "$T/root/opt/lib/systemd/system/force12-agent.socket" "$T/verify/"
	out=$(cd "$T/verify" && systemd-analyze verify force12-agent.service force12-agent.socket 2>&1) ||
		fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify is not clean: $out"
	out=$(systemd-analyze security --offline=true --threshold=25 "$T/verify/force12-agent.service" 2>&1) ||
		fail "exposure above 2.5: $(echo "$out" | tail -n 1)"
	score=$(echo "$out" | sed -n 's/.*Overall exposure level for force12-agent.service: \([0-9.]*\).*/\1/p')
	figure unit_exposure_score "$score"
}
