#!/usr/bin/env bash
# iommuctl on a real backend: QEMU's q35 intel-iommu (TCG), read through
# /sys/firmware/acpi/tables and /dev/mem (--backend uio), the way a user runs
# it on hardware with intel_iommu=off. Checks that the DMAR, the registers
# and the mode it reports are QEMU's (QEMU.md), that the walk sees
# translation off, and that dmar DMAR decodes the same table as iasl's
# compile of test/data/acpi/dmar_q35.asl. Then selftest drives edu through
# the public API on uio (uio_pci_generic) and, when the harness built its
# no-IOMMU vfio.ko (build/qemu-guest/vfio/status "ok"), on vfio-noiommu:
# bind, attach, map, DMA both ways, unmap, and the DMA must now fault.
# With --walk it also walks the live tables: the PA must be the one
# /proc/self/pagemap gives, and after the unmap the walk's fault reason the
# one the unit recorded. --setup demo brings the unit up through the library
# and walks it (every level, PA against pagemap, edu's DMA against the walk,
# faults with the unit's own records), reads GSTS.TES=1, provokes a fault;
# afterwards the unit is down again. All in the one guest boot.
#
# Reuses what test/qemu/harness.sh prepares (kernel, busybox, a static
# libiopt.a in build/qemu-guest); on a clean tree it runs the harness's
# prepare step first (cached: test/qemu reuses it). Skipped with the reason
# only when that cannot be had (no QEMU, kernel package not fetchable).
#   test/app/iommuctl_qemu.test.sh BUILD_DIR
set -uo pipefail
build=$(cd "${1:?usage: iommuctl_qemu.test.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
guest=${IOPT_QEMU_OUT:-$root/build/qemu-guest}
qemu=${IOPT_QEMU_SYSTEM:-qemu-system-x86_64}
work="$build/test/iommuctl-qemu"

skip() {
	echo "  SKIP iommuctl_qemu: $*"
	echo "UT-RESULT passed=0 failed=0 skipped=1"
	exit 0
}
command -v "$qemu" > /dev/null || skip "$qemu not found"
command -v python3 > /dev/null || skip "python3 not found"
prepared() {
	for f in "$guest/kernel/vmlinuz" "$guest/initramfs/bin/busybox" "$guest/lib/libiopt.a"; do
		[ -e "$f" ] || return 1
	done
}
if ! prepared; then
	echo "  preparing the guest kit (test/qemu/harness.sh prepare)"
	( unset MAKEFLAGS MFLAGS MAKELEVEL; bash "$root/test/qemu/harness.sh" prepare ) > "$build/iommuctl-qemu-prepare.log" 2>&1
	prepared || { tail -n 15 "$build/iommuctl-qemu-prepare.log"; skip "the guest kit could not be prepared (log: $build/iommuctl-qemu-prepare.log)"; }
fi
# The kit may be older than the sources (prepare runs only when a piece is
# missing): bring the guest build's libiopt up to date, as harness.sh builds
# it (make is incremental; a no-op when nothing changed).
if ! ( unset MAKEFLAGS MFLAGS MAKELEVEL; make -s -C "$root" O="$guest" CONFIG_STATIC_APPS=y \
	CONFIG_DPDK=n CONFIG_PCIACCESS=y CONFIG_NUMA=y CONFIG_DEBUG=n CONFIG_ASAN=n \
	CONFIG_UBSAN=n CONFIG_CROSS_PREFIX= libs ) > "$build/iommuctl-qemu-lib.log" 2>&1; then
	tail -n 20 "$build/iommuctl-qemu-lib.log"
	echo "  FAIL bring the guest build's libiopt up to date"
	echo "UT-RESULT passed=0 failed=1 skipped=0"
	exit 1
fi
rm -rf "$work" && mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/sys" "$work/root/dev" "$work/root/tmp"
# A static iommuctl linked with the guest build's libiopt.a (same options).
unset MAKEFLAGS MFLAGS MAKELEVEL
if ! make -s -C "$root/app/iommuctl" O="$work/obj" LIBIOPT_A="$guest/lib/libiopt.a" \
	CONFIG_STATIC_APPS=y CONFIG_DPDK=n CONFIG_PCIACCESS=y CONFIG_NUMA=y CONFIG_DEBUG=n \
	CONFIG_ASAN=n CONFIG_UBSAN=n APP_LIBS=-lz all > "$work/build.log" 2>&1; then
	tail -n 20 "$work/build.log"
	echo "  FAIL build a static iommuctl"
	echo "UT-RESULT passed=0 failed=1 skipped=0"
	exit 1
fi
cp "$work/obj/bin/iommuctl" "$guest/initramfs/bin/busybox" "$work/root/bin/"
mkdir -p "$work/root/lib/modules"
cp "$guest/initramfs/lib/modules/uio.ko" "$guest/initramfs/lib/modules/uio_pci_generic.ko" \
	"$work/root/lib/modules/" || skip "no uio modules in the guest kit"
vfio=no
if [ "$(cut -d' ' -f1 "$guest/vfio/status" 2> /dev/null)" = ok ] &&
	[ -f "$guest/initramfs/lib/modules/vfio/order" ]; then
	cp -r "$guest/initramfs/lib/modules/vfio" "$work/root/lib/modules/" && vfio=yes
fi
cat > "$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
run() {
	for c in "$@"; do
		out=$(iommuctl --json $c 2>/tmp/err); rc=$?
		echo "CTL-RESULT $rc $(echo "$c" | tr ' ' '_') $out"
		sed 's/^/CTL-STDERR /' /tmp/err
	done
}
# selftest's memory is hugetlbfs (MAP_HUGETLB); uio_pci_generic for iopt to bind edu to.
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 4 ] || echo 16 > /proc/sys/vm/nr_hugepages
for m in uio uio_pci_generic; do insmod /lib/modules/$m.ko || echo "CTL-STDERR insmod $m failed"; done
run "dmar DMAR" "--backend uio info" "--backend uio regs" \
	"--backend uio walk --dev 00:02.0 0x1000" "--backend vfio-noiommu info" \
	"--backend uio selftest --dev 0000:00:02.0" "--backend uio selftest --walk" \
	"--backend uio --setup demo walk --dev 00:02.0 0x100008" \
	"--backend uio --setup demo walk --dev 00:02.0 0x3ffff8" \
	"--backend uio --setup demo walk --dev 00:02.0 --write 0x101000" \
	"--backend uio --setup demo walk --dev 00:02.0 --write 0x800000" \
	"--backend uio --setup demo regs" "--backend uio --setup demo faults --provoke" \
	"--backend uio regs --unit 0"
# VFIO no-IOMMU as test/qemu/init.sh sets it up (edu is unbound again: iopt
# released it from uio_pci_generic): the rebuilt vfio.ko, then vfio-pci by new_id.
if [ -f /lib/modules/vfio/order ]; then
	while read -r m; do
		if [ "$m" = vfio ]; then
			insmod /lib/modules/vfio/vfio.ko enable_unsafe_noiommu_mode=1
		else
			insmod "/lib/modules/vfio/$m.ko"
		fi || echo "CTL-STDERR insmod $m failed"
	done < /lib/modules/vfio/order
	echo "1234 11e8" > /sys/bus/pci/drivers/vfio-pci/new_id || echo "CTL-STDERR new_id failed"
	run "--backend vfio-noiommu selftest --walk --dev 0000:00:02.0"
fi
echo CTL-DONE
poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc 2> /dev/null | gzip > "$work/initrd.gz")
timeout 120 "$qemu" -accel tcg -M q35 -cpu qemu64 -smp 1 -m 256M \
	-device intel-iommu,intremap=off -device edu -nic none \
	-kernel "$guest/kernel/vmlinuz" -initrd "$work/initrd.gz" -nographic -no-reboot \
	-append "console=ttyS0 intel_iommu=off hugepages=16 panic=-1 quiet" > "$work/console.log" 2>&1
qrc=$?
tr -d '\r' < "$work/console.log" > "$work/console.txt"
if ! grep -q '^CTL-DONE' "$work/console.txt"; then
	tail -n 30 "$work/console.txt"
	echo "  FAIL the guest did not finish (QEMU exit $qrc)"
	echo "UT-RESULT passed=0 failed=1 skipped=0"
	exit 1
fi
exec python3 - "$work/console.txt" "$build/bin/iommuctl" "$build/test/data/acpi/dmar_q35.aml" "$vfio" <<'PY'
import json, subprocess, sys
lines = open(sys.argv[1]).read().splitlines()
res = {}
for l in lines:
    l = l[l.find("CTL-"):] if "CTL-" in l else l  # the console may prefix escapes
    if l.startswith("CTL-RESULT "):
        _, rc, cmd, out = l.split(" ", 3)
        res[cmd] = (int(rc), out)
    elif l.startswith("CTL-STDERR "):
        print("  guest stderr: " + l[11:])
ok = bad = skipped = 0
def check(name, cond, detail=""):
    global ok, bad
    print(("  PASS " if cond else "  FAIL ") + name + ("" if cond else ": " + detail))
    ok, bad = ok + bool(cond), bad + (not cond)
def js(cmd):
    rc, out = res[cmd]
    return rc, json.loads(out) if out.strip() else None
try:
    rc, d = js("dmar_DMAR")
    host = json.loads(subprocess.run([sys.argv[2], "--json", "dmar", sys.argv[3]],
                                     capture_output=True, check=True).stdout)
    strip = lambda x: {k: v for k, v in x.items() if k not in ("source", "header")}
    check("dmar DMAR in the guest decodes like the ASL twin on the host",
          rc == 0 and strip(d)["drhd"] == strip(host)["drhd"], str(d)[:300])
    rc, d = js("--backend_uio_info")
    u = d["units"][0]
    check("info: QEMU's unit at 0xfed90000, VER 1.0, CAP/ECAP of QEMU.md, legacy, TE off",
          rc == 0 and u["reg_base"] == 0xfed90000 and u["version"] == "1.0"
          and u["cap"] == 0x00d2008c22260206 and u["ecap"] == 0xf42
          and u["driver_mode"] == "legacy" and not u["current"]["translation_enabled"], str(u)[:300])
    rc, d = js("--backend_uio_regs")
    r = d["units"][0]["registers"]
    check("regs: CAP fields decoded from /dev/mem (SAGAW 39-bit, MGAW 39, NFR 1, FRO 0x220)",
          rc == 0 and r["CAP"]["fields"]["SAGAW"] == 2 and r["CAP"]["fields"]["MGAW"] == 39
          and r["CAP"]["fields"]["NFR"] == 1 and r["CAP"]["fields"]["FRO"] == 0x220
          and r["IVA"]["offset"] == 0xf0, str(r)[:300])
    rc, d = js("--backend_uio_walk_--dev_00:02.0_0x1000")
    check("walk: translation off, output = input",
          rc == 0 and d["result"]["passthrough"] and d["result"]["pa"] == 0x1000, str(d)[:300])
    rc, d = js("--backend_vfio-noiommu_info")
    check("vfio-noiommu backend reads the same unit", rc == 0 and
          d["units"][0]["cap"] == 0x00d2008c22260206, str(d)[:200])
    base_steps = ["bind", "attach", "map", "dma_read", "dma_write", "unmap", "dma_faults"]
    walk_steps = ["bind", "attach", "map", "walk_mapped", "dma_read", "dma_write", "walk_dma",
                  "unmap", "dma_faults", "walk_unmapped"]
    legacy_levels = ["root entry", "context entry", "SS-PDPE", "SS-PDE", "SS-PTE"]
    def selftest(be, args, steps_want, dev_given=True):
        rc, d = js("--backend_%s_selftest_%s" % (be, args.replace(" ", "_")))
        steps = [s["step"] for s in d["steps"]]
        check("selftest %s on %s: edu DMA both ways through the mapping, unmapped DMA faults"
              % (args, be), rc == 0 and d["verdict"] == "pass" and d["device"] == "0000:00:02.0"
              and steps == steps_want and all(s["ok"] for s in d["steps"]),
              "exit %d: %s" % (rc, str(d)[:600]))
        if "walk_mapped" not in steps:
            return
        st = {s["step"]: s for s in d["steps"]}
        m, u = st["walk_mapped"], st["walk_unmapped"]
        r = m["walk"]["result"]
        check("selftest --walk on %s: the live walk goes root, context, 3 levels to the PA "
              "/proc/self/pagemap gives for the buffer, writable" % be,
              [x["structure"] for x in m["walk"]["steps"]] == legacy_levels
              and r["translated"] and r["w"] and not r["passthrough"]
              and m["pagemap_pa"] is not None and r["pa"] == m["pagemap_pa"] == m["env_pa"]
              and r["page_size"] == 4096 and m["walk"]["request"]["iova"] == 0x101008,
              str(m)[:600])
        fr = u["walk"]["result"]
        check("selftest --walk on %s: after unmap the walk faults (reason 5, write) as the "
              "hardware recorded" % be, not fr["translated"] and fr["fault"]["reason"] == 5
              and u["hw_recorded"] and u["hw_reason"] == 5
              and u["walk"]["steps"][-1]["structure"] == "SS-PTE"
              and u["walk"]["steps"][-1]["raw"] == [0], str(u)[:600])
    selftest("uio", "--dev 0000:00:02.0", base_steps)
    selftest("uio", "--walk", walk_steps)
    # --setup demo: the library brings the unit up, maps the demo buffers, walk on it.
    def demo(args):
        rc, d = js("--backend_uio_--setup_demo_walk_--dev_00:02.0_" + args.replace(" ", "_"))
        maps = {m["iova"]: m for m in d["setup"]["mappings"]}
        return rc, d, maps
    rc, d, maps = demo("0x100008")
    r, c = d["result"], d["dma_check"]
    check("--setup demo walk 0x100008: root, context, 3 levels, PA = pagemap PA of the "
          "0xa1 buffer + 8, edu's DMA read brought the bytes at that PA",
          rc == 0 and [x["structure"] for x in d["steps"]] == legacy_levels
          and d["setup"]["device"] == "0000:00:02.0" and d["setup"]["dma"] == "edu"
          and r["translated"] and r["pa"] == maps[0x100000]["pagemap_pa"] + 8
          and maps[0x100000]["pagemap_pa"] == maps[0x100000]["pa"] and r["r"] and r["w"]
          and c["done"] and c["agrees"] and c["bytes"] == [0xa1] * 8 and c["faults"] == [],
          "exit %d: %s" % (rc, str(d)[:800]))
    rc, d, maps = demo("0x3ffff8")
    r, c = d["result"], d["dma_check"]
    huge = r.get("page_size") == 0x200000
    check("--setup demo walk 0x3ffff8: the 2 MiB buffer (%s), PA = pagemap PA + 0x1ffff8, "
          "edu agrees" % ("a 2 MiB page" if huge else "4 KiB pages"),
          rc == 0 and r["translated"] and r["pa"] == maps[0x200000]["pagemap_pa"] + 0x1ffff8
          and len(d["steps"]) == (4 if huge else 5) and c["agrees"] and c["bytes"] == [0xc3] * 8,
          "exit %d: %s" % (rc, str(d)[:800]))
    rc, d, maps = demo("--write 0x101000")
    r, c = d["result"], d["dma_check"]
    check("--setup demo walk --write 0x101000 (read-only): fault reason 5, and edu's write "
          "was recorded by the unit with reason 5 at 0x101000",
          rc == 1 and not r["translated"] and r["fault"]["reason"] == 5 and c["agrees"]
          and c["faults"] and all(f["reason"] == 5 and f["addr"] == 0x101000
                                  for f in c["faults"]), "exit %d: %s" % (rc, str(d)[:800]))
    rc, d, maps = demo("--write 0x800000")
    r, c = d["result"], d["dma_check"]
    check("--setup demo walk --write 0x800000 (unmapped): the last entry read is empty, fault reason 5, "
          "the hardware agrees", rc == 1 and not r["translated"] and r["fault"]["reason"] == 5
          and d["steps"][-1]["raw"] == [0] and c["agrees"] and c["faults"]
          and c["faults"][0]["addr"] == 0x800000, "exit %d: %s" % (rc, str(d)[:800]))
    rc, d = js("--backend_uio_--setup_demo_regs")
    g = d["units"][0]["registers"]["GSTS"]["fields"]
    check("--setup demo regs: the live unit translates (GSTS.TES=1, RTPS=1)",
          rc == 0 and g["TES"] == 1 and g["RTPS"] == 1, str(g))
    rc, d = js("--backend_uio_--setup_demo_faults_--provoke")
    recs = d["records"]
    check("--setup demo faults --provoke: edu's write to 0x800000 recorded, decoded: "
          "00:02.0, write, reason 5", rc == 0 and d["count"] >= 1 and all(
              f["requester"] == "00:02.0" and f["access"] == "write" and f["addr"] == 0x800000
              and f["reason"] == 5 for f in recs), "exit %d: %s" % (rc, str(d)[:600]))
    rc, d = js("--backend_uio_regs_--unit_0")
    g = d["units"][0]["registers"]["GSTS"]["fields"]
    check("after the --setup runs the unit is down again (GSTS.TES=0)", rc == 0 and
          g["TES"] == 0, str(g))
    rc, d = js("--backend_uio_selftest_--walk")
    check("selftest on uio without --dev finds edu at 0000:00:02.0 and passes",
          rc == 0 and d["device"] == "0000:00:02.0" and d["verdict"] == "pass", str(d)[:300])
    if sys.argv[4] == "yes":
        selftest("vfio-noiommu", "--walk --dev 0000:00:02.0", walk_steps)
    else:
        print("  SKIP selftest on vfio-noiommu: the harness built no no-IOMMU vfio.ko")
        skipped += 1
except Exception as e:
    check("guest output parsed", False, repr(e))
print("UT-RESULT passed=%d failed=%d skipped=%d" % (ok, bad, skipped))
PY
