#!/usr/bin/env bash
# The main job (README: make run) as a test: build/bin/iopt_demo under the
# sanitizer build must pass every step, print each step's result, decode
# the provoked fault and end with a PASS verdict.
#   test/app/demo.test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: demo.test.sh BUILD_DIR}
bin="$build/bin/iopt_demo"
pass=0 fail=0
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then pass=$((pass + 1)); else echo "FAIL: $what"; fail=$((fail + 1)); fi
}
if [ ! -x "$bin" ]; then
	echo "FAIL: $bin not built"
	echo "UT-RESULT passed=0 failed=1 skipped=0"
	exit 1
fi
out=$("$bin" 2>&1)
rc=$?
echo "$out"
# Long why/ok texts wrap onto lines indented by 9 or more spaces: join them.
joined=$(sed -E ':a;N;$!ba;s/\n {9,}/ /g' <<<"$out")
has() { grep -qE -- "$1" <<<"$joined"; }
check "iopt_demo exits 0 (was $rc)" test "$rc" -eq 0
check "the last line is the PASS verdict with every step" \
	grep -qE '^VERDICT: PASS: ([0-9]+) of \1 steps passed in [0-9.]+ s$' <<<"$(tail -n 1 <<<"$out")"
nsteps=$(sed -nE 's/^VERDICT: [A-Z]+: [0-9]+ of ([0-9]+) steps.*/\1/p' <<<"$out")
check "the verdict names a step count" test -n "$nsteps"
for ((i = 1; i <= ${nsteps:-0}; i++)); do
	# each step: its title line with the backend, a why line, an ok line
	check "step $i has a title with its backend" has "^\[$i/$nsteps\] .+  \(backend sim:vtd(-full)?\)$"
	check "step $i succeeded" grep -qE '^      ok: ' <<<"$(sed -n "/^\[$i\/$nsteps\]/,/^$/p" <<<"$joined")"
done
check "no step failed" bash -c '! grep -q "FAILED:" <<<"$1"' _ "$out"
check "the fault is decoded: reason, requester, address, direction" \
	has 'reason 0x[0-9a-f]{2} "[^"]+"; requester 00:03\.0 \(edu1, device [0-9]+\); address 0x7000000; write'
check "the PASID step runs on sim:vtd-full" has '^\[[0-9]+/[0-9]+\] Attach an address space to a PASID  \(backend sim:vtd-full\)$'
check "two IOASes and two devices" has 'edu0 \(00:02\.0\) -> IOAS A via HWPT [0-9]+; edu1 \(00:03\.0\) -> IOAS B'
"$bin" --bogus > /dev/null 2>&1
check "a bad option exits 2" test $? -eq 2
echo "UT-RESULT passed=$pass failed=$fail skipped=0"
[ "$fail" -eq 0 ]
