#!/usr/bin/env python3
"""iommuctl on a live unit, sim backends (run by iommuctl_live.test.sh).

--setup demo maps, through the library, 4 KiB rw at 0x100000 (0xa1), 4 KiB
read-only at 0x101000 (0xb2), 4 KiB rw scratch at 0x102000 (0x5e), 2 MiB rw
at 0x200000 (0xc3), nothing at 0x800000 (the IOVAs and fills are the ones
walk --help documents). Expected structures and fault reasons are the VT-d
specification's (legacy root/context, scalable root/context/PASID
directory/PASID table; Appendix A reasons), written here, not taken from the
tool. Prints one line per test and a final UT-RESULT line.
"""
import os

from ctl_testlib import eq, finish, run, run_json, skip, test

SIM = ("sim:vtd", "sim:vtd-scalable", "sim:vtd-full")
SCALABLE = {"sim:vtd": False, "sim:vtd-scalable": True, "sim:vtd-full": True}
# Second-stage levels: q35 profiles have SAGAW 39-bit only (QEMU.md); "full" has 48-bit.
SS_LEVELS = {"sim:vtd": ["SS-PDPE", "SS-PDE", "SS-PTE"],
             "sim:vtd-scalable": ["SS-PDPE", "SS-PDE", "SS-PTE"],
             "sim:vtd-full": ["SS-PML4E", "SS-PDPE", "SS-PDE", "SS-PTE"]}
# A write / read the leaf does not grant: legacy LGN.2 0x5 / LGN.3 0x6, scalable SSL.2 0x79.
WRITE_REASON = {"sim:vtd": 0x05, "sim:vtd-scalable": 0x79, "sim:vtd-full": 0x79}
READ_REASON = {"sim:vtd": 0x06, "sim:vtd-scalable": 0x79, "sim:vtd-full": 0x79}


def walk(be, *args, rc=0):
    return run_json("--backend", be, "--setup", "demo", "walk", "--dev", "00:02.0", *args, rc=rc)


def mapping(d, iova):
    for m in d["setup"]["mappings"]:
        if m["iova"] == iova:
            return m
    raise AssertionError("no demo mapping at %#x" % iova)


def structures(be, levels):
    head = (["scalable root entry", "scalable context entry", "PASID directory entry",
             "PASID table entry"] if SCALABLE[be] else ["root entry", "context entry"])
    return head + levels


@test
def setup_demo_walk_translates():
    for be in SIM:
        d = walk(be, "0x100008")
        eq(d["setup"]["device"], "0000:00:02.0", be + " device")
        r, c = d["result"], d["dma_check"]
        eq([s["structure"] for s in d["steps"]], structures(be, SS_LEVELS[be]), be + " walk")
        eq(r["translated"], True, be)
        eq(r["pa"], mapping(d, 0x100000)["pa"] + 8, be + " PA")
        eq(d["steps"][-1]["fields"]["ADDR"], mapping(d, 0x100000)["pa"], be + " PTE address")
        eq((r["page_size"], r["r"], r["w"], r["passthrough"]), (4096, True, True, False),
           be + " page, perms")
        # The test device read the bytes at the IOVA: the 0xa1 fill, and the walk's PA holds them.
        eq((c["done"], c["agrees"], c["bytes"], c["faults"]), (True, True, [0xa1] * 8, []),
           be + " dma_check")
        eq(c["bytes_at_pa"], [0xa1] * 8, be + " bytes at PA")
        if SCALABLE[be]:
            eq(d["steps"][3]["fields"]["PGTT"], 2, be + " PASID entry: second stage")
        else:
            eq(d["steps"][1]["fields"]["TT"], 0, be + " context: TT untranslated")


@test
def setup_demo_2m_buffer():
    for be in SIM:
        d = walk(be, "0x3ffff8")
        r, c = d["result"], d["dma_check"]
        eq(r["pa"], mapping(d, 0x200000)["pa"] + 0x1ffff8, be + " PA")
        last = d["steps"][-1]
        if r["page_size"] == 0x200000:
            eq((last["structure"], last["fields"]["PS"]), ("SS-PDE", True), be + " 2M leaf")
        else:
            eq((r["page_size"], last["structure"]), (4096, "SS-PTE"), be + " 4K leaf")
        eq((c["agrees"], c["bytes"]), (True, [0xc3] * 8), be + " dma_check")


@test
def setup_demo_read_only():
    for be in SIM:
        d = walk(be, "0x101000")
        eq((d["result"]["r"], d["result"]["w"]), (True, False), be + " read-only")
        eq(d["dma_check"]["bytes"], [0xb2] * 8, be + " read through it")
        d = walk(be, "--write", "0x101000", rc=1)
        r, c = d["result"], d["dma_check"]
        eq((r["translated"], r["fault"]["reason"]), (False, WRITE_REASON[be]), be + " fault")
        eq(c["agrees"], True, be + " the device's write faulted like the walk")
        eq([(f["addr"], f["reason"], f["access"]) for f in c["faults"]],
           [(0x101000, WRITE_REASON[be], "write")], be + " recorded")


@test
def setup_demo_write_lands():
    for be in SIM:
        d = walk(be, "--write", "0x100010")
        c = d["dma_check"]
        eq(d["result"]["translated"], True, be)
        eq(len(c["written"]), 8, be + " 8 bytes written")
        assert c["written"] != [0xa1] * 8, c
        eq((c["agrees"], c["bytes_at_pa"]), (True, c["written"]), be + " landed at the PA")


@test
def setup_demo_unmapped():
    for be in SIM:
        for args, reason in ((["0x800000"], READ_REASON[be]),
                             (["--write", "0x800010"], WRITE_REASON[be])):
            d = walk(be, *args, rc=1)
            r, c = d["result"], d["dma_check"]
            eq((r["translated"], r["fault"]["reason"]), (False, reason), be + " %r" % args)
            eq(d["steps"][-1]["raw"], [0], be + " the last entry read is empty")
            eq(c["agrees"], True, be + " dma_check")
            eq([f["addr"] for f in c["faults"]], [0x800000], be + " recorded at the page")


@test
def setup_demo_other_device():
    # 00:03.0 is not bound: the unbound-device policy gives it pass-through.
    d = run_json("--setup", "demo", "walk", "--dev", "00:03.0", "0x100000")
    eq((d["result"]["translated"], d["result"]["passthrough"]), (True, True), "pass-through")
    eq(d["dma_check"]["done"], False, "no DMA check for another device")
    assert "another device" in d["dma_check"]["skipped"], d["dma_check"]
    d = run_json("--setup", "demo", "--setup-dev", "00:03.0", "walk", "--dev", "00:03.0",
                 "0x100000")
    eq(d["setup"]["device"], "00:03.0", "--setup-dev")
    eq((d["result"]["passthrough"], d["dma_check"]["agrees"]), (False, True), "bound one")


@test
def setup_demo_regs_info_faults():
    for be in SIM:
        g = run_json("--backend", be, "--setup", "demo", "regs")["units"][0]["registers"]
        eq((g["GSTS"]["fields"]["TES"], g["GSTS"]["fields"]["RTPS"]), (1, 1), be + " live")
        g = run_json("--backend", be, "regs")["units"][0]["registers"]
        eq(g["GSTS"]["fields"]["TES"], 0, be + " without --setup: off")
        d = run_json("--backend", be, "--setup", "demo", "info")
        cur = d["units"][0]["current"]
        eq((cur["translation_enabled"], cur["ttm"]),
           (True, "scalable" if SCALABLE[be] else "legacy"), be + " info")
        eq(d["setup"]["mappings"][0]["iova"], 0x100000, be + " info shows the setup")
        d = run_json("--backend", be, "--setup", "demo", "faults")
        eq(d["count"], 0, be + " no faults without --provoke")
        d = run_json("--backend", be, "--setup", "demo", "faults", "--provoke")
        eq(d["provoked"]["blocked"], True, be + " blocked")
        eq([(f["requester"], f["addr"], f["access"], f["reason"]) for f in d["records"]],
           [("00:02.0", 0x800000, "write", WRITE_REASON[be])], be + " provoked record")


@test
def setup_demo_text_and_usage():
    code, out, err = run("--setup", "demo", "walk", "--dev", "00:02.0", "0x100000")
    eq(code, 0, "text walk: " + err)
    text = out.decode()
    for want in ("setup:", "SS-PTE", "dma_check:", "agrees: yes", "pa: 0x"):
        assert want in text, (want, text[-800:])
    for args in (["--setup", "x", "info"], ["--setup", "demo", "dmar", "DMAR"],
                 ["--setup", "demo", "selftest"], ["--setup-dev", "00:02.0", "info"],
                 ["--setup", "demo", "--sim-setup", "demo", "info"],
                 ["--setup", "demo", "--setup-dev", "nonsense", "info"],
                 ["--setup", "demo", "faults", "--dev", "edu0"]):
        eq(run(*args)[0], 2, "usage: %r" % args)
    eq(run("--setup", "demo", "--setup-dev", "00:1f.0", "info")[0], 1, "bind out of scope")
    h = run("walk", "--help")[1].decode()
    assert "--setup demo" in h and "dma_check" in h, h


@test
def selftest_walk():
    for be in SIM:
        d = run_json("--backend", be, "selftest", "--walk")
        eq([s["step"] for s in d["steps"]],
           ["bind", "attach", "map", "walk_mapped", "dma_write", "dma_read", "walk_dma",
            "unmap", "dma_faults", "walk_unmapped"], be + " steps")
        for s in d["steps"]:
            eq(s["ok"], True, "%s %s: %s" % (be, s["step"], s["detail"]))
        st = {s["step"]: s for s in d["steps"]}
        m, u = st["walk_mapped"], st["walk_unmapped"]
        eq([s["structure"] for s in m["walk"]["steps"]], structures(be, SS_LEVELS[be]), be)
        eq((m["walk"]["result"]["pa"], m["walk"]["result"]["w"]), (m["env_pa"], True), be)
        eq(m["walk"]["request"]["iova"], 0x101008, be + " walked IOVA")
        eq((u["walk"]["result"]["fault"]["reason"], u["hw_reason"]),
           (WRITE_REASON[be], WRITE_REASON[be]), be + " fault after unmap")
    d = run_json("selftest", "--walk", "--dev", "edu1")
    eq(d["steps"][3]["walk"]["request"]["dev"], "0000:00:03.0", "edu1 is 00:03.0")
    eq(d["verdict"], "pass", "edu1")
    eq(run("selftest", "--walk", "--dev", "nonsense")[0], 2, "--walk needs a PCI address")


@test
def real_backend_setup_unavailable():
    if os.access("/sys/firmware/acpi/tables/DMAR", os.R_OK):
        skip("this machine has a readable DMAR")
    for be in ("uio", "vfio-noiommu"):
        # no huge pages, or no DMAR for the context: unavailable either way
        code, _, err = run("--backend", be, "--setup", "demo", "walk", "--dev", "00:02.0",
                           "0x1000")
        eq(code, 3, be + " --setup demo: " + err)
        code, _, err = run("--backend", be, "selftest", "--walk")
        eq(code, 3, be + " selftest --walk: " + err)


finish()
