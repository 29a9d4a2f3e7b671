# SPDX-License-Identifier: Apache-2.0
# Boot configs from units/ and ignition/agent.json (scripts/gen-boot-configs.sh): Butane for Flatcar and for
# Fedora CoreOS, their Ignition made by the real Butane (scripts/third-party.sh builds it once per machine), and
# Flatcar's cloud-config. The agent binary is fetched from AGENT_URL and checked against AGENT_SHA512 (default:
# this build's, served to the Vagrant VMs from the host at 172.17.8.1:8080, e.g. with
# `cd build && python3 -m http.server 8080`).
AGENT_URL ?= http://172.17.8.1:8080/force12-agent
# Where `make install` puts the sysusers.d entry that makes the docker group on hosts without one.
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

ignition: $(BUILD)/force12-agent
	bash scripts/gen-boot-configs.sh "$(AGENT_URL)" "$${AGENT_SHA512:-$$(sha512sum $(BUILD)/force12-agent | cut -c1-128)}"

.PHONY: ignition
