# SPDX-License-Identifier: Apache-2.0
# Scale by simulation (issue 16): the fake engine (tests/tools/fake-engine.c), the one-node scale bench
# (bench/force12-scale.c) and the cluster simulation (scripts/cluster-sim.sh: `make cluster-sim NODES=200`).
FAKE_ENGINE_BIN := $(BUILD)/fake-engine
SCALE_BENCH_BIN := $(BUILD)/force12-scale
SIM_TOOLS := $(FAKE_ENGINE_BIN) $(SCALE_BENCH_BIN)
export FAKE_ENGINE := $(abspath $(FAKE_ENGINE_BIN))
export SCALE_BENCH := $(abspath $(SCALE_BENCH_BIN))

$(FAKE_ENGINE_BIN): tests/tools/fake-engine.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags libmicrohttpd libcjson) $(LDFLAGS) -pthread -o $@ $< \
		$(shell $(PKG_CONFIG) --libs libmicrohttpd libcjson)

$(SCALE_BENCH_BIN): $(BUILD)/bench/force12-scale.o $(BUILD)/bench/bench-lib.o
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(shell $(PKG_CONFIG) --libs libcurl libcjson) -lm

# The integration tests and make bench need them; TOOLS was expanded before this file was read.
integration unit-and-integration: $(SIM_TOOLS)

sim-tools: $(SIM_TOOLS)

# NODES agents, each with its own fake engine, on one real etcd; report in build/cluster-sim/.
NODES ?= 200
cluster-sim: all $(SIM_TOOLS)
	NODES=$(NODES) bash scripts/cluster-sim.sh $(BUILD)/cluster-sim

.PHONY: sim-tools cluster-sim

# make bench's scale part runs build/force12-scale (bench/bench.sh).
bench: $(SIM_TOOLS)
