#!/usr/bin/env bash
# scripts/setup.sh against a fake sysfs/proc tree (SETUP_SYSFS_ROOT): status
# output, refusal of a device with a mounted block device or an up network
# interface, binding and reset (what it writes to the driver files), and the
# advice when the kernel offers no VFIO no-IOMMU mode.
#
#   test/env/setup_sh.test.sh BUILD_DIR     (BUILD_DIR is not used)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
setup="$here/../../scripts/setup.sh"
T=$(mktemp -d /tmp/iopt_setup_sh.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

# shellcheck source=../common/checks.sh
. "$(dirname "$0")/../common/checks.sh"

# A PCI device as real sysfs lays it out: the device under /sys/devices, a
# link from /sys/bus/pci/devices, optional driver link.
mkdev() { # BDF VENDOR DEVICE CLASS DRIVER|- OVERRIDE(y/n)
	local d="$R/sys/devices/pci0000:00/$1"
	mkdir -p "$d" "$R/sys/bus/pci/devices"
	echo "0x$2" > "$d/vendor"
	echo "0x$3" > "$d/device"
	echo "0x$4" > "$d/class"
	[ "$6" = y ] && echo "(null)" > "$d/driver_override"
	ln -sfn "../../../devices/pci0000:00/$1" "$R/sys/bus/pci/devices/$1"
	[ "$5" != - ] && ln -sfn "../../../bus/pci/drivers/$5" "$d/driver"
	return 0
}
mkdrv() {
	mkdir -p "$R/sys/bus/pci/drivers/$1"
	for f in bind unbind new_id remove_id; do : > "$R/sys/bus/pci/drivers/$1/$f"; done
}

new_tree() {
	rm -rf "$T/root"
	R=$T/root
	mkdir -p "$R/proc/sys/vm" "$R/sys/kernel/mm/hugepages/hugepages-2048kB" \
		"$R/sys/kernel/mm/hugepages/hugepages-1048576kB" "$R/sys/class/block" "$R/sys/class/net"
	echo "Hugepagesize:       2048 kB" > "$R/proc/meminfo"
	echo 0 > "$R/proc/sys/vm/nr_hugepages"
	for s in 2048kB 1048576kB; do
		echo 0 > "$R/sys/kernel/mm/hugepages/hugepages-$s/nr_hugepages"
		echo 0 > "$R/sys/kernel/mm/hugepages/hugepages-$s/free_hugepages"
	done
	echo "/dev/vda / ext4 rw,relatime 0 0" > "$R/proc/mounts"
	mkdrv virtio-pci
	mkdrv uio_pci_generic
	# 02.0: a disk whose vda is mounted on /.
	mkdev 0000:00:02.0 1af4 1042 018000 virtio-pci y
	mkdir -p "$R/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda"
	ln -sfn ../../devices/pci0000:00/0000:00:02.0/virtio1/block/vda "$R/sys/class/block/vda"
	# 03.0: a NIC whose eth0 is up.
	mkdev 0000:00:03.0 1af4 1041 020000 virtio-pci y
	local n="$R/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0"
	mkdir -p "$n"
	echo up > "$n/operstate"
	echo 0x1003 > "$n/flags"
	ln -sfn ../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0 "$R/sys/class/net/eth0"
	# 04.0: edu, unbound; 05.0: a free device bound to virtio-pci, no driver_override.
	mkdev 0000:00:04.0 1234 11e8 00ff00 - y
	mkdev 0000:00:05.0 1234 11e9 00ff00 virtio-pci n
}

run() { # run [VAR=VALUE...] ARGS...: output (stdout+stderr) in $out, status in $rc
	local vars=()
	while [ $# -gt 0 ] && [[ "$1" == *=* ]]; do
		vars+=("$1")
		shift
	done
	out=$(env SETUP_SYSFS_ROOT="$R" SETUP_STATE_DIR= "${vars[@]}" bash "$setup" "$@" 2>&1)
	rc=$?
}

echo "setup.sh on a fake tree"
new_tree

run status
check "status exits 0" [ "$rc" = 0 ]
check "status shows the 2 MiB pool" has "$out" "2048kB     reserved      0"
check "status marks the mounted disk" has "$out" "in use: /dev/vda is mounted on / (ext4)"
check "status marks the up NIC" has "$out" "in use: network interface eth0 is up"
check "status lists the free device without notes" \
	grep -qE '^  0000:00:04.0  1234:11e8  00ff00  -  *$' <<<"$out"
check "status: nothing to reset" has "$out" "nothing to reset"

run HUGEMEM=0 PCI_ALLOWED=00:02.0 config
check "mounted disk refused (exit 1)" [ "$rc" = 1 ]
check "refusal says why (mount)" has "$out" "refusing 0000:00:02.0: the system is using it:"
check "refusal names the mount" has "$out" "/dev/vda is mounted on / (ext4)"
check "refused disk: nothing written" file_is sys/devices/pci0000:00/0000:00:02.0/driver_override "(null)"
check "refused disk: no driver loaded" bash -c '! grep -q modprobe <<<"$1"' _ "$out"

run HUGEMEM=0 PCI_ALLOWED=0000:00:03.0 config
check "up NIC refused (exit 1)" [ "$rc" = 1 ]
check "refusal says why (interface)" has "$out" "network interface eth0 is up (operstate up)"
check "refused NIC: virtio-pci not unbound" file_is sys/bus/pci/drivers/virtio-pci/unbind ""

run HUGEMEM=0 PCI_ALLOWED="00:1f.0 0000:00:02.9x" config
check "absent and malformed BDFs are errors" [ "$rc" = 1 ]
check "absent device named" has "$out" "0000:00:1f.0: no such PCI device"
check "malformed BDF named" has "$out" "'0000:00:02.9x' is not a PCI address"

# Bind two free devices to uio: driver_override for one, new_id for the other.
run HUGEMEM=4 DRIVER=uio PCI_ALLOWED="00:04.0 0000:00:05.0" config
check "uio config exits 0" [ "$rc" = 0 ]
check "hugepages reserved through /proc/sys/vm (2 x 2 MiB)" file_is proc/sys/vm/nr_hugepages 2
check "action printed: nr_hugepages" has "$out" "+ echo '2' > /proc/sys/vm/nr_hugepages"
check "hugetlbfs mount printed" has "$out" "+ mount -t hugetlbfs -o pagesize=2048K nodev /dev/hugepages"
check "04.0 driver_override set" file_is sys/devices/pci0000:00/0000:00:04.0/driver_override uio_pci_generic
check "05.0 unbound from virtio-pci" file_is sys/bus/pci/drivers/virtio-pci/unbind 0000:00:05.0
check "05.0 IDs written to new_id" file_is sys/bus/pci/drivers/uio_pci_generic/new_id "1234 11e9"
check "bind written" file_is sys/bus/pci/drivers/uio_pci_generic/bind 0000:00:05.0
check "state recorded" grep -q "^bind 0000:00:05.0 virtio-pci new_id 1234 11e9$" "$R/var/run/iopt/setup.state"

# The kernel would have moved the driver links; do it for the fake tree.
ln -sfn ../../../bus/pci/drivers/uio_pci_generic "$R/sys/devices/pci0000:00/0000:00:04.0/driver"
ln -sfn ../../../bus/pci/drivers/uio_pci_generic "$R/sys/devices/pci0000:00/0000:00:05.0/driver"
run status
check "status shows what setup.sh bound" has "$out" "bound by setup.sh (was virtio-pci)"
check "status counts the actions to undo" has "$out" "4 actions to undo"

: > "$R/sys/bus/pci/drivers/virtio-pci/bind"
run reset
check "reset exits 0" [ "$rc" = 0 ]
check "05.0 given back to virtio-pci" file_is sys/bus/pci/drivers/virtio-pci/bind 0000:00:05.0
check "05.0 IDs removed from uio" file_is sys/bus/pci/drivers/uio_pci_generic/remove_id "1234 11e9"
check "04.0 driver_override cleared" file_is sys/devices/pci0000:00/0000:00:04.0/driver_override ""
check "04.0 unbound from uio" file_is sys/bus/pci/drivers/uio_pci_generic/unbind 0000:00:04.0
check "hugepage pool restored" file_is sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 0
check "umount printed" has "$out" "+ umount /dev/hugepages"
check "state file removed" [ ! -e "$R/var/run/iopt/setup.state" ]
run reset
check "second reset: nothing to do" has "$out" "nothing to reset"

# A device vfio-pci holds through driver_override gets that override back on reset.
new_tree
mkdrv vfio-pci
echo vfio-pci > "$R/sys/devices/pci0000:00/0000:00:04.0/driver_override"
ln -sfn ../../../bus/pci/drivers/vfio-pci "$R/sys/devices/pci0000:00/0000:00:04.0/driver"
run HUGEMEM=0 DRIVER=uio PCI_ALLOWED=00:04.0 config
check "old override recorded" grep -q "^bind 0000:00:04.0 vfio-pci override vfio-pci$" "$R/var/run/iopt/setup.state"
ln -sfn ../../../bus/pci/drivers/uio_pci_generic "$R/sys/devices/pci0000:00/0000:00:04.0/driver"
run reset
check "old override restored" file_is sys/devices/pci0000:00/0000:00:04.0/driver_override vfio-pci
check "given back to vfio-pci" file_is sys/bus/pci/drivers/vfio-pci/bind 0000:00:04.0

# An interface that is down is not a reason to refuse.
new_tree
echo down > "$R/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0/operstate"
echo 0x1002 > "$R/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0/flags"
run HUGEMEM=0 PCI_ALLOWED=00:03.0 config
check "down NIC is taken" file_is sys/devices/pci0000:00/0000:00:03.0/driver_override uio_pci_generic

# VFIO: a loaded vfio without the no-IOMMU parameter (Debian's kernels).
new_tree
mkdir -p "$R/sys/module/vfio/parameters"
run HUGEMEM=0 DRIVER=vfio PCI_ALLOWED=00:04.0 config
check "no no-IOMMU mode: exit 2" [ "$rc" = 2 ]
check "advice names CONFIG_VFIO_NOIOMMU" has "$out" "built without
  CONFIG_VFIO_NOIOMMU"
check "advice offers the rebuild from linux-source" has "$out" "Rebuild vfio.ko with no-IOMMU support"
check "advice offers UIO" has "$out" "DRIVER=uio"
check "no device touched" file_is sys/devices/pci0000:00/0000:00:04.0/driver_override "(null)"
run status
check "status says no-IOMMU is not offered" has "$out" "VFIO no-IOMMU mode: NOT offered by this kernel"

# VFIO not loaded; the kernel config says no no-IOMMU.
new_tree
mkdir -p "$R/boot"
printf 'CONFIG_VFIO=m\n# CONFIG_VFIO_NOIOMMU is not set\n' > "$R/boot/config-$(uname -r)"
run HUGEMEM=0 DRIVER=vfio PCI_ALLOWED=00:04.0 config
check "kernel config without no-IOMMU: exit 2" [ "$rc" = 2 ]
check "kernel config without no-IOMMU: advice" has "$out" "Rebuild vfio.ko"

# VFIO loaded, no-IOMMU supported but off: it is switched on, then vfio-pci bound.
new_tree
mkdir -p "$R/sys/module/vfio/parameters"
echo N > "$R/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
mkdrv vfio-pci
run HUGEMEM=0 DRIVER=vfio PCI_ALLOWED=00:04.0 config
check "vfio config exits 0" [ "$rc" = 0 ]
check "no-IOMMU mode switched on" file_is sys/module/vfio/parameters/enable_unsafe_noiommu_mode Y
check "bound to vfio-pci" file_is sys/bus/pci/drivers/vfio-pci/bind 0000:00:04.0
run status
check "status: no-IOMMU enabled" has "$out" "VFIO no-IOMMU mode: enabled"
run reset
check "reset switches no-IOMMU mode back off" file_is sys/module/vfio/parameters/enable_unsafe_noiommu_mode N

echo "UT-RESULT passed=$pass failed=$fail skipped=0"
[ "$fail" = 0 ]
