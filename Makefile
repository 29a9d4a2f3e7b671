# SPDX-License-Identifier: Apache-2.0
# force12: build, test, install. GNU make + pkg-config.
PKG_CONFIG ?= pkg-config
CC ?= gcc
CFLAGS ?= -O2 -g
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
BUILD ?= build
# The one version of both programs (--version, the User-Agent, /v1/status).
VERSION := $(shell cat VERSION)

PKGS := libcurl libcjson libsystemd libmicrohttpd
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings \
	-Wno-unused-parameter -fno-common
override CFLAGS += -std=gnu11 -D_GNU_SOURCE -DFORCE12_VERSION='"$(VERSION)"' $(WARNINGS) -fstack-protector-strong -D_FORTIFY_SOURCE=2 -Iinclude -MMD -MP
override LDFLAGS += -Wl,-z,relro,-z,now
ifneq ($(WERROR),)
override CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif

# pkg-config is asked only when building, so that `make demo` / `make check` can install the packages first.
pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
pkg_libs = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

# Everything in agent/ but main.c is a library the unit tests link against.
LIB_SRCS := $(filter-out agent/main.c,$(wildcard agent/*.c agent/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/dashboard.o
CTL_SRCS := $(wildcard ctl/*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test-*.c))

all: $(BUILD)/force12-agent $(BUILD)/force12ctl $(BUILD)/units/force12-agent.service

# Units are made for the install prefix (CoreOS/Flatcar: PREFIX=/opt, since /usr is read-only).
$(BUILD)/units/force12-agent.service: units/force12-agent.service.in
	@mkdir -p $(@D)
	sed 's|@BINDIR@|$(BINDIR)|g' $< >$@

# The integration tests run the binaries of this build (BUILD=build-asan SANITIZE=1 tests the sanitized ones).
export AGENT_BIN := $(abspath $(BUILD)/force12-agent)
export CTL_BIN := $(abspath $(BUILD)/force12ctl)
export FAULT_PROXY := $(abspath $(BUILD)/fault-proxy)
export API_ABUSE := $(abspath $(BUILD)/api-abuse)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(pkg_cflags) -c -o $@ $<

# Made anew each time: `ar r` would keep the objects of sources that moved or went.
$(BUILD)/libforce12.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/force12-agent: $(BUILD)/agent/main.o $(BUILD)/libforce12.a
	$(CC) $(LDFLAGS) -o $@ $^ $(pkg_libs) -lm

$(BUILD)/force12ctl: $(CTL_SRCS:%.c=$(BUILD)/%.o)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs libcurl libcjson)

# The dashboard page is embedded in the agent: no files to install, nothing fetched at run time.
$(BUILD)/dashboard.c: web/dashboard.html scripts/embed.sh
	@mkdir -p $(@D)
	bash scripts/embed.sh dashboard_html $< >$@

$(BUILD)/dashboard.o: $(BUILD)/dashboard.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libforce12.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(pkg_libs) $(shell $(PKG_CONFIG) --libs cmocka) -lm

TOOLS := $(BUILD)/fault-proxy $(BUILD)/api-abuse

$(BUILD)/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# The benchmark program (make bench). Built with the test tools, so that make check's smoke run keeps it from rotting.
BENCH_PROG := $(BUILD)/force12-bench
TOOLS += $(BENCH_PROG)
export BENCH_BIN := $(abspath $(BENCH_PROG))

$(BENCH_PROG): $(BUILD)/bench/force12-bench.o $(BUILD)/bench/bench-lib.o
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(shell $(PKG_CONFIG) --libs libcurl libcjson) -lm

setup:
	bash scripts/setup-host.sh

setup-test:
	bash scripts/setup-host.sh --test

unit: $(UNIT_TESTS)
	bash tests/run-unit.sh $(UNIT_TESTS)

integration: all $(TOOLS)
	bash tests/integration/run.sh $(TESTS)

# setup first (it may install the compiler's libraries), then build and test in a sub-make.
check: setup-test
	$(MAKE) unit-and-integration

unit-and-integration: all $(UNIT_TESTS) $(TOOLS)
	bash tests/run-all.sh $(UNIT_TESTS)

demo: setup
	$(MAKE) all
	bash scripts/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BUILD)/force12-agent $(DESTDIR)$(BINDIR)/force12-agent
	install -m 0755 $(BUILD)/force12ctl $(DESTDIR)$(BINDIR)/force12ctl
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@BINDIR@|$(BINDIR)|g' units/force12-agent.service.in >$(DESTDIR)$(UNITDIR)/force12-agent.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/force12-agent.service
	install -m 0644 units/force12-agent.socket $(DESTDIR)$(UNITDIR)/force12-agent.socket
	install -d $(DESTDIR)$(SYSUSERSDIR)
	install -m 0644 units/force12.sysusers $(DESTDIR)$(SYSUSERSDIR)/force12.conf

format:
	clang-format -i agent/*.c agent/*/*.c agent/*/*.h ctl/*.c ctl/*.h include/force12/*.h tests/unit/*.c tests/tools/*.c bench/*.c bench/*.h

clean:
	rm -rf $(BUILD)

.PHONY: all setup setup-test unit integration check unit-and-integration demo install format clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

bench: setup
	$(MAKE) all $(BENCH_PROG)
	bash bench/bench.sh

# The Force12 demo's random demand for DURATION seconds (default 300): garbage, footprint.
churn: setup
	$(MAKE) all
	bash bench/churn.sh
# Random demand at one change a second with container kills, DURATION seconds (default 1800).
soak: setup
	$(MAKE) all
	bash bench/soak.sh
# The integration suite with every agent under valgrind memcheck: an error or a definite leak fails the test.
valgrind: setup-test
	$(MAKE) all $(TOOLS)
	AGENT_WRAPPER="valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite -q" \
		WAIT_FACTOR=5 bash tests/integration/run.sh $(TESTS)

# clang's static analyzer over the agent and force12ctl. Its findings and why each is not a bug: README, "Tests".
analyze:
	@for f in agent/*.c agent/*/*.c ctl/*.c; do \
		clang --analyze -std=gnu11 -D_GNU_SOURCE -DFORCE12_VERSION='"$(VERSION)"' -Iinclude $(pkg_cflags) $$f -o /dev/null || exit 1; \
	done

# libFuzzer harnesses, FUZZ_SECONDS each (default 60).
fuzz:
	bash tests/fuzz/run.sh
.PHONY: bench churn soak valgrind fuzz ignition analyze

# Each subsystem's targets live beside it in mk/ (the comparison, the boot configs, the simulation, the docs).
include $(sort $(wildcard mk/*.mk))
