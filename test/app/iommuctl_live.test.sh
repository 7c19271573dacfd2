#!/usr/bin/env bash
# iommuctl on a live unit, on the sim backends: --setup demo (the library
# brings the unit up and maps the demo buffers; walk, regs, info, faults run
# on it, walk checked against the test device's DMA) and selftest --walk.
# The same commands run on QEMU's VT-d in test/app/iommuctl_qemu.test.sh.
#   test/app/iommuctl_live.test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: iommuctl_live.test.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$build/bin/iommuctl" ]; then
	echo "FAIL: $build/bin/iommuctl not built"
	echo "UT-RESULT passed=0 failed=1 skipped=0"
	exit 1
fi
if ! python3 -c 'import json, subprocess' 2> /dev/null; then
	echo "  SKIP iommuctl_live: python3 with the json module is not available"
	echo "UT-RESULT passed=0 failed=0 skipped=1"
	exit 0
fi
exec python3 "$here/iommuctl_live_test.py" "$build"
