# SPDX-License-Identifier: Apache-2.0
# Metric scaling (docs/metric-scaling.md): the queue demo (also `make demo DEMAND=queue`), the figures of the
# integration tests (rise, fall after the window, recovery, backoff, starts/stops on a flapping metric), and the
# formatting of the module's C files.
demo-queue: all
	DEMAND=queue bash scripts/demo.sh
prom-figures: all
	bash tests/integration/run.sh test_metric_
prom-format:
	clang-format -i agent/demand/scale-rule.c agent/demand/prom-query.c agent/demand/metric-source.c include/force12/scale-rule.h \
		include/force12/prom-query.h include/force12/metric-source.h tests/unit/test-scale-rule.c \
		tests/unit/test-prom-query.c tests/fuzz/fuzz-prom-query.c
.PHONY: demo-queue prom-figures prom-format
