#!/usr/bin/env bash
# Prepare a machine for iopt (SPDK-style): reserve hugepages, mount
# hugetlbfs, load uio_pci_generic or vfio in no-IOMMU mode, bind devices.
#
#   scripts/setup.sh [config]   reserve, mount, load, bind (the default)
#   scripts/setup.sh hugepages  reserve hugepages and mount hugetlbfs only (no driver,
#                               no device); undone by reset like config
#   scripts/setup.sh status     what is reserved, mounted, loaded and bound
#   scripts/setup.sh reset      undo everything config did (from the state file)
#   scripts/setup.sh help
#
# Environment:
#   HUGEMEM=MiB        memory to reserve in hugepages (default 1024; 0: leave alone)
#   HUGEPGSZ=kB        hugepage size in kB (default: the kernel's, /proc/meminfo)
#   HUGEMNT=dir        hugetlbfs mount point to create if none is mounted
#                      (default /dev/hugepages)
#   DRIVER=uio|vfio    uio_pci_generic, or vfio-pci in no-IOMMU mode (default uio)
#   PCI_ALLOWED="BDF…" devices to bind ("0000:00:02.0" or "00:02.0"); none by default
#   SETUP_STATE_DIR    where the state file for reset lives (default /var/run/iopt)
#   SETUP_SYSFS_ROOT   test hook: a directory standing for / (sys, proc, dev, var);
#                      external commands (modprobe, mount, hugeadm) are then only
#                      printed, not run
#
# It refuses to take a device that backs a mounted filesystem, swap, a
# device-mapper/md holder, or an up network interface, and says why. It
# prints every action it takes ("+ ..."). Exit status: 0 when everything
# asked for was done; 1 on an error or a refused device; 2 when DRIVER=vfio
# but the kernel offers no VFIO no-IOMMU mode (the advice is printed).
set -uo pipefail

R=${SETUP_SYSFS_ROOT:-}
R=${R%/}
HUGEMEM=${HUGEMEM:-1024}
HUGEMNT=${HUGEMNT:-/dev/hugepages}
DRIVER=${DRIVER:-uio}
PCI_ALLOWED=${PCI_ALLOWED:-}
STATE_DIR=${SETUP_STATE_DIR:-$R/var/run/iopt}
STATE=$STATE_DIR/setup.state
NOIOMMU_PARAM=/sys/module/vfio/parameters/enable_unsafe_noiommu_mode
failed=0

say() { echo "setup.sh: $*"; }
err() { echo "setup.sh: error: $*" >&2; failed=1; }

# An external command: printed, then run (only printed under a fake root).
act() {
	echo "+ $*"
	if [ -n "$R" ]; then
		echo "  (fake root $R: not run)"
		return 0
	fi
	"$@"
}

# Write a value to a sysfs/proc file below the root, printing the action.
put() { # put VALUE FILE
	echo "+ echo '$1' > $2"
	if ! printf '%s\n' "$1" > "$R$2" 2>/dev/null; then
		err "writing '$1' to $2 failed"
		return 1
	fi
}

state_add() {
	mkdir -p "$STATE_DIR" || { err "cannot create $STATE_DIR"; return 1; }
	echo "$*" >> "$STATE"
}

# Normalise a BDF to DDDD:BB:DD.F; empty output when malformed.
norm_bdf() {
	local b=${1,,}
	[[ "$b" =~ ^[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$ ]] && b="0000:$b"
	[[ "$b" =~ ^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$ ]] && echo "$b"
}

dev_dir() { echo "$R/sys/bus/pci/devices/$1"; }

cur_driver() { # the driver a device is bound to, or empty
	local l
	l=$(readlink "$(dev_dir "$1")/driver" 2>/dev/null) || return 0
	basename "$l"
}

# Names of the entries of a sysfs class (block, net) that sit below a PCI device.
class_members_under() { # CLASS BDF
	local devpath e target
	devpath=$(readlink -f "$(dev_dir "$2")") || return 0
	for e in "$R/sys/class/$1"/*; do
		[ -e "$e" ] || continue
		target=$(readlink -f "$e") || continue
		case "$target" in "$devpath"/*) basename "$e" ;; esac
	done
}

# Why a device must not be taken (one reason per line); nothing when it is free.
in_use_reasons() { # BDF
	local bdf=$1 blk n mnt h
	for blk in $(class_members_under block "$bdf"); do
		while read -r src mnt fstype _; do
			[ "$src" = "/dev/$blk" ] && echo "/dev/$blk is mounted on $mnt ($fstype)"
		done < "$R/proc/mounts"
		if [ -r "$R/proc/swaps" ] && grep -q "^/dev/$blk[[:space:]]" "$R/proc/swaps"; then
			echo "/dev/$blk is in use as swap"
		fi
		for h in "$R/sys/class/block/$blk/holders"/*; do
			[ -e "$h" ] && echo "/dev/$blk is held by $(basename "$h") (device-mapper/md)"
		done
	done
	for n in $(class_members_under net "$bdf"); do
		local st flags
		st=$(cat "$R/sys/class/net/$n/operstate" 2>/dev/null || echo unknown)
		flags=$(cat "$R/sys/class/net/$n/flags" 2>/dev/null || echo 0)
		if [ "$st" = up ] || (( flags & 1 )); then
			echo "network interface $n is up (operstate $st)"
		fi
	done
}

# ---- VFIO no-IOMMU detection -------------------------------------------------

# Prints one of: enabled, disabled (loaded, parameter N), unsupported (the
# kernel's vfio has no no-IOMMU mode), available (not loaded; the kernel
# config or the module says it has it), unknown (not loaded, nothing to ask).
noiommu_state() {
	local cfg
	cfg="$R/boot/config-$(uname -r)"
	if [ -e "$R$NOIOMMU_PARAM" ]; then
		case "$(cat "$R$NOIOMMU_PARAM" 2>/dev/null)" in
		Y|y|1) echo enabled ;;
		*) echo disabled ;;
		esac
	elif [ -d "$R/sys/module/vfio" ]; then
		echo unsupported
	elif [ -r "$cfg" ] && grep -q '^CONFIG_VFIO=[ym]' "$cfg"; then
		if grep -q '^CONFIG_VFIO_NOIOMMU=y' "$cfg"; then echo available; else echo unsupported; fi
	elif [ -z "$R" ] && command -v modinfo >/dev/null 2>&1 && modinfo -F name vfio >/dev/null 2>&1; then
		if modinfo -p vfio 2>/dev/null | grep -q enable_unsafe_noiommu_mode; then
			echo available
		else
			echo unsupported
		fi
	else
		echo unknown
	fi
}

noiommu_advice() {
	local kver mm
	kver=$(uname -r)
	mm=$(echo "$kver" | cut -d. -f1-2)
	cat <<EOF
setup.sh: VFIO no-IOMMU mode is not offered by this kernel ($kver): its vfio
  module has no enable_unsafe_noiommu_mode parameter, i.e. it was built without
  CONFIG_VFIO_NOIOMMU (Debian's kernels are). What you can do:
  1. Use UIO instead: DRIVER=uio $0 (uio_pci_generic works on stock kernels;
     iopt's IOPT_PCI_UIO backend).
  2. Rebuild vfio.ko with no-IOMMU support for this exact kernel (Debian; about
     150 MB to download, under a minute; the packages must be at the running
     kernel's package version):
       v=\$(dpkg-query -W -f='\${Version}' linux-image-$kver)
       apt-get install linux-source-$mm=\$v linux-headers-$kver=\$v
       mkdir vfio-noiommu && cd vfio-noiommu
       tar -xf /usr/src/linux-source-$mm.tar.xz --strip-components=3 \\
           linux-source-$mm/drivers/vfio/{vfio_main.c,iova_bitmap.c,container.c,vfio.h}
         (6.1's file list; later kernels also have group.c)
       printf 'obj-m := vfio.o\\nvfio-y := vfio_main.o iova_bitmap.o container.o\\nccflags-y += -DCONFIG_VFIO_NOIOMMU=1\\n' > Kbuild
       make -C /lib/modules/$kver/build M=\$PWD modules
       strip --strip-debug vfio.ko
       [ "\$(modinfo -F vermagic ./vfio.ko)" = "\$(modinfo -F vermagic vfio)" ] ||
           { echo "vermagic mismatch: do not load this vfio.ko"; exit 1; }
       modprobe -r vfio-pci vfio-pci-core vfio_iommu_type1 vfio
       insmod ./vfio.ko enable_unsafe_noiommu_mode=1
       modprobe vfio-pci        (Debian's own vfio-pci loads on top of it)
     The exported symbols' CRCs match the stock module, so Debian's
     vfio-pci-core and vfio-pci load unchanged. The kernel taints itself and
     says so ("loading out-of-tree module taints kernel", "module verification
     failed ... tainting kernel", "Adding kernel taint for vfio-noiommu group
     on device": taint flags O, E, U). test/qemu/harness.sh does exactly this
     for the guest tests. See QEMU.md, "VFIO no-IOMMU mode".
  3. Boot a kernel built with CONFIG_VFIO_NOIOMMU=y (Fedora's, Ubuntu's).
  Note: with the kernel's IOMMU on (intel_iommu=on) devices get real IOMMU
  groups and no no-IOMMU group; iopt wants intel_iommu=off.
EOF
}

# ---- hugepages -----------------------------------------------------------------

default_pgsz() {
	awk '/^Hugepagesize:/ { print $2 }' "$R/proc/meminfo" 2>/dev/null
}

nr_file_for() { # page size in kB → the file that sets the pool size
	if [ "$1" = "$(default_pgsz)" ]; then
		echo /proc/sys/vm/nr_hugepages
	else
		echo "/sys/kernel/mm/hugepages/hugepages-${1}kB/nr_hugepages"
	fi
}

reserve_hugepages() {
	[ "$HUGEMEM" = 0 ] && { say "HUGEMEM=0: hugepages left alone"; return 0; }
	local pgsz=${HUGEPGSZ:-$(default_pgsz)}
	if [ -z "$pgsz" ] || [ ! -d "$R/sys/kernel/mm/hugepages/hugepages-${pgsz}kB" ]; then
		err "hugepage size ${pgsz:-?} kB is not supported by this kernel"
		return 1
	fi
	local want=$(( (HUGEMEM * 1024 + pgsz - 1) / pgsz ))
	local sysnr="/sys/kernel/mm/hugepages/hugepages-${pgsz}kB/nr_hugepages"
	local have
	have=$(cat "$R$sysnr")
	if [ "$have" -ge "$want" ]; then
		say "hugepages: $have x ${pgsz} kB already reserved (want $want)"
	else
		state_add "hugepages $sysnr $have"
		if [ -z "$R" ] && command -v hugeadm >/dev/null 2>&1; then
			act hugeadm --pool-pages-min "${pgsz}K:$want" ||
				put "$want" "$(nr_file_for "$pgsz")"
		else
			put "$want" "$(nr_file_for "$pgsz")"
		fi
		have=$(cat "$R$sysnr")
		if [ -n "$R" ]; then
			say "hugepages: asked for $want x $pgsz kB"
		elif [ "$have" -lt "$want" ]; then
			err "only $have of $want hugepages of $pgsz kB could be reserved (fragmented memory?)"
		else
			say "hugepages: $have x $pgsz kB reserved"
		fi
	fi
	if awk -v s="pagesize=$((pgsz / 1024))M" '$3 == "hugetlbfs" && index($4, s) { f = 1 } END { exit !f }' "$R/proc/mounts"; then
		say "hugetlbfs: already mounted ($(awk '$3 == "hugetlbfs" { print $2 }' "$R/proc/mounts" | tr '\n' ' '))"
	else
		act mkdir -p "$HUGEMNT" &&
			act mount -t hugetlbfs -o "pagesize=${pgsz}K" nodev "$HUGEMNT" &&
			state_add "mount $HUGEMNT"
	fi
}

# ---- drivers -------------------------------------------------------------------

target_driver() { [ "$DRIVER" = vfio ] && echo vfio-pci || echo uio_pci_generic; }

load_driver() {
	case "$DRIVER" in
	uio)
		if [ -d "$R/sys/bus/pci/drivers/uio_pci_generic" ]; then
			say "uio_pci_generic: already loaded"
		else
			act modprobe uio_pci_generic && state_add "module uio_pci_generic"
			[ -n "$R" ] || [ -d "/sys/bus/pci/drivers/uio_pci_generic" ] ||
				err "uio_pci_generic did not load"
		fi
		;;
	vfio)
		local st
		st=$(noiommu_state)
		case "$st" in
		unsupported)
			noiommu_advice
			return 2
			;;
		disabled)
			put Y "$NOIOMMU_PARAM" || return 1
			state_add "noiommu_param N"
			;;
		enabled) say "vfio: no-IOMMU mode already enabled" ;;
		available|unknown)
			act modprobe vfio enable_unsafe_noiommu_mode=1 && state_add "module vfio"
			if [ -z "$R" ] && [ ! -e "$NOIOMMU_PARAM" ]; then
				noiommu_advice
				return 2
			fi
			;;
		esac
		if [ ! -d "$R/sys/bus/pci/drivers/vfio-pci" ]; then
			act modprobe vfio-pci && state_add "module vfio-pci"
		fi
		;;
	*)
		err "DRIVER must be uio or vfio, not '$DRIVER'"
		return 1
		;;
	esac
}

bind_one() { # BDF, already checked by check_devices
	local bdf=$1 dir old target ven devid
	dir=$(dev_dir "$bdf")
	target=$(target_driver)
	old=$(cur_driver "$bdf")
	if [ "$old" = "$target" ]; then
		say "$bdf: already bound to $target"
		return 0
	fi
	ven=$(cat "$dir/vendor") devid=$(cat "$dir/device")
	if [ -e "$dir/driver_override" ]; then
		local ov
		ov=$(cat "$dir/driver_override" 2>/dev/null)
		[ -z "$ov" ] || [ "$ov" = "(null)" ] && ov=-
		# The old override is kept: vfio-pci, for one, binds only through it.
		state_add "bind $bdf ${old:--} override $ov"
		put "$target" "/sys/bus/pci/devices/$bdf/driver_override" || return 1
		[ -n "$old" ] && { put "$bdf" "/sys/bus/pci/drivers/$old/unbind" || return 1; }
		put "$bdf" "/sys/bus/pci/drivers/$target/bind"
	else
		state_add "bind $bdf ${old:--} new_id ${ven#0x} ${devid#0x}"
		[ -n "$old" ] && { put "$bdf" "/sys/bus/pci/drivers/$old/unbind" || return 1; }
		put "${ven#0x} ${devid#0x}" "/sys/bus/pci/drivers/$target/new_id"
		[ "$(cur_driver "$bdf")" = "$target" ] || put "$bdf" "/sys/bus/pci/drivers/$target/bind"
	fi
	if [ "$(cur_driver "$bdf")" = "$target" ]; then
		say "$bdf: bound to $target (was ${old:-unbound})"
	elif [ -n "$R" ]; then
		say "$bdf: bind requested (fake root: the driver link does not change)"
	else
		err "$bdf: bind to $target did not take (driver: $(cur_driver "$bdf"))"
	fi
}

# ---- commands --------------------------------------------------------------------

need_root() {
	if [ -z "$R" ] && [ "$(id -u)" != 0 ]; then
		echo "setup.sh: $1 needs root" >&2
		exit 1
	fi
}

# Check every requested device before doing anything; print the ones taken.
check_devices() {
	local b bdf reasons
	for b in $PCI_ALLOWED; do
		bdf=$(norm_bdf "$b")
		if [ -z "$bdf" ]; then
			err "'$b' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)"
			continue
		fi
		if [ ! -d "$(dev_dir "$bdf")" ]; then
			err "$bdf: no such PCI device"
			continue
		fi
		reasons=$(in_use_reasons "$bdf")
		if [ -n "$reasons" ]; then
			echo "setup.sh: refusing $bdf: the system is using it:" >&2
			echo "$reasons" | sed 's/^/    /' >&2
			failed=1
			continue
		fi
		echo "$bdf"
	done
}

cmd_config() {
	need_root config
	local todo b rc
	todo=$(check_devices)
	# check_devices ran in a subshell: count what it dropped.
	[ "$(echo $todo | wc -w)" -lt "$(echo $PCI_ALLOWED | wc -w)" ] && failed=1
	if [ -n "$PCI_ALLOWED" ] && [ -z "$todo" ]; then
		say "no device left to bind: nothing done"
		exit 1
	fi
	reserve_hugepages
	load_driver
	rc=$?
	[ "$rc" = 2 ] && exit 2
	[ "$rc" != 0 ] && exit 1
	for b in $todo; do
		bind_one "$b"
	done
	[ -z "$PCI_ALLOWED" ] && say "PCI_ALLOWED is empty: no device bound"
	exit $failed
}

cmd_hugepages() {
	need_root hugepages
	reserve_hugepages
	exit $failed
}

cmd_status() {
	local d f sz nr fr
	echo "Hugepages:"
	for d in "$R"/sys/kernel/mm/hugepages/hugepages-*; do
		[ -d "$d" ] || continue
		sz=${d##*hugepages-}
		nr=$(cat "$d/nr_hugepages" 2>/dev/null || echo ?)
		fr=$(cat "$d/free_hugepages" 2>/dev/null || echo ?)
		printf '  %-10s reserved %6s  free %6s\n' "$sz" "$nr" "$fr"
	done
	echo "hugetlbfs mounts:"
	awk '$3 == "hugetlbfs" { printf "  %s (%s)\n", $2, $4; f = 1 } END { if (!f) print "  none" }' "$R/proc/mounts"
	echo "Drivers:"
	for f in uio_pci_generic vfio-pci; do
		if [ -d "$R/sys/bus/pci/drivers/$f" ]; then
			echo "  $f: loaded"
		else
			echo "  $f: not loaded"
		fi
	done
	case "$(noiommu_state)" in
	enabled) echo "  VFIO no-IOMMU mode: enabled" ;;
	disabled) echo "  VFIO no-IOMMU mode: supported, off ($NOIOMMU_PARAM = N)" ;;
	available) echo "  VFIO no-IOMMU mode: supported by the vfio module (not loaded)" ;;
	unsupported) echo "  VFIO no-IOMMU mode: NOT offered by this kernel (no CONFIG_VFIO_NOIOMMU; 'DRIVER=vfio $0' explains the options)" ;;
	*) echo "  VFIO no-IOMMU mode: unknown (vfio not loaded)" ;;
	esac
	echo "PCI devices:"
	printf '  %-13s %-10s %-7s %-16s %s\n' BDF ID CLASS DRIVER NOTES
	for d in "$R"/sys/bus/pci/devices/*; do
		[ -e "$d" ] || continue
		local bdf drv notes cls reasons
		bdf=$(basename "$d")
		drv=$(cur_driver "$bdf")
		cls=$(cat "$d/class" 2>/dev/null || echo 0x??????)
		notes=""
		reasons=$(in_use_reasons "$bdf" | paste -sd ';' -)
		[ -n "$reasons" ] && notes="in use: $reasons"
		if [ -r "$STATE" ] && grep -q "^bind $bdf " "$STATE"; then
			notes="bound by setup.sh (was $(awk -v b="$bdf" '$1 == "bind" && $2 == b { print $3 }' "$STATE")) $notes"
		fi
		printf '  %-13s %-10s %-7s %-16s %s\n' "$bdf" \
			"$(sed 's/^0x//' "$d/vendor" 2>/dev/null):$(sed 's/^0x//' "$d/device" 2>/dev/null)" \
			"${cls#0x}" "${drv:--}" "$notes"
	done
	if [ -r "$STATE" ]; then
		echo "State file $STATE: $(wc -l < "$STATE") actions to undo with 'reset'"
	else
		echo "State file $STATE: none (nothing to reset)"
	fi
}

unbind_one() { # BDF OLD override OLD_OVERRIDE|- , or BDF OLD new_id VEN DEV
	local bdf=$1 old=$2 method=$3 cur
	cur=$(cur_driver "$bdf")
	[ -n "$cur" ] && put "$bdf" "/sys/bus/pci/drivers/$cur/unbind"
	if [ "$method" = override ]; then
		if [ "${4:--}" = - ]; then
			put "" "/sys/bus/pci/devices/$bdf/driver_override"
		else
			put "$4" "/sys/bus/pci/devices/$bdf/driver_override"
		fi
	elif [ -n "$cur" ]; then
		put "$4 $5" "/sys/bus/pci/drivers/$cur/remove_id"
	fi
	if [ "$old" != - ]; then
		put "$bdf" "/sys/bus/pci/drivers/$old/bind"
		say "$bdf: given back to $old"
	else
		say "$bdf: released (it had no driver)"
	fi
}

cmd_reset() {
	need_root reset
	if [ ! -r "$STATE" ]; then
		say "nothing to reset ($STATE absent)"
		exit 0
	fi
	local line actions
	# Undo in reverse order. (No process substitution: minimal systems lack /dev/fd.)
	actions=$(tac "$STATE")
	while read -r -a line; do
		[ ${#line[@]} -eq 0 ] && continue
		case "${line[0]}" in
		bind) unbind_one "${line[1]}" "${line[2]}" "${line[3]}" "${line[4]:-}" "${line[5]:-}" ;;
		hugepages) put "${line[2]}" "${line[1]}" && say "hugepages: pool back to ${line[2]}" ;;
		mount) act umount "${line[1]}" ;;
		module) act modprobe -r "${line[1]}" ;;
		noiommu_param) put N "$NOIOMMU_PARAM" ;;
		*) err "unknown state line: ${line[*]}" ;;
		esac
	done <<< "$actions"
	echo "+ rm $STATE"
	rm -f "$STATE"
	exit $failed
}

case "${1:-config}" in
config) cmd_config ;;
hugepages) cmd_hugepages ;;
status) cmd_status ;;
reset) cmd_reset ;;
help|-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
*) echo "usage: $0 [config|hugepages|status|reset|help]" >&2; exit 1 ;;
esac
