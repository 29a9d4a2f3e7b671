# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2153,SC2016 # T, NODE, AGENT_BIN, ENGINE_SOCK come from lib.sh; awk programs in quotes
# A real boot: systemd as PID 1 in a container (a debootstrapped Debian 12 with no docker group,
# tests/boot/image.sh), configured by the real tools:
# - Ignition (Flatcar's config and Fedora CoreOS's): the real ignition-apply runs inside the node before systemd
#   (as Ignition runs before the switch to the real root), fetches the agent over HTTP from loopback and checks
#   its sha512 itself; systemd's first boot applies Ignition's presets, and no step of ours enables anything;
# - cloud-config: the real coreos-cloudinit runs inside the booted node and starts the units over D-Bus.
# The node's engine is a node-local stand-in (docker.socket / podman.socket proxied to the test host's engine,
# see image.sh), so that `systemctl restart docker` in the node cuts the agent's engine connections without
# touching the shared engine. Checks that the agent reaches READY as a non-root user, logs structured fields to
# the journal, keeps its targets in its state dir, converges, rides out engine restarts, leaves the workloads
# running on `systemctl stop`, adopts them on start, and is restarted after a watchdog stall.

ms() { echo $(($(date +%s%N) / 1000000)); }
in_host() { docker exec "$BOOT" "$@"; }
in_host_i() { docker exec -i "$BOOT" "$@"; }
node_count() { # APP: running containers of the booted host's agent
	docker ps -q --filter "label=io.force12.agent=$BOOT_NODE" --filter "label=io.force12.app=$1" --filter status=running | wc -l
}
host_settled() {
	[ "$(node_count priority1)" -eq 2 ] && [ "$(node_count priority2)" -eq 1 ] &&
		[ "$(docker ps -aq --filter "label=io.force12.agent=$BOOT_NODE" | wc -l)" -eq 3 ]
}
agent_pid_in_host() { in_host systemctl show -p MainPID --value force12-agent.service; }
agent_active() { in_host systemctl is-active --quiet force12-agent.service; }
node_api() { in_host curl -sf --unix-socket /run/force12/agent.sock "http://localhost$1"; }
# The node's journal goes where fail() and the sanitizer check look for the agent's log.
save_node_log() {
	[ -n "${BOOT:-}" ] || return 0
	docker exec "$BOOT" journalctl --no-pager -b -u 'force12-*' -u docker.service -u podman.service \
		>"${SANITIZER_LOG_DIR:-$T}/boot-$NODE.log" 2>&1 || true
	cp "${SANITIZER_LOG_DIR:-$T}/boot-$NODE.log" "$T/agent.log" 2>/dev/null || true
}
boot_fail() {
	save_node_log
	fail "$@"
}

skip_sanitizer() {
	if [ -n "${SANITIZE:-}" ] || ldd "$AGENT_BIN" | grep -q 'libasan\|libubsan'; then
		skip "sanitizer run: $AGENT_BIN is a sanitizer build, whose runtime the booted Debian host does not have; the plain run boots it"
	fi
}

# serve_agent: the build served over HTTP on loopback, as a release server would serve it; sets URL and SHA.
serve_agent() {
	local port
	port=$(free_port)
	busybox httpd -f -p "127.0.0.1:$port" -h "$(dirname "$AGENT_BIN")" >/dev/null 2>&1 &
	echo $! >>"$T/pids"
	URL=http://127.0.0.1:$port/$(basename "$AGENT_BIN")
	SHA=$(sha512sum "$AGENT_BIN" | cut -c1-128)
	wait_until 10 "the HTTP server to answer" curl -sfI "$URL"
}

tools() {
	IGNITION=$(bash "$TOP/scripts/third-party.sh" ignition) || fail "no ignition: scripts/third-party.sh ignition failed"
	IMAGE=$(bash "$TOP/tests/boot/image.sh") || fail "could not make the boot image (tests/boot/image.sh)"
}

# new_node NAME DOCKER-ARGS... -- COMMAND...: creates (not starts) a node container with the engine mounted.
new_node() {
	local name=$1
	shift
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	docker create --name "$name" --label "io.force12.test=$NODE" --cap-add SYS_ADMIN --network host \
		--tmpfs /run --tmpfs /run/lock --tmpfs /tmp -v /sys/fs/cgroup:/sys/fs/cgroup \
		-v "$ENGINE_SOCK:/host/engine.sock" "${args[@]}" "$IMAGE" "$@" >/dev/null
}

# The Ignition stage of a node: ignition-apply, then (if it succeeded) systemd as PID 1.
ignition_node() { # NAME CONFIG.ign
	new_node "$1" -v "$IGNITION:/usr/lib/ignition/ignition-apply:ro" -v "$2:/usr/lib/ignition/user.ign:ro" \
		-- /bin/sh -c '/usr/lib/ignition/ignition-apply /usr/lib/ignition/user.ign >/run/ignition.log 2>&1 ||
			{ cat /run/ignition.log; echo "ignition-apply failed: not booting"; exit 1; }; exec /sbin/node-init'
}

boot_host() { # ignition | fcos | cloud-config
	local mode=$1 t0 cfg
	skip_sanitizer
	tools
	serve_agent
	bash "$TOP/scripts/gen-boot-configs.sh" "$URL" "$SHA" "$T/configs" || fail "gen-boot-configs.sh failed"
	BOOT=f12boot-$NODE
	# A short watchdog, so the stall test takes seconds (the unit says 30 s): the only file of ours in the
	# node besides the config under test and (cloud-config) the engine's group.
	mkdir -p "$T/overlay/etc/systemd/system/force12-agent.service.d"
	printf '[Service]\nWatchdogSec=3s\n' >"$T/overlay/etc/systemd/system/force12-agent.service.d/10-test.conf"
	case $mode in
	ignition | fcos)
		[ "$mode" = fcos ] && cfg=$T/configs/force12-fcos.ign || cfg=$T/configs/force12.ign
		ignition_node "$BOOT" "$cfg"
		if [ "$mode" = ignition ]; then # Flatcar's docker.socket is enabled in its image (and so in the node's)
			mkdir -p "$T/overlay/etc/systemd/system/sockets.target.wants"
			ln -s /etc/systemd/system/docker.socket "$T/overlay/etc/systemd/system/sockets.target.wants/docker.socket"
		fi
		;;
	cloud-config)
		new_node "$BOOT" -- /sbin/node-init
		# coreos-cloudinit runs after boot, on a Flatcar whose image has the docker group and docker.socket.
		mkdir -p "$T/overlay/usr/lib/sysusers.d" "$T/overlay/etc/systemd/system/sockets.target.wants"
		echo 'g docker -' >"$T/overlay/usr/lib/sysusers.d/docker.conf"
		ln -s /etc/systemd/system/docker.socket "$T/overlay/etc/systemd/system/sockets.target.wants/docker.socket"
		mkdir -p "$T/overlay/var/lib/flatcar-test"
		cp "$T/configs/cloud-config.yml" "$T/overlay/var/lib/flatcar-test/user_data"
		;;
	esac
	docker cp "$T/overlay/." "$BOOT:/"
	echo "$BOOT" >"$T/boot-name"
	t0=$(ms)
	docker start "$BOOT" >/dev/null
	if [ "$mode" = cloud-config ]; then
		wait_until 60 "the node's D-Bus" in_host systemctl is-active --quiet dbus.service
		in_host coreos-cloudinit --from-file=/var/lib/flatcar-test/user_data >"$T/cloudinit.log" 2>&1 ||
			boot_fail "coreos-cloudinit failed: $(tail -n 5 "$T/cloudinit.log")"
	fi
	wait_until 120 "force12-agent.service to be active (READY=1)" agent_active
	figure "boot_to_ready_ms_$mode" "$(($(ms) - t0))"
	BOOT_NODE=$(in_host cat /etc/machine-id)
	echo "$BOOT_NODE" >>"$T/extra-nodes"
}

# What systemd and the configs must have done, with no step of ours.
check_node_setup() { # ignition | fcos | cloud-config
	local mode=$1 pid uid groups gid bindir=/opt/bin
	[ "$mode" = fcos ] && bindir=/usr/local/bin
	in_host_i cmp -s /etc/force12/agent.json - <"$TOP/ignition/agent.json" ||
		boot_fail "/etc/force12/agent.json is not ignition/agent.json byte for byte"
	in_host_i cmp -s "$bindir/force12-agent" - <"$AGENT_BIN" || boot_fail "$bindir/force12-agent is not the build"
	for u in force12-agent.service force12-agent.socket; do
		in_host_i cmp -s "/etc/systemd/system/$u" - < <(sed "s|@BINDIR@|$bindir|" "$TOP/units/${u/%.service/.service.in}") ||
			boot_fail "the node's $u is not units/ byte for byte"
	done
	if [ "$mode" != cloud-config ]; then
		[ "$(in_host systemctl is-enabled force12-agent.service)" = enabled ] ||
			boot_fail "first boot did not apply Ignition's preset"
	fi
	# The image has no docker group: force12's sysusers.d entry made it (cloud-config: Flatcar's own).
	gid=$(in_host getent group docker | cut -d: -f3) || boot_fail "no docker group in the node"
	pid=$(agent_pid_in_host)
	uid=$(in_host awk '/^Uid:/ {print $2}' "/proc/$pid/status")
	groups=$(in_host awk '/^Groups:/ {$1 = ""; print}' "/proc/$pid/status")
	[ "$uid" -ne 0 ] || boot_fail "the agent runs as root"
	echo " $groups " | grep -q " $gid " || boot_fail "the agent (groups:$groups) is not in the docker group ($gid)"
	figure "agent_uid_$mode" "$uid"
	# The API socket serves the engine's group, and only it.
	in_host setpriv --reuid=65534 --regid=65534 --groups="$gid" curl -sf --unix-socket /run/force12/agent.sock \
		http://localhost/healthz >/dev/null || boot_fail "a member of the docker group cannot use the API socket"
	in_host setpriv --reuid=65534 --regid=65534 --clear-groups curl -sf --unix-socket /run/force12/agent.sock \
		http://localhost/healthz >/dev/null 2>&1 && boot_fail "a user outside the docker group can use the API socket"
	# The state dir works for that user: a PUT is kept there.
	in_host curl -sf --unix-socket /run/force12/agent.sock -X PUT --data-binary '{"priority1": 2}' \
		http://localhost/v1/targets >/dev/null || boot_fail "PUT /v1/targets failed in the node"
	in_host sh -c 'test -f /var/lib/private/force12/targets.json && test -L /var/lib/force12' ||
		boot_fail "the targets were not kept in the state dir (/var/lib/private/force12)"
	[ "$(in_host stat -c %u /var/lib/private/force12/targets.json)" = "$uid" ] ||
		boot_fail "the state file is not the agent user's"
}

agent_reaches_engine() { node_api /v1/status | jq -e '.docker.reachable' >/dev/null; }
victim_replaced() { [ -z "$(docker ps -aq --filter "id=$VICTIM")" ] && host_settled; }

# The engine restarts under the agent: it stays active (same process), comes back to the engine and replaces a
# container killed from outside. With Requires=docker.service, stop + start left it stopped for good.
check_engine_restarts() { # ENGINE-UNIT-PREFIX (docker | podman)
	local e=$1 pid
	pid=$(agent_pid_in_host)
	in_host systemctl restart "$e.service" || boot_fail "systemctl restart $e failed"
	sleep 1
	agent_active || boot_fail "systemctl restart $e stopped the agent"
	in_host systemctl stop "$e.socket" "$e.service"
	sleep 1
	agent_active || boot_fail "systemctl stop $e stopped the agent"
	in_host systemctl start "$e.socket" || boot_fail "systemctl start $e.socket failed"
	[ "$(agent_pid_in_host)" = "$pid" ] || boot_fail "the engine's restart restarted the agent"
	wait_until 30 "the agent to reach the engine again" agent_reaches_engine
	wait_until 60 "the booted host to converge again after the engine's restarts" host_settled
	VICTIM=$(docker ps -q --filter "label=io.force12.agent=$BOOT_NODE" --filter label=io.force12.app=priority1 | head -n 1)
	docker kill "$VICTIM" >/dev/null
	wait_until 60 "the agent to replace a container killed after the engine's restart" victim_replaced
	agent_active || boot_fail "the agent is not active after the engine's restarts"
}

check_booted_host() {
	local pid1 pid2 out
	wait_until 60 "the booted host to converge to priority1=2 priority2=1" host_settled
	out=$(in_host journalctl -u force12-agent.service -o json --no-pager)
	echo "$out" | jq -se --arg n "$BOOT_NODE" \
		'any(.[]; .NODE_ID == $n and .APP == "priority1" and (.CONTAINER_ID | length) > 0)' >/dev/null ||
		boot_fail "no journal entry with NODE_ID, APP and CONTAINER_ID"
	# stop leaves the workloads running
	in_host systemctl stop force12-agent.service
	sleep 2
	host_settled || boot_fail "systemctl stop changed the workloads"
	# start adopts them
	in_host systemctl start force12-agent.service
	wait_until 30 "the agent to be active again" agent_active
	out=$(node_api /v1/status)
	echo "$out" | jq -e '.totals.started == 0 and ([.apps[].running] == [2, 1])' >/dev/null ||
		boot_fail "the restarted agent did not adopt the workloads: $out"
	# a watchdog stall gets it restarted
	pid1=$(agent_pid_in_host)
	in_host systemctl kill --signal=SIGSTOP force12-agent.service
	wait_until 60 "systemd to restart the stalled agent" sh -c \
		"[ \"\$(docker exec $BOOT systemctl show -p MainPID --value force12-agent.service)\" != $pid1 ] &&
		 docker exec $BOOT systemctl is-active --quiet force12-agent.service"
	pid2=$(agent_pid_in_host)
	in_host journalctl -u force12-agent.service --no-pager | grep -q 'Watchdog timeout' ||
		boot_fail "no watchdog timeout in the journal"
	wait_until 30 "still settled after the restart" host_settled
	[ "$pid2" != "$pid1" ] || boot_fail "same pid after the stall"
	save_node_log
}

test_boot_with_ignition() {
	boot_host ignition
	check_node_setup ignition
	check_engine_restarts docker
	check_booted_host
}

test_boot_fedora_coreos_with_podman_socket() {
	boot_host fcos
	check_node_setup fcos
	[ "$(in_host systemctl is-enabled podman.socket)" = enabled ] || boot_fail "podman.socket is not enabled"
	in_host systemctl is-active --quiet docker.socket && boot_fail "docker.socket runs on the Podman host"
	[ "$(in_host stat -c %G /run/podman/podman.sock)" = docker ] || boot_fail "podman.sock is not group docker"
	check_engine_restarts podman
	check_booted_host
}

test_boot_with_cloud_config() {
	boot_host cloud-config
	in_host systemctl is-active --quiet force12-agent-install.service || boot_fail "the installer unit did not run"
	for u in force12-agent-install.service force12-agent.socket force12-agent.service; do
		grep -q "Result of \"start\" on \"$u\": done" "$T/cloudinit.log" ||
			boot_fail "coreos-cloudinit did not start $u over D-Bus: $(tail -n 3 "$T/cloudinit.log")"
	done
	# coreos-cloudinit starts units; it makes no .wants links of ours beyond what `enable` asks of systemd.
	[ "$(in_host systemctl is-enabled force12-agent.service)" = enabled ] || boot_fail "cloudinit did not enable the service"
	check_node_setup cloud-config
	check_engine_restarts docker
	check_booted_host
}

# Ignition itself refuses an agent whose sha512 does not match: the node never boots, and nothing of the
# config is left in it (no agent, no unit, no preset).
test_boot_ignition_refuses_a_wrong_sha512() {
	local bad left f
	skip_sanitizer
	tools
	serve_agent
	bash "$TOP/scripts/gen-boot-configs.sh" "$URL" "$(printf '%0128d' 0)" "$T/configs" || fail "gen-boot-configs.sh failed"
	bad=f12boot-bad-$NODE
	ignition_node "$bad" "$T/configs/force12.ign"
	if docker start -a "$bad" >"$T/ignition.out" 2>&1; then
		fail "the node booted although the agent's sha512 is wrong"
	fi
	grep -q 'hash verification failed' "$T/ignition.out" || fail "Ignition did not say why: $(tail -n 3 "$T/ignition.out")"
	grep -q 'not booting' "$T/ignition.out" || fail "the node went on after Ignition failed"
	left=
	for f in /opt/bin/force12-agent /etc/systemd/system/force12-agent.service /etc/systemd/system/force12-agent.socket \
		/etc/systemd/system-preset/20-ignition.preset; do
		docker cp "$bad:$f" - >/dev/null 2>&1 && left="$left $f"
	done
	[ -z "$left" ] || fail "a refused config left files in the node: $left"
}
