#!/usr/bin/env python3
"""Checks of iommuctl's output on the sim backends (run by iommuctl.test.sh).

Expected values come from elsewhere than the tool: the ASL sources of the
test tables (parsed here), QEMU's documented register values (QEMU.md), the
"full" profile as lib/hwmodel documents it, and field positions written here
from the VT-d specification. Prints one line per failure and a final
UT-RESULT line.
"""
import json
import os
import re
import tempfile

from ctl_testlib import BUILD, eq, finish, run, run_json, skip, test

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AML = os.path.join(BUILD, "test", "data", "acpi")
ASL = os.path.join(ROOT, "test", "data", "acpi")


# ---- ASL sources ------------------------------------------------------------

def asl_fields(name):
    out = []
    for line in open(os.path.join(ASL, name)):
        m = re.match(r"\s*\[(\w+)\]\s+(.*?)\s+:\s+(.*)$", line)
        if m:
            out.append((m.group(2).strip(), m.group(3).strip()))
    return out


def asl_dmar(name):
    """Remapping structures, each {type, fields, scopes: [{fields, paths}]}."""
    structs, cur, scope = [], None, None
    for k, v in asl_fields(name):
        if k == "Subtable Type":
            cur = {"type": int(v.split()[0], 16), "f": {}, "scopes": []}
            structs.append(cur)
            scope = None
        elif k == "Device Scope Type" and cur is not None:
            scope = {"type": int(v.split()[0], 16), "f": {}, "paths": []}
            cur["scopes"].append(scope)
        elif k == "PCI Path" and scope is not None:
            d, f = v.split(",")
            scope["paths"].append((int(d, 16), int(f, 16)))
        elif scope is not None:
            scope["f"][k] = v
        elif cur is not None:
            cur["f"][k] = v
    return structs


def check_scopes(got, want, what):
    eq(len(got), len(want), what + " scope count")
    for g, w in zip(got, want):
        eq(g["type_code"], w["type"], what + " scope type")
        eq(g["enumeration_id"], int(w["f"]["Enumeration ID"], 16), what + " enumeration id")
        eq(g["start_bus"], int(w["f"]["PCI Bus Number"], 16), what + " start bus")
        eq([(h["dev"], h["fn"]) for h in g["hops"]], w["paths"], what + " path")
        if len(w["paths"]) == 1:
            d, f = w["paths"][0]
            eq(g["rid"], int(w["f"]["PCI Bus Number"], 16) << 8 | d << 3 | f, what + " rid")
        else:
            eq(g["bdf"], None, what + " multi-hop bdf (needs the live bridge)")


def check_dmar_against_asl(d, asl):
    structs = asl_dmar(asl)
    drhds = [s for s in structs if s["type"] == 0]
    eq(len(d["drhd"]), len(drhds), "DRHD count")
    for g, w in zip(d["drhd"], drhds):
        eq(g["reg_base"], int(w["f"]["Register Base Address"], 16), "DRHD base")
        eq(g["segment"], int(w["f"]["PCI Segment Number"], 16), "DRHD segment")
        eq(g["include_pci_all"], bool(int(w["f"]["Flags"], 16) & 1), "INCLUDE_PCI_ALL")
        check_scopes(g["scopes"], w["scopes"], "DRHD %#x" % g["reg_base"])
    rmrrs = [s for s in structs if s["type"] == 1]
    eq(len(d["rmrr"]), len(rmrrs), "RMRR count")
    for g, w in zip(d["rmrr"], rmrrs):
        eq(g["base"], int(w["f"]["Base Address"], 16), "RMRR base")
        eq(g["limit"], int(w["f"]["End Address (limit)"], 16), "RMRR limit")
        check_scopes(g["scopes"], w["scopes"], "RMRR")
    atsrs = [s for s in structs if s["type"] == 2]
    eq(len(d["atsr"]), len(atsrs), "ATSR count")
    for g, w in zip(d["atsr"], atsrs):
        eq(g["all_ports"], bool(int(w["f"]["Flags"], 16) & 1), "ATSR ALL_PORTS")
        check_scopes(g["scopes"], w["scopes"], "ATSR")
    rhsas = [s for s in structs if s["type"] == 3]
    eq(len(d["rhsa"]), len(rhsas), "RHSA count")
    for g, w in zip(d["rhsa"], rhsas):
        base = int(w["f"]["Base Address"], 16)
        eq(g["reg_base"], base, "RHSA base")
        eq(g["proximity_domain"], int(w["f"]["Proximity Domain"], 16), "RHSA domain")
        eq(d["drhd"][g["drhd_index"]]["reg_base"], base, "RHSA names its unit")
    andds = [s for s in structs if s["type"] == 4]
    eq([(a["device_number"], a["name"]) for a in d["andd"]],
       [(int(a["f"]["Device Number"], 16), a["f"]["Device Name"].strip('"')) for a in andds],
       "ANDD")


# ---- dmar -------------------------------------------------------------------

@test
def dmar_q35():
    d = run_json("dmar", os.path.join(AML, "dmar_q35.aml"))
    eq(d["header"]["signature"], "DMAR", "signature")
    eq(d["header"]["oem_id"], "BOCHS ", "OEM id")
    eq(d["host_addr_width"], 39, "HAW")
    eq(d["intr_remap"], True, "INTR_REMAP")
    eq(d["drhd"][0]["reg_base"], 0xfed90000, "q35 DRHD base")
    eq(d["drhd"][0]["scopes"][0]["type"], "ioapic", "first scope")
    eq([s["bdf"] for s in d["drhd"][0]["scopes"][1:]],
       ["0000:00:00.0", "0000:00:01.0", "0000:00:02.0", "0000:00:1f.0", "0000:00:1f.2",
        "0000:00:1f.3"], "q35 endpoint scopes")
    check_dmar_against_asl(d, "dmar_q35.asl")


@test
def dmar_multi():
    d = run_json("dmar", os.path.join(AML, "dmar_multi.aml"))
    eq(d["host_addr_width"], 48, "HAW")
    eq((d["intr_remap"], d["x2apic_opt_out"], d["dma_ctrl_platform_opt_in"]),
       (True, True, True), "flags")
    eq(d["drhd"][0]["proximity_domain"], 0, "RHSA on unit 0")
    eq(d["drhd"][1]["proximity_domain"], None, "no RHSA on unit 1")
    eq(d["drhd"][1]["scopes"][2].get("acpi_name"), "\\_SB.PCI0.UAR1", "ANDD name of the scope")
    check_dmar_against_asl(d, "dmar_multi.asl")


@test
def dmar_stdin_equals_file():
    path = os.path.join(AML, "dmar_multi.aml")
    a = run_json("dmar", path)
    code, out, err = run("--json", "dmar", "-", stdin=open(path, "rb").read())
    eq(code, 0, "exit of dmar -")
    b = json.loads(out)
    a.pop("source"), b.pop("source")
    eq(b, a, "dmar - output")


@test
def dmar_text_mode():
    code, out, _ = run("dmar", os.path.join(AML, "dmar_q35.aml"))
    eq(code, 0, "exit")
    text = out.decode()
    assert "reg_base: 0xfed90000" in text and "bdf: 0000:00:02.0" in text, text[:400]


def bad_table(name, mutate, cmd, want_msg):
    data = bytearray(open(os.path.join(AML, name), "rb").read())
    data = mutate(data)
    with tempfile.NamedTemporaryFile(suffix=".aml") as f:
        f.write(data)
        f.flush()
        code, out, err = run(cmd, f.name)
        eq(code, 1, f"exit of {cmd} on a bad table")
        assert re.search(want_msg, err), f"stderr lacks /{want_msg}/: {err}"
        return f.name, data


@test
def dmar_truncated():
    bad_table("dmar_q35.aml", lambda d: d[:100], "dmar", r"Length .*beyond")
    bad_table("dmar_q35.aml", lambda d: d[:30], "dmar", r"shorter than")


@test
def dmar_lying_scope_length():
    def mutate(d):
        d[48 + 16 + 1] = 0x40  # first scope of the DRHD claims 64 bytes
        d[9] = (d[9] - 0x38) & 0xff  # keep the checksum right
        return d
    bad_table("dmar_q35.aml", mutate, "dmar", r"iopt error")


@test
def dmar_bad_checksum():
    data = bytearray(open(os.path.join(AML, "dmar_q35.aml"), "rb").read())
    data[9] ^= 0x55
    with tempfile.NamedTemporaryFile(suffix=".aml") as f:
        f.write(data)
        f.flush()
        code, _, err = run("dmar", f.name)
        eq(code, 1, "exit on a bad checksum")
        assert "Checksum" in err, err
        code, _, err = run("dmar", "--allow-bad-checksum", f.name)
        eq(code, 0, "exit with --allow-bad-checksum")


@test
def dmar_wrong_kind_and_missing():
    eq(run("dmar", os.path.join(AML, "iort_smmuv3.aml"))[0], 1, "IORT given to dmar")
    eq(run("dmar", "/nonexistent/table")[0], 1, "missing file")
    eq(run("iort", os.path.join(AML, "dmar_q35.aml"))[0], 1, "DMAR given to iort")


# ---- iort -------------------------------------------------------------------

def asl_iort():
    nodes, cur, mapping = [], None, None
    for k, v in asl_fields("iort_smmuv3.asl"):
        if k == "Type":
            cur = {"type": int(v, 16), "f": {}, "maps": []}
            nodes.append(cur)
            mapping = None
        elif k == "Input base" and cur is not None:
            mapping = {"Input base": int(v, 16)}
            cur["maps"].append(mapping)
        elif mapping is not None:
            mapping[k] = v
        elif cur is not None:
            cur["f"][k] = v
    return nodes


@test
def iort_nodes_and_mappings():
    d = run_json("iort", os.path.join(AML, "iort_smmuv3.aml"))
    want = asl_iort()
    eq([n["type_code"] for n in d["nodes"]], [n["type"] for n in want], "node types")
    by_off = {n["table_offset"]: n for n in d["nodes"]}
    for g, w in zip(d["nodes"], want):
        eq(len(g["mappings"]), len(w["maps"]), "mapping count")
        for gm, wm in zip(g["mappings"], w["maps"]):
            eq(gm["input_base"], wm["Input base"], "input base")
            eq(gm["count"], int(wm["ID Count"], 16) + 1, "count")
            eq(gm["output_base"], int(wm["Output Base"], 16), "output base")
            ref = int(wm["Output Reference"], 16)
            eq(gm["output_ref"], ref, "output reference")
            eq(gm["output_type"], by_off[ref]["type"], "output node type")
    smmu = [n for n in d["nodes"] if n["type"] == "smmu-v3"][0]
    eq(smmu["smmuv3"]["base"], 0x09050000, "SMMUv3 base")
    eq(smmu["smmuv3"]["base"], int([n for n in want if n["type"] == 4][0]["f"]["Base Address"], 16),
       "SMMUv3 base from the ASL")
    eq(smmu["smmuv3"]["event_gsiv"], 0x6a, "event GSIV")
    eq(smmu["smmuv3"]["coherent"], True, "COHACC")


@test
def iort_rid_to_streamid():
    want = asl_iort()
    rc_map = [n for n in want if n["type"] == 2][0]["maps"][0]
    for rid in (0x0, 0x10, 0x1f3, 0xffff):
        d = run_json("iort", "--rid", hex(rid), os.path.join(AML, "iort_smmuv3.aml"))
        got = d["lookup"][0]
        eq(got["smmuv3_base"], 0x09050000, "SMMU of rid %#x" % rid)
        eq(got["streamid"], int(rc_map["Output Base"], 16) + rid - rc_map["Input base"],
           "StreamID of rid %#x" % rid)
    eq(d["rid_map"][0]["streamid"], 0, "first RID of the root complex")
    eq(d["rid_map"][1]["rid"], 0xffff, "last RID of the root complex")


@test
def iort_truncated():
    bad_table("iort_smmuv3.aml", lambda d: d[:0x60], "iort", r"Length .*beyond")


# ---- regs / info on the three sim profiles ----------------------------------

def bits(v, hi, lo):
    return (v >> lo) & ((1 << (hi - lo + 1)) - 1)

# Field positions from the VT-d spec (11.4.2, 11.4.3): name -> (hi, lo, adjust).
CAP_FIELDS = {"ND": (2, 0, 0), "AFL": (3, 3, 0), "RWBF": (4, 4, 0), "PLMR": (5, 5, 0),
              "PHMR": (6, 6, 0), "CM": (7, 7, 0), "SAGAW": (12, 8, 0), "MGAW": (21, 16, 1),
              "ZLR": (22, 22, 0), "FRO": (33, 24, "x16"), "SLLPS": (37, 34, 0),
              "PSI": (39, 39, 0), "NFR": (47, 40, 1), "MAMV": (53, 48, 0), "DWD": (54, 54, 0),
              "DRD": (55, 55, 0), "FL1GP": (56, 56, 0), "PI": (59, 59, 0), "FL5LP": (60, 60, 0),
              "ESIRTPS": (62, 62, 0), "ESRTPS": (63, 63, 0)}
ECAP_FIELDS = {"C": (0, 0, 0), "QI": (1, 1, 0), "DT": (2, 2, 0), "IR": (3, 3, 0),
               "EIM": (4, 4, 0), "PT": (6, 6, 0), "SC": (7, 7, 0), "IRO": (17, 8, "x16"),
               "MHMV": (23, 20, 0), "MTS": (25, 25, 0), "NEST": (26, 26, 0),
               "PRS": (29, 29, 0), "ERS": (30, 30, 0), "SRS": (31, 31, 0),
               "NWFS": (33, 33, 0), "EAFS": (34, 34, 0), "PSS": (39, 35, 1),
               "PASID": (40, 40, 0), "DIT": (41, 41, 0), "PDS": (42, 42, 0),
               "SMTS": (43, 43, 0), "VCS": (44, 44, 0), "SLADS": (45, 45, 0),
               "SLTS": (46, 46, 0), "FLTS": (47, 47, 0), "SMPWCS": (48, 48, 0),
               "RPS": (49, 49, 0), "ADMS": (52, 52, 0), "RPRIVS": (53, 53, 0)}


def decode(v, fields):
    out = {}
    for name, (hi, lo, adj) in fields.items():
        x = bits(v, hi, lo)
        out[name] = x * 16 if adj == "x16" else x + adj
    return out


def full_profile():
    """The "full" model profile as lib/hwmodel/vtd/model.c documents it."""
    cap = (6 | 0xe << 8 | 56 << 16 | 1 << 22 | 0x40 << 24 | 3 << 34 | 1 << 39 | 7 << 40
           | 18 << 48 | 1 << 54 | 1 << 55 | 1 << 56 | 1 << 60)
    ecap = (1 << 1 | 1 << 2 | 1 << 6 | 0x50 << 8 | 15 << 20 | 1 << 26 | 1 << 29 | 1 << 31
            | 19 << 35 | 1 << 40 | 1 << 43 | 1 << 45 | 1 << 46 | 1 << 47)
    return 0x40, cap, ecap

# QEMU 7.2 intel-iommu (QEMU.md), legacy and x-scalable-mode.
PROFILES = {
    "sim:vtd": (0x10, 0x00d2008c22260206, 0xf42),
    "sim:vtd-scalable": (0x10, 0x00d2008c22260206, 0x480080000f42),
    "sim:vtd-full": full_profile(),
}


@test
def regs_per_profile():
    for be, (ver, cap, ecap) in PROFILES.items():
        u = run_json("--backend", be, "regs")["units"][0]
        r = u["registers"]
        eq(u["reg_base"], 0xfed90000, be + " unit base")
        eq(r["VER"]["value"], ver, be + " VER")
        eq(r["VER"]["fields"], {"MAX": ver >> 4, "MIN": ver & 15}, be + " VER fields")
        eq(r["CAP"]["value"], cap, be + " CAP")
        eq(r["ECAP"]["value"], ecap, be + " ECAP")
        eq(r["CAP"]["fields"], decode(cap, CAP_FIELDS), be + " CAP fields")
        eq(r["ECAP"]["fields"], decode(ecap, ECAP_FIELDS), be + " ECAP fields")
        eq(r["GSTS"]["value"], 0, be + " GSTS at reset")
        eq(r["RTADDR"]["value"], 0, be + " RTADDR at reset")
        eq(r["IVA"]["offset"], bits(ecap, 17, 8) * 16, be + " IVA at ECAP.IRO")
        eq(r["IOTLB"]["offset"], bits(ecap, 17, 8) * 16 + 8, be + " IOTLB")
        frs = u["fault_records"]
        eq(len(frs), bits(cap, 47, 40) + 1, be + " fault records = NFR + 1")
        eq(frs[0]["offset"], bits(cap, 33, 24) * 16, be + " first record at FRO")
        assert not any(f["F"] for f in frs), be + " no fault recorded at reset"


@test
def regs_after_bringup():
    for be, ttm in (("sim:vtd", 0), ("sim:vtd-scalable", 1), ("sim:vtd-full", 1)):
        r = run_json("--backend", be, "--sim-setup", "demo", "regs")["units"][0]["registers"]
        g = r["GSTS"]["fields"]
        eq((g["TES"], g["RTPS"], g["QIES"]), (1, 1, 1), be + " TES/RTPS/QIES after bring-up")
        eq(r["RTADDR"]["fields"]["TTM"], ttm, be + " TTM")
        eq(r["RTADDR"]["fields"]["RTA"], r["RTADDR"]["value"] & ~0xfff, be + " RTA")
        assert r["RTADDR"]["fields"]["RTA"] != 0, be + " root table set"
        eq(r["IQA"]["fields"]["DW"], ttm, be + " 256-bit descriptors in scalable mode")
        eq(r["IQH"]["value"], r["IQT"]["value"], be + " queue drained")


@test
def regs_unit_option():
    eq(len(run_json("regs", "--unit", "0")["units"]), 1, "--unit 0")
    eq(run("regs", "--unit", "5")[0], 2, "--unit beyond the DMAR")


@test
def info_per_profile():
    want = {"sim:vtd": ("legacy", [39], False, 0), "sim:vtd-scalable": ("scalable", [39], False, 0),
            "sim:vtd-full": ("scalable", [39, 48, 57], True, 20)}
    q35 = run_json("dmar", os.path.join(AML, "dmar_q35.aml"))["drhd"][0]["scopes"]
    for be, (mode, widths, pasid, pss) in want.items():
        d = run_json("--backend", be, "info")
        u = d["units"][0]
        eq(u["driver_supported"], True, be + " driver runs on it")
        eq(u["driver_mode"], mode, be + " driver mode")
        eq(u["caps"]["address_widths"], widths, be + " address widths")
        eq(u["caps"]["pasid"], pasid, be + " PASID")
        eq(u["caps"]["pasid_bits"], pss, be + " PASID bits")
        eq(u["caps"]["qi"], True, be + " QI")
        eq(u["caps"]["coherent"], False, be + " walks not coherent")
        eq(u["caps"]["nr_domains"], 65536, be + " ND=6")
        eq(u["current"]["translation_enabled"], False, be + " TE off at reset")
        eq(u["version"], "%d.%d" % (PROFILES[be][0] >> 4, PROFILES[be][0] & 15), be + " version")
        # The sim platform's DMAR lists QEMU's q35 devices (plus 00:03.0).
        bdfs = [s["bdf"] for s in u["devices"]]
        for s in q35:
            assert s["bdf"] in bdfs, f"{be}: {s['bdf']} of QEMU's DMAR not in scope"
    d = run_json("--backend", "sim:vtd-scalable", "--sim-setup", "demo", "info")
    eq(d["units"][0]["current"]["ttm"], "scalable", "TTM after bring-up")
    eq(d["units"][0]["current"]["translation_enabled"], True, "TE after bring-up")


@test
def info_with_given_dmar():
    code, out, err = run("--json", "--dmar", os.path.join(AML, "dmar_multi.aml"), "info")
    eq(code, 0, "exit: " + err)
    d = json.loads(out)
    eq([u["reg_base"] for u in d["units"]], [0xfed90000, 0xfed91000, 0xfed92000], "units")
    eq(d["units"][0]["driver_supported"], True, "the model is at the first unit")
    assert "error" in d["units"][1] and "registers not mapped" in d["units"][1]["error"]
    eq(d["rmrr"][0]["base"], 0x3e000000, "RMRR")


# ---- walk -------------------------------------------------------------------

def walk(be, *args, rc=0, setup=True):
    pre = ["--backend", be] + (["--sim-setup", "demo"] if setup else [])
    return run_json(*pre, "walk", *args, rc=rc)


def mapping(d, iova, pasid=None):
    for m in d["sim_setup"]["mappings"]:
        if m["iova"] == iova and m.get("pasid") == pasid:
            return m
    raise AssertionError("no demo mapping at %#x" % iova)


SM = {"sim:vtd": False, "sim:vtd-scalable": True, "sim:vtd-full": True}


@test
def walk_translates():
    for be, sm in SM.items():
        d = walk(be, "--dev", "00:02.0", "0x100123")
        r = d["result"]
        eq(r["translated"], True, be)
        eq(r["pa"], mapping(d, 0x100000)["pa"] + 0x123, be + " PA")
        eq((r["page_size"], r["r"], r["w"]), (4096, True, True), be + " page and perms")
        eq(d["model_check"]["agrees"], True, be + " model agrees")
        levels = 4 if be == "sim:vtd-full" else 3
        eq(len(d["steps"]), levels + (4 if sm else 2), be + " entries walked")
        eq(d["steps"][-1]["structure"], "SS-PTE", be + " last step")
        eq(d["steps"][-1]["fields"]["ADDR"], mapping(d, 0x100000)["pa"], be + " PTE address")


@test
def walk_large_page_and_read_only():
    for be in SM:
        d = walk(be, "--dev", "00:02.0", "0x40012345")
        eq(d["result"]["page_size"], 0x200000, be + " 2M page")
        eq(d["result"]["pa"], mapping(d, 0x40000000)["pa"] + 0x12345, be + " 2M PA")
        eq(d["steps"][-1]["fields"]["PS"], True, be + " PS at the PDE")
        d = walk(be, "--dev", "00:02.0", "0x101008")
        eq((d["result"]["r"], d["result"]["w"]), (True, False), be + " read-only page")


@test
def walk_faults():
    cases = [  # args, legacy reason, scalable reason
        (("--dev", "00:02.0", "--write", "0x101000"), 0x05, 0x79),  # write to read-only
        (("--dev", "00:02.0", "0x7000"), 0x06, 0x79),               # not mapped
        (("--dev", "00:03.0", "0x1000"), 0x02, 0x41),               # context not present
        (("--dev", "00:02.0", str(1 << 39)), 0x04, 0x83),           # beyond 39 bits
    ]
    for be, sm in SM.items():
        for args, leg, sc in cases:
            if be == "sim:vtd-full" and args[-1] == str(1 << 39):
                args = args[:-1] + (str(1 << 48),)
            d = walk(be, *args, rc=1)
            eq(d["result"]["translated"], False, f"{be} {args}")
            eq(d["result"]["fault"]["reason"], sc if sm else leg, f"{be} {args} reason")
            eq(d["model_check"]["agrees"], True, f"{be} {args} model agrees")
            eq(d["model_check"]["reason"], d["result"]["fault"]["reason"], f"{be} {args} model")
            # The model recorded it; the driver's decoder reads it back.
            rec = d["model_check"]["fault_record"]
            eq((rec["reason"], rec["sid"], rec["addr"]),
               (d["result"]["fault"]["reason"], d["request"]["rid"],
                int(args[-1], 0) & ~0xfff), f"{be} {args} fault record")
            eq(rec["access"], "write" if "--write" in args else "read", f"{be} {args} access")


@test
def walk_passthrough_and_untranslated():
    for be in SM:
        d = walk(be, "--dev", "00:01.0", "0x5000")
        eq((d["result"]["passthrough"], d["result"]["pa"]), (True, 0x5000), be + " pass-through")
        eq((d["model_check"]["rc"], d["model_check"]["agrees"]), (-5, True),
           be + " no memory at 0x5000: a target abort")
        # Pass-through onto real memory: the model reads what is there.
        pa = mapping(d, 0x100000)["pa"] + 8
        d = walk(be, "--dev", "00:01.0", hex(pa))
        eq((d["result"]["pa"], d["model_check"]["rc"], d["model_check"]["agrees"]),
           (pa, 0, True), be + " pass-through onto page A")
        d = walk(be, "--dev", "00:02.0", "0x5000", setup=False)
        eq((d["result"]["passthrough"], d["result"]["pa"]), (True, 0x5000), be + " TE off")
        eq(d["steps"], [], be + " nothing walked with TE off")


@test
def walk_pasid():
    d = walk("sim:vtd-full", "--dev", "00:02.0", "--pasid", "5", "--write", "0x200010")
    eq(d["result"]["pa"], mapping(d, 0x200000, 5)["pa"] + 0x10, "first-stage PA")
    eq([s["structure"] for s in d["steps"]][-4:], ["FS-PML4E", "FS-PDPE", "FS-PDE", "FS-PTE"],
       "first-stage levels")
    eq(d["steps"][3]["fields"]["PGTT"], 1, "PGTT first stage")
    eq(d["model_check"]["agrees"], True, "model agrees")
    d = walk("sim:vtd-full", "--dev", "00:02.0", "--pasid", "6", "0x200010", rc=1)
    eq(d["result"]["fault"]["reason"], 0x59, "PASID entry not present")
    d = walk("sim:vtd-scalable", "--dev", "00:02.0", "--pasid", "5", "0x200010", rc=1)
    eq(d["result"]["fault"]["reason"], 0x45, "PASIDE clear")
    d = walk("sim:vtd", "--dev", "00:02.0", "--pasid", "5", "0x200010", rc=1)
    eq(d["result"]["fault"]["reason"], 0x31, "PASID in legacy mode")


@test
def walk_nested():
    d = walk("sim:vtd-full", "--dev", "00:02.0", "--pasid", "7", "0x200010")
    eq(d["result"]["pa"], mapping(d, 0x200000, 7)["pa"] + 0x10, "nested PA")
    eq((d["result"]["r"], d["result"]["w"]), (True, False), "both stages' permissions")
    eq(d["steps"][3]["fields"]["PGTT"], 3, "PGTT nested")
    nested = [s["nested_for"] for s in d["steps"] if "nested_for" in s]
    for what in ("first-stage root table", "FS-PDPE", "FS-PDE", "FS-PTE", "first-stage output"):
        assert what in nested, f"no second-stage walk for {what}: {nested}"
    eq(d["model_check"]["agrees"], True, "model agrees")
    # The first stage allows the write; the read-only second stage does not.
    d = walk("sim:vtd-full", "--dev", "00:02.0", "--pasid", "7", "--write", "0x200010", rc=1)
    eq(d["result"]["fault"]["reason"], 0x79, "second stage refuses the write")
    eq(d["model_check"]["agrees"], True, "model agrees on the write")
    eq(d["model_check"]["fault_record"]["pasid"], 7, "fault record names the PASID")


@test
def walk_device_out_of_scope():
    code, _, err = run("--sim-setup", "demo", "walk", "--dev", "00:04.0", "0x1000")
    eq(code, 1, "exit")
    assert "scope" in err, err


# ---- usage, pending subcommands, real backends ---------------------------------

@test
def help_and_usage():
    code, out, _ = run("--help")
    eq(code, 0, "--help")
    text = out.decode()
    for c in ("info", "regs", "walk", "faults", "dmar", "iort", "selftest"):
        assert "  " + c in text, c
    assert "Exit codes" in text and "3  backend unavailable" in text
    for c in ("info", "regs", "walk", "faults", "dmar", "iort", "selftest"):
        code, out, _ = run(c, "--help")
        eq(code, 0, c + " --help")
        assert ("usage: iommuctl " + c) in out.decode(), c
    for args in ((), ("nosuchcmd",), ("--backend", "sim:nope", "info"), ("dmar",),
                 ("dmar", "a", "b"), ("walk", "0x1000"), ("walk", "--dev", "00:02.0"),
                 ("walk", "--dev", "zz", "0x1000"), ("walk", "--dev", "00:02.0", "0xg"),
                 ("regs", "extra"), ("info", "x"), ("--backend", "uio", "--sim-setup", "demo",
                                                    "info"), ("--sim-setup", "other", "info"),
                 ("iort", "--rid", "0x10000", "x"), ("--backend",)):
        eq(run(*args)[0], 2, "usage error: %r" % (args,))


# ---- faults and selftest --------------------------------------------------------

# The sim machine's test devices: edu<i> is 00:0(2+i).0 (lib/hwmodel/sim_machine.c),
# requester id (bus << 8 | dev << 3 | fn).
EDU_RID = {"edu0": 0x10, "edu1": 0x18}
# VT-d fault reasons for a write to a leaf that grants no write access
# (VT-d spec Appendix A): legacy LGN.2 = 0x5, scalable SSL.2 = 0x79.
WRITE_REASON = {"sim:vtd": 0x05, "sim:vtd-scalable": 0x79, "sim:vtd-full": 0x79}
SIM_BACKENDS = ("sim:vtd", "sim:vtd-scalable", "sim:vtd-full")


@test
def faults_none_by_default():
    for be in SIM_BACKENDS:
        d = run_json("--backend", be, "faults")
        eq(d["backend"], be, "backend")
        eq(d["records"], [], be + " records on a fresh unit")
        eq(d["count"], 0, be + " count")
        eq(d["lost"], 0, be + " lost")
        assert "provoked" not in d, d


@test
def faults_provoked_decoded():
    for be in SIM_BACKENDS:
        for dev in ("edu0", "edu1"):
            d = run_json("--backend", be, "faults", "--provoke", "--dev", dev)
            p = d["provoked"]
            eq(p["blocked"], True, be + " provoked DMA blocked")
            eq(d["count"], 1, be + " one record")
            eq(len(d["records"]), 1, be + " records")
            r = d["records"][0]
            eq(r["kind"], "fault", "kind")
            eq(r["rid"], EDU_RID[dev], be + " requester id")
            rid = EDU_RID[dev]
            eq(r["requester"], "%02x:%02x.%d" % (rid >> 8, (rid >> 3) & 0x1f, rid & 7),
               "requester")
            eq(r["dev_id"], p["dev_id"], "dev_id")
            eq(r["addr"], p["iova"] & ~0xfff, "fault address (page)")
            eq(r["addr"], 0x7000000, "fault address")
            eq(r["access"], "write", "access")
            eq(r["pasid"], None, "pasid")
            eq(r["reason"], WRITE_REASON[be], be + " reason")
            assert r["reason_text"] and "unknown" not in r["reason_text"], r


@test
def faults_text_and_usage():
    code, out, _ = run("faults", "--provoke")
    eq(code, 0, "faults --provoke")
    text = out.decode()
    assert "reason_text: write to a page without write permission" in text, text
    assert "requester: 00:02.0" in text, text
    eq(run("faults", "extra")[0], 2, "faults extra")
    eq(run("--backend", "uio", "faults", "--provoke")[0], 2, "--provoke off sim")


def check_selftest(d, be, dev):
    eq(d["backend"], be, "backend")
    eq(d["device"], dev, "device")
    eq([s["step"] for s in d["steps"]],
       ["bind", "attach", "map", "dma_write", "dma_read", "unmap", "dma_faults"], "steps")
    for s in d["steps"]:
        eq(s["ok"], True, "%s %s: %s" % (be, s["step"], s["detail"]))
    eq(d["verdict"], "pass", "verdict")
    assert "reason 0x%02x" % WRITE_REASON[be] in d["steps"][-1]["detail"], d["steps"][-1]


@test
def selftest_passes():
    for be in SIM_BACKENDS:
        check_selftest(run_json("--backend", be, "selftest"), be, "edu0")
    check_selftest(run_json("selftest", "--dev", "edu1"), "sim:vtd", "edu1")
    check_selftest(run_json("selftest", "--dev", "0000:00:03.0"), "sim:vtd", "0000:00:03.0")


@test
def selftest_fails_and_usage():
    # 00:1f.0 is in no unit's scope: bind fails, the verdict is fail, exit 1
    d = run_json("selftest", "--dev", "00:1f.0", rc=1)
    eq(d["verdict"], "fail", "verdict")
    eq(d["steps"][0]["step"], "bind", "first step")
    eq(d["steps"][0]["ok"], False, "bind fails")
    eq(len(d["steps"]), 1, "stops at the failed step")
    code, out, _ = run("selftest")
    eq(code, 0, "text selftest")
    assert "verdict: pass" in out.decode(), out
    eq(run("selftest", "--dev")[0], 2, "--dev without a value")
    eq(run("selftest", "x")[0], 2, "selftest x")


@test
def real_backend_unavailable():
    if os.access("/sys/firmware/acpi/tables/DMAR", os.R_OK):
        skip("this machine has a readable DMAR")
    for be in ("uio", "vfio-noiommu"):
        code, _, err = run("--backend", be, "info")
        eq(code, 3, be + " without a DMAR")
        assert "no DMAR" in err, err
        # selftest: no DMAR, or no huge pages for its memory: unavailable either way
        code, _, err = run("--backend", be, "selftest", "--dev", "00:02.0")
        eq(code, 3, be + " selftest without a DMAR")
        assert "cannot open backend " + be in err, err


# ---- the other sim backends: coherent, quirks, two units ---------------------------

# Where the sim machine puts unit i's registers (include/iopt_internal/sim_machine.h:
# SIM_MACHINE_VTD_BASE + i * SIM_MACHINE_VTD_STRIDE).
def unit_base(i):
    return 0xfed90000 + i * 0x10000

# sim:vtd-quirks (lib/iopt/main.c): q35 with CAP.RWBF (bit 4) and CAP.CM (bit 7)
# set, ECAP.QI (bit 1) and ECAP.PT (bit 6) clear (VT-d 11.4.2, 11.4.3).
QUIRKS = (0x10, PROFILES["sim:vtd"][1] | 1 << 4 | 1 << 7, PROFILES["sim:vtd"][2] & ~(1 << 1 | 1 << 6))
# sim:vtd-coherent: the full profile with ECAP.C (bit 0).
COHERENT = (0x40, full_profile()[1], full_profile()[2] | 1)
# sim:vtd-2units: unit 0 q35 legacy naming edu0 and edu1, unit 1 the full
# profile (not coherent) with INCLUDE_PCI_ALL, behind which are edu2 and edu3.
TWO_UNITS = (PROFILES["sim:vtd"], full_profile())


def check_regs(u, prof, what):
    ver, cap, ecap = prof
    r = u["registers"]
    eq((r["VER"]["value"], r["CAP"]["value"], r["ECAP"]["value"]), (ver, cap, ecap), what)
    eq(r["CAP"]["fields"], decode(cap, CAP_FIELDS), what + " CAP fields")
    eq(r["ECAP"]["fields"], decode(ecap, ECAP_FIELDS), what + " ECAP fields")


@test
def help_lists_every_backend():
    text = run("--help")[1].decode()
    for be in ("sim:vtd", "sim:vtd-scalable", "sim:vtd-full", "sim:vtd-coherent",
               "sim:vtd-quirks", "sim:vtd-2units", "uio", "vfio-noiommu"):
        assert be + ":" in text, be + " not in --help"


@test
def quirks_decoded():
    d = run_json("--backend", "sim:vtd-quirks", "info")
    u = d["units"][0]
    eq(d["model_profile"], "qemu-q35", "profile")
    eq(u["driver_supported"], True, "the driver runs on it")
    eq(u["driver_mode"], "legacy", "mode")
    c = u["caps"]
    eq((c["cm"], c["rwbf"], c["pt"], c["qi"]), (True, True, False, False), "CM RWBF PT QI")
    check_regs(run_json("--backend", "sim:vtd-quirks", "regs")["units"][0], QUIRKS, "quirks regs")
    r = run_json("--backend", "sim:vtd-quirks", "regs")["units"][0]["registers"]
    eq((r["CAP"]["fields"]["CM"], r["CAP"]["fields"]["RWBF"]), (1, 1), "CAP CM RWBF")
    eq((r["ECAP"]["fields"]["QI"], r["ECAP"]["fields"]["PT"]), (0, 0), "ECAP QI PT")
    # Brought up without QI (register-based invalidation), and without PT
    # the demo gives 00:01.0 no pass-through context.
    g = run_json("--backend", "sim:vtd-quirks", "--sim-setup", "demo", "regs")[
        "units"][0]["registers"]["GSTS"]["fields"]
    eq((g["TES"], g["RTPS"], g["QIES"]), (1, 1, 0), "TES RTPS, no QIES")
    d = walk("sim:vtd-quirks", "--dev", "00:02.0", "0x100008")
    eq(d["result"]["pa"], mapping(d, 0x100000)["pa"] + 8, "quirks walk")
    eq(d["model_check"]["agrees"], True, "model agrees")
    eq(d["sim_setup"]["passthrough_00_01_0"], False, "no pass-through without ECAP.PT")
    d = walk("sim:vtd-quirks", "--dev", "00:01.0", "0x5000", rc=1)
    eq(d["result"]["fault"]["reason"], 0x02, "00:01.0 context not present")
    eq(d["model_check"]["agrees"], True, "model agrees on the fault")


@test
def coherent_decoded():
    u = run_json("--backend", "sim:vtd-coherent", "info")["units"][0]
    eq((u["caps"]["coherent"], u["driver_mode"]), (True, "legacy"), "coherent full unit, run in legacy mode")
    check_regs(run_json("--backend", "sim:vtd-coherent", "regs")["units"][0], COHERENT,
               "coherent regs")
    # the demo is built in the mode the library runs the unit in: legacy
    d = walk("sim:vtd-coherent", "--dev", "00:02.0", "--write", "0x100010")
    eq(d["result"]["pa"], mapping(d, 0x100000)["pa"] + 0x10, "second-stage PA")
    eq(d["steps"][1]["structure"], "context entry", "legacy context entry")
    eq(d["model_check"]["agrees"], True, "model agrees")


@test
def two_units_info():
    d = run_json("--backend", "sim:vtd-2units", "info")
    eq(d["unit_profiles"], ["qemu-q35", "full"], "each unit's model profile")
    assert "unit_profiles" not in run_json("info"), "one unit: model_profile only"
    us = d["units"]
    eq([u["index"] for u in us], [0, 1], "two units")
    eq([u["reg_base"] for u in us], [unit_base(0), unit_base(1)], "register bases")
    eq([u["include_pci_all"] for u in us], [False, True], "INCLUDE_PCI_ALL on the last")
    eq([s["bdf"] for s in us[0]["devices"]], ["0000:00:02.0", "0000:00:03.0"],
       "unit 0 names edu0 and edu1")
    eq([s["type"] for s in us[0]["devices"]], ["pci-endpoint"] * 2, "endpoint scopes")
    eq(us[1]["devices"], [], "unit 1: no scopes (INCLUDE_PCI_ALL)")
    eq([u["driver_mode"] for u in us], ["legacy", "scalable"], "modes")
    eq([u["version"] for u in us], ["1.0", "4.0"], "versions")
    eq([u["caps"]["pasid"] for u in us], [False, True], "PASID on unit 1 only")
    eq([u["caps"]["coherent"] for u in us], [False, False], "neither coherent")
    eq([u["current"]["translation_enabled"] for u in us], [False, False], "both at reset")
    # The library's context on the same backend brings both units up.
    d = run_json("--backend", "sim:vtd-2units", "--setup", "demo", "--setup-dev", "00:04.0",
                 "info")
    eq([(u["current"]["translation_enabled"], u["current"]["ttm"]) for u in d["units"]],
       [(True, "legacy"), (True, "scalable")], "live: both units translating")
    eq(d["setup"]["device"], "00:04.0", "live device")


@test
def two_units_regs():
    d = run_json("--backend", "sim:vtd-2units", "regs", "--unit", "1")
    eq(len(d["units"]), 1, "--unit 1: one unit")
    u = d["units"][0]
    eq((u["index"], u["reg_base"]), (1, unit_base(1)), "unit 1")
    check_regs(u, (0x40, full_profile()[1], full_profile()[2]), "unit 1 regs")
    us = run_json("--backend", "sim:vtd-2units", "regs")["units"]
    eq(len(us), 2, "both units dumped")
    for i, prof in enumerate(TWO_UNITS):
        check_regs(us[i], prof, "unit %d regs" % i)
    eq(run("--backend", "sim:vtd-2units", "regs", "--unit", "2")[0], 2, "no unit 2")


@test
def two_units_walk():
    # 00:04.0 (edu2) is in no explicit scope: the INCLUDE_PCI_ALL unit translates it.
    d = walk("sim:vtd-2units", "--dev", "00:04.0", "0x100123")
    eq((d["unit"], d["reg_base"]), (1, unit_base(1)), "walked on unit 1")
    eq(d["sim_setup"]["mode"], "scalable", "unit 1's demo")
    eq(mapping(d, 0x100000)["dev"], "00:04.0", "unit 1's demo device")
    eq(d["result"]["pa"], mapping(d, 0x100000)["pa"] + 0x123, "PA")
    eq(d["steps"][0]["structure"], "scalable root entry", "scalable tables")
    eq(len(d["steps"]), 4 + 4, "root, context, PASID dir and entry, 4 levels")
    eq(d["model_check"]["agrees"], True, "unit 1's model agrees")
    d = walk("sim:vtd-2units", "--dev", "00:04.0", "--write", "0x101000", rc=1)
    eq((d["unit"], d["result"]["fault"]["reason"]), (1, 0x79), "write to read-only, SSL.2")
    eq(d["model_check"]["agrees"], True, "model agrees on the fault")
    eq(d["model_check"]["fault_record"]["sid"], 0x20, "recorded on unit 1 for 00:04.0")
    d = walk("sim:vtd-2units", "--dev", "00:04.0", "--pasid", "5", "0x200010")
    eq(d["result"]["pa"], mapping(d, 0x200000, 5)["pa"] + 0x10, "first stage on unit 1")
    eq(d["model_check"]["agrees"], True, "model agrees (PASID)")
    d = walk("sim:vtd-2units", "--dev", "00:05.0", "0x1000", rc=1)
    eq((d["unit"], d["result"]["fault"]["reason"]), (1, 0x41), "edu3: no context entry")
    # edu0 stays on the legacy unit 0 with its own demo.
    d = walk("sim:vtd-2units", "--dev", "00:02.0", "0x100123")
    eq((d["unit"], d["sim_setup"]["mode"]), (0, "legacy"), "edu0 on unit 0")
    eq(d["result"]["pa"], mapping(d, 0x100000)["pa"] + 0x123, "unit 0 PA")
    eq(d["model_check"]["agrees"], True, "unit 0's model agrees")
    # The live unit 1 (library context): the device's DMA agrees with the walk.
    d = run_json("--backend", "sim:vtd-2units", "--setup", "demo", "--setup-dev", "00:04.0",
                 "walk", "--dev", "00:04.0", "0x100000")
    eq(d["unit"], 1, "live walk on unit 1")
    eq(d["result"]["translated"], True, "live translation")
    eq(d["dma_check"]["agrees"], True, "edu2's DMA agrees")


@test
def two_units_selftest_and_faults():
    for dev, reason in (("edu0", 0x05), ("edu2", 0x79)):
        d = run_json("--backend", "sim:vtd-2units", "selftest", "--dev", dev)
        eq(d["device"], dev, "device")
        for st in d["steps"]:
            eq(st["ok"], True, "%s %s: %s" % (dev, st["step"], st["detail"]))
        eq(d["verdict"], "pass", dev + " verdict")
        assert "reason 0x%02x" % reason in d["steps"][-1]["detail"], d["steps"][-1]
        d = run_json("--backend", "sim:vtd-2units", "faults", "--provoke", "--dev", dev)
        eq(d["count"], 1, dev + " one record")
        r = d["records"][0]
        eq((r["rid"], r["reason"]), ({"edu0": 0x10, "edu2": 0x20}[dev], reason), dev + " record")
    for be, reason in (("sim:vtd-quirks", 0x05), ("sim:vtd-coherent", 0x05)):
        d = run_json("--backend", be, "selftest")
        eq(d["verdict"], "pass", be + " verdict")
        assert "reason 0x%02x" % reason in d["steps"][-1]["detail"], d["steps"][-1]


@test
def two_units_given_dmar():
    # --dmar: DRHD i gets the backend's unit i; the third DRHD has none.
    d = run_json("--backend", "sim:vtd-2units", "--dmar", os.path.join(AML, "dmar_multi.aml"),
                 "info")
    us = d["units"]
    eq([u["reg_base"] for u in us], [0xfed90000, 0xfed91000, 0xfed92000], "units")
    eq([u.get("driver_mode") for u in us[:2]], ["legacy", "scalable"], "the two models")
    assert "registers not mapped" in us[2]["error"], us[2]


finish()
