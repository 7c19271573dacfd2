#!/bin/busybox sh
# /init of iopt's guest initramfs (busybox-static, the uio modules, the vfio
# stack, the guest programs). Sets up what a user's machine would have --
# proc, sysfs, devtmpfs, huge pages, and either uio_pci_generic or VFIO in
# no-IOMMU mode with edu bound to vfio-pci (iopt.path=uio|vfio on the kernel
# command line) -- runs the guest programs of that path, and powers off.
# Every result line a program prints starts with "SCENARIO "; the harness
# counts them. "GUEST-DONE" tells the harness the guest got to the end.
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin

mode=legacy
path=uio
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	iopt.mode=*) mode=${arg#iopt.mode=} ;;
	iopt.path=*) path=${arg#iopt.path=} ;;
	esac
done
echo "GUEST-START mode=$mode path=$path kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"

# hugepages=16 on the command line reserves them at boot; ask again in case
# the kernel ignored it.
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 4 ] || echo 16 > /proc/sys/vm/nr_hugepages
mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages
echo "GUEST-INFO hugepages=$(cat /proc/sys/vm/nr_hugepages)"

# VFIO no-IOMMU mode, as scripts/setup.sh DRIVER=vfio would set it up: the
# rebuilt vfio.ko with enable_unsafe_noiommu_mode=1 under Debian's stock
# vfio-pci stack (lib/modules/vfio/order: dependencies first), then edu bound
# to vfio-pci by new_id. What the kernel says about taint and no-IOMMU mode
# is printed as GUEST-TAINT lines for the test log.
load_vfio() {
	if [ ! -f /lib/modules/vfio/order ]; then
		echo "GUEST-INFO no vfio stack in the initramfs"
		return 1
	fi
	while read -r m; do
		if [ "$m" = vfio ]; then
			insmod /lib/modules/vfio/vfio.ko enable_unsafe_noiommu_mode=1
		else
			insmod "/lib/modules/vfio/$m.ko"
		fi || { echo "GUEST-INFO insmod $m failed"; return 1; }
	done < /lib/modules/vfio/order
	echo "1234 11e8" > /sys/bus/pci/drivers/vfio-pci/new_id ||
		echo "GUEST-INFO new_id for vfio-pci failed"
	echo "GUEST-INFO vfio: noiommu=$(cat /sys/module/vfio/parameters/enable_unsafe_noiommu_mode)" \
		"groups: $(ls /dev/vfio | tr '\n' ' ')"
	dmesg | grep -i -E 'taint|noiommu|no-iommu' | sed 's/^/GUEST-TAINT /'
	echo "GUEST-TAINT /proc/sys/kernel/tainted=$(cat /proc/sys/kernel/tainted)"
}

case "$path" in
vfio) load_vfio ;;
*)
	for m in uio uio_pci_generic; do
		insmod /lib/modules/$m.ko || echo "GUEST-INFO insmod $m failed"
	done
	;;
esac

# Each program gets the VT-d mode QEMU was started in (legacy, scalable, cm,
# cm-legacy: test/qemu/harness.sh run) and reports its own scenarios; one
# that dies leaves its scenarios without result lines.
while read -r prog backend; do
	[ "$backend" = "$path" ] || continue
	echo "GUEST-INFO running $prog"
	"/bin/$prog" --mode "$mode"
	echo "GUEST-INFO $prog exit=$?"
done < /etc/iopt-guest-programs

echo "GUEST-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
