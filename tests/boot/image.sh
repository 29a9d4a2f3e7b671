#!/usr/bin/env bash
# image.sh: makes sure the engine has force12-boot:bookworm, a Debian 12 root file system with systemd (and
# the agent's shared libraries) that boots /sbin/init in a container. Built once with debootstrap and kept
# in /var/cache/force12, so later runs take seconds. It stands in for a Flatcar host: a docker group, and the
# host's engine socket mounted where the node's dockerd would be.
set -euo pipefail

IMAGE=force12-boot:bookworm-1 # bump the revision when what goes into it changes
CACHE=${FORCE12_CACHE:-/var/cache/force12}
ROOT=$CACHE/rootfs-bookworm-1
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

docker image inspect "$IMAGE" >/dev/null 2>&1 && exit 0
if [ ! -x "$ROOT/sbin/init" ]; then
	command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
	echo "image.sh: debootstrapping Debian 12 into $ROOT (once; cached)" >&2
	rm -rf "$ROOT.tmp"
	mkdir -p "$CACHE"
	debootstrap --variant=minbase \
		--include=systemd,systemd-sysv,dbus,curl,ca-certificates,libcurl4,libcjson1,libsystemd0,libmicrohttpd12 \
		bookworm "$ROOT.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1
	chroot "$ROOT.tmp" groupadd -r docker
	: >"$ROOT.tmp/etc/machine-id" # a new id at every boot, as on a fresh host
	mv "$ROOT.tmp" "$ROOT"
fi
tar -C "$ROOT" -c . | docker import -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' - "$IMAGE" >/dev/null
