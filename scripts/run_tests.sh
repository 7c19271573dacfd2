#!/usr/bin/env bash
# Run iopt's test programs and print one summary line for all of them.
#
#   scripts/run_tests.sh BUILD_DIR [PROGRAM...]
#
# Runs every program listed in BUILD_DIR/test/unit_programs.txt, then every
# test/**/*.test.sh script (given BUILD_DIR as $1), or only the PROGRAMs named.
# Each prints "UT-RESULT passed=N failed=N skipped=N" as its last result
# line; a program that dies before printing it counts as one failure. Output
# of each program goes to BUILD_DIR/test/logs/<name>.log; a failing
# program's log tail is shown. Ends with: N passed, N failed, N skipped
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: run_tests.sh BUILD_DIR [PROGRAM...]}" && pwd)
shift
logs="$build/test/logs"
mkdir -p "$logs"

progs=("$@")
if [ ${#progs[@]} -eq 0 ]; then
	mapfile -t progs < "$build/test/unit_programs.txt"
	while IFS= read -r s; do progs+=("$s"); done < <(cd "$root" && find test -name '*.test.sh' | sort | sed "s|^|$root/|")
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export IOPT_BUILD_DIR="$build"

tp=0 tf=0 ts=0
for p in "${progs[@]}"; do
	name=${p#"$build/test/"}
	name=${name#"$root/"}
	log="$logs/$(echo "$name" | tr '/' '_').log"
	start=$(date +%s.%N)
	if [[ "$p" == *.sh ]]; then
		timeout 1800 bash "$p" "$build" > "$log" 2>&1
	else
		timeout 900 "$p" > "$log" 2>&1
	fi
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	res=$(grep -E '^UT-RESULT ' "$log" | tail -n 1)
	if [ -n "$res" ]; then
		p_=$(sed -E 's/.*passed=([0-9]+).*/\1/' <<<"$res")
		f_=$(sed -E 's/.*failed=([0-9]+).*/\1/' <<<"$res")
		s_=$(sed -E 's/.*skipped=([0-9]+).*/\1/' <<<"$res")
		# A program that reported success but exited non-zero (a sanitizer
		# at exit, say) has failed.
		if [ "$rc" -ne 0 ] && [ "$f_" -eq 0 ]; then f_=1; fi
	else
		p_=0 f_=1 s_=0
	fi
	tp=$((tp + p_)) tf=$((tf + f_)) ts=$((ts + s_))
	printf '%-60s %4d passed %3d failed %3d skipped  %6.1fs\n' "$name" "$p_" "$f_" "$s_" "$secs"
	if [ "$f_" -ne 0 ]; then
		echo "---- $name (exit $rc), last lines of $log:"
		tail -n 40 "$log" | sed 's/^/    /'
		echo "----"
	fi
	grep -E '^ +SKIP ' "$log" | sed 's/^ */    /'
done

echo "$tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
