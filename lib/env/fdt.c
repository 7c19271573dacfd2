/*
 * A minimal flattened devicetree reader (Devicetree Specification v0.4,
 * chapter 5) that finds what an SMMUv3 driver needs where there is no IORT,
 * as on QEMU's `virt` machine: the "arm,smmu-v3" nodes (reg, #iommu-cells,
 * phandle) and each PCI host's iommu-map (PCI bindings, pci-iommu.txt), so
 * that a requester ID can be turned into a StreamID.
 *
 * One walk over the structure block checks every token; nodes are collected
 * when their END_NODE is seen (properties precede subnodes, so a node's own
 * #address-cells are known before any child and its parent's before its reg).
 * iommu-map entries are decoded after the walk, when every phandle's
 * #iommu-cells is known. The result is then copied into one allocation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iopt/firmware.h"

#define LOG_MODULE "fdt"
#include "iopt_internal/log.h"
#include "iopt_internal/util.h"

#include "env/acpi_tables.h"

#define FDT_MAX_DEPTH 32
#define FDT_PATH_MAX 128

/* Properties of the node being walked, kept until its END_NODE. */
struct fdt_node {
	uint32_t address_cells, size_cells; /* for its children */
	bool smmuv3, disabled, coherent, has_iommu_cells;
	uint32_t phandle, iommu_cells;
	uint32_t reg_off, reg_len;          /* in the structure block */
	uint32_t map_off, map_len;          /* iommu-map; map_len 0: none */
	uint32_t map_mask;
	int32_t domain;
	size_t path_len;                    /* bytes of the path in the walker's buffer */
};

/* A node with #iommu-cells and a phandle: what an iommu-map entry can name. */
struct fdt_provider {
	uint32_t phandle, cells;
	int32_t smmu; /* index in fdt_walk.smmus, or -1 when not an SMMUv3 */
};

/* Where each decoded iommu-map entry belongs. */
struct fdt_map_owner {
	uint32_t host;
	int32_t smmu;
};

struct fdt_host_raw {
	uint32_t map_off, map_len, map_mask;
	int32_t domain;
	char path[FDT_PATH_MAX];
};

struct fdt_walk {
	const uint8_t *blob;
	const uint8_t *st;      /* structure block */
	uint32_t st_size;
	const uint8_t *strings;
	uint32_t strings_size;
	char path[FDT_PATH_MAX];
	struct fdt_node stack[FDT_MAX_DEPTH + 1];
	int depth;              /* nodes open; stack[depth - 1] is the current one */
	struct iopt_fdt_smmuv3 *smmus;
	uint32_t n_smmus, cap_smmus;
	struct fdt_host_raw *hosts;
	uint32_t n_hosts, cap_hosts;
	struct fdt_provider *prov;
	uint32_t n_prov, cap_prov;
	struct iopt_fdt_iommu_map *maps;
	uint32_t n_maps, cap_maps;
	struct fdt_map_owner *owner; /* one per map */
	uint32_t cap_owner;
};

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	void *p;
	uint32_t ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap < need || ncap > (1U << 24))
		return -ENOMEM;
	p = realloc(*arr, (size_t)ncap * elem);
	if (p == NULL)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int check_header(const uint8_t *b, size_t len, struct fdt_walk *w)
{
	uint32_t total, off_st, off_str, size_st, size_str, version;

	if (len < FDT_H_SIZE || be32(b + FDT_H_MAGIC) != FDT_MAGIC_VALUE) {
		IOPT_ERRLOG("magic (offset 0) is not 0x%08x or the blob is shorter than the %u-byte "
			    "header", FDT_MAGIC_VALUE, FDT_H_SIZE);
		return -EPROTO;
	}
	total = be32(b + FDT_H_TOTALSIZE);
	version = be32(b + FDT_H_VERSION);
	if (version < 17 || be32(b + FDT_H_LAST_COMP) > 17) {
		IOPT_ERRLOG("version (offset %u) %u, last compatible version %u: need 17",
			    FDT_H_VERSION, version, be32(b + FDT_H_LAST_COMP));
		return -EPROTO;
	}
	if (total > len || total < FDT_H_SIZE) {
		IOPT_ERRLOG("totalsize (offset %u) %u is not between the header size and the %zu "
			    "bytes given", FDT_H_TOTALSIZE, total, len);
		return -EPROTO;
	}
	off_st = be32(b + FDT_H_OFF_STRUCT);
	size_st = be32(b + FDT_H_SIZE_STRUCT);
	off_str = be32(b + FDT_H_OFF_STRINGS);
	size_str = be32(b + FDT_H_SIZE_STRINGS);
	if (off_st < FDT_H_SIZE || off_st % 4 != 0 || (uint64_t)off_st + size_st > total) {
		IOPT_ERRLOG("off_dt_struct (offset %u) 0x%x + size_dt_struct 0x%x is not an aligned "
			    "block inside totalsize 0x%x", FDT_H_OFF_STRUCT, off_st, size_st, total);
		return -EINVAL;
	}
	if (off_str < FDT_H_SIZE || (uint64_t)off_str + size_str > total) {
		IOPT_ERRLOG("off_dt_strings (offset %u) 0x%x + size_dt_strings 0x%x is not inside "
			    "totalsize 0x%x", FDT_H_OFF_STRINGS, off_str, size_str, total);
		return -EINVAL;
	}
	w->blob = b;
	w->st = b + off_st;
	w->st_size = size_st;
	w->strings = b + off_str;
	w->strings_size = size_str;
	return 0;
}

/* Offset in the blob of structure-block position pos, for messages. */
static uint32_t at(const struct fdt_walk *w, uint32_t pos)
{
	return (uint32_t)(w->st - w->blob) + pos;
}

static bool strlist_has(const uint8_t *v, uint32_t len, const char *want)
{
	size_t wl = strlen(want) + 1;

	for (uint32_t i = 0; i < len;) {
		const uint8_t *nul = memchr(v + i, '\0', len - i);
		uint32_t n = nul ? (uint32_t)(nul - (v + i)) + 1 : len - i;

		if (nul != NULL && n == wl && memcmp(v + i, want, wl) == 0)
			return true;
		i += n;
	}
	return false;
}

static int prop_u32(struct fdt_walk *w, uint32_t pos, uint32_t len, const char *name,
		    uint32_t *val)
{
	if (len != 4) {
		IOPT_ERRLOG("property %s (offset 0x%x) in %s is %u bytes, not 4", name, at(w, pos),
			    w->path, len);
		return -EINVAL;
	}
	*val = be32(w->st + pos);
	return 0;
}

/* One property of the current node; value at pos, len bytes (checked). */
static int on_prop(struct fdt_walk *w, const char *name, uint32_t pos, uint32_t len)
{
	struct fdt_node *n = &w->stack[w->depth - 1];
	const uint8_t *v = w->st + pos;
	uint32_t u;
	int rc = 0;

	if (strcmp(name, "compatible") == 0) {
		n->smmuv3 = strlist_has(v, len, "arm,smmu-v3");
	} else if (strcmp(name, "status") == 0) {
		n->disabled = !strlist_has(v, len, "okay") && !strlist_has(v, len, "ok");
	} else if (strcmp(name, "dma-coherent") == 0) {
		n->coherent = true;
	} else if (strcmp(name, "#address-cells") == 0) {
		rc = prop_u32(w, pos, len, name, &n->address_cells);
	} else if (strcmp(name, "#size-cells") == 0) {
		rc = prop_u32(w, pos, len, name, &n->size_cells);
	} else if (strcmp(name, "#iommu-cells") == 0) {
		rc = prop_u32(w, pos, len, name, &n->iommu_cells);
		n->has_iommu_cells = true;
	} else if (strcmp(name, "phandle") == 0 || strcmp(name, "linux,phandle") == 0) {
		rc = prop_u32(w, pos, len, name, &n->phandle);
	} else if (strcmp(name, "reg") == 0) {
		n->reg_off = pos;
		n->reg_len = len;
	} else if (strcmp(name, "iommu-map") == 0) {
		n->map_off = pos;
		n->map_len = len;
		if (len == 0) {
			IOPT_ERRLOG("property iommu-map (offset 0x%x) in %s is empty", at(w, pos),
				    w->path);
			rc = -EINVAL;
		}
	} else if (strcmp(name, "iommu-map-mask") == 0) {
		rc = prop_u32(w, pos, len, name, &n->map_mask);
	} else if (strcmp(name, "linux,pci-domain") == 0) {
		rc = prop_u32(w, pos, len, name, &u);
		if (rc == 0 && u > INT32_MAX) {
			IOPT_ERRLOG("property linux,pci-domain (offset 0x%x) %u too large", at(w, pos), u);
			rc = -EINVAL;
		}
		n->domain = (int32_t)u;
	}
	return rc;
}

static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
	return cells == 2 ? ((uint64_t)be32(p) << 32) | be32(p + 4) : cells == 1 ? be32(p) : 0;
}

static int end_smmuv3(struct fdt_walk *w, const struct fdt_node *n)
{
	const struct fdt_node *parent = &w->stack[w->depth - 2];
	uint32_t ac = parent->address_cells, sc = parent->size_cells;
	struct iopt_fdt_smmuv3 *s;
	int rc;

	if (ac < 1 || ac > 2 || sc > 2 || n->reg_len == 0 || n->reg_len % (4 * (ac + sc)) != 0) {
		IOPT_ERRLOG("property reg (offset 0x%x) of %s: %u bytes is not a whole number of "
			    "entries of %u address and %u size cells", at(w, n->reg_off), w->path,
			    n->reg_len, ac, sc);
		return -EINVAL;
	}
	rc = grow((void **)&w->smmus, &w->cap_smmus, w->n_smmus + 1, sizeof(*w->smmus));
	if (rc != 0)
		return rc;
	s = &w->smmus[w->n_smmus++];
	memset(s, 0, sizeof(*s));
	s->base = read_cells(w->st + n->reg_off, ac);
	s->size = read_cells(w->st + n->reg_off + 4 * ac, sc);
	s->phandle = n->phandle;
	s->iommu_cells = n->has_iommu_cells ? n->iommu_cells : 0;
	s->enabled = !n->disabled;
	s->coherent = n->coherent;
	snprintf(s->path, sizeof(s->path), "%s", w->path);
	return 0;
}

static int end_node(struct fdt_walk *w)
{
	const struct fdt_node *n = &w->stack[w->depth - 1];
	bool smmu = n->smmuv3 && w->depth >= 2;
	int rc = 0;

	if (smmu)
		rc = end_smmuv3(w, n);
	if (rc == 0 && n->has_iommu_cells && n->phandle != 0) {
		rc = grow((void **)&w->prov, &w->cap_prov, w->n_prov + 1, sizeof(*w->prov));
		if (rc == 0)
			w->prov[w->n_prov++] = (struct fdt_provider){
				n->phandle, n->iommu_cells, smmu ? (int32_t)w->n_smmus - 1 : -1 };
	}
	if (rc == 0 && n->map_len != 0) {
		rc = grow((void **)&w->hosts, &w->cap_hosts, w->n_hosts + 1, sizeof(*w->hosts));
		if (rc == 0) {
			struct fdt_host_raw *h = &w->hosts[w->n_hosts++];

			h->map_off = n->map_off;
			h->map_len = n->map_len;
			h->map_mask = n->map_mask;
			h->domain = n->domain;
			snprintf(h->path, sizeof(h->path), "%s", w->path);
		}
	}
	return rc;
}

static int begin_node(struct fdt_walk *w, uint32_t *pos)
{
	const uint8_t *name = w->st + *pos;
	const uint8_t *nul = memchr(name, '\0', w->st_size - *pos);
	struct fdt_node *n;
	size_t plen, nlen;

	if (nul == NULL) {
		IOPT_ERRLOG("node name at offset 0x%x is not NUL-terminated inside the structure "
			    "block", at(w, *pos));
		return -EINVAL;
	}
	if (w->depth == FDT_MAX_DEPTH) {
		IOPT_ERRLOG("node at offset 0x%x nests deeper than %d", at(w, *pos), FDT_MAX_DEPTH);
		return -EINVAL;
	}
	nlen = (size_t)(nul - name);
	plen = w->depth > 0 ? w->stack[w->depth - 1].path_len : 0;
	if (w->depth > 0)
		snprintf(w->path + plen, sizeof(w->path) - plen, "%s%.*s", plen > 1 ? "/" : "",
			 (int)nlen, (const char *)name);
	else
		snprintf(w->path, sizeof(w->path), "/");
	n = &w->stack[w->depth++];
	memset(n, 0, sizeof(*n));
	n->address_cells = 2; /* defaults, devicetree spec §2.3.5 */
	n->size_cells = 1;
	n->map_mask = UINT32_MAX;
	n->domain = -1;
	n->path_len = strlen(w->path);
	/* The padding may run past a block that ends right after the NUL. */
	*pos += (uint32_t)MIN(ALIGN_UP(nlen + 1, 4), (uint64_t)w->st_size - *pos);
	return 0;
}

static int prop_token(struct fdt_walk *w, uint32_t *pos)
{
	uint32_t len, nameoff;
	const uint8_t *nul;

	if (w->st_size - *pos < 8) {
		IOPT_ERRLOG("property at offset 0x%x truncated by the structure block end",
			    at(w, *pos));
		return -EINVAL;
	}
	len = be32(w->st + *pos);
	nameoff = be32(w->st + *pos + 4);
	*pos += 8;
	if (len > w->st_size - *pos) {
		IOPT_ERRLOG("property len (offset 0x%x) %u runs past the structure block end",
			    at(w, *pos - 8), len);
		return -EINVAL;
	}
	if (nameoff >= w->strings_size ||
	    (nul = memchr(w->strings + nameoff, '\0', w->strings_size - nameoff)) == NULL) {
		IOPT_ERRLOG("property nameoff (offset 0x%x) 0x%x is not a NUL-terminated string "
			    "inside the strings block", at(w, *pos - 4), nameoff);
		return -EINVAL;
	}
	if (w->depth == 0) {
		IOPT_ERRLOG("property at offset 0x%x is outside any node", at(w, *pos - 8));
		return -EINVAL;
	}
	{
		int rc = on_prop(w, (const char *)w->strings + nameoff, *pos, len);

		if (rc != 0)
			return rc;
	}
	*pos += (uint32_t)MIN(ALIGN_UP(len, 4), (uint64_t)w->st_size - *pos);
	return 0;
}

static int walk(struct fdt_walk *w)
{
	uint32_t pos = 0;
	int rc = 0;

	while (rc == 0) {
		uint32_t tok;

		if (w->st_size - pos < 4) {
			IOPT_ERRLOG("structure block ends at offset 0x%x without FDT_END", at(w, pos));
			return -EINVAL;
		}
		tok = be32(w->st + pos);
		pos += 4;
		switch (tok) {
		case FDT_BEGIN_NODE:
			if (w->depth == 0 && pos != 4) {
				IOPT_ERRLOG("second root node at offset 0x%x", at(w, pos - 4));
				return -EINVAL;
			}
			rc = begin_node(w, &pos);
			break;
		case FDT_END_NODE:
			if (w->depth == 0) {
				IOPT_ERRLOG("FDT_END_NODE at offset 0x%x closes no node", at(w, pos - 4));
				return -EINVAL;
			}
			rc = end_node(w);
			w->depth--;
			if (w->depth > 0)
				w->path[w->stack[w->depth - 1].path_len] = '\0';
			break;
		case FDT_PROP:
			rc = prop_token(w, &pos);
			break;
		case FDT_NOP:
			break;
		case FDT_END:
			if (w->depth != 0 || pos == 4) {
				IOPT_ERRLOG("FDT_END at offset 0x%x with %d nodes open", at(w, pos - 4),
					    w->depth);
				return -EINVAL;
			}
			return 0;
		default:
			IOPT_ERRLOG("token 0x%x at offset 0x%x unknown", tok, at(w, pos - 4));
			return -EINVAL;
		}
	}
	return rc;
}

static int cmp_provider(const void *a, const void *b)
{
	uint32_t x = ((const struct fdt_provider *)a)->phandle;
	uint32_t y = ((const struct fdt_provider *)b)->phandle;

	return x < y ? -1 : x > y;
}

/* Sort the providers by phandle (for bsearch); a phandle used twice is ambiguous. */
static int sort_providers(struct fdt_walk *w)
{
	if (w->n_prov == 0)
		return 0;
	qsort(w->prov, w->n_prov, sizeof(*w->prov), cmp_provider);
	for (uint32_t i = 1; i < w->n_prov; i++) {
		if (w->prov[i].phandle == w->prov[i - 1].phandle) {
			IOPT_ERRLOG("phandle 0x%x is used by two nodes with #iommu-cells",
				    w->prov[i].phandle);
			return -EINVAL;
		}
	}
	return 0;
}

static const struct fdt_provider *find_provider(const struct fdt_walk *w, uint32_t phandle)
{
	struct fdt_provider key = { .phandle = phandle };

	if (w->n_prov == 0)
		return NULL;
	return bsearch(&key, w->prov, w->n_prov, sizeof(*w->prov), cmp_provider);
}

/* Decode every host's iommu-map into w->maps. */
static int decode_maps(struct fdt_walk *w)
{
	for (uint32_t h = 0; h < w->n_hosts; h++) {
		const struct fdt_host_raw *host = &w->hosts[h];

		for (uint32_t off = 0; off < host->map_len;) {
			const uint8_t *e = w->st + host->map_off + off;
			uint32_t left = host->map_len - off, cells, esize;
			const struct fdt_provider *p;
			struct iopt_fdt_iommu_map *m;
			int rc;

			p = left >= 8 ? find_provider(w, be32(e + 4)) : NULL;
			cells = p ? p->cells : 0;
			esize = 4 * (3 + cells);
			if (p == NULL || cells > 4 || esize > left) {
				IOPT_ERRLOG("iommu-map (offset 0x%x) of %s: entry at byte %u %s",
					    at(w, host->map_off), host->path, off,
					    left < 8 ? "truncated" :
					    p == NULL ? "names a phandle without #iommu-cells" :
					    cells > 4 ? "has too many #iommu-cells" : "truncated");
				return -EINVAL;
			}
			rc = grow((void **)&w->maps, &w->cap_maps, w->n_maps + 1, sizeof(*w->maps));
			if (rc == 0)
				rc = grow((void **)&w->owner, &w->cap_owner, w->n_maps + 1,
					  sizeof(*w->owner));
			if (rc != 0)
				return rc;
			m = &w->maps[w->n_maps];
			m->rid_base = be32(e);
			m->phandle = be32(e + 4);
			m->sid_base = cells ? be32(e + 8) : 0;
			m->length = be32(e + esize - 4);
			if (m->length == 0 || (uint64_t)m->rid_base + m->length > BIT_ULL(32)) {
				IOPT_ERRLOG("iommu-map (offset 0x%x) of %s: entry at byte %u: rid-base "
					    "0x%x length 0x%x is empty or overflows 32 bits",
					    at(w, host->map_off), host->path, off, m->rid_base,
					    m->length);
				return -EINVAL;
			}
			w->owner[w->n_maps++] = (struct fdt_map_owner){ h, p->smmu };
			off += esize;
		}
	}
	return 0;
}

static int build_result(struct fdt_walk *w, struct iopt_fdt_smmu_info **out)
{
	size_t size = sizeof(struct iopt_fdt_smmu_info) + w->n_smmus * sizeof(*w->smmus) +
		      w->n_hosts * sizeof(struct iopt_fdt_pci_host) + w->n_maps * sizeof(*w->maps);
	struct iopt_fdt_smmu_info *info = calloc(1, size);
	struct iopt_fdt_smmuv3 *smmus;
	struct iopt_fdt_pci_host *hosts;
	struct iopt_fdt_iommu_map *maps;

	if (info == NULL)
		return -ENOMEM;
	smmus = (void *)(info + 1);
	hosts = (void *)(smmus + w->n_smmus);
	maps = (void *)(hosts + w->n_hosts);
	if (w->n_smmus)
		memcpy(smmus, w->smmus, w->n_smmus * sizeof(*smmus));
	for (uint32_t i = 0; i < w->n_maps; i++) {
		struct fdt_host_raw *raw = &w->hosts[w->owner[i].host];
		struct iopt_fdt_pci_host *h = &hosts[w->owner[i].host];

		maps[i] = w->maps[i];
		maps[i].smmu = w->owner[i].smmu >= 0 ? &smmus[w->owner[i].smmu] : NULL;
		if (h->n_maps++ == 0) {
			h->maps = &maps[i];
			h->domain = raw->domain;
			h->map_mask = raw->map_mask;
			snprintf(h->path, sizeof(h->path), "%s", raw->path);
		}
	}
	info->n_smmus = w->n_smmus;
	info->smmus = smmus;
	info->n_hosts = w->n_hosts;
	info->hosts = hosts;
	*out = info;
	return 0;
}

int iopt_fdt_smmuv3_find(const void *dtb, size_t len, struct iopt_fdt_smmu_info **out)
{
	struct fdt_walk *w;
	int rc;

	if (dtb == NULL || out == NULL)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	rc = check_header(dtb, len, w);
	if (rc == 0)
		rc = walk(w);
	if (rc == 0)
		rc = sort_providers(w);
	if (rc == 0)
		rc = decode_maps(w);
	if (rc == 0)
		rc = build_result(w, out);
	free(w->smmus);
	free(w->hosts);
	free(w->prov);
	free(w->maps);
	free(w->owner);
	free(w);
	return rc;
}

void iopt_fdt_smmu_info_free(struct iopt_fdt_smmu_info *info)
{
	free(info);
}

int iopt_fdt_rid_to_streamid(const struct iopt_fdt_smmu_info *info, int32_t domain,
			     uint32_t rid, const struct iopt_fdt_smmuv3 **smmu, uint32_t *sid)
{
	const struct iopt_fdt_pci_host *host = NULL;

	if (info == NULL || smmu == NULL || sid == NULL) {
		IOPT_ERRLOG("rid_to_streamid: NULL argument");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < info->n_hosts && host == NULL; i++) {
		if (info->hosts[i].domain == domain ||
		    (info->hosts[i].domain < 0 && domain == 0 && info->n_hosts == 1))
			host = &info->hosts[i];
	}
	if (host == NULL)
		return -ENOENT;
	rid &= host->map_mask;
	for (uint32_t i = 0; i < host->n_maps; i++) {
		const struct iopt_fdt_iommu_map *m = &host->maps[i];

		if (rid < m->rid_base || rid - m->rid_base >= m->length)
			continue;
		if (m->smmu == NULL)
			return -ENODEV;
		*smmu = m->smmu;
		*sid = m->sid_base + (rid - m->rid_base);
		return 0;
	}
	return -ENOENT;
}
