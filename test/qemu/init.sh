#!/bin/busybox sh
# /init of iopt's guest initramfs (busybox-static, the uio modules, the guest
# programs). Sets up what a user's machine would have -- proc, sysfs, devtmpfs,
# huge pages, uio_pci_generic -- runs the guest programs, and powers off.
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
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	iopt.mode=*) mode=${arg#iopt.mode=} ;;
	esac
done
echo "GUEST-START mode=$mode kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"

# hugepages=16 on the command line reserves them at boot; ask again in case
# the kernel ignored it.
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 4 ] || echo 16 > /proc/sys/vm/nr_hugepages
mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages
echo "GUEST-INFO hugepages=$(cat /proc/sys/vm/nr_hugepages)"

for m in uio uio_pci_generic; do
	insmod /lib/modules/$m.ko || echo "GUEST-INFO insmod $m failed"
done

# Each program gets the VT-d mode QEMU was started in and reports its own
# scenarios; one that dies leaves its scenarios without result lines.
while read -r prog; do
	echo "GUEST-INFO running $prog"
	"/bin/$prog" --mode "$mode"
	echo "GUEST-INFO $prog exit=$?"
done < /etc/iopt-guest-programs

echo "GUEST-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
