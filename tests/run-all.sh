#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make check: the unit tests, then the integration tests against the real engine.
# Ends with exactly one line "check: N passed, N failed, N skipped"; fails on any failure, and on any skip that
# is not on the integration run's allow-list (tests/integration/run.sh, docs/testing.md).
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash "$here/run-unit.sh" "$@" | tee "$tmp/unit"
unit_rc=${PIPESTATUS[0]}
# shellcheck disable=SC2086 # TESTS is a list of name filters
bash "$here/integration/run.sh" ${TESTS:-} | tee "$tmp/integration"
integ_rc=${PIPESTATUS[0]}

count() { # FILE FIELD: from the closing line "NAME: N passed, N failed[, N skipped]"
	local n
	n=$(sed -n "s/^[a-z]*: \([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\\$2/p" "$1" | tail -n 1)
	echo "${n:-0}"
}
p=$(($(count "$tmp/unit" 1) + $(count "$tmp/integration" 1)))
f=$(($(count "$tmp/unit" 2) + $(count "$tmp/integration" 2)))
s=$(($(count "$tmp/unit" 4) + $(count "$tmp/integration" 4)))
# A run that printed no closing line (it crashed) is a failure too.
grep -qE '^unit: [0-9]+ passed' "$tmp/unit" || f=$((f + 1))
grep -qE '^integration: [0-9]+ passed' "$tmp/integration" || f=$((f + 1))
echo "check: $p passed, $f failed, $s skipped"
[ "$unit_rc" -eq 0 ] && [ "$integ_rc" -eq 0 ] && [ "$f" -eq 0 ]
