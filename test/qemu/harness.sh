#!/usr/bin/env bash
# Boot iopt's guest programs under QEMU (TCG) with an emulated Intel VT-d and
# the edu DMA device, and collect the guest console.
#
#   test/qemu/harness.sh prepare          fetch the guest kernel and busybox (cached),
#                                         build the guest programs and the initramfs
#   test/qemu/harness.sh run MODE [LOG]   boot one guest; MODE is legacy or scalable;
#                                         console (and QEMU's stderr) go to LOG
#   test/qemu/harness.sh MODE...          prepare, then run each MODE (by hand)
#
# Nothing is installed on the host: the kernel (linux-image-cloud-amd64's
# current flavour) and busybox-static are fetched with `apt-get download`
# into the cache (build/qemu-cache/<arch>/<package>_<version>/, reused while
# that version is the candidate, or offline when apt knows no candidate) and
# unpacked with `dpkg -x`; only vmlinuz and the two uio modules are kept.
#
# Exit status: 0 when the step worked; 77 when QEMU cannot run here (QEMU
# missing, no kernel package and no cache) -- the reason is on the last line
# of stderr, prefixed "SKIP-REASON:"; anything else is a failure. `run`
# returns QEMU's status (124 on timeout).
#
# Environment:
#   IOPT_QEMU_CACHE    cache directory        (default: <root>/build/qemu-cache)
#   IOPT_QEMU_OUT      guest build directory  (default: <root>/build/qemu-guest)
#   IOPT_QEMU_TIMEOUT  seconds per guest run  (default: 60; a run takes 4-13 s)
#   IOPT_QEMU_SYSTEM   the QEMU binary     (default: qemu-system-x86_64)
#   IOPT_QEMU_EXTRA    extra QEMU arguments, appended (e.g. "-d guest_errors")
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${IOPT_QEMU_CACHE:-$root/build/qemu-cache}
out=${IOPT_QEMU_OUT:-$root/build/qemu-guest}
run_timeout=${IOPT_QEMU_TIMEOUT:-60}
arch=x86_64
qemu=${IOPT_QEMU_SYSTEM:-qemu-system-x86_64}
# Guest programs: test/qemu/guest/<name>/Makefile builds iopt_guest_<name>.
mapfile -t guest_dirs < <(find "$root/test/qemu/guest" -mindepth 2 -maxdepth 2 -name Makefile |
	sed 's|.*/guest/\([^/]*\)/Makefile$|\1|' | LC_ALL=C sort)

skip() {
	echo "SKIP-REASON: $*" >&2
	exit 77
}

log() { echo "harness: $*" >&2; }

# The candidate version of a package, or nothing when apt has no lists.
candidate_version() {
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1 || true
}

# The versioned kernel package the meta package points at
# (linux-image-cloud-amd64 -> linux-image-6.1.0-NN-cloud-amd64).
kernel_package() {
	apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n 1 || true
}

# The newest cached package whose directory starts with PREFIX (PKG_ or
# linux-image-), for when apt cannot give one.
cached() {
	local marker
	marker=$(find "$cache/$arch" -mindepth 2 -maxdepth 2 -path "$cache/$arch/$1*/.done" 2>/dev/null |
		sort -V | tail -n 1 || true)
	[ -n "$marker" ] || return 1
	log "using cached $(basename "$(dirname "$marker")")"
	dirname "$marker"
}

# fetch PKG: print the cache directory holding PKG's unpacked files. The
# directory is keyed by the package version; when apt knows no candidate or
# the download fails (offline), the newest cached version is used.
fetch() {
	local pkg=$1 ver dir tmp
	ver=$(candidate_version "$pkg")
	[ -n "$ver" ] || { cached "${pkg}_"; return; }
	dir="$cache/$arch/${pkg}_$(tr ':' '+' <<<"$ver")"
	if [ -f "$dir/.done" ]; then
		echo "$dir"
		return 0
	fi
	log "fetching $pkg $ver"
	rm -rf "$dir" && mkdir -p "$dir"
	tmp=$(mktemp -d "$cache/$arch/.fetch.XXXXXX")
	# apt-get download runs unsandboxed as root in a directory _apt cannot
	# read; it says so with a warning that is harmless here.
	if ! (cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>"$tmp/apt.err") ||
	   ! dpkg -x "$tmp"/*.deb "$tmp/x" || ! keep_files "$pkg" "$tmp/x" "$dir"; then
		sed 's/^/  apt: /' "$tmp/apt.err" >&2
		rm -rf "$tmp" "$dir"
		cached "${pkg}_"
		return
	fi
	rm -rf "$tmp"
	touch "$dir/.done"
	echo "$dir"
}

# keep_files PKG UNPACKED DIR: copy what the guest needs from an unpacked
# package into DIR (vmlinuz + uio modules, or busybox).
keep_files() {
	local pkg=$1 x=$2 dir=$3 m f
	case "$pkg" in
	busybox-static)
		install -m 755 "$x/bin/busybox" "$dir/busybox"
		;;
	linux-image-*)
		cp "$x"/boot/vmlinuz-* "$dir/vmlinuz"
		basename "$(ls -d "$x"/lib/modules/*)" > "$dir/kernel-version"
		mkdir -p "$dir/modules"
		for m in uio uio_pci_generic; do
			f=$(find "$x/lib/modules" -path '*/drivers/uio/*' \( -name "$m.ko" -o -name "$m.ko.xz" \) | head -n 1)
			[ -n "$f" ] || { log "no $m.ko in $pkg"; return 1; }
			# busybox insmod may not load compressed modules: decompress here.
			case "$f" in
			*.xz) xz -dc "$f" > "$dir/modules/$m.ko" ;;
			*) cp "$f" "$dir/modules/$m.ko" ;;
			esac
		done
		;;
	esac
}

prepare() {
	command -v "$qemu" >/dev/null || skip "$qemu is not installed (scripts/pkgdep.sh installs qemu-system-x86)"
	for t in cpio gzip dpkg apt-get; do
		command -v "$t" >/dev/null || skip "$t is not installed"
	done
	mkdir -p "$cache/$arch" "$out"
	local kpkg kdir bdir
	kpkg=$(kernel_package)
	# No apt lists (a fresh container) and nothing cached: update them once.
	if [ -z "$kpkg" ] && ! cached linux-image- >/dev/null 2>&1 &&
	   [ "$(id -u)" -eq 0 ]; then
		log "apt knows no linux-image-cloud-amd64: apt-get update"
		apt-get update -qq >&2 || true
		kpkg=$(kernel_package)
	fi
	if [ -z "$kpkg" ]; then
		# No apt lists: fall back on whatever kernel the cache holds.
		kdir=$(cached linux-image-) ||
			skip "apt knows no linux-image-cloud-amd64 (run apt-get update) and the cache $cache holds no kernel"
	else
		kdir=$(fetch "$kpkg") || skip "cannot fetch $kpkg with apt-get download"
	fi
	bdir=$(fetch busybox-static) || skip "cannot fetch busybox-static with apt-get download"
	ln -sfn "$kdir" "$out/kernel"
	ln -sfn "$bdir" "$out/busybox"
	build_guest
	build_initramfs
	log "ready: kernel $(cat "$kdir/kernel-version"), initramfs $out/initrd.gz"
}

# The guest programs: static, against a libiopt built for the guest (release,
# no sanitizers, no DPDK; static libpciaccess and libnuma, which Debian ships
# as .a in libpciaccess-dev and libnuma-dev).
build_guest() {
	local d flags=(O="$out" CONFIG_STATIC_APPS=y CONFIG_DPDK=n CONFIG_PCIACCESS=y CONFIG_NUMA=y
		CONFIG_DEBUG=n CONFIG_ASAN=n CONFIG_UBSAN=n CONFIG_CROSS_PREFIX=)
	# Called from `make test`: do not inherit its variables or jobserver.
	unset MAKEFLAGS MFLAGS MAKELEVEL
	log "building libiopt and the guest programs in $out"
	make -s -C "$root" "${flags[@]}" libs >&2
	for d in "${guest_dirs[@]}"; do
		make -s -C "$root/test/qemu/guest/$d" "${flags[@]}" all >&2
	done
}

build_initramfs() {
	local stage="$out/initramfs" d
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,dev,etc,proc,sys,tmp,lib/modules}
	install -m 755 "$out/busybox/busybox" "$stage/bin/busybox"
	install -m 644 "$out/kernel/modules/"*.ko "$stage/lib/modules/"
	: > "$stage/etc/iopt-guest-programs"
	for d in "${guest_dirs[@]}"; do
		install -m 755 "$out/bin/iopt_guest_$d" "$stage/bin/iopt_guest_$d"
		echo "iopt_guest_$d" >> "$stage/etc/iopt-guest-programs"
	done
	install -m 755 "$root/test/qemu/init.sh" "$stage/init"
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$out/initrd.gz.tmp"
	mv "$out/initrd.gz.tmp" "$out/initrd.gz"
}

qemu_pid=
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill -TERM "$qemu_pid" 2>/dev/null || true
		sleep 1
		kill -KILL "$qemu_pid" 2>/dev/null || true
	fi
}

# run MODE LOG: boot the guest once. The VT-d unit is QEMU's intel-iommu,
# with interrupt remapping off so that the kernel does not take the unit
# (intel_iommu=off keeps it off translation and releases the registers).
run() {
	local mode=$1 logf=${2:-$out/logs/$1.console.log} iommu start rc secs
	case "$mode" in
	legacy) iommu=intel-iommu,intremap=off ;;
	scalable) iommu=intel-iommu,intremap=off,x-scalable-mode=on ;;
	*) echo "harness: unknown mode '$mode' (legacy or scalable)" >&2; exit 2 ;;
	esac
	if [ ! -f "$out/initrd.gz" ] || [ ! -f "$out/kernel/vmlinuz" ]; then
		echo "harness: run 'prepare' first" >&2
		exit 2
	fi
	mkdir -p "$(dirname "$logf")"
	trap cleanup EXIT
	trap 'cleanup; exit 143' INT TERM
	start=$(date +%s.%N)
	# shellcheck disable=SC2086 # IOPT_QEMU_EXTRA is a list of arguments
	timeout --kill-after=5 "$run_timeout" "$qemu" -accel tcg -M q35 -cpu qemu64 \
		-smp 1 -m 256M -device "$iommu" -device edu -nic none \
		-kernel "$out/kernel/vmlinuz" -initrd "$out/initrd.gz" \
		-nographic -no-reboot -monitor none -serial stdio \
		-append "console=ttyS0 intel_iommu=off panic=-1 quiet hugepages=16 iopt.mode=$mode" \
		${IOPT_QEMU_EXTRA:-} </dev/null >"$logf" 2>&1 &
	qemu_pid=$!
	rc=0
	wait "$qemu_pid" || rc=$?
	qemu_pid=
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	echo "RUN mode=$mode seconds=$secs exit=$rc log=$logf"
	return "$rc"
}

case "${1:-}" in
prepare) prepare ;;
run) shift; run "$@" ;;
legacy|scalable)
	prepare
	for m in "$@"; do run "$m" || true; grep -a '^SCENARIO ' "$out/logs/$m.console.log" | tr -d '\r' || true; done
	;;
*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
