#!/usr/bin/env bash
# Runs the integration tests: every test_* function of every tests/integration/test-*.sh, each in its own
# subshell with its own node id. Prints one line a test and "integration: N passed, N failed".
# Usage: run.sh [NAME-FILTER...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0 skipped=0 failures=()
FIGURES_FILE=$(mktemp /tmp/force12-figures.XXXXXX)
export FIGURES_FILE

for file in "$here"/test-*.sh; do
	mapfile -t tests < <(grep -oE '^test_[a-z0-9_]+' "$file")
	for t in "${tests[@]}"; do
		if [ $# -gt 0 ]; then
			match=0
			for f in "$@"; do [[ $t == *"$f"* ]] && match=1; done
			[ $match -eq 1 ] || continue
		fi
		start=$(date +%s%N)
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
		elif [ $rc -eq 77 ]; then
			skipped=$((skipped + 1))
			echo "SKIP $t: $(tail -n 1 "/tmp/force12-$t.err")"
		else
			failed=$((failed + 1))
			failures+=("$t")
			echo "FAIL $t (${secs}s)"
			sed 's/^/  /' "/tmp/force12-$t.err"
		fi
		rm -f "/tmp/force12-$t.err"
	done
done
if [ -s "$FIGURES_FILE" ]; then
	echo "figures measured by the tests (not asserted):"
	sed 's/^/  /' "$FIGURES_FILE"
fi
rm -f "$FIGURES_FILE"
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
