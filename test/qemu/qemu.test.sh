#!/usr/bin/env bash
# iopt's guest tests: boot each guest program under QEMU in each VT-d mode
# and count every scenario it reports as one test. scripts/run_tests.sh runs
# this with the build directory as $1 (as it runs every test/**/*.test.sh);
# `make test-qemu` runs it alone.
#
#   test/qemu/qemu.test.sh [BUILD_DIR]
#
# Tests, per mode (legacy, then scalable):
#   <mode>/guest_run        the guest booted, ran its programs and powered off
#   <mode>/<scenario>       one per line of test/qemu/guest/<program>/scenarios;
#                           a scenario without a result line counts as failed
# When QEMU cannot run here at all (not installed, no kernel package and no
# cache), every test is reported skipped with the reason; never passed.
# A failing mode shows the tail of its guest console. Console logs:
# BUILD_DIR/test/logs/qemu/<mode>.console.log. Ends with
#   UT-RESULT passed=N failed=N skipped=N
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/test}
logs="$build/test/logs/qemu"
mkdir -p "$logs"
read -r -a modes <<<"${IOPT_QEMU_MODES:-legacy scalable}"
passed=0 failed=0 skipped=0

# Scenario names of every guest program (test/qemu/guest/<name>/scenarios),
# in the order the guest runs them.
scenarios=()
for list in "$here"/guest/*/scenarios; do
	while read -r name _; do
		scenarios+=("$name")
	done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$list")
done

report() { # report RESULT NAME DETAIL
	case "$1" in
	PASS) passed=$((passed + 1)) ;;
	FAIL) failed=$((failed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	esac
	echo "  $1 qemu/$2: $3"
}

finish() {
	echo "UT-RESULT passed=$passed failed=$failed skipped=$skipped"
	[ "$failed" -eq 0 ]
	exit
}

start=$(date +%s.%N)
bash "$here/harness.sh" prepare > "$logs/prepare.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
	if [ "$rc" -eq 77 ]; then
		result=SKIP
		why=$(sed -n 's/^SKIP-REASON: //p' "$logs/prepare.log" | tail -n 1)
	else
		result=FAIL
		why="preparing the guest failed (exit $rc), see $logs/prepare.log"
		tail -n 30 "$logs/prepare.log" | sed 's/^/    /'
	fi
	for mode in "${modes[@]}"; do
		report "$result" "$mode/guest_run" "$why"
		for name in "${scenarios[@]}"; do report "$result" "$mode/$name" "$why"; done
	done
	finish
fi
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "  prepare: %.1f s\n", b - a }'

for mode in "${modes[@]}"; do
	console="$logs/$mode.console.log"
	run=$(bash "$here/harness.sh" run "$mode" "$console" 2>&1)
	rc=$?
	secs=$(sed -n 's/^RUN .*seconds=\([0-9.]*\).*/\1/p' <<<"$run")
	lines=$(tr -d '\r' < "$console" | grep -a -E '^SCENARIO [^ ]+ (PASS|FAIL|SKIP)( |$)' || true)
	before=$failed
	if [ "$rc" -eq 0 ] && tr -d '\r' < "$console" | grep -a -q '^GUEST-DONE'; then
		report PASS "$mode/guest_run" "boot to poweroff ${secs} s"
	else
		report FAIL "$mode/guest_run" "QEMU exit $rc$([ "$rc" -eq 124 ] && echo ' (timeout)'), GUEST-DONE $(grep -a -q '^GUEST-DONE' "$console" && echo seen || echo missing); ${run:-no RUN line}"
	fi
	for name in "${scenarios[@]}"; do
		line=$(grep -m 1 -E "^SCENARIO $name " <<<"$lines" || true)
		if [ -z "$line" ]; then
			report FAIL "$mode/$name" "no result line from the guest"
			continue
		fi
		read -r _ _ res detail <<<"$line"
		report "$res" "$mode/$name" "$detail"
	done
	# A result line for a scenario nobody listed means the list is stale.
	while read -r _ name _; do
		[ -n "$name" ] || continue
		if ! printf '%s\n' "${scenarios[@]}" | grep -qx -- "$name"; then
			report FAIL "$mode/$name" "reported by the guest but not in test/qemu/guest/*/scenarios"
		fi
	done <<<"$lines"
	up=$(tr -d '\r' < "$console" | sed -n 's/^GUEST-DONE uptime=\([0-9.]*\).*/\1/p' | tail -n 1)
	echo "  TIME qemu/$mode: ${secs:-?} s per guest run (QEMU start to poweroff; guest uptime at the end ${up:-?} s)"
	if [ "$failed" -ne "$before" ]; then
		echo "---- last lines of $console:"
		tr -d '\r' < "$console" | tail -n 40 | sed 's/^/    /'
		echo "----"
	fi
done
finish
