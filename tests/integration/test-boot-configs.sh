# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2153,SC2034 # AGENT_BIN, T, NODE come from lib.sh; AGENT_PID is read by its cleanup
# The boot configs in ignition/, checked with the real tools (scripts/third-party.sh builds them): they match a
# fresh generation from units/ and ignition/agent.json; each .ign is exactly what `butane --strict` makes of its
# .bu; butane --strict, ignition-validate and coreos-cloudinit -validate accept them and each refuses a broken
# copy; the files they write are the sources byte for byte (agent.json the same on every path, units with their
# final newline); the agent accepts the config they write; the Vagrantfile validates.

BOOT_CONFIGS="force12.bu force12.ign force12-fcos.bu force12-fcos.ign cloud-config.yml"

tool() { # NAME: the real tool's path, built once per machine
	bash "$TOP/scripts/third-party.sh" "$1" || fail "could not build $1 (scripts/third-party.sh $1; see its message)"
}

# decode CONFIG.ign PATH: the bytes Ignition writes to PATH (data: URLs, plain or base64, gzip or not).
ign_file() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import base64, gzip, json, sys, urllib.parse
doc = json.load(open(sys.argv[1]))
f = [f for f in doc["storage"]["files"] if f["path"] == sys.argv[2]][0]["contents"]
head, data = f["source"].split(",", 1)
raw = base64.b64decode(data) if head.endswith(";base64") else urllib.parse.unquote_to_bytes(data)
if f.get("compression") == "gzip":
    raw = gzip.decompress(raw)
sys.stdout.buffer.write(raw)
PY
}
ign_unit() { # CONFIG.ign NAME: a unit's contents as Ignition writes them
	jq -j --arg n "$2" '.systemd.units[] | select(.name == $n) | .contents' "$1"
}
cc_file() { # PATH: what coreos-cloudinit writes to PATH (write_files) or as unit PATH (coreos.units)
	/usr/bin/python3 - "$TOP/ignition/cloud-config.yml" "$1" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
files = {f["path"]: f["content"] for f in doc["write_files"]}
files.update({u["name"]: u["content"] for u in doc["coreos"]["units"]})
sys.stdout.write(files[sys.argv[2]])
PY
}

test_boot_configs_match_a_fresh_generation() {
	local url hash f
	url=$(jq -r '.storage.files[] | select(.path == "/opt/bin/force12-agent") | .contents.source' "$TOP/ignition/force12.ign")
	hash=$(jq -r '.storage.files[] | select(.path == "/opt/bin/force12-agent") | .contents.verification.hash' \
		"$TOP/ignition/force12.ign")
	BUTANE=$(tool butane) bash "$TOP/scripts/gen-boot-configs.sh" "$url" "${hash#sha512-}" "$T/gen" ||
		fail "gen-boot-configs.sh failed"
	for f in $BOOT_CONFIGS; do
		diff -u "$TOP/ignition/$f" "$T/gen/$f" >&2 || fail "ignition/$f differs from a fresh generation: run make ignition"
	done
	# Bad input changes nothing: the committed configs stay as they are.
	cp -r "$T/gen" "$T/gen.before"
	BUTANE=$(tool butane) bash "$TOP/scripts/gen-boot-configs.sh" "$url" nothex "$T/gen" 2>/dev/null &&
		fail "gen-boot-configs.sh accepted a SHA512 that is not hex"
	BUTANE=/nonexistent/butane bash "$TOP/scripts/gen-boot-configs.sh" "$url" "${hash#sha512-}" "$T/gen" 2>/dev/null &&
		fail "gen-boot-configs.sh succeeded without butane"
	diff -r "$T/gen.before" "$T/gen" >/dev/null || fail "a failed generation changed the configs"
}

test_ignition_is_what_butane_makes() {
	local butane v
	butane=$(tool butane)
	for v in force12 force12-fcos; do
		"$butane" --strict "$TOP/ignition/$v.bu" >"$T/$v.ign" || fail "butane --strict refuses ignition/$v.bu"
		cmp "$T/$v.ign" "$TOP/ignition/$v.ign" || fail "ignition/$v.ign is not what butane --strict makes of $v.bu"
	done
	# The check can fail: butane --strict refuses a key it does not know (a typo would be silently dropped).
	sed 's/^      overwrite: true/      overwrite: true\n      owerwrite: true/' "$TOP/ignition/force12.bu" >"$T/typo.bu"
	grep -q owerwrite "$T/typo.bu" || fail "could not make the broken copy"
	"$butane" --strict "$T/typo.bu" >/dev/null 2>"$T/butane.err" && fail "butane --strict accepted an unknown key"
	grep -q 'owerwrite' "$T/butane.err" || fail "butane did not name the bad key: $(cat "$T/butane.err")"
	# Variants: Flatcar gets spec 3.3.0, Fedora CoreOS 3.4.0.
	jq -e '.ignition.version == "3.3.0"' "$TOP/ignition/force12.ign" >/dev/null || fail "force12.ign is not spec 3.3.0"
	jq -e '.ignition.version == "3.4.0"' "$TOP/ignition/force12-fcos.ign" >/dev/null || fail "force12-fcos.ign is not spec 3.4.0"
}

test_ignition_validate_accepts_and_refuses() {
	local iv v out
	iv=$(tool ignition-validate)
	for v in force12 force12-fcos; do
		out=$("$iv" "$TOP/ignition/$v.ign" 2>&1) || fail "ignition-validate refuses ignition/$v.ign: $out"
		[ -z "$out" ] || fail "ignition-validate warns about ignition/$v.ign: $out"
		# Broken copies: a truncated hash, and a mode that is not a number.
		jq -c '(.storage.files[] | select(.contents.verification.hash?) | .contents.verification.hash) |= .[:-2]' \
			"$TOP/ignition/$v.ign" >"$T/bad-hash.ign"
		"$iv" "$T/bad-hash.ign" >"$T/iv.out" 2>&1 && fail "ignition-validate accepted a truncated sha512 ($v)"
		grep -q 'hash' "$T/iv.out" || fail "ignition-validate did not say what is wrong: $(cat "$T/iv.out")"
		jq -c '.storage.files[0].mode = "0755"' "$TOP/ignition/$v.ign" >"$T/bad-mode.ign"
		"$iv" "$T/bad-mode.ign" >/dev/null 2>&1 && fail "ignition-validate accepted a string mode ($v)"
	done
	# What a validator does not police: every enabled unit has an [Install] section; the binary is verified.
	for v in force12 force12-fcos; do
		jq -e '[.systemd.units[] | select(.enabled and .contents) | .contents | test("\\[Install\\]")] | all' \
			"$TOP/ignition/$v.ign" >/dev/null || fail "$v.ign: an enabled unit lacks [Install]"
		jq -e '[.storage.files[] | select(.path | endswith("/force12-agent")) | .contents.verification.hash |
			test("^sha512-[0-9a-f]{128}$")] == [true]' "$TOP/ignition/$v.ign" >/dev/null ||
			fail "$v.ign: the agent binary is not verified by a sha512 hash"
	done
}

test_cloud_config_validates() {
	local ci out
	ci=$(tool coreos-cloudinit)
	out=$("$ci" -validate --from-file="$TOP/ignition/cloud-config.yml" 2>&1) || fail "coreos-cloudinit -validate: $out"
	echo "$out" | grep -Ei 'error|warning' && fail "coreos-cloudinit -validate complains: $out"
	# Broken copies: a command it does not know, and a mode that is not octal.
	sed 's/command: start/command: begin/' "$TOP/ignition/cloud-config.yml" >"$T/bad1.yml"
	"$ci" -validate --from-file="$T/bad1.yml" >"$T/ci.out" 2>&1 && fail "coreos-cloudinit -validate accepted command: begin"
	grep -q 'invalid value begin' "$T/ci.out" || fail "coreos-cloudinit did not say what is wrong: $(cat "$T/ci.out")"
	sed 's/permissions: "0644"/permissions: "0x44"/' "$TOP/ignition/cloud-config.yml" >"$T/bad2.yml"
	"$ci" -validate --from-file="$T/bad2.yml" >/dev/null 2>&1 && fail "coreos-cloudinit -validate accepted permissions 0x44"
	# What it does not police: it ignores hyphenated keys (drop-ins for drop_ins) without a word.
	/usr/bin/python3 - "$TOP/ignition/cloud-config.yml" <<'PY' || fail "cloud-config.yml: hyphenated keys or missing units"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
def keys(o, path=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield path + "." + k
            yield from keys(v, path + "." + k)
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from keys(v, "%s[%d]" % (path, i))
bad = [k for k in keys(doc) if "-" in k.rsplit(".", 1)[-1]]
assert not bad, "hyphenated keys (ignored by Flatcar's coreos-cloudinit): %s" % bad
units = {u["name"]: u for u in doc["coreos"]["units"]}
for name in ("force12-agent.service", "force12-agent.socket", "force12-agent-install.service"):
    assert name in units, name + " missing"
for u in units.values():
    if u.get("enable"):
        assert "[Install]" in u["content"], u["name"] + " is enabled without [Install]"
PY
}

# One source of truth: every path writes the sources byte for byte.
test_boot_configs_write_the_sources_byte_for_byte() {
	local ign fcos
	ign=$TOP/ignition/force12.ign fcos=$TOP/ignition/force12-fcos.ign
	ign_file "$ign" /etc/force12/agent.json | cmp - "$TOP/ignition/agent.json" || fail "Ignition's agent.json differs"
	ign_file "$fcos" /etc/force12/agent.json | cmp - "$TOP/ignition/agent.json" || fail "FCOS's agent.json differs"
	cc_file /etc/force12/agent.json | cmp - "$TOP/ignition/agent.json" || fail "cloud-config's agent.json differs"
	ign_file "$ign" /etc/sysusers.d/force12.conf | cmp - "$TOP/units/force12.sysusers" || fail "sysusers differs (Ignition)"
	ign_file "$fcos" /etc/sysusers.d/force12.conf | cmp - "$TOP/units/force12.sysusers" || fail "sysusers differs (FCOS)"
	cc_file /etc/sysusers.d/force12.conf | cmp - "$TOP/units/force12.sysusers" || fail "sysusers differs (cloud-config)"
	ign_unit "$ign" force12-agent.socket | cmp - "$TOP/units/force12-agent.socket" || fail "Ignition's socket unit differs"
	ign_unit "$fcos" force12-agent.socket | cmp - "$TOP/units/force12-agent.socket" || fail "FCOS's socket unit differs"
	cc_file force12-agent.socket | cmp - "$TOP/units/force12-agent.socket" || fail "cloud-config's socket unit differs"
	sed 's|@BINDIR@|/opt/bin|g' "$TOP/units/force12-agent.service.in" >"$T/flatcar.service"
	sed 's|@BINDIR@|/usr/local/bin|g' "$TOP/units/force12-agent.service.in" >"$T/fcos.service"
	ign_unit "$ign" force12-agent.service | cmp - "$T/flatcar.service" || fail "Ignition's service unit differs"
	ign_unit "$fcos" force12-agent.service | cmp - "$T/fcos.service" || fail "FCOS's service unit differs"
	cc_file force12-agent.service | cmp - "$T/flatcar.service" || fail "cloud-config's service unit differs"
	# FCOS: the engine is Podman's socket, and the agent is pointed at it.
	jq -e '.systemd.units[] | select(.name == "podman.socket") | .enabled' "$fcos" >/dev/null ||
		fail "force12-fcos.ign does not enable podman.socket"
	jq -e '[.systemd.units[] | select(.name == "force12-agent.service") | .dropins[].contents |
		test("DOCKER_HOST=unix:///run/podman/podman.sock")] == [true]' "$fcos" >/dev/null ||
		fail "force12-fcos.ign does not point the agent at /run/podman/podman.sock"
}

# The agent accepts the config the boot paths write: it loads it (its API shows the apps, priorities, targets
# and capacity of ignition/agent.json), where a broken copy makes it exit 2.
test_agent_accepts_the_boot_config() {
	ign_file "$TOP/ignition/force12.ign" /etc/force12/agent.json >"$T/agent.json"
	# The agent's stderr goes where the sanitizer check looks; $T/agent.log points at it for fail().
	local log=${SANITIZER_LOG_DIR:-$T}/boot-configs-$NODE.log
	: >>"$log"
	[ "$log" = "$T/agent.log" ] || ln -sf "$log" "$T/agent.log"
	"$AGENT_BIN" -c "$T/agent.json" --node-id "$NODE" --api-socket "$T/api.sock" --state-dir "$T/state" \
		--docker-socket "$T/no-engine.sock" >>"$log" 2>&1 &
	AGENT_PID=$!
	wait_until 20 "the agent's API (with no engine)" api GET /v1/status
	api GET /v1/status | json_check '.capacity == 9 and
		([.apps[] | [.name, .priority, .target]] == [["priority1", 1, 2], ["priority2", 2, 1]])' ||
		fail "the agent did not load the boot config: $(api GET /v1/status)"
	stop_agent TERM
	jq '.capacity = "nine"' "$T/agent.json" >"$T/broken.json"
	local rc=0
	timeout 10 "$AGENT_BIN" -c "$T/broken.json" --node-id "$NODE" --api-socket "$T/api2.sock" --state-dir "$T/state2" \
		--docker-socket "$T/no-engine.sock" >>"$log" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "a broken config gave exit status $rc, not 2"
}

test_vagrantfile_validates() {
	command -v vagrant >/dev/null || fail "vagrant is not installed (Debian package vagrant)"
	# No VirtualBox here: the provider block is not validated, everything else is.
	local out
	out=$(cd "$TOP" && VAGRANT_HOME=$T/vagrant-home vagrant validate --ignore-provider 2>&1) || fail "vagrant validate: $out"
	echo "$out" | grep -q 'Vagrantfile validated successfully' || fail "vagrant validate said: $out"
	if ! grep -q 'NODE_PREFIX = ENV.fetch("FORCE12_NODE_PREFIX", "172.17.8")' "$TOP/Vagrantfile" ||
		! grep -q '#{NODE_PREFIX}.#{100 + i}' "$TOP/Vagrantfile"; then
		fail "the nodes are not on 172.17.8.101..103 by default"
	fi
}
