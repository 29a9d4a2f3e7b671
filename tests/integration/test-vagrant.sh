# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# `vagrant up --provider=docker` for real (tests/vagrant/vagrant-test.sh, also `make vagrant-test`): the
# Vagrantfile's nodes as systemd containers, cluster totals split over them, a halted node's share taken over,
# nothing left after `vagrant destroy -f`; and an interrupted `vagrant up` cleaned up by `vagrant destroy -f`.

vagrant_run() { # [--interrupt]: runs the script; its "name: value" lines are figures
	local rc=0 line
	AGENT_BIN=$AGENT_BIN bash "$TOP/tests/vagrant/vagrant-test.sh" "$@" >"$T/vagrant-test.out" 2>"$T/vagrant-test.err" || rc=$?
	while read -r line; do
		case $line in *_ms:*) figure "${line%%:*}" "${line#*: }" ;; esac
	done <"$T/vagrant-test.out"
	[ "$rc" -ne 77 ] || {
		skip "$(tail -n 1 "$T/vagrant-test.err")"
	}
	[ "$rc" -eq 0 ] || fail "vagrant-test.sh $*: $(tail -n 20 "$T/vagrant-test.err")"
}

test_vagrant_up_docker_provider() { vagrant_run; }
test_vagrant_up_interrupted_then_destroyed() { vagrant_run --interrupt; }
