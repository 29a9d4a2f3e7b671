#!/usr/bin/env bash
# apply-ignition.sh CONFIG.ign ROOT: does to ROOT what Ignition's files and systemd stages do for the keys
# force12's config uses: storage.directories, storage.files (data: URLs and http(s) URLs, verified by their
# sha512 hash, with decimal modes), systemd.units (contents, enabled through their [Install] section).
set -euo pipefail
ign=$1 root=$2

jq -e '.ignition.version == "3.3.0"' "$ign" >/dev/null || { echo "apply-ignition: not spec 3.3.0" >&2; exit 1; }
while IFS=$'\t' read -r path mode; do
	install -d -m "$(printf '%o' "$mode")" "$root$path"
done < <(jq -r '.storage.directories[]? | [.path, .mode] | @tsv' "$ign")

n=$(jq '.storage.files | length' "$ign")
for ((i = 0; i < n; i++)); do
	file=$(jq -c ".storage.files[$i]" "$ign")
	path=$(jq -r .path <<<"$file")
	source=$(jq -r .contents.source <<<"$file")
	hash=$(jq -r '.contents.verification.hash // ""' <<<"$file")
	mkdir -p "$(dirname "$root$path")"
	case "$source" in
	data:,*) /usr/bin/python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.unquote(sys.argv[1]))' \
		"${source#data:,}" >"$root$path" ;;
	http://* | https://*) curl -fsSL -o "$root$path" "$source" ;;
	*) echo "apply-ignition: unsupported source $source" >&2; exit 1 ;;
	esac
	if [ -n "$hash" ]; then
		[ "${hash%%-*}" = sha512 ] || { echo "apply-ignition: unsupported hash $hash" >&2; exit 1; }
		echo "${hash#sha512-}  $root$path" | sha512sum -c --quiet - || { echo "apply-ignition: $path fails its hash" >&2; exit 1; }
	fi
	chmod "$(printf '%o' "$(jq .mode <<<"$file")")" "$root$path"
done

mkdir -p "$root/etc/systemd/system"
n=$(jq '.systemd.units | length' "$ign")
for ((i = 0; i < n; i++)); do
	name=$(jq -r ".systemd.units[$i].name" "$ign")
	jq -r ".systemd.units[$i].contents" "$ign" >"$root/etc/systemd/system/$name"
	if jq -e ".systemd.units[$i].enabled == true" "$ign" >/dev/null; then
		systemctl --root="$root" enable "$name" >/dev/null 2>&1
	fi
done
