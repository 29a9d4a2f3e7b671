# SPDX-License-Identifier: Apache-2.0
# The cluster split's moves (issue 16, part 4): `make split-moves` prints, for 200 and 20 nodes of mixed capacity,
# how many containers a leave or a join moves on the other nodes against the least any split could move.
SPLIT_MOVES_BIN := $(BUILD)/split-moves

$(SPLIT_MOVES_BIN): $(BUILD)/bench/split-moves.o $(BUILD)/libforce12.a
	$(CC) $(LDFLAGS) -o $@ $^ $(pkg_libs) -lm

split-moves: $(SPLIT_MOVES_BIN)
	$(SPLIT_MOVES_BIN)

# Built with the test tools so that it does not rot.
unit: $(SPLIT_MOVES_BIN)

.PHONY: split-moves
