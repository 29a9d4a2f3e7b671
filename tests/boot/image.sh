#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# image.sh: makes sure the engine has the boot test's node image and prints its name on stdout
# (force12-boot:bookworm-2): a Debian 12 root file system with systemd, dbus, curl, the agent's shared libraries
# and the real coreos-cloudinit (/usr/bin/coreos-cloudinit), that boots /sbin/init in a container. The root
# file system is debootstrapped once and kept in $FORCE12_CACHE (default /var/cache/force12), so later runs take
# seconds.
#
# It stands in for a Flatcar or Fedora CoreOS host with two differences, both on purpose:
# - it has NO docker group (like a Podman host): the group comes from force12's sysusers.d entry, as it must on
#   such hosts;
# - its engine is a stand-in: docker.socket (/run/docker.sock, group docker) and podman.socket
#   (/run/podman/podman.sock, root only, like Podman's own unit) are node-local systemd sockets whose services
#   (systemd-socket-proxyd) forward every connection to the engine socket that the test mounts at
#   /host/engine.sock. Restarting docker.service in the node cuts every engine connection of the node, as an
#   engine restart does, without touching the engine the node's containers run on. Neither socket is enabled:
#   the test (or the config under test) enables the one its host runs.
set -euo pipefail

IMAGE=force12-boot:bookworm-2 # bump the revision when what goes into it changes
CACHE=${FORCE12_CACHE:-/var/cache/force12}
ROOT=$CACHE/rootfs-bookworm-2
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
	echo "$IMAGE"
	exit 0
fi
cloudinit=$(bash "$here/../../scripts/third-party.sh" coreos-cloudinit) ||
	{ echo "image.sh: coreos-cloudinit could not be built (scripts/third-party.sh coreos-cloudinit)" >&2; exit 1; }
mkdir -p "$CACHE"
exec 8>"$CACHE/.lock-rootfs-bookworm-2"
flock 8 # one debootstrap at a time, whoever asks
if [ ! -x "$ROOT/sbin/init" ]; then
	command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null ||
		{ echo "image.sh: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
	echo "image.sh: debootstrapping Debian 12 into $ROOT (once; cached)" >&2
	rm -rf "$ROOT.tmp"
	debootstrap --variant=minbase \
		--include=systemd,systemd-sysv,dbus,curl,ca-certificates,libcurl4,libcjson1,libsystemd0,libmicrohttpd12 \
		bookworm "$ROOT.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
		{ echo "image.sh: debootstrap failed, see $CACHE/debootstrap.log" >&2; exit 1; }
	mv "$ROOT.tmp" "$ROOT"
fi

# The node's engine stand-ins and coreos-cloudinit are added to a copy, so that the cached root stays as
# debootstrap made it.
tmp=$(mktemp -d "$CACHE/import.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -a "$ROOT/." "$tmp/"
install -m 0755 "$cloudinit" "$tmp/usr/bin/coreos-cloudinit"
# "uninitialized": every container of the image boots as a fresh host's first boot (systemd applies the
# presets, as on a CoreOS host after Ignition) and gets a new machine id. An empty file is not a first boot.
echo uninitialized >"$tmp/etc/machine-id"
# In a container systemd takes the new id from $container_uuid, else from the VM's DMI uuid: the same on every
# node of this machine. /sbin/node-init gives each boot its own, then becomes systemd. Run the image with
# /sbin/node-init (its CMD), or export container_uuid before exec /sbin/init.
# shellcheck disable=SC2016 # the script is written as is
printf '#!/bin/sh\n# A fresh machine id per node (see image.sh), then systemd as PID 1.\ncontainer_uuid=$(tr -d - </proc/sys/kernel/random/uuid)\nexport container_uuid\nexec /sbin/init "$@"\n' \
	>"$tmp/sbin/node-init"
chmod 0755 "$tmp/sbin/node-init"
# Presets as on Fedora CoreOS and Flatcar: what no preset file enables stays disabled at first boot (Debian's
# default is to enable everything, which would enable both engine stand-ins).
echo 'disable *' >"$tmp/lib/systemd/system-preset/99-default.preset"
standin() { # NAME SOCKET-PATH SOCKET-GROUP
	printf '[Unit]\nDescription=%s API socket (node stand-in, forwarded to /host/engine.sock)\n\n[Socket]\nListenStream=%s\nSocketMode=0660\nSocketGroup=%s\n\n[Install]\nWantedBy=sockets.target\n' \
		"$1" "$2" "$3" >"$tmp/etc/systemd/system/$1.socket"
	printf '[Unit]\nDescription=%s (node stand-in: forwards to the engine at /host/engine.sock)\nRequires=%s.socket\nAfter=%s.socket\n\n[Service]\nExecStart=/lib/systemd/systemd-socket-proxyd /host/engine.sock\n' \
		"$1" "$1" "$1" >"$tmp/etc/systemd/system/$1.service"
}
standin docker /run/docker.sock docker
standin podman /run/podman/podman.sock root
tar -C "$tmp" -c . | docker import -c 'CMD ["/sbin/node-init"]' -c 'ENV container=docker' - "$IMAGE" >/dev/null
echo "$IMAGE"
