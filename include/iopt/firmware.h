/**
 * @file
 * Firmware tables that describe where the IOMMUs are and which devices they
 * translate: ACPI DMAR (Intel VT-d), ACPI IORT (Arm SMMUv3) and, where there
 * is no IORT, the flattened device tree's smmuv3 node (QEMU's `virt`).
 *
 * Each parser takes a byte buffer (read from a file, from
 * /sys/firmware/acpi/tables/<NAME> or from /sys/firmware/fdt with the read
 * calls below, or built in memory) and returns a result object of plain C
 * structs: arrays with counts, table offsets kept for diagnostics, and
 * references between entries resolved to pointers into the same object. A
 * driver consumes them without knowing ACPI or devicetree encodings. Each
 * result is one allocation, released with its *_free() call; it does not
 * point into the input buffer, which may be freed as soon as parsing returns.
 *
 * Firmware is untrusted input. Every length, offset and count is checked
 * before it is used; reads are explicit little-endian (ACPI) or big-endian
 * (FDT) loads from the buffer, never struct casts. A table that lies gets a
 * negative errno and exactly one error log line naming the field and its
 * byte offset in the table, and no result:
 *   - -EPROTO: the buffer is not a table of the expected kind at all (wrong
 *     signature or magic, bad checksum, unsupported version);
 *   - -EINVAL: a field inside is inconsistent (a length or offset outside
 *     the table or its parent structure, a zero or too-short sub-structure
 *     length, a count that overflows, a reference that does not point at a
 *     node, duplicate or overlapping entries where that makes the table
 *     ambiguous, a misaligned address).
 * Structure types the parser does not know (newer revisions of the specs)
 * are skipped by their length, as the specs require, and logged at debug.
 *
 * Checksums: an ACPI table whose bytes do not sum to zero is rejected with
 * -EPROTO by default, because a corrupted table cannot be told from a lying
 * one. Real firmware occasionally ships bad checksums (Linux accepts them
 * with a warning); pass IOPT_FW_F_ALLOW_BAD_CHECKSUM to accept such a table,
 * in which case the mismatch is logged as a warning and parsing continues
 * with every other check in force.
 *
 * Thread safety: the calls keep no global state; results are immutable and
 * may be read from any number of threads.
 */
#ifndef IOPT_FIRMWARE_H
#define IOPT_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Parse flag: accept an ACPI table with a bad checksum (logged as a warning). */
#define IOPT_FW_F_ALLOW_BAD_CHECKSUM (1U << 0)

/** Largest table or device tree the read calls accept (16 MiB). */
#define IOPT_FW_MAX_SIZE (16U << 20)

/* ------------------------------------------------------------------------ */
/* Reading tables                                                           */
/* ------------------------------------------------------------------------ */

/**
 * Read an ACPI table into a new buffer.
 *
 * @param name_or_path  a signature: exactly 4 characters of A-Z, 0-9 or '_'
 *                      ("DMAR", "IORT"), read from
 *                      /sys/firmware/acpi/tables/<NAME> (needs root); anything
 *                      else is a path to a file holding one binary table
 *                      (write "./DMAR" for a file of that name)
 * @param buf           set to a buffer the caller frees with
 *                      iopt_acpi_table_free()
 * @param len           set to the table's length (its header Length field,
 *                      which equals the file size)
 * @return 0, or
 *   -EINVAL   name_or_path, buf or len is NULL or empty;
 *   -ENOENT, -EACCES, ... the error of open() or read();
 *   -EFBIG    the file is larger than IOPT_FW_MAX_SIZE;
 *   -EPROTO   the file is shorter than an ACPI header, its Length field does
 *             not equal the file size, or (for a signature) the table's
 *             signature differs;
 *   -ENOMEM   out of memory.
 * The checksum is not checked here; the parsers check it.
 */
int iopt_acpi_table_read(const char *name_or_path, void **buf, size_t *len);

/** Free a buffer from iopt_acpi_table_read(). NULL is a no-op. */
void iopt_acpi_table_free(void *buf);

/**
 * Read a flattened device tree blob into a new buffer.
 *
 * @param path  a DTB file, or NULL for /sys/firmware/fdt
 * @param buf   set to a buffer the caller frees with iopt_fdt_blob_free()
 * @param len   set to its size
 * @return 0, or -EINVAL (buf or len NULL), the error of open()/read(),
 *   -EFBIG (larger than IOPT_FW_MAX_SIZE), -ENOMEM. The contents are
 *   checked by iopt_fdt_smmuv3_find(), not here.
 */
int iopt_fdt_blob_read(const char *path, void **buf, size_t *len);

/** Free a buffer from iopt_fdt_blob_read(). NULL is a no-op. */
void iopt_fdt_blob_free(void *buf);

/* ------------------------------------------------------------------------ */
/* ACPI DMAR (Intel VT-d spec, chapter 8 "BIOS Considerations")             */
/* ------------------------------------------------------------------------ */

/** DMAR Flags (VT-d §8.1). */
#define IOPT_DMAR_F_INTR_REMAP (1U << 0)
#define IOPT_DMAR_F_X2APIC_OPT_OUT (1U << 1)
#define IOPT_DMAR_F_DMA_CTRL_PLATFORM_OPT_IN (1U << 2)

/** Device scope types (VT-d §8.3.1). */
enum iopt_dmar_scope_type {
	IOPT_DMAR_SCOPE_PCI_ENDPOINT = 1,
	/** A PCI-PCI bridge: the scope covers the bridge and everything below it. */
	IOPT_DMAR_SCOPE_PCI_SUBHIERARCHY = 2,
	IOPT_DMAR_SCOPE_IOAPIC = 3,
	/** An MSI-capable HPET block. */
	IOPT_DMAR_SCOPE_HPET = 4,
	/** An ACPI namespace device; enumeration_id is its ANDD device number. */
	IOPT_DMAR_SCOPE_ACPI_NAMESPACE = 5,
};

/** One hop of a device scope path: a device and function on the current bus. */
struct iopt_dmar_path_hop {
	uint8_t dev; /**< 0..31 */
	uint8_t fn;  /**< 0..7 */
};

/**
 * A device scope. The device is found by starting at start_bus and, for
 * every hop but the last, moving to the secondary bus of the bridge at
 * (bus, dev, fn); the last hop names the device itself (see
 * iopt_dmar_scope_resolve()). For IOAPIC, HPET and ACPI namespace devices
 * the resolved BDF is the requester ID their interrupts and DMA carry.
 */
struct iopt_dmar_scope {
	enum iopt_dmar_scope_type type;
	uint8_t flags;          /**< the scope's Flags byte, as found */
	uint8_t enumeration_id; /**< IOAPIC id, HPET number, ANDD device number */
	uint8_t start_bus;
	uint32_t path_len;      /**< hops, >= 1 */
	const struct iopt_dmar_path_hop *path;
	/** ACPI_NAMESPACE scopes: the ANDD whose device number is enumeration_id. */
	const struct iopt_dmar_andd *andd;
	uint32_t table_offset;  /**< of the scope entry, for messages */
};

/** DRHD Flags (VT-d §8.3). */
#define IOPT_DMAR_DRHD_F_INCLUDE_PCI_ALL (1U << 0)

/** A DMA remapping hardware unit. */
struct iopt_dmar_drhd {
	uint8_t flags;
	bool include_pci_all; /**< covers every PCI device of the segment not in another unit's scope */
	uint16_t segment;
	uint64_t reg_base;    /**< register set, 4 KiB aligned */
	/**
	 * Register set size in bytes: 4 KiB << the DRHD Size field (bits 3:0).
	 * Tables older than VT-d 2.x have 0 there, which reads as 4 KiB: that is
	 * only the architectural minimum, so a driver should still check
	 * CAP/ECAP offsets against what it maps.
	 */
	uint64_t reg_size;
	uint32_t n_scopes;
	const struct iopt_dmar_scope *scopes;
	/** true when an RHSA names this unit. */
	bool has_proximity;
	uint32_t proximity_domain;
	/**
	 * NUMA node of the unit, or -1 when unknown. iopt does not parse SRAT,
	 * so the node is the proximity domain itself (identity mapping), which
	 * holds where firmware numbers domains from 0 as Linux numbers nodes;
	 * a domain above INT32_MAX gives -1.
	 */
	int numa_node;
	uint32_t table_offset;
};

/** Reserved memory region: DMA the devices in scope do before the OS (USB, GFX). */
struct iopt_dmar_rmrr {
	uint16_t segment;
	uint64_t base;  /**< 4 KiB aligned */
	uint64_t limit; /**< inclusive; limit + 1 is 4 KiB aligned */
	uint32_t n_scopes;
	const struct iopt_dmar_scope *scopes;
	uint32_t table_offset;
};

/** ATSR Flags (VT-d §8.5). */
#define IOPT_DMAR_ATSR_F_ALL_PORTS (1U << 0)

/** Root ports that support ATS (Address Translation Services). */
struct iopt_dmar_atsr {
	uint8_t flags;
	bool all_ports;
	uint16_t segment;
	uint32_t n_scopes;
	const struct iopt_dmar_scope *scopes;
	uint32_t table_offset;
};

/** Remapping hardware static affinity (register base -> proximity domain). */
struct iopt_dmar_rhsa {
	uint64_t reg_base;
	uint32_t proximity_domain;
	const struct iopt_dmar_drhd *drhd; /**< the unit it names (never NULL) */
	uint32_t table_offset;
};

/** ACPI namespace device declaration. */
struct iopt_dmar_andd {
	uint8_t device_number; /**< matched by ACPI_NAMESPACE scopes' enumeration_id */
	const char *name;      /**< ACPI object path, NUL-terminated */
	uint32_t table_offset;
};

/** SATC Flags (VT-d §8.8). */
#define IOPT_DMAR_SATC_F_ATC_REQUIRED (1U << 0)

/** SoC integrated address translation cache: integrated devices with an ATC. */
struct iopt_dmar_satc {
	uint8_t flags;
	bool atc_required;
	uint16_t segment;
	uint32_t n_scopes;
	const struct iopt_dmar_scope *scopes;
	uint32_t table_offset;
};

/** A parsed DMAR. Entries keep the order of the table. */
struct iopt_dmar {
	uint8_t revision;
	uint8_t host_addr_width; /**< bits of DMA address (the field + 1) */
	uint8_t flags;           /**< IOPT_DMAR_F_* */
	uint32_t n_drhd;
	const struct iopt_dmar_drhd *drhd;
	uint32_t n_rmrr;
	const struct iopt_dmar_rmrr *rmrr;
	uint32_t n_atsr;
	const struct iopt_dmar_atsr *atsr;
	uint32_t n_rhsa;
	const struct iopt_dmar_rhsa *rhsa;
	uint32_t n_andd;
	const struct iopt_dmar_andd *andd;
	uint32_t n_satc;
	const struct iopt_dmar_satc *satc;
};

/**
 * Parse a DMAR table.
 *
 * Checks, besides the header (signature "DMAR", Length within len, checksum),
 * every remapping structure and device scope: lengths (non-zero, at least the
 * fixed part, inside the table or the parent structure; paths of whole
 * hops), device/function ranges, 4 KiB alignment of register bases and RMRR
 * ranges (base <= limit), no two DRHDs with overlapping register sets, at
 * most one INCLUDE_PCI_ALL unit per segment, no PCI scope listed by two
 * units, one RHSA per unit and each naming an existing unit, unique ANDD
 * device numbers, every ACPI namespace scope naming a declared ANDD. Bytes
 * beyond the table's Length are ignored.
 *
 * @param buf    the table
 * @param len    bytes in buf
 * @param flags  IOPT_FW_F_*
 * @param out    set to the result, freed with iopt_dmar_free()
 * @return 0, or
 *   -EINVAL  buf or out is NULL, or a field is inconsistent (see the file
 *            comment; one error log line names it);
 *   -EPROTO  not a DMAR (signature), Length beyond len or smaller than the
 *            DMAR header, bad checksum without IOPT_FW_F_ALLOW_BAD_CHECKSUM;
 *   -ENOMEM  out of memory.
 */
int iopt_dmar_parse(const void *buf, size_t len, uint32_t flags, struct iopt_dmar **out);

/** Free a result of iopt_dmar_parse(). NULL is a no-op. */
void iopt_dmar_free(struct iopt_dmar *dmar);

/**
 * Reads the bus numbers of the PCI-PCI bridge at seg:bus:dev.fn (config
 * offsets 0x19 secondary and 0x1a subordinate).
 * @return 0, or a negative errno (-ENODEV when there is no bridge there),
 *         which the caller passes on.
 */
typedef int (*iopt_pci_bridge_buses_fn)(void *arg, uint16_t segment, uint8_t bus, uint8_t dev,
					uint8_t fn, uint8_t *secondary, uint8_t *subordinate);

/**
 * Resolve a device scope to the BDF (bus << 8 | dev << 3 | fn) it names.
 *
 * @param scope        a scope of a parsed DMAR
 * @param segment      the PCI segment of the structure holding the scope
 * @param buses        reads a bridge's bus numbers; called for every hop but
 *                     the last, and for the last one too when the scope is
 *                     a PCI_SUBHIERARCHY and secondary or subordinate is
 *                     wanted. May be NULL when it would not be called.
 * @param arg          passed to buses
 * @param bdf          set to the BDF
 * @param secondary    if not NULL, set to the bridge's secondary bus for a
 *                     PCI_SUBHIERARCHY scope, else -1
 * @param subordinate  if not NULL, likewise its subordinate bus (inclusive)
 * @return 0, or -EINVAL (NULL scope or bdf; a callback reported a secondary
 *   bus not above the bridge's own bus or a subordinate below the secondary,
 *   which would let paths loop: one log line), -EOPNOTSUPP (buses is NULL and
 *   is needed), or the callback's error.
 */
int iopt_dmar_scope_resolve(const struct iopt_dmar_scope *scope, uint16_t segment,
			    iopt_pci_bridge_buses_fn buses, void *arg, uint16_t *bdf,
			    int *secondary, int *subordinate);

/**
 * Find the remapping unit that translates the PCI device seg:bdf: first a
 * unit whose scope lists the device as an endpoint or bridge, then a unit
 * whose PCI_SUBHIERARCHY scope has the device below the bridge (the deepest
 * such bridge wins), and only then the segment's INCLUDE_PCI_ALL unit.
 *
 * @param dmar     a parsed DMAR
 * @param segment  PCI segment
 * @param bdf      bus << 8 | dev << 3 | fn
 * @param buses    as for iopt_dmar_scope_resolve(); may be NULL only when no
 *                 scope of the segment crosses a bridge or names one
 * @param arg      passed to buses
 * @param drhd     set to the unit
 * @return 0, or -EINVAL (NULL dmar or drhd), -ENOENT (no unit covers the
 *   device), -EOPNOTSUPP (a scope needed buses and it is NULL), or an error
 *   of the callback.
 */
int iopt_dmar_find_drhd(const struct iopt_dmar *dmar, uint16_t segment, uint16_t bdf,
			iopt_pci_bridge_buses_fn buses, void *arg,
			const struct iopt_dmar_drhd **drhd);

/* ------------------------------------------------------------------------ */
/* ACPI IORT (Arm DEN0049)                                                  */
/* ------------------------------------------------------------------------ */

/** IORT node types (DEN0049 table 4). */
enum iopt_iort_node_type {
	IOPT_IORT_NODE_ITS_GROUP = 0,
	IOPT_IORT_NODE_NAMED_COMPONENT = 1,
	IOPT_IORT_NODE_ROOT_COMPLEX = 2,
	IOPT_IORT_NODE_SMMU = 3, /**< SMMUv1/v2: kept as a node, no specific fields */
	IOPT_IORT_NODE_SMMUV3 = 4,
	IOPT_IORT_NODE_PMCG = 5, /**< kept as a node, no specific fields */
	IOPT_IORT_NODE_RMR = 6,  /**< kept as a node, no specific fields */
};

/** ID mapping flag (DEN0049 table 5): the mapping is the node's own single ID. */
#define IOPT_IORT_ID_SINGLE_MAPPING (1U << 0)

struct iopt_iort_node;

/** One ID mapping: input IDs [input_base, input_base + count) to output_base... */
struct iopt_iort_id_mapping {
	uint32_t input_base;
	/**
	 * Number of IDs, 1 .. 2^32. The table's "Number of IDs" field is this
	 * minus one.
	 */
	uint64_t count;
	uint32_t output_base;
	uint32_t output_ref;                    /**< table offset of the target node */
	const struct iopt_iort_node *output;    /**< the target node (never NULL) */
	uint32_t flags;                         /**< IOPT_IORT_ID_* */
	bool single;                            /**< SINGLE_MAPPING: input fields unused */
	uint32_t table_offset;
};

/** Memory access properties (DEN0049 table 13). */
struct iopt_iort_mem_access {
	uint32_t cache_coherent; /**< 1: fully coherent */
	uint8_t hints;
	uint8_t flags;           /**< bit 0 CPM, bit 1 DACS */
};

/** SMMUv3 node Flags (DEN0049 table 16). */
#define IOPT_IORT_SMMUV3_F_COHACC_OVERRIDE (1U << 0)
#define IOPT_IORT_SMMUV3_F_HTTU_OVERRIDE_MASK (3U << 1)
#define IOPT_IORT_SMMUV3_F_PROXIMITY_VALID (1U << 3)
#define IOPT_IORT_SMMUV3_F_DEVICEID_VALID (1U << 4)

/** SMMUv3 models (DEN0049 table 16). */
#define IOPT_IORT_SMMUV3_MODEL_GENERIC 0
#define IOPT_IORT_SMMUV3_MODEL_HISI_HI161X 1
#define IOPT_IORT_SMMUV3_MODEL_CAVIUM_CN99XX 2

struct iopt_iort_smmuv3 {
	uint64_t base;          /**< register page 0, 64 KiB aligned */
	uint32_t flags;         /**< IOPT_IORT_SMMUV3_F_* */
	bool coherent;          /**< COHACC override: table walks and queues are coherent */
	uint8_t httu_override;  /**< bits 2:1 of flags */
	uint64_t vatos_base;
	uint32_t model;
	uint32_t event_gsiv, pri_gsiv, gerr_gsiv, sync_gsiv; /**< 0: none / MSI */
	bool has_proximity;     /**< PROXIMITY_VALID and the field present */
	uint32_t proximity_domain;
	/**
	 * Index into the node's mappings of the one that gives the SMMU's own
	 * MSIs their DeviceID, when id_mapping_index_valid (revision >= 1, and
	 * not every interrupt is a wired GSIV).
	 */
	bool id_mapping_index_valid;
	uint32_t id_mapping_index;
};

struct iopt_iort_root_complex {
	struct iopt_iort_mem_access mem;
	uint32_t ats_attribute; /**< bit 0: the root complex supports ATS */
	uint32_t segment;
	uint8_t mem_addr_size_limit; /**< bits; 0 when the field is absent (rev 0) */
};

struct iopt_iort_named_component {
	uint32_t node_flags;
	struct iopt_iort_mem_access mem;
	uint8_t mem_addr_size_limit;
	const char *name; /**< ACPI object path, NUL-terminated */
};

struct iopt_iort_its_group {
	uint32_t n_its;
	const uint32_t *its_ids;
};

/** A node. Every node of the table is kept, unknown types too (type only). */
struct iopt_iort_node {
	uint8_t type; /**< enum iopt_iort_node_type, or a newer value */
	uint8_t revision;
	uint32_t identifier;
	uint32_t table_offset;
	uint32_t n_mappings; /**< 0 for types this parser does not know */
	const struct iopt_iort_id_mapping *mappings;
	union {
		struct iopt_iort_its_group its;
		struct iopt_iort_named_component named;
		struct iopt_iort_root_complex rc;
		struct iopt_iort_smmuv3 smmuv3;
	} u;
};

/** A parsed IORT. */
struct iopt_iort {
	uint8_t revision;
	uint32_t n_nodes;
	const struct iopt_iort_node *nodes; /**< in table order */
};

/**
 * Parse an IORT table.
 *
 * Checks the header (signature "IORT", Length, checksum, node array offset
 * and count), then every node: length at least the common header and the
 * type's fixed part, inside the table, no zero length, nodes do not overlap;
 * its ID mapping array inside the node; every mapping's input range within
 * 32 bits, no two overlapping input ranges in one node (except by exactly
 * one ID, the common firmware bug of writing the count into "Number of IDs":
 * accepted with a warning, the later range wins), an output reference
 * that is the offset of a node of the table able to take IDs (ITS group,
 * SMMU, SMMUv3 or an unknown newer type) and not the node itself, SMMU
 * nodes mapping only to ITS groups (so that references cannot loop);
 * SMMUv3 base 64 KiB aligned and distinct; one root complex per segment;
 * named component names NUL-terminated inside the node.
 *
 * @param buf, len, flags, out  as for iopt_dmar_parse()
 * @return 0, or -EINVAL, -EPROTO, -ENOMEM as for iopt_dmar_parse().
 */
int iopt_iort_parse(const void *buf, size_t len, uint32_t flags, struct iopt_iort **out);

/** Free a result of iopt_iort_parse(). NULL is a no-op. */
void iopt_iort_free(struct iopt_iort *iort);

/**
 * Translate a PCI requester ID to the SMMUv3 that translates it and the
 * StreamID it has there, through the root complex node of the segment and
 * its (non-single) mapping that covers rid; one level of output reference
 * is followed.
 *
 * @param iort     a parsed IORT
 * @param segment  PCI segment
 * @param rid      requester ID (bus << 8 | devfn)
 * @param smmu     set to the SMMUv3 node
 * @param sid      set to the StreamID
 * @return 0, or -EINVAL (NULL argument), -ENOENT (no root complex for the
 *   segment, or no mapping covers rid), -ENODEV (the RID maps straight to
 *   an ITS group: the device is not behind an SMMU), -EOPNOTSUPP (it maps to
 *   an SMMUv1/v2 or a node type this parser does not know).
 */
int iopt_iort_rid_to_streamid(const struct iopt_iort *iort, uint32_t segment, uint32_t rid,
			      const struct iopt_iort_node **smmu, uint32_t *sid);

/* ------------------------------------------------------------------------ */
/* Flattened device tree (devicetree specification v0.4, chapter 5)         */
/* ------------------------------------------------------------------------ */

/** An "arm,smmu-v3" node. */
struct iopt_fdt_smmuv3 {
	uint64_t base;        /**< first reg entry */
	uint64_t size;
	uint32_t phandle;     /**< 0 when it has none */
	uint32_t iommu_cells; /**< #iommu-cells, 1 for SMMUv3 */
	bool enabled;         /**< status absent, "okay" or "ok" */
	bool coherent;        /**< dma-coherent present */
	char path[128];       /**< full node path, truncated if longer */
};

/** One iommu-map entry (PCI bindings, pci-iommu.txt): RIDs to StreamIDs. */
struct iopt_fdt_iommu_map {
	uint32_t rid_base;
	uint32_t phandle;
	uint32_t sid_base;
	uint32_t length;                        /**< number of RIDs, >= 1 */
	const struct iopt_fdt_smmuv3 *smmu;     /**< the SMMUv3 phandle names, or NULL */
};

/** A PCI host bridge node that has an iommu-map. */
struct iopt_fdt_pci_host {
	int32_t domain;        /**< linux,pci-domain, or -1 when absent */
	uint32_t map_mask;     /**< iommu-map-mask, all ones when absent */
	uint32_t n_maps;
	const struct iopt_fdt_iommu_map *maps;
	char path[128];
};

/** What iopt_fdt_smmuv3_find() found. */
struct iopt_fdt_smmu_info {
	uint32_t n_smmus;
	const struct iopt_fdt_smmuv3 *smmus;
	uint32_t n_hosts;
	const struct iopt_fdt_pci_host *hosts;
};

/**
 * Find the SMMUv3 nodes ("arm,smmu-v3") of a flattened device tree and the
 * iommu-map of every PCI host bridge node.
 *
 * Checks the header (magic, version 17, totalsize within len, blocks
 * inside totalsize), every token, node name and property (inside the
 * structure block, names NUL-terminated inside the strings block), nesting
 * depth (at most 32) and the sizes of the properties it decodes (reg in
 * whole entries of the parent's #address-cells/#size-cells, iommu-map in
 * whole entries, length != 0 and no 32-bit overflow).
 *
 * @param dtb   the blob
 * @param len   bytes in dtb
 * @param out   set to the result, freed with iopt_fdt_smmu_info_free()
 * @return 0 (also when there is no SMMUv3: n_smmus is 0), or
 *   -EINVAL  NULL argument, or a structure inconsistent (one log line);
 *   -EPROTO  bad magic, unsupported version, totalsize beyond len;
 *   -ENOMEM  out of memory.
 */
int iopt_fdt_smmuv3_find(const void *dtb, size_t len, struct iopt_fdt_smmu_info **out);

/** Free a result of iopt_fdt_smmuv3_find(). NULL is a no-op. */
void iopt_fdt_smmu_info_free(struct iopt_fdt_smmu_info *info);

/**
 * Translate a PCI requester ID to an SMMUv3 and StreamID through the
 * iommu-map of the host bridge of the given domain (a host without
 * linux,pci-domain matches domain 0 when it is the only host).
 *
 * @return 0, or -EINVAL (NULL argument), -ENOENT (no host for the domain or
 *   no entry covers rid), -ENODEV (the entry's phandle is not an SMMUv3).
 */
int iopt_fdt_rid_to_streamid(const struct iopt_fdt_smmu_info *info, int32_t domain,
			     uint32_t rid, const struct iopt_fdt_smmuv3 **smmu, uint32_t *sid);

#ifdef __cplusplus
}
#endif

#endif
