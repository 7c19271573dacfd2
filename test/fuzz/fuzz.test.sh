#!/usr/bin/env bash
# Run each firmware-parser fuzzer (test/fuzz/*_fuzz.c) for a bounded number
# of executions, seeded with the compiled test tables; scripts/run_tests.sh
# runs this in `make test` with the build directory as $1.
#
#   test/fuzz/fuzz.test.sh BUILD_DIR      (IOPT_FUZZ_RUNS=N, default 20000)
#
# One test per fuzzer: it passes when libFuzzer finds nothing in the runs.
# Without clang, or without its libFuzzer runtime, every fuzzer is a skip with
# the reason. Prints UT-RESULT passed=N failed=N skipped=N.
set -uo pipefail
build=$(cd "${1:?usage: fuzz.test.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${IOPT_FUZZ_RUNS:-20000}
fuzz_dir="$root/build/fuzz"
data="$build/test/data/acpi"
artifacts="$build/test/logs"
mkdir -p "$artifacts"
fuzzers=(dmar iort fdt)
pass=0 fail=0 skip=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

finish() {
	echo "UT-RESULT passed=$pass failed=$fail skipped=$skip"
	exit 0
}

if ! command -v clang > /dev/null 2>&1; then
	for f in "${fuzzers[@]}"; do echo "  SKIP ${f}_fuzz: clang not found (apt-get install clang)"; done
	skip=${#fuzzers[@]}
	finish
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	clang -x c -fsanitize=fuzzer -o "$work/probe" - > "$work/probe.log" 2>&1; then
	for f in "${fuzzers[@]}"; do
		echo "  SKIP ${f}_fuzz: clang cannot link -fsanitize=fuzzer: $(tail -n 1 "$work/probe.log")"
	done
	skip=${#fuzzers[@]}
	finish
fi
if ! make --no-print-directory -C "$root" fuzz > "$work/build.log" 2>&1; then
	cat "$work/build.log"
	echo "FAIL: make fuzz"
	fail=${#fuzzers[@]}
	finish
fi

# Seeds: the iasl-compiled tables; for the FDT the QEMU virt DTB cut down to
# its blocks (dumpdtb pads it to 1 MiB, too large for a useful corpus).
mkdir -p "$work/seed-dmar" "$work/seed-iort" "$work/seed-fdt"
cp "$data"/dmar_*.aml "$work/seed-dmar/" 2>/dev/null
cp "$data"/iort_*.aml "$work/seed-iort/" 2>/dev/null
if [ -s "$data/virt-smmuv3.dtb" ] && command -v python3 > /dev/null 2>&1; then
	python3 - "$data/virt-smmuv3.dtb" "$work/seed-fdt/virt.dtb" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off_str, = struct.unpack('>I', d[12:16])
size_str, = struct.unpack('>I', d[32:36])
end = off_str + size_str
open(sys.argv[2], 'wb').write(d[:4] + struct.pack('>I', end) + d[8:end])
PY
fi

for f in "${fuzzers[@]}"; do
	max_len=4096
	[ "$f" = fdt ] && max_len=16384
	mkdir -p "$work/corpus-$f"
	if [ -z "$(ls -A "$work/seed-$f")" ]; then
		echo "  note: no seeds for ${f}_fuzz (test data not built); running from nothing"
	fi
	start=$(date +%s)
	if "$fuzz_dir/${f}_fuzz" -runs="$runs" -seed=1 -max_len=$max_len -rss_limit_mb=1024 \
		-artifact_prefix="$artifacts/${f}_fuzz-" \
		"$work/corpus-$f" "$work/seed-$f" > "$work/$f.log" 2>&1; then
		echo "PASS ${f}_fuzz: $runs runs in $(( $(date +%s) - start )) s," \
			"$(grep -Eo 'cov: [0-9]+' "$work/$f.log" | tail -n 1)"
		pass=$((pass + 1))
	else
		echo "FAIL ${f}_fuzz (crash input saved under $artifacts/):"
		tail -n 40 "$work/$f.log"
		fail=$((fail + 1))
	fi
done
finish
