# shellcheck shell=bash
# shellcheck disable=SC2153 # T, NODE, AGENT_BIN, ENGINE_SOCK come from lib.sh
# A real boot: systemd as PID 1 in a container (a debootstrapped Debian 12, tests/boot/image.sh), given the
# generated Ignition config or cloud-config by an applier that does what Ignition / coreos-cloudinit do for
# those keys, with the test host's engine socket where the node's dockerd would be. Checks that the agent
# reaches READY, logs structured fields to the journal, converges to the configured targets, leaves the
# workloads running on `systemctl stop`, adopts them on start, and is restarted after a watchdog stall.

ms() { echo $(($(date +%s%N) / 1000000)); }
in_host() { docker exec "$BOOT" "$@"; }
node_count() { # APP: running containers of the booted host's agent
	docker ps -q --filter "label=io.force12.agent=$BOOT_NODE" --filter "label=io.force12.app=$1" --filter status=running | wc -l
}
host_settled() {
	[ "$(node_count priority1)" -eq 2 ] && [ "$(node_count priority2)" -eq 1 ] &&
		[ "$(docker ps -aq --filter "label=io.force12.agent=$BOOT_NODE" | wc -l)" -eq 3 ]
}
agent_pid_in_host() { in_host systemctl show -p MainPID --value force12-agent.service; }

boot_host() { # ignition | cloud-config
	local mode=$1 port t0
	if ldd "$AGENT_BIN" | grep -q 'libasan\|libubsan'; then
		echo "skipped: $AGENT_BIN is a sanitizer build, whose runtime the booted Debian host does not have; the plain run boots it" >&2
		exit 77
	fi
	bash "$TOP/tests/boot/image.sh" || fail "could not make the boot image"
	# The build, served over HTTP on loopback as a release server would serve it.
	port=$(free_port)
	busybox httpd -f -p "127.0.0.1:$port" -h "$(dirname "$AGENT_BIN")" >/dev/null 2>&1 &
	echo $! >>"$T/pids"
	bash "$TOP/scripts/gen-boot-configs.sh" "http://127.0.0.1:$port/force12-agent" \
		"$(sha512sum "$AGENT_BIN" | cut -c1-128)" "$T/configs"
	mkdir -p "$T/overlay/etc/systemd/system/force12-agent.service.d"
	if [ "$mode" = ignition ]; then
		bash "$TOP/tests/boot/apply-ignition.sh" "$T/configs/force12.ign" "$T/overlay" || fail "applying Ignition failed"
		[ -x "$T/overlay/opt/bin/force12-agent" ] || fail "Ignition did not install the agent"
	else
		bash "$TOP/tests/boot/apply-cloud-config.sh" "$T/configs/cloud-config.yml" "$T/overlay" ||
			fail "applying the cloud-config failed"
	fi
	# The test host's engine stands in for the node's: docker.service only checks that its socket is there.
	printf '[Unit]\nDescription=Docker (the test host engine)\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/bin/test -S /var/run/docker.sock\n' \
		>"$T/overlay/etc/systemd/system/docker.service"
	# A short watchdog, so the stall test takes seconds (the unit says 30 s).
	printf '[Service]\nWatchdogSec=3s\n' >"$T/overlay/etc/systemd/system/force12-agent.service.d/10-test.conf"
	BOOT=f12boot-$NODE
	docker create --name "$BOOT" --label "io.force12.test=$NODE" --cap-add SYS_ADMIN --network host \
		--tmpfs /run --tmpfs /run/lock --tmpfs /tmp -v /sys/fs/cgroup:/sys/fs/cgroup \
		-v "$ENGINE_SOCK:/var/run/docker.sock" force12-boot:bookworm-1 >/dev/null
	docker cp "$T/overlay/." "$BOOT:/"
	t0=$(ms)
	docker start "$BOOT" >/dev/null
	wait_until 120 "force12-agent.service to be active (READY=1)" in_host systemctl is-active --quiet force12-agent.service
	figure "boot_to_ready_ms_$mode" "$(($(ms) - t0))"
	BOOT_NODE=$(in_host cat /etc/machine-id)
	echo "$BOOT_NODE" >>"$T/extra-nodes"
}

check_booted_host() {
	local pid1 pid2 out
	wait_until 60 "the booted host to converge to priority1=2 priority2=1" host_settled
	out=$(in_host journalctl -u force12-agent.service -o json --no-pager)
	echo "$out" | jq -se --arg n "$BOOT_NODE" \
		'any(.[]; .NODE_ID == $n and .APP == "priority1" and (.CONTAINER_ID | length) > 0)' >/dev/null ||
		fail "no journal entry with NODE_ID, APP and CONTAINER_ID"
	# stop leaves the workloads running
	in_host systemctl stop force12-agent.service
	sleep 2
	host_settled || fail "systemctl stop changed the workloads"
	# start adopts them
	in_host systemctl start force12-agent.service
	wait_until 30 "the agent to be active again" in_host systemctl is-active --quiet force12-agent.service
	out=$(in_host curl -s --unix-socket /run/force12/agent.sock http://localhost/v1/status)
	echo "$out" | jq -e '.totals.started == 0 and ([.apps[].running] == [2, 1])' >/dev/null ||
		fail "the restarted agent did not adopt the workloads: $out"
	# a watchdog stall gets it restarted
	pid1=$(agent_pid_in_host)
	in_host systemctl kill --signal=SIGSTOP force12-agent.service
	wait_until 60 "systemd to restart the stalled agent" sh -c \
		"[ \"\$(docker exec $BOOT systemctl show -p MainPID --value force12-agent.service)\" != $pid1 ] &&
		 docker exec $BOOT systemctl is-active --quiet force12-agent.service"
	pid2=$(agent_pid_in_host)
	in_host journalctl -u force12-agent.service --no-pager | grep -q 'Watchdog timeout' ||
		fail "no watchdog timeout in the journal"
	wait_until 30 "still settled after the restart" host_settled
	[ "$pid2" != "$pid1" ] || fail "same pid after the stall"
}

test_boot_with_ignition() {
	boot_host ignition
	check_booted_host
}

test_boot_with_cloud_config() {
	boot_host cloud-config
	in_host systemctl is-active --quiet force12-agent-install.service || fail "the installer unit did not run"
	check_booted_host
}
