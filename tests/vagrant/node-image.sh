#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# node-image.sh: makes sure the engine has force12-vagrant-node:3, the node of `vagrant up --provider=docker`: the
# boot test's Debian 12 + systemd (tests/boot/image.sh's root file system, not changed) plus sshd with Vagrant's
# insecure key (user vagrant, passwordless sudo), dbus, the real coreos-cloudinit
# (`bash scripts/third-party.sh coreos-cloudinit`), Debian's etcd with an etcd-member.service that runs it the way
# Flatcar's unit does (Type=notify, ETCD_* from the environment, data in /var/lib/etcd; enabled by the
# provisioner's drop-in on core-01 only), and a docker.service standing in for the node's engine (the host's,
# mounted at /var/run/docker.sock). Kept in /var/cache/force12; rebuilt only when the revision changes.
set -euo pipefail

IMAGE=force12-vagrant-node:3 # bump when what goes into it changes
TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${FORCE12_CACHE:-/var/cache/force12}
# tests/boot/image.sh's root file system, whatever its revision; FORCE12_NODE_BASE overrides.
# shellcheck disable=SC2016 # a literal $CACHE in the pattern
BASE=${FORCE12_NODE_BASE:-$CACHE/$(sed -n 's|^ROOT=\$CACHE/||p' "$TOP/tests/boot/image.sh")}
ROOT=$CACHE/rootfs-vagrant-node-1
DOCKER=(docker -H "unix://${ENGINE_SOCK:-/var/run/docker.sock}")

"${DOCKER[@]}" image inspect "$IMAGE" >/dev/null 2>&1 && exit 0
die() {
	echo "node-image.sh: $*" >&2
	exit 1
}
key=$(find /usr/share/rubygems-integration /usr/lib/ruby -path '*vagrant*/keys/vagrant.pub' 2>/dev/null | head -n 1)
[ -n "$key" ] || die "Vagrant's insecure public key not found (apt-get install vagrant)"
[ -x /usr/bin/etcd ] || die "/usr/bin/etcd missing (apt-get install etcd-server)"
cloudinit=$(bash "$TOP/scripts/third-party.sh" coreos-cloudinit | tail -n 1) || die "could not build coreos-cloudinit"
[ -x "$cloudinit" ] || die "coreos-cloudinit not built: $cloudinit"

if [ ! -x "$ROOT/usr/sbin/sshd" ]; then
	[ -x "$BASE/sbin/init" ] || bash "$TOP/tests/boot/image.sh" || die "tests/boot/image.sh failed"
	[ -x "$BASE/sbin/init" ] || die "no base root file system in $BASE"
	rm -rf "$ROOT.tmp"
	cp -a "$BASE" "$ROOT.tmp"
	# Packages into a copy: nothing of the boot test's root changes. Mounts only for the time of apt.
	cp /etc/resolv.conf "$ROOT.tmp/etc/resolv.conf"
	mount --bind /proc "$ROOT.tmp/proc"
	trap 'umount "$ROOT.tmp/proc" 2>/dev/null || true' EXIT
	chroot "$ROOT.tmp" apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive chroot "$ROOT.tmp" apt-get install -y -qq --no-install-recommends \
		openssh-server sudo dbus iproute2 >"$CACHE/vagrant-node-apt.log" 2>&1 || die "apt-get in the node failed: $CACHE/vagrant-node-apt.log"
	chroot "$ROOT.tmp" apt-get clean
	umount "$ROOT.tmp/proc"
	trap - EXIT
	chroot "$ROOT.tmp" useradd -m -s /bin/bash vagrant
	install -d -m 700 -o "$(chroot "$ROOT.tmp" id -u vagrant)" "$ROOT.tmp/home/vagrant/.ssh"
	install -m 600 -o "$(chroot "$ROOT.tmp" id -u vagrant)" "$key" "$ROOT.tmp/home/vagrant/.ssh/authorized_keys"
	echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >"$ROOT.tmp/etc/sudoers.d/vagrant"
	chmod 440 "$ROOT.tmp/etc/sudoers.d/vagrant"
	rm -f "$ROOT.tmp"/etc/ssh/ssh_host_*  # made at first boot, per node
	printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' |
		install -D -m 644 /dev/stdin "$ROOT.tmp/etc/systemd/system/ssh.service.d/10-hostkeys.conf"
	mv "$ROOT.tmp" "$ROOT"
fi
# Flatcar has a docker group (force12-agent.socket's SocketGroup=docker); the boot test's base may not. The agent
# runs as a dynamic user in that group and reaches the host's engine socket through it, so the node's docker
# group has the socket's gid.
gid=$(stat -c %g "${ENGINE_SOCK:-/var/run/docker.sock}") || die "no engine socket at ${ENGINE_SOCK:-/var/run/docker.sock}"
if chroot "$ROOT" getent group docker >/dev/null; then
	chroot "$ROOT" groupmod -o -g "$gid" docker
else
	chroot "$ROOT" groupadd -r -o -g "$gid" docker
fi
install -m 755 "$cloudinit" "$ROOT/usr/bin/coreos-cloudinit"
install -m 755 /usr/bin/etcd "$ROOT/usr/bin/etcd"
cat >"$ROOT/etc/systemd/system/etcd-member.service" <<'UNIT'
[Unit]
Description=etcd (System Application Container)
Documentation=https://github.com/etcd-io/etcd
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
Restart=on-failure
RestartSec=10s
LimitNOFILE=40000
Environment=ETCD_DATA_DIR=/var/lib/etcd
ExecStartPre=/usr/bin/mkdir -p /var/lib/etcd
ExecStart=/usr/bin/etcd

[Install]
WantedBy=multi-user.target
UNIT
printf '[Unit]\nDescription=Docker (the host engine, mounted)\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/bin/test -S /var/run/docker.sock\n' \
	>"$ROOT/etc/systemd/system/docker.service"
ln -sf /lib/systemd/system/ssh.service "$ROOT/etc/systemd/system/multi-user.target.wants/ssh.service"
tar -C "$ROOT" -c . | "${DOCKER[@]}" import -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' -c 'EXPOSE 22' \
	- "$IMAGE" >/dev/null
