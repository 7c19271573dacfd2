#!/usr/bin/env bash
# iommuctl on the sim backends: every implemented subcommand with its JSON
# parsed and checked (iommuctl_test.py), exit codes, bad tables.
#   test/app/iommuctl.test.sh BUILD_DIR
# BUILD_DIR is the (sanitizer) build: BUILD_DIR/bin/iommuctl and the
# iasl-compiled tables in BUILD_DIR/test/data/acpi.
set -uo pipefail
build=${1:?usage: iommuctl.test.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
bin="$build/bin/iommuctl"
if [ ! -x "$bin" ]; then
	echo "FAIL: $bin not built"
	echo "UT-RESULT passed=0 failed=1 skipped=0"
	exit 1
fi
if python3 -c 'import json, subprocess' 2>/dev/null; then
	exec python3 "$here/iommuctl_test.py" "$build"
fi
# No python3: only what the shell can check; the JSON checks are skipped.
pass=0 fail=0
expect_rc() {
	local want=$1; shift
	"$bin" "$@" > /dev/null 2>&1
	local rc=$?
	if [ "$rc" -eq "$want" ]; then pass=$((pass + 1)); else
		echo "FAIL: iommuctl $* exited $rc, expected $want"; fail=$((fail + 1)); fi
}
expect_rc 0 --help
expect_rc 2
expect_rc 2 nosuchcmd
expect_rc 0 regs
expect_rc 0 info
expect_rc 0 faults
expect_rc 0 faults --provoke
expect_rc 0 selftest
expect_rc 1 selftest --dev 00:1f.0
for be in sim:vtd-coherent sim:vtd-quirks sim:vtd-2units; do
	expect_rc 0 --backend "$be" info
	expect_rc 0 --backend "$be" selftest
done
expect_rc 0 --backend sim:vtd-2units regs --unit 1
expect_rc 2 --backend sim:vtd-2units regs --unit 2
expect_rc 0 --backend sim:vtd-2units --sim-setup demo walk --dev 00:04.0 0x100000
expect_rc 0 --backend sim:vtd-2units selftest --dev edu2
echo "  SKIP JSON checks: python3 with the json module is not available"
echo "UT-RESULT passed=$pass failed=$fail skipped=1"
