#!/usr/bin/env bash
# iopt's guest tests: boot each guest program under QEMU in each VT-d mode
# and count every scenario it reports as one test. scripts/run_tests.sh runs
# this with the build directory as $1 (as it runs every test/**/*.test.sh);
# `make test-qemu` runs it alone.
#
#   test/qemu/qemu.test.sh [BUILD_DIR]
#
# A guest program reaches edu through uio_pci_generic or through VFIO in
# no-IOMMU mode (test/qemu/guest/<program>/backend: uio when absent); each
# device path boots on its own, once per VT-d mode. Runs: legacy, scalable,
# cm (uio), vfio-legacy, vfio-scalable (vfio). cm is QEMU's unit in
# scalable mode with caching-mode=on, pt=off and snoop-control=on (CAP.CM=1,
# ECAP.PT=0, ECAP.SC=1): the same programs, expecting those registers, the
# refusal of pass-through entries, the driver's identity table for unbound
# requesters, its CM flushes and its snoop bits (test/qemu/README.md says
# what that run can and cannot prove). The vfio path never boots a cm mode
# (one more boot is the budget). Tests, per run:
#   <run>/guest_run         the guest booted, ran its programs and powered off
#   <run>/<scenario>        one per line of the scenarios files of that path's
#                           programs; a scenario without a result line fails
# When QEMU cannot run here at all (not installed, no kernel package and no
# cache), every test is reported skipped with the reason; never passed. The
# vfio runs are skipped, with the reason, when the no-IOMMU vfio.ko cannot be
# built because its packages cannot be fetched; they fail when it was built
# but does not fit the guest kernel. A failing run shows the tail of its
# guest console; a vfio run shows what the kernel said about taint. Console
# logs: BUILD_DIR/test/logs/qemu/<run>.console.log. Environment:
# IOPT_QEMU_MODES (default "legacy scalable cm"; cm-legacy runs by hand:
# the cm options in legacy mode), IOPT_QEMU_PATHS (default "uio vfio").
# Ends with
#   UT-RESULT passed=N failed=N skipped=N
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/test}
logs="$build/test/logs/qemu"
mkdir -p "$logs"
read -r -a modes <<<"${IOPT_QEMU_MODES:-legacy scalable cm}"
read -r -a paths <<<"${IOPT_QEMU_PATHS:-uio vfio}"
passed=0 failed=0 skipped=0

# Scenario names of the guest programs of each device path
# (test/qemu/guest/<name>/scenarios, in the order the guest runs them).
declare -A path_scenarios=()
for list in "$here"/guest/*/scenarios; do
	backend=uio
	if [ -f "$(dirname "$list")/backend" ]; then
		backend=$(grep -v -e '^#' -e '^[[:space:]]*$' "$(dirname "$list")/backend" | head -n 1)
	fi
	while read -r name _; do
		path_scenarios[$backend]+="$name "
	done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$list")
done

# The runs: each VT-d mode for each device path that has programs.
runs=()
for path in "${paths[@]}"; do
	[ -n "${path_scenarios[$path]:-}" ] || continue
	for mode in "${modes[@]}"; do
		if [ "$path" = uio ]; then
			runs+=("$mode")
		else
			# The cm modes boot once, on the uio path only.
			case "$mode" in cm|cm-*) continue ;; esac
			runs+=("$path-$mode")
		fi
	done
done
run_path() { case "$1" in vfio-*) echo vfio ;; *) echo uio ;; esac; }

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
	for run in "${runs[@]}"; do
		report "$result" "$run/guest_run" "$why"
		for name in ${path_scenarios[$(run_path "$run")]}; do report "$result" "$run/$name" "$why"; done
	done
	finish
fi
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "  prepare: %.1f s\n", b - a }'

# The vfio runs need the rebuilt vfio.ko (harness.sh build_vfio's status).
guest_out=${IOPT_QEMU_OUT:-$here/../../build/qemu-guest}
vfio_status=$(cat "$guest_out/vfio/status" 2>/dev/null || echo "fail harness.sh prepare left no $guest_out/vfio/status")

for run in "${runs[@]}"; do
	console="$logs/$run.console.log"
	names=${path_scenarios[$(run_path "$run")]}
	if [ "$(run_path "$run")" = vfio ] && [ "${vfio_status%% *}" != ok ]; then
		case "${vfio_status%% *}" in skip) result=SKIP ;; *) result=FAIL ;; esac
		why="vfio.ko with no-IOMMU: ${vfio_status#* }"
		report "$result" "$run/guest_run" "$why"
		for name in $names; do report "$result" "$run/$name" "$why"; done
		continue
	fi
	run_line=$(bash "$here/harness.sh" run "$run" "$console" 2>&1)
	rc=$?
	secs=$(sed -n 's/^RUN .*seconds=\([0-9.]*\).*/\1/p' <<<"$run_line")
	lines=$(tr -d '\r' < "$console" | grep -a -E '^SCENARIO [^ ]+ (PASS|FAIL|SKIP)( |$)' || true)
	before=$failed
	if [ "$rc" -eq 0 ] && tr -d '\r' < "$console" | grep -a -q '^GUEST-DONE'; then
		report PASS "$run/guest_run" "boot to poweroff ${secs} s"
	else
		report FAIL "$run/guest_run" "QEMU exit $rc$([ "$rc" -eq 124 ] && echo ' (timeout)'), GUEST-DONE $(grep -a -q '^GUEST-DONE' "$console" && echo seen || echo missing); ${run_line:-no RUN line}"
	fi
	for name in $names; do
		line=$(grep -m 1 -E "^SCENARIO $name " <<<"$lines" || true)
		if [ -z "$line" ]; then
			report FAIL "$run/$name" "no result line from the guest"
			continue
		fi
		read -r _ _ res detail <<<"$line"
		report "$res" "$run/$name" "$detail"
	done
	# A result line for a scenario nobody listed means the list is stale.
	while read -r _ name _; do
		[ -n "$name" ] || continue
		if ! tr ' ' '\n' <<<"$names" | grep -qx -- "$name"; then
			report FAIL "$run/$name" "reported by the guest but not in the scenarios of its $(run_path "$run") programs"
		fi
	done <<<"$lines"
	up=$(tr -d '\r' < "$console" | sed -n 's/^GUEST-DONE uptime=\([0-9.]*\).*/\1/p' | tail -n 1)
	# What the kernel said about taint (init.sh: dmesg lines, the taint mask).
	tr -d '\r' < "$console" | sed -n "s|^GUEST-TAINT |  TAINT qemu/$run: |p"
	echo "  TIME qemu/$run: ${secs:-?} s per guest run (QEMU start to poweroff; guest uptime at the end ${up:-?} s)"
	if [ "$failed" -ne "$before" ]; then
		echo "---- last lines of $console:"
		tr -d '\r' < "$console" | tail -n 40 | sed 's/^/    /'
		echo "----"
	fi
done
finish
