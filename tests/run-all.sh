#!/usr/bin/env bash
# make check: the unit tests, then the integration tests against the real engine.
# Ends with one line "check: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash "$here/run-unit.sh" "$@" | tee "$tmp/unit"
unit_rc=${PIPESTATUS[0]}
# shellcheck disable=SC2086 # TESTS is a list of name filters
bash "$here/integration/run.sh" ${TESTS:-} | tee "$tmp/integration"
integ_rc=${PIPESTATUS[0]}

count() { sed -n "s/^[a-z]*: \([0-9]*\) passed, \([0-9]*\) failed.*/\\$2/p" "$1" | tail -n 1; }
p=$(($(count "$tmp/unit" 1) + $(count "$tmp/integration" 1)))
f=$(($(count "$tmp/unit" 2) + $(count "$tmp/integration" 2)))
echo "check: $p passed, $f failed"
[ "$unit_rc" -eq 0 ] && [ "$integ_rc" -eq 0 ]
