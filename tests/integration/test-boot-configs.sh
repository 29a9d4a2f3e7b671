# shellcheck shell=bash
# The boot configs in ignition/: they match a fresh generation from units/ and ignition/agent.json, the
# Ignition JSON validates against the 3.3.0 schema and passes the checks the schema does not make, the
# cloud-config parses as YAML with underscore keys only, and the Vagrantfile validates.

test_boot_configs_match_a_fresh_generation() {
	local url hash
	url=$(jq -r '.storage.files[] | select(.path == "/opt/bin/force12-agent") | .contents.source' "$TOP/ignition/force12.ign")
	hash=$(jq -r '.storage.files[] | select(.path == "/opt/bin/force12-agent") | .contents.verification.hash' \
		"$TOP/ignition/force12.ign")
	bash "$TOP/scripts/gen-boot-configs.sh" "$url" "${hash#sha512-}" "$T/gen"
	for f in force12.ign force12.bu cloud-config.yml; do
		diff -u "$TOP/ignition/$f" "$T/gen/$f" >&2 || fail "ignition/$f differs from a fresh generation: run make ignition"
	done
}

test_ignition_validates_and_keys_are_right() {
	local schema=$TOP/../shared/reference/ignition/ignition-v3_3.json ign=$TOP/ignition/force12.ign
	[ -f "$schema" ] || fail "the Ignition 3.3.0 schema is not at $schema (shared/reference)"
	/usr/bin/python3 - "$schema" "$ign" <<'PY' || fail "force12.ign does not validate against the 3.3.0 schema"
import json, sys, jsonschema
schema, doc = (json.load(open(p)) for p in sys.argv[1:3])
jsonschema.Draft4Validator(schema).validate(doc)
PY
	jq -e '.ignition.version == "3.3.0"' "$ign" >/dev/null || fail "not spec 3.3.0"
	# What the schema does not police: enabled (not enable), decimal modes, [Install] where enabled.
	jq -e '[.systemd.units[] | has("enable")] | any | not' "$ign" >/dev/null || fail "a unit says enable, not enabled"
	jq -e '[.storage.files[], .storage.directories[] | .mode] | all(. == 493 or . == 420)' "$ign" >/dev/null ||
		fail "a mode is not 0755 (493) or 0644 (420)"
	jq -e '[.systemd.units[] | select(.enabled) | .contents | test("\\[Install\\]")] | all' "$ign" >/dev/null ||
		fail "an enabled unit lacks [Install]"
	jq -e '.storage.files[] | select(.path == "/opt/bin/force12-agent") | .contents.verification.hash | test("^sha512-[0-9a-f]{128}$")' \
		"$ign" >/dev/null || fail "the binary is not verified by a sha512 hash"
	# The config it writes is one the agent accepts.
	/usr/bin/python3 -c 'import json,sys,urllib.parse; d=json.load(open(sys.argv[1]));
src=[f for f in d["storage"]["files"] if f["path"]=="/etc/force12/agent.json"][0]["contents"]["source"]
open(sys.argv[2],"w").write(urllib.parse.unquote(src[len("data:,"):]))' "$ign" "$T/agent.json"
	jq -e '.apps | length == 2' "$T/agent.json" >/dev/null || fail "the written config is not the expected one"
	"$AGENT_BIN" -c "$T/agent.json" --help >/dev/null
	timeout 5 "$AGENT_BIN" -c "$T/agent.json" --node-id "$NODE" --api-socket "$T/api.sock" --state-dir "$T/state" \
		--docker-socket /nonexistent.sock >"$T/agent.log" 2>&1 &
	local pid=$!
	sleep 1
	kill -0 "$pid" 2>/dev/null || fail "the agent refused the config Ignition writes: $(cat "$T/agent.log")"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

test_cloud_config_parses_with_underscore_keys() {
	local cc=$TOP/ignition/cloud-config.yml
	head -n 1 "$cc" | grep -qx '#cloud-config' || fail "the first line is not #cloud-config"
	/usr/bin/python3 - "$cc" <<'PY' || fail "cloud-config.yml: bad YAML or keys"
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
assert units["force12-agent.service"]["drop_ins"][0]["content"].count("force12-agent-install.service") == 2
assert doc["write_files"][0]["path"] == "/etc/force12/agent.json"
PY
}

test_vagrantfile_validates() {
	command -v vagrant >/dev/null || fail "vagrant is not installed (Debian package vagrant)"
	# No VirtualBox here: the provider block is not validated, everything else is.
	local out
	out=$(cd "$TOP" && VAGRANT_HOME=$T/vagrant-home vagrant validate --ignore-provider 2>&1) || fail "vagrant validate: $out"
	echo "$out" | grep -q 'Vagrantfile validated successfully' || fail "vagrant validate said: $out"
	grep -q '172.17.8.#{100 + i}' "$TOP/Vagrantfile" || fail "the nodes are not on 172.17.8.101..103"
}
