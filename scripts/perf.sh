#!/usr/bin/env bash
# Run build/bin/iopt_perf with the 2M huge pages its "1 GiB of registered
# hugetlbfs memory" case needs, then give back what was reserved for it.
#
#   scripts/perf.sh [iopt_perf options]      (make perf PERF_ARGS="...")
#
# When fewer than PERF_HUGEPAGES 2M pages are free, it asks scripts/setup.sh
# (the 'hugepages' command, with a private state file) for a pool of the
# pages in use plus PERF_HUGEPAGES, runs iopt_perf, and afterwards undoes
# exactly that reservation (setup.sh reset on the private state: the pool
# goes back to its old size, a hugetlbfs mount it made is unmounted).
# iopt_perf itself changes no system setting; it says in its rows whether
# the 1 GiB case ran on huge pages or fell back.
#
# Environment:
#   PERF_HUGEPAGES=N   free 2M pages wanted (default 520: 512 for the 1 GiB
#                      buffer and a margin); 0: reserve nothing
#   IOPT_PERF=path     the program to run (default build/bin/iopt_perf)
#   SETUP_SYSFS_ROOT   test hook, passed to setup.sh (a directory standing for /)
# Exit status: iopt_perf's.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${IOPT_PERF:-$root/build/bin/iopt_perf}
want=${PERF_HUGEPAGES:-520}
R=${SETUP_SYSFS_ROOT:-}
R=${R%/}
pool="$R/sys/kernel/mm/hugepages/hugepages-2048kB"
state=""

say() { echo "perf.sh: $*"; }

release() {
	[ -n "$state" ] || return 0
	say "giving back the huge pages reserved for the run"
	SETUP_STATE_DIR=$state bash "$root/scripts/setup.sh" reset
	rm -rf "$state"
	state=""
}
trap release EXIT

reserve() {
	local nr free total
	if [ "$want" = 0 ]; then
		say "PERF_HUGEPAGES=0: huge pages left alone"
		return
	fi
	if [ ! -r "$pool/nr_hugepages" ] || [ ! -r "$pool/free_hugepages" ]; then
		say "this kernel has no 2M huge pages: the 1 GiB case falls back"
		return
	fi
	nr=$(cat "$pool/nr_hugepages")
	free=$(cat "$pool/free_hugepages")
	if [ "$free" -ge "$want" ]; then
		say "$free free 2M huge pages (want $want): nothing to reserve"
		return
	fi
	if [ -z "$R" ] && [ "$(id -u)" != 0 ]; then
		say "$free free 2M huge pages (want $want) and not root: running without reserving"
		return
	fi
	total=$((nr - free + want))
	state=$(mktemp -d /tmp/iopt_perf_setup.XXXXXX)
	say "$free of $nr 2M huge pages free (want $want): asking setup.sh for a pool of $total"
	SETUP_STATE_DIR=$state HUGEMEM=$((total * 2)) HUGEPGSZ=2048 \
		bash "$root/scripts/setup.sh" hugepages ||
		say "the reservation fell short: running anyway (iopt_perf reports what it used)"
}

reserve
"$bin" "$@"
rc=$?
release
exit $rc
