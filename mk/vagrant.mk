# SPDX-License-Identifier: Apache-2.0
# `make vagrant-test`: `vagrant up --provider=docker` of the Vagrantfile's nodes as containers on this host's engine
# (tests/vagrant/vagrant-test.sh); nothing of its own is left after it.
vagrant-test: all
	bash tests/vagrant/vagrant-test.sh
.PHONY: vagrant-test
