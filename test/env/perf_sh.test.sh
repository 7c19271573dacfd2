#!/usr/bin/env bash
# scripts/perf.sh against a fake sysfs/proc tree (SETUP_SYSFS_ROOT) and a fake
# iopt_perf: it reserves the 2M pages in use plus PERF_HUGEPAGES through
# setup.sh when too few are free, runs the program with its arguments while
# they are reserved, gives the pool back afterwards, passes the program's
# exit status through, and leaves the pool alone when enough pages are free.
#
#   test/env/perf_sh.test.sh BUILD_DIR     (BUILD_DIR is not used)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
perf="$here/../../scripts/perf.sh"
T=$(mktemp -d /tmp/iopt_perf_sh.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

# shellcheck source=../common/checks.sh
. "$(dirname "$0")/../common/checks.sh"

new_tree() { # NR FREE
	rm -rf "$T/root"
	R=$T/root
	mkdir -p "$R/proc/sys/vm" "$R/sys/kernel/mm/hugepages/hugepages-2048kB"
	echo "Hugepagesize:       2048 kB" > "$R/proc/meminfo"
	echo "$1" > "$R/proc/sys/vm/nr_hugepages"
	echo "$1" > "$R/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
	echo "$2" > "$R/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
	echo "nodev /dev/hugepages hugetlbfs rw,pagesize=2M 0 0" > "$R/proc/mounts"
}

# The fake iopt_perf: records its arguments and the pool size it ran with.
cat > "$T/fake_perf" <<'EOS'
#!/usr/bin/env bash
echo "$*" > "$FAKE_OUT.args"
cat "$SETUP_SYSFS_ROOT/proc/sys/vm/nr_hugepages" > "$FAKE_OUT.pool"
exit "${FAKE_RC:-0}"
EOS
chmod +x "$T/fake_perf"

run() { # run [VAR=VALUE...] ARGS...
	local vars=()
	while [ $# -gt 0 ] && [[ "$1" == *=* ]]; do
		vars+=("$1")
		shift
	done
	rm -f "$T/out.args" "$T/out.pool"
	out=$(env SETUP_SYSFS_ROOT="$R" IOPT_PERF="$T/fake_perf" FAKE_OUT="$T/out" \
		"${vars[@]}" bash "$perf" "$@" 2>&1)
	rc=$?
}

echo "perf.sh on a fake tree"
new_tree 8 6
run --layer api --reps 3
check "exit 0" [ "$rc" = 0 ]
check "asks for the pages in use plus 520" has "$out" "asking setup.sh for a pool of 522"
check "setup.sh sets the pool" has "$out" "+ echo '522' > /proc/sys/vm/nr_hugepages"
check "iopt_perf ran with the pool reserved" [ "$(cat "$T/out.pool")" = 522 ]
check "iopt_perf got its arguments" [ "$(cat "$T/out.args")" = "--layer api --reps 3" ]
check "the pool is given back afterwards" has "$out" "hugepages: pool back to 8"
check "no mount made: hugetlbfs was mounted" lacks "$out" "mount -t hugetlbfs"

new_tree 600 600
run --quick
check "enough free: nothing reserved" has "$out" "nothing to reserve"
check "enough free: pool untouched" file_is proc/sys/vm/nr_hugepages 600
check "enough free: iopt_perf ran" [ "$(cat "$T/out.args")" = "--quick" ]

new_tree 0 0
run FAKE_RC=3 PERF_HUGEPAGES=4
check "iopt_perf's exit status passed through" [ "$rc" = 3 ]
check "PERF_HUGEPAGES sets the want" has "$out" "asking setup.sh for a pool of 4"
check "given back after a failing run" has "$out" "hugepages: pool back to 0"

new_tree 0 0
run PERF_HUGEPAGES=0
check "PERF_HUGEPAGES=0 leaves the pool alone" has "$out" "huge pages left alone"
check "PERF_HUGEPAGES=0: pool untouched" file_is proc/sys/vm/nr_hugepages 0

echo "UT-RESULT passed=$pass failed=$fail skipped=0"
[ "$fail" = 0 ]
