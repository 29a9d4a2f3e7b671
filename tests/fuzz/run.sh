#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer harnesses of tests/fuzz/ with clang into build/fuzz/, fuzzes each for FUZZ_SECONDS (default
# 60) on a scratch copy of its seed corpus (the repository's corpus never grows in CI), and replays every regression
# input tests/fuzz/corpus/*/crash-* once. Exits non-zero if anything crashes, leaks, trips a sanitizer or an
# invariant. Usage: tests/fuzz/run.sh [harness...]   (names like "config"; default: all)
#   FUZZ_SECONDS=N   time per harness
#   FUZZ_MERGE=1     afterwards, add the findings that bring new coverage to tests/fuzz/corpus/<name>/ (by hand,
#                    not in CI)
set -euo pipefail

cd "$(dirname "$0")/../.."
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_MERGE=${FUZZ_MERGE:-0}
OUT=build/fuzz
HARNESSES=(config targets docker-json plan utf8 api etcd-json metrics prom-query)

# Each harness links the module it fuzzes and what that module needs; only api runs an event loop (its own).
sources_for() {
	case "$1" in
	config) echo agent/core/config.c agent/demand/scale-rule.c agent/shared/error.c agent/shared/utf8.c agent/engine/docker-json.c ;;
	targets) echo agent/core/targets.c agent/core/config.c agent/demand/scale-rule.c agent/shared/error.c agent/shared/utf8.c ;;
	docker-json) echo agent/engine/docker-json.c agent/core/config.c agent/demand/scale-rule.c agent/shared/error.c agent/shared/utf8.c ;;
	plan) echo agent/core/plan.c ;;
	utf8) echo agent/shared/utf8.c ;;
	etcd-json) echo agent/demand/etcd-json.c agent/demand/cluster-view.c agent/demand/split.c agent/core/targets.c agent/core/config.c \
		agent/demand/scale-rule.c agent/shared/error.c agent/engine/docker-json.c agent/shared/utf8.c agent/shared/log.c ;;
	metrics) echo compare/metrics.c ;;
	prom-query) echo agent/demand/prom-query.c agent/demand/scale-rule.c ;;
	# The whole agent but main(), with the embedded dashboard, behind a real libmicrohttpd server.
	api)
		local f
		for f in agent/*.c agent/*/*.c; do [ "$f" = agent/main.c ] || printf '%s ' "$f"; done
		echo "$OUT/dashboard.c"
		;;
	*) return 1 ;;
	esac
}

need_tools() {
	if ! command -v clang >/dev/null; then
		echo "clang not found, installing it" >&2
		if [ "$(id -u)" -eq 0 ]; then
			apt-get install -y clang
		else
			sudo apt-get install -y clang
		fi
	fi
	if ! pkg-config --exists libcjson; then
		echo "libcjson (pkg-config libcjson) is missing: install libcjson-dev" >&2
		exit 1
	fi
}

build() {
	local name=$1 srcs cjson
	[ "$name" = api ] && bash scripts/embed.sh dashboard_html web/dashboard.html >"$OUT/dashboard.c"
	read -r -a srcs <<<"$(sources_for "$name")"
	read -r -a cjson <<<"$(pkg-config --cflags --libs libcjson libcurl libsystemd libmicrohttpd)"
	# -fno-sanitize-recover: UBSan only prints by default, and a printed finding is a passed run.
	clang -std=gnu11 -D_GNU_SOURCE -DFORCE12_VERSION="\"$(cat VERSION)\"" -Iinclude -g -O1 -Wall -Wextra -Wno-unused-parameter \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o "$OUT/fuzz-$name" "tests/fuzz/fuzz-$name.c" "${srcs[@]}" "${cjson[@]}"
}

# The figures of a run: executions from "Done N runs" (or, after a crash, the last "#N" status line), coverage and
# features from the last status line.
summary() {
	local log=$1 execs cov ft
	execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	if [ -z "$execs" ]; then
		execs=$(sed -n 's/^#\([0-9]*\)\s.*/\1/p' "$log" | tail -n 1)
	fi
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
	echo "${execs:-?} execs, ${cov:-?} coverage, ${ft:-?} features"
}

fuzz() {
	local name=$1 bin work log dict=() rc=0
	bin=$OUT/fuzz-$name
	work=$OUT/work/$name
	log=$OUT/fuzz-$name.log
	rm -rf "$work"
	mkdir -p "$work" "$OUT/artifacts"
	find "tests/fuzz/corpus/$name" -maxdepth 1 -type f ! -name 'crash-*' -exec cp -t "$work" {} +
	if [ -f "tests/fuzz/$name.dict" ]; then
		dict=("-dict=tests/fuzz/$name.dict")
	fi
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$OUT/artifacts/$name-" "${dict[@]}" "$work" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "fuzz-$name: $(summary "$log"), FAILED (exit $rc; log $log)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)|runtime error|invariant failed' "$log" | head -n 20 | sed 's/^/    /'
		return 1
	fi
	echo "fuzz-$name: $(summary "$log"), OK"
	if [ "$FUZZ_MERGE" = 1 ]; then
		merge "$name"
	fi
}

# Adds to the repository's corpus only the findings that reach features its files do not: the hand-written seeds
# (the README's config, real engine answers) stay as they are.
merge() {
	local name=$1
	"$OUT/fuzz-$name" -merge=1 "tests/fuzz/corpus/$name" "$OUT/work/$name" >"$OUT/merge-$name.log" 2>&1
	echo "  merged: $(find "tests/fuzz/corpus/$name" -type f | wc -l) files, $(du -sb "tests/fuzz/corpus/$name" | cut -f1) bytes"
}

# Inputs that once crashed a module stay in the corpus as crash-*: each must now pass.
regressions() {
	local file name failed=0
	for file in tests/fuzz/corpus/*/crash-*; do
		[ -e "$file" ] || continue
		name=$(basename "$(dirname "$file")")
		if "$OUT/fuzz-$name" "$file" >"$OUT/regression.log" 2>&1; then
			echo "regression $file: OK"
		else
			echo "regression $file: FAILED"
			grep -E '^(==[0-9]+==ERROR|SUMMARY)|runtime error|invariant failed' "$OUT/regression.log" | head -n 10 | sed 's/^/    /'
			failed=1
		fi
	done
	return "$failed"
}

main() {
	local name failed=0 selected=("$@")
	if [ "${#selected[@]}" -eq 0 ]; then
		selected=("${HARNESSES[@]}")
	fi
	for name in "${selected[@]}"; do
		sources_for "$name" >/dev/null || {
			echo "unknown harness: $name (one of: ${HARNESSES[*]})" >&2
			exit 2
		}
	done
	# -max_total_time=0 would mean "forever".
	if ! [[ "$FUZZ_SECONDS" =~ ^[1-9][0-9]*$ ]]; then
		echo "FUZZ_SECONDS must be a positive number of seconds" >&2
		exit 2
	fi
	need_tools
	mkdir -p "$OUT"
	# All of them, also for a partial run: the regression inputs below may name any harness.
	for name in "${HARNESSES[@]}"; do
		build "$name"
	done
	for name in "${selected[@]}"; do
		fuzz "$name" || failed=1
	done
	regressions || failed=1
	exit "$failed"
}

main "$@"
