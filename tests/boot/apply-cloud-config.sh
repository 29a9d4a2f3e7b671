#!/usr/bin/env bash
# apply-cloud-config.sh CLOUD-CONFIG.yml ROOT: does to ROOT what coreos-cloudinit does for the keys force12's
# cloud-config uses: write_files (path, permissions, content) and coreos.units (content, drop_ins, enable;
# "command: start" units are started at boot, here by making multi-user.target want them).
set -euo pipefail
cc=$1 root=$2

head -n 1 "$cc" | grep -qx '#cloud-config' || { echo "apply-cloud-config: no #cloud-config line" >&2; exit 1; }
/usr/bin/python3 - "$cc" "$root" <<'PY'
import os, subprocess, sys, yaml
doc, root = yaml.safe_load(open(sys.argv[1])), sys.argv[2]
for f in doc.get("write_files", []):
    path = root + f["path"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as out:
        out.write(f["content"])
    os.chmod(path, int(f.get("permissions", "0644"), 8))
units = root + "/etc/systemd/system"
os.makedirs(units + "/multi-user.target.wants", exist_ok=True)
for u in doc.get("coreos", {}).get("units", []):
    with open(os.path.join(units, u["name"]), "w") as out:
        out.write(u["content"])
    for d in u.get("drop_ins", []):
        os.makedirs(os.path.join(units, u["name"] + ".d"), exist_ok=True)
        with open(os.path.join(units, u["name"] + ".d", d["name"]), "w") as out:
            out.write(d["content"])
    if u.get("enable"):
        subprocess.run(["systemctl", "--root=" + root, "enable", u["name"]], check=True, capture_output=True)
    if u.get("command") == "start":
        link = os.path.join(units, "multi-user.target.wants", u["name"])
        if not os.path.lexists(link):
            os.symlink("/etc/systemd/system/" + u["name"], link)
PY
