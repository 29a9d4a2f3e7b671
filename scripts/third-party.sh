#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the upstream tools that force12 is tested against and that Debian does not package (the Amazon ECS
# Agent, Ignition, Butane, coreos-cloudinit) from the unmodified archives in ../shared/third-party, with Debian's
# Go, offline, and caches each binary per machine under $FORCE12_CACHE (default /var/cache/force12), keyed by
# the archive's sha256, so that each is built once. Prints the path of each binary asked for, one a line.
# Usage: third-party.sh TOOL...   (TOOL: amazon-ecs-agent butane ignition ignition-apply ignition-validate
#                                        coreos-cloudinit)
# Never copies upstream code into the project: the sources are unpacked into a temporary directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SRC=${THIRD_PARTY_DIR:-$here/../../shared/third-party}
CACHE=${FORCE12_CACHE:-/var/cache/force12}
GO=/usr/lib/go-1.19/bin/go
RECIPE=2

log() { printf 'third-party: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}

need_go() {
	[ -x "$GO" ] && return 0
	[ "$(id -u)" -eq 0 ] || die "Go 1.19 is missing: run 'apt-get install golang-1.19-go' as root"
	log "installing Debian's Go 1.19 (golang-1.19-go) and the build packages"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		golang-1.19-go gcc libc6-dev libblkid-dev golang-github-aws-aws-sdk-go-dev >/dev/null ||
		die "could not install golang-1.19-go libblkid-dev golang-github-aws-aws-sdk-go-dev"
}

archive_of() {
	case "$1" in
	amazon-ecs-agent) echo "$SRC/amazon-ecs-agent-1.73.1.tar.gz" ;;
	butane) echo "$SRC/butane-0.19.0.tar.gz" ;;
	ignition | ignition-apply | ignition-validate) echo "$SRC/ignition-2.16.2.tar.gz" ;;
	coreos-cloudinit) echo "$SRC/coreos-cloudinit-8df59e8.tar.gz" ;;
	*) die "unknown tool '$1' (known: amazon-ecs-agent butane ignition ignition-apply ignition-validate coreos-cloudinit)" ;;
	esac
}

# go_build DIR OUT ARGS...: one offline build with the vendored modules.
go_build() {
	local dir=$1 out=$2
	shift 2
	(cd "$dir" && GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local GOCACHE="$CACHE/go-build" \
		GOPATH="$CACHE/gopath" "$GO" build -o "$out" "$@")
}

build_ecs() { # $1 source top, $2 out dir
	local api=agent/vendor/github.com/aws/aws-sdk-go/service/ec2/api.go
	local deb=/usr/share/gocode/src/github.com/aws/aws-sdk-go/service/ec2/api.go
	# The archive lacks this one vendored file; Debian's newer copy compiles against the vendored core.
	[ -f "$1/$api" ] || { [ -f "$deb" ] && cp "$deb" "$1/$api"; } ||
		die "missing $deb: apt-get install golang-github-aws-aws-sdk-go-dev"
	CGO_ENABLED=0 go_build "$1/agent" "$2/amazon-ecs-agent" -ldflags "-s" .
}

build_ignition() {
	local pkg=github.com/coreos/ignition/v2/internal
	CGO_ENABLED=0 go_build "$1" "$2/ignition-validate" -ldflags "-X $pkg/version.Raw=v2.16.2" \
		github.com/coreos/ignition/v2/validate
	# No SELinux here: the files stage would end in a relabel error without this flag.
	CGO_ENABLED=1 go_build "$1" "$2/ignition" -buildmode=pie \
		-ldflags "-X $pkg/distro.selinuxRelabel=false -X $pkg/version.Raw=v2.16.2" "$pkg"
	ln -sf ignition "$2/ignition-apply" # it switches on argv[0]
}

build_butane() {
	CGO_ENABLED=0 go_build "$1" "$2/butane" \
		-ldflags "-X github.com/coreos/butane/internal/version.Raw=v0.19.0" internal/main.go
}

build_cloudinit() {
	CGO_ENABLED=0 go_build "$1" "$2/coreos-cloudinit" .
}

# ensure TOOL: prints the cached binary's path, building it first if needed.
ensure() {
	local tool=$1 archive sum dir tmp top
	archive=$(archive_of "$tool")
	[ -f "$archive" ] || die "missing source archive $archive (set THIRD_PARTY_DIR to the folder that holds it)"
	# The key changes with the archive and with this script's recipes (bump RECIPE when a build step changes).
	sum=$(sha256sum "$archive" | cut -c1-12)-r$RECIPE
	dir="$CACHE/bin/$(basename "$archive" .tar.gz)-$sum"
	mkdir -p "$CACHE/bin"
	# One build of an archive at a time, whoever asks (tests may run side by side).
	exec 9>"$CACHE/bin/.lock-$sum"
	flock 9
	if [ ! -x "$dir/$tool" ]; then
		need_go
		tmp=$(mktemp -d "$CACHE/build.XXXXXX")
		# shellcheck disable=SC2064 # expand now: tmp is local
		trap "rm -rf '$tmp'" EXIT
		tar -C "$tmp" -xzf "$archive"
		top=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -n 1)
		mkdir -p "$tmp/out"
		log "building $(basename "$archive" .tar.gz) (once per machine; cached in $dir)"
		case "$tool" in
		amazon-ecs-agent) build_ecs "$top" "$tmp/out" ;;
		ignition*) build_ignition "$top" "$tmp/out" ;;
		butane) build_butane "$top" "$tmp/out" ;;
		coreos-cloudinit) build_cloudinit "$top" "$tmp/out" ;;
		esac || die "building $tool failed (see above)"
		rm -rf "$dir"
		mv "$tmp/out" "$dir" # atomic: a half-built directory is never taken for a cached one
		rm -rf "$tmp"
		trap - EXIT
	fi
	exec 9>&-
	echo "$dir/$tool"
}

[ $# -gt 0 ] || die "usage: third-party.sh TOOL..."
for t in "$@"; do ensure "$t"; done
