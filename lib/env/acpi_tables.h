/*
 * Byte layouts of the firmware tables lib/env parses, as offsets and lengths
 * into the table (all ACPI fields little-endian, FDT fields big-endian), with
 * the spec section beside each. Parsers read fields with the le/be helpers
 * below from a buffer whose bounds they have checked first; nothing here is a
 * struct overlaid on firmware bytes.
 *
 * Offsets of sub-structures are relative to the start of that structure
 * unless the name says otherwise.
 */
#ifndef IOPT_ENV_ACPI_TABLES_H
#define IOPT_ENV_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "iopt_internal/bits.h"

/* ---- Explicit-endian loads (the caller has checked p .. p+size) ---- */
static inline uint8_t le8(const uint8_t *p)
{
	return p[0];
}

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

static inline uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	       (uint32_t)p[3];
}

/* ---- System description table header (ACPI 6.5 §5.2.6, table 5.4) ---- */
#define ACPI_HDR_SIGNATURE 0 /* 4 ASCII */
#define ACPI_HDR_LENGTH 4    /* u32, whole table including header */
#define ACPI_HDR_REVISION 8  /* u8 */
#define ACPI_HDR_CHECKSUM 9  /* u8, all bytes of the table sum to 0 mod 256 */
#define ACPI_HDR_OEM_ID 10   /* 6 ASCII */
#define ACPI_HDR_OEM_TABLE_ID 16 /* 8 ASCII */
#define ACPI_HDR_OEM_REVISION 24 /* u32 */
#define ACPI_HDR_CREATOR_ID 28   /* 4 ASCII */
#define ACPI_HDR_CREATOR_REV 32  /* u32 */
#define ACPI_HDR_SIZE 36

/* ---- DMAR (Intel VT-d spec rev 4.1, chapter 8) ---- */
/* §8.1 DMA Remapping Reporting Structure */
#define DMAR_HAW 36            /* u8, host address width - 1 */
#define DMAR_FLAGS 37          /* u8 */
#define DMAR_F_INTR_REMAP BIT32(0)
#define DMAR_F_X2APIC_OPT_OUT BIT32(1)
#define DMAR_F_DMA_CTRL_PLATFORM_OPT_IN BIT32(2)
#define DMAR_RESERVED 38       /* 10 bytes */
#define DMAR_STRUCTS 48        /* first remapping structure */

/* §8.2 Remapping structure types: common header of every structure */
#define DMAR_ST_TYPE 0 /* u16 */
#define DMAR_ST_LENGTH 2 /* u16, whole structure including scopes */
#define DMAR_ST_HDR_SIZE 4
#define DMAR_TYPE_DRHD 0
#define DMAR_TYPE_RMRR 1
#define DMAR_TYPE_ATSR 2
#define DMAR_TYPE_RHSA 3
#define DMAR_TYPE_ANDD 4
#define DMAR_TYPE_SATC 5

/* §8.3 DMA Remapping Hardware Unit Definition */
#define DRHD_FLAGS 4           /* u8 */
#define DRHD_F_INCLUDE_PCI_ALL BIT32(0)
#define DRHD_SIZE 5            /* u8; bits 3:0 = N, register set is 2^N 4 KiB pages */
#define DRHD_SIZE_N GENMASK32(3, 0)
#define DRHD_SEGMENT 6         /* u16 */
#define DRHD_REG_BASE 8        /* u64 */
#define DRHD_SCOPES 16

/* §8.3.1 Device Scope Structure */
#define SCOPE_TYPE 0           /* u8 */
#define SCOPE_LENGTH 1         /* u8, 6 + 2 * hops */
#define SCOPE_FLAGS 2          /* u8 (reserved before VT-d 3.x) */
#define SCOPE_ENUM_ID 4        /* u8 */
#define SCOPE_START_BUS 5      /* u8 */
#define SCOPE_PATH 6           /* hops of { u8 device, u8 function } */
#define SCOPE_HOP_SIZE 2
#define SCOPE_MIN_SIZE 8       /* at least one hop */
#define SCOPE_TYPE_PCI_ENDPOINT 1
#define SCOPE_TYPE_PCI_SUBHIERARCHY 2
#define SCOPE_TYPE_IOAPIC 3
#define SCOPE_TYPE_HPET 4
#define SCOPE_TYPE_ACPI_NAMESPACE 5

/* §8.4 Reserved Memory Region Reporting Structure */
#define RMRR_SEGMENT 6         /* u16 (4..5 reserved) */
#define RMRR_BASE 8            /* u64, 4 KiB aligned */
#define RMRR_LIMIT 16          /* u64, inclusive, limit + 1 4 KiB aligned */
#define RMRR_SCOPES 24

/* §8.5 Root Port ATS Capability Reporting Structure */
#define ATSR_FLAGS 4           /* u8 */
#define ATSR_F_ALL_PORTS BIT32(0)
#define ATSR_SEGMENT 6         /* u16 */
#define ATSR_SCOPES 8

/* §8.6 Remapping Hardware Static Affinity Structure */
#define RHSA_REG_BASE 8        /* u64 (4..7 reserved) */
#define RHSA_PROXIMITY 16      /* u32 */
#define RHSA_SIZE 20

/* §8.7 ACPI Name-space Device Declaration Structure */
#define ANDD_DEVICE_NUMBER 7   /* u8 (4..6 reserved) */
#define ANDD_NAME 8            /* NUL-terminated ASCII to the end of the structure */
#define ANDD_MIN_SIZE 9        /* at least the NUL */

/* §8.8 SoC Integrated Address Translation Cache Reporting Structure */
#define SATC_FLAGS 4           /* u8 */
#define SATC_F_ATC_REQUIRED BIT32(0)
#define SATC_SEGMENT 6         /* u16 */
#define SATC_SCOPES 8

#define VTD_PAGE_SIZE 4096ULL

/* ---- IORT (Arm DEN0049 E.e) ---- */
/* §3.2 table 3: IORT header after the ACPI header */
#define IORT_NODE_COUNT 36     /* u32 */
#define IORT_NODE_OFFSET 40    /* u32, from the start of the table */
#define IORT_HDR_SIZE 48       /* 44..47 reserved */

/* §3.3 table 4: node header common to all nodes */
#define IORT_N_TYPE 0          /* u8 */
#define IORT_N_LENGTH 1        /* u16 */
#define IORT_N_REVISION 3      /* u8 */
#define IORT_N_IDENTIFIER 4    /* u32 (reserved before E.b) */
#define IORT_N_MAP_COUNT 8     /* u32 */
#define IORT_N_MAP_OFFSET 12   /* u32, from the start of the node */
#define IORT_N_DATA 16
#define IORT_TYPE_ITS_GROUP 0
#define IORT_TYPE_NAMED_COMPONENT 1
#define IORT_TYPE_ROOT_COMPLEX 2
#define IORT_TYPE_SMMU 3
#define IORT_TYPE_SMMUV3 4
#define IORT_TYPE_PMCG 5
#define IORT_TYPE_RMR 6

/* §3.4 table 5: ID mapping */
#define IORT_M_INPUT_BASE 0    /* u32 */
#define IORT_M_NUM_IDS 4       /* u32, number of IDs minus one */
#define IORT_M_OUTPUT_BASE 8   /* u32 */
#define IORT_M_OUTPUT_REF 12   /* u32, offset of the target node from the table start */
#define IORT_M_FLAGS 16        /* u32 */
#define IORT_M_F_SINGLE BIT32(0)
#define IORT_M_SIZE 20

/* §3.5 table 12: ITS group node */
#define IORT_ITS_COUNT 16      /* u32 */
#define IORT_ITS_IDS 20        /* u32 each */

/* §3.6 table 13: memory access properties (8 bytes) */
#define IORT_MEM_CCA 0         /* u32 */
#define IORT_MEM_HINTS 4       /* u8 */
#define IORT_MEM_FLAGS 7       /* u8 (5..6 reserved) */
#define IORT_MEM_SIZE 8

/* §3.6 table 14: named component node */
#define IORT_NC_FLAGS 16       /* u32 */
#define IORT_NC_MEM 20         /* memory access properties */
#define IORT_NC_ADDR_LIMIT 28  /* u8 */
#define IORT_NC_NAME 29        /* NUL-terminated ASCII, padded */
#define IORT_NC_MIN_SIZE 30

/* §3.7 table 17: root complex node */
#define IORT_RC_MEM 16         /* memory access properties */
#define IORT_RC_ATS 24         /* u32 */
#define IORT_RC_SEGMENT 28     /* u32 */
#define IORT_RC_ADDR_LIMIT 32  /* u8, revision >= 1 */
#define IORT_RC_MIN_SIZE 32
#define IORT_RC_REV1_SIZE 33

/* §3.9 table 19: SMMUv3 node */
#define IORT_S3_BASE 16        /* u64 */
#define IORT_S3_FLAGS 24       /* u32 */
#define IORT_S3_F_COHACC BIT32(0)
#define IORT_S3_F_HTTU GENMASK32(2, 1)
#define IORT_S3_F_PXM_VALID BIT32(3)
#define IORT_S3_F_DEVID_VALID BIT32(4)
#define IORT_S3_VATOS 32       /* u64 (28..31 reserved) */
#define IORT_S3_MODEL 40       /* u32 */
#define IORT_S3_EVENT_GSIV 44  /* u32 */
#define IORT_S3_PRI_GSIV 48    /* u32 */
#define IORT_S3_GERR_GSIV 52   /* u32 */
#define IORT_S3_SYNC_GSIV 56   /* u32 */
#define IORT_S3_PROXIMITY 60   /* u32, revision >= 1 */
#define IORT_S3_ID_INDEX 64    /* u32, revision >= 1 */
#define IORT_S3_MIN_SIZE 60
#define IORT_S3_REV1_SIZE 68
#define IORT_S3_BASE_ALIGN 0x10000ULL

/* ---- Flattened devicetree (Devicetree Specification v0.4, chapter 5) ---- */
/* §5.2 header, big-endian u32 fields */
#define FDT_MAGIC_VALUE 0xd00dfeedU
#define FDT_H_MAGIC 0
#define FDT_H_TOTALSIZE 4
#define FDT_H_OFF_STRUCT 8
#define FDT_H_OFF_STRINGS 12
#define FDT_H_OFF_RSVMAP 16
#define FDT_H_VERSION 20
#define FDT_H_LAST_COMP 24
#define FDT_H_BOOT_CPUID 28
#define FDT_H_SIZE_STRINGS 32  /* version >= 3 */
#define FDT_H_SIZE_STRUCT 36   /* version >= 17 */
#define FDT_H_SIZE 40
/* §5.4.1 structure block tokens, 4-byte aligned */
#define FDT_BEGIN_NODE 1U      /* then the NUL-terminated name, padded to 4 */
#define FDT_END_NODE 2U
#define FDT_PROP 3U            /* then u32 len, u32 nameoff, value padded to 4 */
#define FDT_NOP 4U
#define FDT_END 9U

/* ---- Shared helpers (acpi.c) ---- */
/*
 * Check an ACPI table header: buf holds at least the header, the signature
 * is sig, Length is within len and at least min_len, the checksum is zero
 * (a mismatch is an error unless IOPT_FW_F_ALLOW_BAD_CHECKSUM, then a
 * warning). Logs one line on failure. Sets *table_len to Length.
 * Returns 0, -EINVAL (NULL buf) or -EPROTO.
 */
int acpi_table_check(const uint8_t *buf, size_t len, const char *sig, uint32_t min_len,
		     uint32_t flags, uint32_t *table_len);

/* Read a whole file of at most IOPT_FW_MAX_SIZE bytes into a new buffer. */
int fw_read_file(const char *path, void **buf, size_t *len);

#endif
