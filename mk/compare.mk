# SPDX-License-Identifier: Apache-2.0
# The comparison (compare/, observe/; see compare/README.md): the observer, the report and the demand trace;
# `make compare` runs force12, the real Amazon ECS Agent (defaults, and tuned) behind the local control plane
# (compare/ecs-plane), and docker-compose, each with 2 container variants for DURATION seconds (default 120), into
# build/compare/. `make ecs-agent` builds the real agent once per machine (scripts/third-party.sh caches it under
# /var/cache/force12) and prints its path.
COMPARE_BINS := $(BUILD)/force12-observe $(BUILD)/force12-report $(BUILD)/force12-trace
export OBSERVE_BIN := $(abspath $(BUILD)/force12-observe)
export REPORT_BIN := $(abspath $(BUILD)/force12-report)
export TRACE_BIN := $(abspath $(BUILD)/force12-trace)
# Objects of compare/ go under obj/: build/compare/ is the report's directory.
COMPARE_OBJ := $(BUILD)/obj/compare
all: $(COMPARE_BINS)
$(COMPARE_OBJ)/%.o: compare/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Icompare $(pkg_cflags) -c -o $@ $<
$(BUILD)/force12-observe: $(BUILD)/observe/observe.o $(BUILD)/libforce12.a
	$(CC) $(LDFLAGS) -o $@ $^ $(pkg_libs) -lm
$(BUILD)/force12-trace: $(COMPARE_OBJ)/trace.o $(BUILD)/libforce12.a
	$(CC) $(LDFLAGS) -o $@ $^ $(pkg_libs) -lm
$(BUILD)/force12-report: $(COMPARE_OBJ)/report.o $(COMPARE_OBJ)/metrics.o
	$(CC) $(LDFLAGS) -o $@ $^ -lm
$(BUILD)/tests/test-metrics: $(COMPARE_OBJ)/metrics.o
$(BUILD)/tests/unit/test-metrics.o: override CFLAGS += -Icompare
compare: setup-compare
	$(MAKE) all
	ECS_AGENT_BIN="$$(bash scripts/third-party.sh amazon-ecs-agent)" bash compare/compare.sh $(BUILD)/compare
ecs-agent:
	bash scripts/third-party.sh amazon-ecs-agent
setup-compare:
	bash scripts/setup-host.sh --compare
compare-format:
	clang-format -i compare/*.c compare/*.h observe/*.c tests/unit/test-metrics.c tests/fuzz/fuzz-metrics.c
.PHONY: compare setup-compare compare-format ecs-agent
