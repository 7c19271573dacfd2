#!/usr/bin/env bash
# The checks test/qemu/harness.sh applies before it lets the guest load the
# rebuilt vfio.ko, and its vfio-pci stack resolution, on fabricated modules
# (tiny objects with a .modinfo section and a Module.symvers): a module whose
# vermagic or exported CRCs differ from the guest kernel's is refused with
# the reason, and dependencies are ordered before their users. Fast; needs
# only gcc and binutils. scripts/run_tests.sh runs it with BUILD_DIR as $1.
#   UT-RESULT passed=N failed=N skipped=N
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 skipped=0

check() { # check NAME CONDITION-RESULT(0/1) DETAIL
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1)); echo "  PASS vfio_check/$1"
	else
		failed=$((failed + 1)); echo "  FAIL vfio_check/$1: $3"
	fi
}

for t in gcc objcopy; do
	if ! command -v "$t" >/dev/null; then
		echo "  SKIP vfio_check: $t is not installed"
		echo "UT-RESULT passed=0 failed=0 skipped=1"
		exit 0
	fi
done

# shellcheck source=test/qemu/harness.sh
. "$here/harness.sh"
set +e

# fake_module KO FIELD=VALUE...: an object file whose .modinfo holds the
# fields, NUL-separated as the kernel's modpost writes them.
fake_module() {
	local ko=$1 f
	shift
	: > "$tmp/modinfo"
	for f in "$@"; do printf '%s\0' "$f" >> "$tmp/modinfo"; done
	echo 'int x;' > "$tmp/x.c"
	gcc -c -o "$tmp/x.o" "$tmp/x.c" &&
		objcopy --add-section .modinfo="$tmp/modinfo" "$tmp/x.o" "$ko"
}

kver=6.1.0-99-cloud-amd64
magic="$kver SMP preempt mod_unload modversions "
kdir=$tmp/kernel
mkdir -p "$kdir/modules/vfio" "$tmp/build"
echo "$kver" > "$kdir/kernel-version"
echo "$magic" > "$kdir/modules/vfio/stock-vermagic"
printf '0x11111111\tvfio_register_group_dev\tdrivers/vfio/vfio\tEXPORT_SYMBOL_GPL\t\n0x22222222\tvfio_unregister_group_dev\tdrivers/vfio/vfio\tEXPORT_SYMBOL_GPL\t\n0x33333333\tother_symbol\tdrivers/other/x\tEXPORT_SYMBOL\t\n' \
	> "$tmp/build/Module.symvers.stock"
printf '0x11111111\tvfio_register_group_dev\t%s/m/vfio\tEXPORT_SYMBOL_GPL\t\n0x22222222\tvfio_unregister_group_dev\t%s/m/vfio\tEXPORT_SYMBOL_GPL\t\n' "$tmp" "$tmp" \
	> "$tmp/build/Module.symvers"

fake_module "$tmp/build/vfio.ko" "vermagic=$magic" "name=vfio"
why=$(check_vfio_module "$tmp/build/vfio.ko" "$kdir" "$tmp/build/Module.symvers")
check accepts_matching_module $? "refused: $why"

fake_module "$tmp/build/other.ko" "vermagic=6.1.0-98-cloud-amd64 SMP preempt mod_unload modversions " "name=vfio"
why=$(check_vfio_module "$tmp/build/other.ko" "$kdir" "$tmp/build/Module.symvers")
rc=$?
[ "$rc" -ne 0 ] && grep -q 'vermagic mismatch' <<<"$why"
check refuses_other_kernel_version $? "rc=$rc why='$why'"

fake_module "$tmp/build/nomod.ko" "vermagic=$kver SMP preempt mod_unload " "name=vfio"
why=$(check_vfio_module "$tmp/build/nomod.ko" "$kdir" "$tmp/build/Module.symvers")
rc=$?
[ "$rc" -ne 0 ] && grep -q 'vermagic mismatch' <<<"$why"
check refuses_other_build_options $? "rc=$rc why='$why'"

fake_module "$tmp/build/none.ko" "name=vfio"
why=$(check_vfio_module "$tmp/build/none.ko" "$kdir" "$tmp/build/Module.symvers")
check refuses_module_without_vermagic $((1 - ($? != 0))) "accepted a module without vermagic"

sed 's/0x22222222/0x2222222f/' "$tmp/build/Module.symvers" > "$tmp/build/crc.symvers"
cp "$tmp/build/Module.symvers.stock" "$tmp/build/crc.symvers.stock"
why=$(check_vfio_module "$tmp/build/vfio.ko" "$kdir" "$tmp/build/crc.symvers")
rc=$?
[ "$rc" -ne 0 ] && grep -q 'vfio_unregister_group_dev' <<<"$why"
check refuses_crc_mismatch $? "rc=$rc why='$why'"

head -n 1 "$tmp/build/Module.symvers" > "$tmp/build/short.symvers"
cp "$tmp/build/Module.symvers.stock" "$tmp/build/short.symvers.stock"
why=$(check_vfio_module "$tmp/build/vfio.ko" "$kdir" "$tmp/build/short.symvers")
check refuses_missing_export $((1 - ($? != 0))) "accepted a module exporting fewer symbols"

# Stack resolution: vfio-pci -> vfio-pci-core -> (vfio, irqbypass), with
# file names spelled with '-' and a shared dependency listed twice.
tree=$tmp/pkg
mods=$tree/lib/modules/$kver/kernel
mkdir -p "$mods/drivers/vfio/pci" "$mods/virt/lib" "$tmp/stack"
fake_module "$mods/drivers/vfio/pci/vfio-pci.ko" "depends=vfio-pci-core,vfio"
fake_module "$mods/drivers/vfio/pci/vfio-pci-core.ko" "depends=vfio,irqbypass,vfio_virqfd"
fake_module "$mods/drivers/vfio/vfio_virqfd.ko" "depends="
fake_module "$mods/virt/lib/irqbypass.ko" "depends="
add_stack_module "$tree" "$tmp/stack" vfio_pci 2>/dev/null
order=$(tr '\n' ' ' < "$tmp/stack/order")
[ "$order" = "vfio irqbypass vfio_virqfd vfio_pci_core vfio_pci " ] && [ ! -e "$tmp/stack/vfio.ko" ] &&
	[ -f "$tmp/stack/vfio_pci_core.ko" ]
check stack_in_dependency_order $? "order '$order'; vfio.ko copied: $([ -e "$tmp/stack/vfio.ko" ] && echo yes || echo no)"

rm -f "$mods/virt/lib/irqbypass.ko" "$tmp/stack"/*
add_stack_module "$tree" "$tmp/stack" vfio_pci 2>/dev/null
check stack_missing_module_fails $((1 - ($? != 0))) "a missing dependency went unnoticed"

echo "UT-RESULT passed=$passed failed=$failed skipped=$skipped"
[ "$failed" -eq 0 ]
