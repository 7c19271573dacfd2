#!/usr/bin/env bash
# Boot iopt's guest programs under QEMU (TCG) with an emulated Intel VT-d and
# the edu DMA device, and collect the guest console.
#
#   test/qemu/harness.sh prepare          fetch the guest kernel and busybox (cached),
#                                         build vfio.ko with no-IOMMU support (cached),
#                                         the guest programs and the initramfs
#   test/qemu/harness.sh run RUN [LOG]    boot one guest; RUN is legacy, scalable, cm or
#                                         cm-legacy (edu through uio), or one of them
#                                         prefixed vfio- (edu through VFIO no-IOMMU);
#                                         cm = scalable with caching-mode=on, pt=off,
#                                         snoop-control=on, cm-legacy the same in legacy
#                                         mode; console (and QEMU's stderr) go to LOG
#   test/qemu/harness.sh RUN...           prepare, then run each RUN (by hand)
#
# Nothing is installed on the host: the kernel (linux-image-cloud-amd64's
# current flavour) and busybox-static are fetched with `apt-get download`
# into the cache (build/qemu-cache/<arch>/<package>_<version>/, reused while
# that version is the candidate, or offline when apt knows no candidate) and
# unpacked with `dpkg -x`; only vmlinuz, the two uio modules and the stock
# vfio-pci stack are kept. vfio.ko is rebuilt from Debian's linux-source at
# the kernel package's exact version (see build_vfio); its outcome is one
# line in $out/vfio/status (ok / skip REASON / fail REASON), which decides
# whether the vfio runs can boot.
#
# Exit status: 0 when the step worked; 77 when QEMU cannot run here (QEMU
# missing, no kernel package and no cache) -- the reason is on the last line
# of stderr, prefixed "SKIP-REASON:"; anything else is a failure. `run`
# returns QEMU's status (124 on timeout). A vfio.ko that cannot be built is
# not a prepare failure: the status line says why, and the test reports it.
#
# Environment:
#   IOPT_QEMU_CACHE    cache directory        (default: <root>/build/qemu-cache)
#   IOPT_QEMU_OUT      guest build directory  (default: <root>/build/qemu-guest)
#   IOPT_QEMU_TIMEOUT  seconds per guest run  (default: 60; a run takes 4-13 s)
#   IOPT_QEMU_SYSTEM   the QEMU binary     (default: qemu-system-x86_64)
#   IOPT_QEMU_EXTRA    extra QEMU arguments, appended (e.g. "-d guest_errors")
#   IOPT_QEMU_PATHS    device paths to prepare for (default: "uio vfio"; without
#                      vfio, vfio.ko is not built)
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

# How guest program NAME reaches edu: uio (default) or vfio.
guest_backend() {
	local f="$root/test/qemu/guest/$1/backend"
	if [ -f "$f" ]; then grep -v -e '^#' -e '^[[:space:]]*$' "$f" | head -n 1; else echo uio; fi
}

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
	if [ "$(cat "$dir/.done" 2>/dev/null)" = "$keep_format" ]; then
		echo "$dir"
		return 0
	fi
	log "fetching $pkg $ver"
	rm -rf "$dir" && mkdir -p "$dir"
	tmp=$(mktemp -d "$cache/$arch/.fetch.XXXXXX")
	# apt-get download runs unsandboxed as root in a directory _apt cannot
	# read; it says so with a warning that is harmless here.
	if ! (cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>"$tmp/apt.err") ||
	   ! dpkg -x "$tmp"/*.deb "$tmp/x" || ! keep_files "$pkg" "$tmp/x" "$dir" "$ver"; then
		sed 's/^/  apt: /' "$tmp/apt.err" >&2
		rm -rf "$tmp" "$dir"
		cached "${pkg}_"
		return
	fi
	rm -rf "$tmp"
	echo "$keep_format" > "$dir/.done"
	echo "$dir"
}

# What a cache directory holds; a directory whose .done says otherwise is
# fetched again (2: the kernel's vfio-pci stack was added).
keep_format=2

# copy_module FILE DEST: copy a .ko or .ko.xz, decompressed (busybox insmod
# may not read xz).
copy_module() {
	case "$1" in
	*.xz) xz -dc "$1" > "$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# modinfo_field KO FIELD: a field of a module's .modinfo section (objcopy,
# so that the host needs no kmod; -O binary writes only allocated sections,
# which a .ko's .modinfo is -- the flag makes sure of it).
modinfo_field() {
	objcopy -O binary --only-section=.modinfo --set-section-flags .modinfo=alloc "$1" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n "s/^$2=//p"
}

# add_stack_module TREE DEST NAME: copy module NAME and, first, every module
# it depends on (modinfo depends=) from the unpacked TREE into DEST, and
# append them to DEST/order in load order (names with '_', as the kernel
# spells them; file names may use '-'). vfio itself is not copied: the
# guest loads the one rebuilt with no-IOMMU support (build_vfio) in its place.
add_stack_module() {
	local tree=$1 dest=$2 name=${3//-/_} f dep
	grep -qx "$name" "$dest/order" 2>/dev/null && return 0
	if [ "$name" != vfio ]; then
		f=$(find "$tree/lib/modules" \( -name "$name.ko" -o -name "$name.ko.xz" \
			-o -name "${name//_/-}.ko" -o -name "${name//_/-}.ko.xz" \) | head -n 1)
		[ -n "$f" ] || { log "no module $name in the kernel package"; return 1; }
		copy_module "$f" "$dest/$name.ko"
		for dep in $(modinfo_field "$dest/$name.ko" depends | tr ',' ' '); do
			add_stack_module "$tree" "$dest" "$dep" || return 1
		done
	fi
	echo "$name" >> "$dest/order"
}

# keep_files PKG UNPACKED DIR VERSION: copy what the guest needs from an
# unpacked package into DIR: vmlinuz, the uio modules and Debian's vfio-pci
# stack (modules/vfio/, load order in modules/vfio/order), or busybox.
keep_files() {
	local pkg=$1 x=$2 dir=$3 ver=$4 m f
	case "$pkg" in
	busybox-static)
		install -m 755 "$x/bin/busybox" "$dir/busybox"
		;;
	linux-image-*)
		cp "$x"/boot/vmlinuz-* "$dir/vmlinuz"
		basename "$(ls -d "$x"/lib/modules/*)" > "$dir/kernel-version"
		echo "$ver" > "$dir/package-version"
		mkdir -p "$dir/modules/vfio"
		for m in uio uio_pci_generic; do
			f=$(find "$x/lib/modules" -path '*/drivers/uio/*' \( -name "$m.ko" -o -name "$m.ko.xz" \) | head -n 1)
			[ -n "$f" ] || { log "no $m.ko in $pkg"; return 1; }
			copy_module "$f" "$dir/modules/$m.ko"
		done
		# vfio-pci and what it needs (vfio-pci-core, vfio_virqfd,
		# irqbypass, vfio); of the stock vfio.ko only its vermagic.
		add_stack_module "$x" "$dir/modules/vfio" vfio_pci || return 1
		f=$(find "$x/lib/modules" -path '*/drivers/vfio/*' \( -name vfio.ko -o -name vfio.ko.xz \) | head -n 1)
		[ -n "$f" ] || { log "no vfio.ko in $pkg"; return 1; }
		copy_module "$f" "$x/stock-vfio.ko"
		modinfo_field "$x/stock-vfio.ko" vermagic > "$dir/modules/vfio/stock-vermagic"
		;;
	esac
}

# ---- vfio.ko with no-IOMMU support ----
# Debian's kernels lack CONFIG_VFIO_NOIOMMU. vfio.ko alone is rebuilt from
# Debian's own linux-source-<major.minor> against the headers of exactly the
# guest kernel (linux-headers-<kernel version>, its -common part and
# linux-kbuild), with CONFIG_VFIO_NOIOMMU defined on the command line; the
# exported symbol CRCs stay those of the stock vfio.ko, so the stock vfio-pci
# stack loads on top. The packages are fetched with apt-get download and
# unpacked in a temporary directory (of the source tarball only
# drivers/vfio/); only the module is kept, in
# $cache/<arch>/vfio-noiommu_<kernel version>_<package version>/, rebuilt only
# when the kernel package changes.
#
# The outcome goes to $out/vfio/status, one line the test counts by:
#   ok <dir>          vfio.ko built (or cached), vermagic and CRCs checked
#   skip <reason>     the packages cannot be fetched (offline, not in the archive)
#   fail <reason>     the build failed, or the module does not match the guest
#                     kernel (vermagic or symbol CRCs): reported, never loaded

vfio_status() { # vfio_status ok|skip|fail TEXT
	mkdir -p "$out/vfio"
	echo "$1 $2" > "$out/vfio/status"
	log "vfio: $1 $2"
}

# check_vfio_module KO KDIR SYMVERS: the built module fits the guest kernel:
# its vermagic equals the stock vfio.ko's (whose first word is the kernel
# version), and each symbol it exports has the CRC the stock Module.symvers
# gives. Prints why not and fails otherwise.
check_vfio_module() {
	local ko=$1 kdir=$2 symvers=$3 built stock bad
	built=$(modinfo_field "$ko" vermagic)
	stock=$(cat "$kdir/modules/vfio/stock-vermagic")
	if [ -z "$built" ] || [ "$built" != "$stock" ] ||
	   [ "${built%% *}" != "$(cat "$kdir/kernel-version")" ]; then
		echo "vermagic mismatch: built '$built', guest kernel $(cat "$kdir/kernel-version") has '$stock'"
		return 1
	fi
	[ -z "$symvers" ] && return 0
	bad=$(join -1 2 -2 2 <(awk '$3 == "drivers/vfio/vfio" { print $1, $2 }' "$symvers.stock" | sort -k 2) \
		<(awk '{ print $1, $2 }' "$symvers" | sort -k 2) | awk '$2 != $3 { print $1 }' | head -n 3)
	if [ -n "$bad" ] || [ "$(wc -l < "$symvers")" -ne "$(awk '$3 == "drivers/vfio/vfio"' "$symvers.stock" | wc -l)" ]; then
		echo "exported symbols differ from the stock vfio.ko (CRC or count): ${bad:-count}"
		return 1
	fi
}

# build_vfio KDIR: fetch, build and check vfio.ko for the kernel in KDIR, or
# take it from the cache; sets $out/vfio/status.
build_vfio() {
	local kdir=$1 kver pver srcpkg hpkg deps dir tmp start why dl
	rm -rf "$out/vfio"
	mkdir -p "$out/vfio"
	kver=$(cat "$kdir/kernel-version")
	pver=$(cat "$kdir/package-version" 2>/dev/null || true)
	if [ -z "$pver" ] || [ ! -f "$kdir/modules/vfio/order" ]; then
		vfio_status skip "the cached kernel $kdir predates the vfio stack (remove it to fetch again)"
		return 0
	fi
	dir="$cache/$arch/vfio-noiommu_${kver}_$(tr ':' '+' <<<"$pver")"
	if [ ! -f "$dir/.done" ]; then
		# Debian's kernel headers build with gcc-<N> by that name.
		for t in make gcc-12 xz objcopy strip dpkg-deb; do
			if ! command -v "$t" >/dev/null; then
				vfio_status skip "$t is not installed (needed to build vfio.ko)"
				return 0
			fi
		done
		srcpkg=$(cut -d. -f1,2 <<<"$kver")
		srcpkg=linux-source-$srcpkg
		hpkg=linux-headers-$kver
		# The headers' own dependencies: the -common part and linux-kbuild.
		mapfile -t deps < <(apt-cache show "$hpkg=$pver" 2>/dev/null | sed -n 's/^Depends: //p' |
			head -n 1 | tr ',' '\n' |
			sed -n 's/^ *\(linux-headers-[^ ]*-common\|linux-kbuild-[^ ]*\).*/\1/p')
		if [ "${#deps[@]}" -ne 2 ]; then
			vfio_status skip "apt knows no $hpkg=$pver with its -common and kbuild packages (offline, or not in the archive)"
			return 0
		fi
		start=$(date +%s.%N)
		tmp=$(mktemp -d "$cache/$arch/.vfio-build.XXXXXX")
		log "vfio: fetching $srcpkg $hpkg ${deps[*]} at $pver"
		if ! (cd "$tmp" && apt-get download -q "$srcpkg=$pver" "$hpkg=$pver" \
			"${deps[0]}=$pver" "${deps[1]}=$pver" >/dev/null 2>"$tmp/apt.err"); then
			sed 's/^/  apt: /' "$tmp/apt.err" >&2
			rm -rf "$tmp"
			vfio_status skip "cannot fetch $srcpkg, $hpkg and its dependencies at $pver with apt-get download"
			return 0
		fi
		dl=$(du -cm "$tmp"/*.deb | tail -n 1 | cut -f1)
		if ! why=$(build_vfio_in "$tmp" "$srcpkg" "$kver" 2>&1); then
			tail -n 20 "$tmp/build.log" 2>/dev/null | sed 's/^/  kbuild: /' >&2
			rm -rf "$tmp"
			vfio_status fail "building vfio.ko failed: ${why:-see prepare log}"
			return 0
		fi
		rm -rf "$dir" && mkdir -p "$dir"
		cp "$tmp/m/vfio.ko" "$tmp/m/Module.symvers" "$tmp/build.log" "$dir/"
		cp "$tmp/Module.symvers.stock" "$dir/Module.symvers.stock"
		awk -v a="$start" -v b="$(date +%s.%N)" -v d="$dl" -v h="$(du -sm "$tmp/h" | cut -f1)" \
			'BEGIN { printf "vfio.ko: download (%d MB), extract and build took %.1f s; %d MB of unpacked headers, deleted\n", d, b - a, h }' |
			tee "$dir/build-time" >&2
		rm -rf "$tmp"
		touch "$dir/.done"
	fi
	if ! why=$(check_vfio_module "$dir/vfio.ko" "$kdir" "$dir/Module.symvers"); then
		vfio_status fail "$why (not loaded)"
		return 0
	fi
	cp "$dir/vfio.ko" "$out/vfio/vfio.ko"
	vfio_status ok "$dir"
}

# build_vfio_in TMP SRCPKG KVER: unpack the fetched packages in TMP and
# build TMP/m/vfio.ko. Prints why on failure.
build_vfio_in() {
	local tmp=$1 srcpkg=$2 kver=$3 hdr d f
	mkdir -p "$tmp/h" "$tmp/m"
	for d in "$tmp"/linux-headers-*.deb "$tmp"/linux-kbuild-*.deb; do
		dpkg -x "$d" "$tmp/h" || { echo "dpkg -x $d failed"; return 1; }
	done
	hdr="$tmp/h/usr/src/linux-headers-$kver"
	[ -f "$hdr/Makefile" ] || { echo "no $hdr/Makefile in the headers package"; return 1; }
	# The flavour's Makefile includes the -common one by its absolute path.
	sed -i "s|^include /usr/src/|include $tmp/h/usr/src/|" "$hdr/Makefile"
	awk '$3 == "drivers/vfio/vfio"' "$hdr/Module.symvers" > "$tmp/Module.symvers.stock"
	# Of the source tarball (1.3 GB unpacked) only drivers/vfio/.
	dpkg-deb --fsys-tarfile "$tmp/$srcpkg"_*.deb | tar -xO "./usr/src/$srcpkg.tar.xz" |
		xz -dc | tar -x -C "$tmp" "$srcpkg/drivers/vfio/" ||
		{ echo "cannot extract drivers/vfio from $srcpkg"; return 1; }
	for f in vfio_main.c iova_bitmap.c container.c vfio.h; do
		cp "$tmp/$srcpkg/drivers/vfio/$f" "$tmp/m/" || { echo "no drivers/vfio/$f in $srcpkg"; return 1; }
	done
	rm -rf "${tmp:?}/$srcpkg" "$tmp/$srcpkg"_*.deb
	cat > "$tmp/m/Kbuild" <<-'KBUILD'
	obj-m := vfio.o
	vfio-y := vfio_main.o iova_bitmap.o container.o
	ccflags-y += -DCONFIG_VFIO_NOIOMMU=1
	KBUILD
	(unset MAKEFLAGS MFLAGS MAKELEVEL; make -C "$hdr" M="$tmp/m" -j2 modules) > "$tmp/build.log" 2>&1 ||
		{ echo "kbuild failed (exit $?)"; return 1; }
	[ -f "$tmp/m/vfio.ko" ] || { echo "kbuild made no vfio.ko"; return 1; }
	# As Debian's packaging does: no debug info (933 KB -> about 90 KB).
	strip --strip-debug "$tmp/m/vfio.ko" || { echo "strip --strip-debug vfio.ko failed"; return 1; }
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
	# Only when a vfio run may follow (qemu.test.sh passes IOPT_QEMU_PATHS on).
	case " ${IOPT_QEMU_PATHS:-uio vfio} " in
	*" vfio "*) build_vfio "$kdir" ;;
	*) rm -rf "$out/vfio"; vfio_status skip "not requested (IOPT_QEMU_PATHS=${IOPT_QEMU_PATHS:-})" ;;
	esac
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
	# The vfio-pci stack, only with a vfio.ko that passed its checks.
	if [ -f "$out/vfio/vfio.ko" ]; then
		mkdir -p "$stage/lib/modules/vfio"
		install -m 644 "$out/vfio/vfio.ko" "$out/kernel/modules/vfio/"*.ko "$stage/lib/modules/vfio/"
		rm -f "$stage/lib/modules/vfio/stock-vfio.ko"
		install -m 644 "$out/kernel/modules/vfio/order" "$stage/lib/modules/vfio/order"
	fi
	: > "$stage/etc/iopt-guest-programs"
	# One line per program: its name and how it reaches edu (uio or vfio,
	# from guest/<name>/backend; uio when the file is absent).
	for d in "${guest_dirs[@]}"; do
		install -m 755 "$out/bin/iopt_guest_$d" "$stage/bin/iopt_guest_$d"
		echo "iopt_guest_$d $(guest_backend "$d")" >> "$stage/etc/iopt-guest-programs"
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
#
# MODE is the VT-d mode -- legacy, scalable, cm (scalable with CAP.CM=1,
# ECAP.PT=0, ECAP.SC=1) or cm-legacy -- for the guest programs that reach
# edu through uio_pci_generic; vfio-<mode> boots the same way for the
# programs that reach it through VFIO no-IOMMU mode (guest/<name>/backend
# says "vfio"; init.sh loads the vfio stack then). The guest programs get
# the mode as --mode (iopt.mode= on the kernel command line).
run() {
	local mode=$1 logf=${2:-$out/logs/$1.console.log} iommu start rc secs path=uio
	case "$mode" in
	vfio-*) path=vfio ;;
	esac
	# cm: scalable mode with caching mode on, pass-through off and snoop
	# control on (CAP.CM=1, ECAP.PT=0, ECAP.SC=1; QEMU 7.2's property
	# names); cm-legacy: the same in legacy mode (by hand).
	case "${mode#vfio-}" in
	legacy) iommu=intel-iommu,intremap=off ;;
	scalable) iommu=intel-iommu,intremap=off,x-scalable-mode=on ;;
	cm) iommu=intel-iommu,intremap=off,x-scalable-mode=on,caching-mode=on,pt=off,snoop-control=on ;;
	cm-legacy) iommu=intel-iommu,intremap=off,caching-mode=on,pt=off,snoop-control=on ;;
	*) echo "harness: unknown mode '$mode' ([vfio-]legacy, [vfio-]scalable, [vfio-]cm or [vfio-]cm-legacy)" >&2; exit 2 ;;
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
		-append "console=ttyS0 intel_iommu=off panic=-1 quiet hugepages=16 iopt.mode=${mode#vfio-} iopt.path=$path" \
		${IOPT_QEMU_EXTRA:-} </dev/null >"$logf" 2>&1 &
	qemu_pid=$!
	rc=0
	wait "$qemu_pid" || rc=$?
	qemu_pid=
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	echo "RUN mode=$mode seconds=$secs exit=$rc log=$logf"
	return "$rc"
}

# Sourced (by test/qemu/vfio_check.test.sh, for its functions): no action.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

case "${1:-}" in
prepare) prepare ;;
run) shift; run "$@" ;;
legacy|scalable|cm|cm-legacy|vfio-legacy|vfio-scalable|vfio-cm|vfio-cm-legacy)
	prepare
	for m in "$@"; do run "$m" || true; grep -a '^SCENARIO ' "$out/logs/$m.console.log" | tr -d '\r' || true; done
	;;
*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
