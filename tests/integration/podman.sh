# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# A Podman API service of the test's own: `podman system service` on a socket under $T/podman, with its own
# storage (--root, --runroot), its own tmp dir, file locks and event log, so that it never collides with another
# podman on the machine, and a containers.conf of its own passed through CONTAINERS_CONF (nothing under /etc is
# edited). busybox:latest is made from Debian's busybox-static as scripts/setup-host.sh does for dockerd.
# Sourced after lib.sh. start_podman_engine sets PODMAN_SOCK; stop_podman_engine ends the service and removes
# everything it stored.

podman_skip_reason() { # prints why Podman cannot be tested here, or nothing
	command -v podman >/dev/null || {
		echo "podman is not installed (apt-get install podman; scripts/setup-host.sh --test does it)"
		return
	}
	[ -x /bin/busybox ] || echo "/bin/busybox is missing (apt-get install busybox-static)"
}

# The podman CLI on the test's own storage (no service needed).
pm() {
	CONTAINERS_CONF=$PODMAN_DIR/containers.conf podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" \
		--tmpdir "$PODMAN_DIR/tmp" "$@"
}

start_podman_engine() {
	PODMAN_DIR=$T/podman
	mkdir -p "$PODMAN_DIR/tmp" "$PODMAN_DIR/run"
	# default_ulimits = []: podman's default RLIMIT_NOFILE for containers is above the hard limit of some machines
	# (20000 here), and every start fails with "error setting rlimit type 7" without it.
	# cgroupfs and a file event log: the host may run no systemd (and so no journald) as PID 1.
	cat >"$PODMAN_DIR/containers.conf" <<CONF
[containers]
default_ulimits = []
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PODMAN_DIR/events.log"
lock_type = "file"
tmp_dir = "$PODMAN_DIR/tmp"
volume_path = "$PODMAN_DIR/volumes"
network_config_dir = "$PODMAN_DIR/net"
CONF
	PODMAN_SOCK=$PODMAN_DIR/podman.sock
	# exec: $! is podman itself, not a subshell that a kill would leave it orphaned behind.
	(exec env CONTAINERS_CONF="$PODMAN_DIR/containers.conf" podman --root "$PODMAN_DIR/root" \
		--runroot "$PODMAN_DIR/run" --tmpdir "$PODMAN_DIR/tmp" system service --time 0 "unix://$PODMAN_SOCK" \
		>>"$PODMAN_DIR/service.log" 2>&1) &
	PODMAN_PID=$!
	wait_until 60 "podman's API service to answer" curl -sf --unix-socket "$PODMAN_SOCK" http://localhost/_ping
	if ! curl -sf --unix-socket "$PODMAN_SOCK" http://localhost/v1.41/images/busybox:latest/json >/dev/null; then
		local root
		root=$(mktemp -d "$PODMAN_DIR/busybox.XXXXXX")
		mkdir -p "$root/bin"
		cp /bin/busybox "$root/bin/busybox"
		local applet
		for applet in $(/bin/busybox --list); do
			[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
		done
		tar -C "$root" -c . | pm import --change 'CMD ["sh"]' --change 'ENV PATH=/bin' - docker.io/library/busybox:latest >/dev/null 2>&1
		rm -rf "$root"
	fi
}

stop_podman_engine() {
	[ -n "${PODMAN_PID:-}" ] || return 0
	# The service first: a stop it is still waiting on holds the container's lock. The containers run under
	# conmon, outside the service, and go next.
	kill -TERM "$PODMAN_PID" 2>/dev/null || true
	wait "$PODMAN_PID" 2>/dev/null || true
	PODMAN_PID=
	pm rm -af -t 0 >/dev/null 2>&1 || true
	[ -z "$(pm ps -aq 2>/dev/null)" ] || echo "    warning: podman containers left in $PODMAN_DIR" >&2
	pm system reset -f >/dev/null 2>&1 || true
	# Overlay mounts of the test's storage, if any are left, before the directory goes.
	grep -o " $PODMAN_DIR/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
