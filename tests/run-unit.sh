#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the cmocka unit test binaries given as arguments and sums their results.
# Prints "unit: N passed, N failed, N skipped"; exits non-zero when any test failed or a binary crashed.
set -u
passed=0 failed=0 skipped=0 crashed=0
for bin in "$@"; do
	out=$("$bin" 2>&1)
	rc=$?
	echo "$out" | grep -E '^\[  (PASSED|FAILED|  OK  |  ERROR )' | grep -vE '^\[       OK \]' || true
	p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	s=$(echo "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	skipped=$((skipped + ${s:-0}))
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		echo "$bin exited with $rc without a cmocka summary:"
		echo "$out" | tail -n 20
		crashed=$((crashed + 1))
	fi
done
echo "unit: $passed passed, $((failed + crashed)) failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$crashed" -eq 0 ]
