# SPDX-License-Identifier: Apache-2.0
# The man pages (man/*.scd, scdoc sources, built into $(BUILD)/man with the version of VERSION) and the shell
# completion of force12ctl. `make` builds the pages; `install-docs` (part of `make install`) installs both.
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
SCDOC ?= scdoc
MAN_PAGES := $(patsubst man/%.scd,$(BUILD)/man/%,$(wildcard man/*.scd))
export MAN_DIR := $(abspath $(BUILD)/man)

all: $(MAN_PAGES)

$(BUILD)/man/%: man/%.scd VERSION
	@mkdir -p $(@D)
	@command -v $(SCDOC) >/dev/null || { echo "$(SCDOC) not found: apt-get install scdoc" >&2; exit 1; }
	sed 's|@VERSION@|$(VERSION)|g' $< | $(SCDOC) >$@

install-docs: $(MAN_PAGES)
	@for p in $(MAN_PAGES); do \
		s=$${p##*.}; \
		install -d $(DESTDIR)$(MANDIR)/man$$s && install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; \
	done
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 completion/force12ctl.bash $(DESTDIR)$(BASHCOMPDIR)/force12ctl
	install -m 0644 completion/_force12ctl $(DESTDIR)$(ZSHCOMPDIR)/_force12ctl

.PHONY: install-docs

# make install installs the man pages and the completion too.
install: install-docs
