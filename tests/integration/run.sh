#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the integration tests: every test_* function of every tests/integration/test-*.sh, each in its own
# subshell with its own node id. Prints one line a test, every skip with its reason, and as its closing line
# "integration: N passed, N failed, N skipped".
# A test skips only through lib.sh's skip (exit 77 with a marker); a bare exit 77 is a failure. A skip fails the
# run unless its reason is on the allow-list (docs/testing.md): "sanitizer run: ..." when the agent under test is
# a sanitizer build.
# Usage: run.sh [NAME-FILTER...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0 skipped=0 failures=() skips=() disallowed=()
FIGURES_FILE=$(mktemp /tmp/force12-figures.XXXXXX)
export FIGURES_FILE
AGENT_BIN=${AGENT_BIN:-$here/../../build/force12-agent}

# The allow-list: only the slow end-to-end tests, only in the sanitizer pass.
skip_allowed() { # REASON
	[[ $1 == "sanitizer run:"* ]] || return 1
	[ -n "${SANITIZE:-}" ] || ldd "$AGENT_BIN" 2>/dev/null | grep -q libasan
}

for file in "$here"/test-*.sh; do
	mapfile -t tests < <(grep -oE '^test_[a-z0-9_]+' "$file")
	for t in "${tests[@]}"; do
		if [ $# -gt 0 ]; then
			match=0
			for f in "$@"; do [[ $t == *"$f"* ]] && match=1; done
			[ $match -eq 1 ] || continue
		fi
		start=$(date +%s%N)
		SKIP_MARKER=$(mktemp /tmp/force12-skip.XXXXXX)
		rm -f "$SKIP_MARKER"
		export SKIP_MARKER
		(
			# shellcheck source=tests/integration/lib.sh
			. "$here/lib.sh"
			# shellcheck disable=SC1090
			. "$file"
			new_test_dir
			set -eE
			# A command that fails outside a condition ends the test: say which, not nothing.
			trap 'echo "    FAIL: \"$BASH_COMMAND\" exited with $? (${BASH_SOURCE[0]##*/} line $LINENO)" >&3' ERR
			"$t"
		) 2>"/tmp/force12-$t.err"
		rc=$?
		ms=$((($(date +%s%N) - start) / 1000000))
		secs="$((ms / 1000)).$((ms % 1000 / 100))"
		if [ $rc -eq 0 ]; then
			passed=$((passed + 1))
			echo "PASS $t (${secs}s)"
		elif [ $rc -eq 77 ] && [ -s "$SKIP_MARKER" ]; then
			skipped=$((skipped + 1))
			reason=$(head -n 1 "$SKIP_MARKER")
			skips+=("$t: $reason")
			echo "SKIP $t: $reason"
			skip_allowed "$reason" || disallowed+=("$t: $reason")
		else
			[ $rc -eq 77 ] && echo "    exit 77 without lib.sh's skip: a failure, not a skip" >>"/tmp/force12-$t.err"
			failed=$((failed + 1))
			failures+=("$t")
			echo "FAIL $t (${secs}s)"
			sed 's/^/  /' "/tmp/force12-$t.err"
		fi
		rm -f "/tmp/force12-$t.err" "$SKIP_MARKER"
	done
done
if [ -s "$FIGURES_FILE" ]; then
	echo "figures measured by the tests (not asserted):"
	sed 's/^/  /' "$FIGURES_FILE"
fi
rm -f "$FIGURES_FILE"
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
if [ ${#skips[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  %s\n' "${skips[@]}"
fi
if [ ${#disallowed[@]} -gt 0 ]; then
	echo "skips not on the allow-list (only \"sanitizer run: ...\" in a sanitizer build), which fail the run:"
	printf '  %s\n' "${disallowed[@]}"
fi
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#disallowed[@]} -eq 0 ]
