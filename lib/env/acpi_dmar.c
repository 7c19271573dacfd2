/*
 * ACPI DMAR parser (Intel VT-d spec, chapter 8).
 *
 * Two passes over the table run the same code: the first checks every
 * structure and counts entries, scopes, path hops and name bytes; the second,
 * into one allocation sized from those counts, fills the result. Only the
 * first pass can fail on table contents, so each bad table logs exactly one
 * line. Cross-structure checks (overlapping units, duplicate scopes, RHSA
 * targets) then run on the filled result.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "iopt/firmware.h"

#define LOG_MODULE "dmar"
#include "iopt_internal/log.h"
#include "iopt_internal/util.h"

#include "env/acpi_tables.h"

struct dmar_counts {
	uint32_t drhd, rmrr, atsr, rhsa, andd, satc, scopes, hops;
	size_t name_bytes;
};

struct dmar_builder {
	const uint8_t *t;
	uint32_t tlen;
	bool fill;             /* second pass: write into the arrays below */
	struct dmar_counts n;  /* entries seen so far */
	struct iopt_dmar *dmar;
	struct iopt_dmar_drhd *drhd;
	struct iopt_dmar_rmrr *rmrr;
	struct iopt_dmar_atsr *atsr;
	struct iopt_dmar_rhsa *rhsa;
	struct iopt_dmar_andd *andd;
	struct iopt_dmar_satc *satc;
	struct iopt_dmar_scope *scopes;
	struct iopt_dmar_path_hop *hops;
	char *names;
};

static int parse_scope(struct dmar_builder *b, uint32_t off, uint32_t slen, const char *parent)
{
	const uint8_t *s = b->t + off;
	uint8_t type = s[SCOPE_TYPE];
	uint32_t hops;

	if (type < SCOPE_TYPE_PCI_ENDPOINT || type > SCOPE_TYPE_ACPI_NAMESPACE) {
		IOPT_DEBUGLOG("%s: device scope type %u at offset 0x%x unknown, skipped", parent,
			      type, off);
		return 0;
	}
	if ((slen - SCOPE_PATH) % SCOPE_HOP_SIZE != 0) {
		IOPT_ERRLOG("%s: device scope Length (offset 0x%x) %u is not 6 + 2 * hops", parent,
			    off + SCOPE_LENGTH, slen);
		return -EINVAL;
	}
	hops = (slen - SCOPE_PATH) / SCOPE_HOP_SIZE;
	for (uint32_t i = 0; i < hops; i++) {
		uint8_t dev = s[SCOPE_PATH + 2 * i], fn = s[SCOPE_PATH + 2 * i + 1];

		if (dev > 31 || fn > 7) {
			IOPT_ERRLOG("%s: device scope Path (offset 0x%x) hop %02x.%x out of range",
				    parent, off + SCOPE_PATH + 2 * i, dev, fn);
			return -EINVAL;
		}
		if (b->fill) {
			b->hops[b->n.hops + i].dev = dev;
			b->hops[b->n.hops + i].fn = fn;
		}
	}
	if (b->fill) {
		struct iopt_dmar_scope *sc = &b->scopes[b->n.scopes];

		sc->type = (enum iopt_dmar_scope_type)type;
		sc->flags = s[SCOPE_FLAGS];
		sc->enumeration_id = s[SCOPE_ENUM_ID];
		sc->start_bus = s[SCOPE_START_BUS];
		sc->path_len = hops;
		sc->path = &b->hops[b->n.hops];
		sc->table_offset = off;
	}
	b->n.scopes++;
	b->n.hops += hops;
	return 0;
}

/* Device scopes in [off, end) of the structure named parent. */
static int parse_scopes(struct dmar_builder *b, uint32_t off, uint32_t end, const char *parent,
			uint32_t *n_scopes, const struct iopt_dmar_scope **first)
{
	uint32_t before = b->n.scopes;
	int rc;

	while (off < end) {
		uint32_t slen;

		if (end - off < SCOPE_MIN_SIZE) {
			IOPT_ERRLOG("%s: device scope at offset 0x%x truncated: %u bytes left of "
				    "the structure, at least %u needed", parent, off, end - off,
				    SCOPE_MIN_SIZE);
			return -EINVAL;
		}
		slen = b->t[off + SCOPE_LENGTH];
		if (slen < SCOPE_MIN_SIZE) {
			IOPT_ERRLOG("%s: device scope Length (offset 0x%x) %u is less than %u",
				    parent, off + SCOPE_LENGTH, slen, SCOPE_MIN_SIZE);
			return -EINVAL;
		}
		if (slen > end - off) {
			IOPT_ERRLOG("%s: device scope Length (offset 0x%x) %u runs past the end of "
				    "its structure at 0x%x", parent, off + SCOPE_LENGTH, slen, end);
			return -EINVAL;
		}
		rc = parse_scope(b, off, slen, parent);
		if (rc != 0)
			return rc;
		off += slen;
	}
	if (b->fill) {
		*n_scopes = b->n.scopes - before;
		*first = &b->scopes[before];
	}
	return 0;
}

static int parse_drhd(struct dmar_builder *b, uint32_t off, uint32_t len)
{
	const uint8_t *s = b->t + off;
	uint64_t base = le64(s + DRHD_REG_BASE);
	struct iopt_dmar_drhd *d = b->fill ? &b->drhd[b->n.drhd] : NULL;
	int rc;

	if (!IS_ALIGNED(base, VTD_PAGE_SIZE)) {
		IOPT_ERRLOG("DRHD: Register Base Address (offset 0x%x) 0x%" PRIx64
			    " is not 4 KiB aligned", off + DRHD_REG_BASE, base);
		return -EINVAL;
	}
	if (d != NULL) {
		d->flags = s[DRHD_FLAGS];
		d->include_pci_all = s[DRHD_FLAGS] & DRHD_F_INCLUDE_PCI_ALL;
		d->segment = le16(s + DRHD_SEGMENT);
		d->reg_base = base;
		d->reg_size = VTD_PAGE_SIZE << FIELD_GET(DRHD_SIZE_N, s[DRHD_SIZE]);
		d->numa_node = -1;
		d->table_offset = off;
	}
	rc = parse_scopes(b, off + DRHD_SCOPES, off + len, "DRHD", d ? &d->n_scopes : NULL,
			  d ? &d->scopes : NULL);
	if (rc == 0)
		b->n.drhd++;
	return rc;
}

static int parse_rmrr(struct dmar_builder *b, uint32_t off, uint32_t len)
{
	const uint8_t *s = b->t + off;
	uint64_t base = le64(s + RMRR_BASE), limit = le64(s + RMRR_LIMIT);
	struct iopt_dmar_rmrr *r = b->fill ? &b->rmrr[b->n.rmrr] : NULL;
	int rc;

	if (!IS_ALIGNED(base, VTD_PAGE_SIZE) || limit < base ||
	    !IS_ALIGNED(limit + 1, VTD_PAGE_SIZE)) {
		IOPT_ERRLOG("RMRR: region (offset 0x%x) [0x%" PRIx64 ", 0x%" PRIx64
			    "] is not a 4 KiB-aligned range with base <= limit",
			    off + RMRR_BASE, base, limit);
		return -EINVAL;
	}
	if (r != NULL) {
		r->segment = le16(s + RMRR_SEGMENT);
		r->base = base;
		r->limit = limit;
		r->table_offset = off;
	}
	rc = parse_scopes(b, off + RMRR_SCOPES, off + len, "RMRR", r ? &r->n_scopes : NULL,
			  r ? &r->scopes : NULL);
	if (rc == 0)
		b->n.rmrr++;
	return rc;
}

static int parse_atsr(struct dmar_builder *b, uint32_t off, uint32_t len)
{
	const uint8_t *s = b->t + off;
	struct iopt_dmar_atsr *a = b->fill ? &b->atsr[b->n.atsr] : NULL;
	int rc;

	if (a != NULL) {
		a->flags = s[ATSR_FLAGS];
		a->all_ports = s[ATSR_FLAGS] & ATSR_F_ALL_PORTS;
		a->segment = le16(s + ATSR_SEGMENT);
		a->table_offset = off;
	}
	rc = parse_scopes(b, off + ATSR_SCOPES, off + len, "ATSR", a ? &a->n_scopes : NULL,
			  a ? &a->scopes : NULL);
	if (rc == 0)
		b->n.atsr++;
	return rc;
}

static int parse_satc(struct dmar_builder *b, uint32_t off, uint32_t len)
{
	const uint8_t *s = b->t + off;
	struct iopt_dmar_satc *a = b->fill ? &b->satc[b->n.satc] : NULL;
	int rc;

	if (a != NULL) {
		a->flags = s[SATC_FLAGS];
		a->atc_required = s[SATC_FLAGS] & SATC_F_ATC_REQUIRED;
		a->segment = le16(s + SATC_SEGMENT);
		a->table_offset = off;
	}
	rc = parse_scopes(b, off + SATC_SCOPES, off + len, "SATC", a ? &a->n_scopes : NULL,
			  a ? &a->scopes : NULL);
	if (rc == 0)
		b->n.satc++;
	return rc;
}

static int parse_rhsa(struct dmar_builder *b, uint32_t off)
{
	const uint8_t *s = b->t + off;

	if (b->fill) {
		struct iopt_dmar_rhsa *r = &b->rhsa[b->n.rhsa];

		r->reg_base = le64(s + RHSA_REG_BASE);
		r->proximity_domain = le32(s + RHSA_PROXIMITY);
		r->table_offset = off;
	}
	b->n.rhsa++;
	return 0;
}

static int parse_andd(struct dmar_builder *b, uint32_t off, uint32_t len)
{
	const uint8_t *s = b->t + off;
	const uint8_t *nul = memchr(s + ANDD_NAME, '\0', len - ANDD_NAME);
	size_t n;

	if (nul == NULL) {
		IOPT_ERRLOG("ANDD: Object Name (offset 0x%x) is not NUL-terminated inside the "
			    "structure", off + ANDD_NAME);
		return -EINVAL;
	}
	n = (size_t)(nul - (s + ANDD_NAME)) + 1;
	if (b->fill) {
		struct iopt_dmar_andd *a = &b->andd[b->n.andd];

		memcpy(b->names + b->n.name_bytes, s + ANDD_NAME, n);
		a->name = b->names + b->n.name_bytes;
		a->device_number = s[ANDD_DEVICE_NUMBER];
		a->table_offset = off;
	}
	b->n.name_bytes += n;
	b->n.andd++;
	return 0;
}

/* Fixed size of each known structure type; 0 for unknown types. */
static uint32_t struct_min_len(uint16_t type)
{
	switch (type) {
	case DMAR_TYPE_DRHD: return DRHD_SCOPES;
	case DMAR_TYPE_RMRR: return RMRR_SCOPES;
	case DMAR_TYPE_ATSR: return ATSR_SCOPES;
	case DMAR_TYPE_RHSA: return RHSA_SIZE;
	case DMAR_TYPE_ANDD: return ANDD_MIN_SIZE;
	case DMAR_TYPE_SATC: return SATC_SCOPES;
	default: return 0;
	}
}

static const char *const g_struct_names[] = { "DRHD", "RMRR", "ATSR", "RHSA", "ANDD", "SATC" };

static int parse_struct(struct dmar_builder *b, uint32_t off, uint16_t type, uint32_t len)
{
	switch (type) {
	case DMAR_TYPE_DRHD: return parse_drhd(b, off, len);
	case DMAR_TYPE_RMRR: return parse_rmrr(b, off, len);
	case DMAR_TYPE_ATSR: return parse_atsr(b, off, len);
	case DMAR_TYPE_RHSA: return parse_rhsa(b, off);
	case DMAR_TYPE_ANDD: return parse_andd(b, off, len);
	case DMAR_TYPE_SATC: return parse_satc(b, off, len);
	default:
		IOPT_DEBUGLOG("structure type %u at offset 0x%x (%u bytes) unknown, skipped", type,
			      off, len);
		return 0;
	}
}

static int walk(struct dmar_builder *b)
{
	uint32_t off = DMAR_STRUCTS;

	memset(&b->n, 0, sizeof(b->n));
	while (off < b->tlen) {
		uint16_t type, len;
		uint32_t min;
		int rc;

		if (b->tlen - off < DMAR_ST_HDR_SIZE) {
			IOPT_ERRLOG("structure header at offset 0x%x truncated by the table end 0x%x",
				    off, b->tlen);
			return -EINVAL;
		}
		type = le16(b->t + off + DMAR_ST_TYPE);
		len = le16(b->t + off + DMAR_ST_LENGTH);
		min = struct_min_len(type);
		if (len < DMAR_ST_HDR_SIZE || len < min) {
			IOPT_ERRLOG("%s: Length (offset 0x%x) %u is less than %u",
				    type < ARRAY_SIZE(g_struct_names) ? g_struct_names[type] :
				    "structure", off + DMAR_ST_LENGTH, len, MAX(min, DMAR_ST_HDR_SIZE));
			return -EINVAL;
		}
		if (len > b->tlen - off) {
			IOPT_ERRLOG("%s: Length (offset 0x%x) %u runs past the table end 0x%x",
				    type < ARRAY_SIZE(g_struct_names) ? g_struct_names[type] :
				    "structure", off + DMAR_ST_LENGTH, len, b->tlen);
			return -EINVAL;
		}
		rc = parse_struct(b, off, type, len);
		if (rc != 0)
			return rc;
		off += len;
	}
	return 0;
}

static int alloc_result(struct dmar_builder *b)
{
	const struct dmar_counts *n = &b->n;
	size_t size = sizeof(struct iopt_dmar) + n->drhd * sizeof(*b->drhd) +
		      n->rmrr * sizeof(*b->rmrr) + n->atsr * sizeof(*b->atsr) +
		      n->rhsa * sizeof(*b->rhsa) + n->andd * sizeof(*b->andd) +
		      n->satc * sizeof(*b->satc) + n->scopes * sizeof(*b->scopes) +
		      n->hops * sizeof(*b->hops) + n->name_bytes;
	uint8_t *p = calloc(1, size);

	/* Every array but the last two is of 8-byte-aligned elements. */
	if (p == NULL)
		return -ENOMEM;
	b->dmar = (struct iopt_dmar *)p;
	p += sizeof(struct iopt_dmar);
	b->drhd = (void *)p;
	p += n->drhd * sizeof(*b->drhd);
	b->rmrr = (void *)p;
	p += n->rmrr * sizeof(*b->rmrr);
	b->atsr = (void *)p;
	p += n->atsr * sizeof(*b->atsr);
	b->rhsa = (void *)p;
	p += n->rhsa * sizeof(*b->rhsa);
	b->andd = (void *)p;
	p += n->andd * sizeof(*b->andd);
	b->satc = (void *)p;
	p += n->satc * sizeof(*b->satc);
	b->scopes = (void *)p;
	p += n->scopes * sizeof(*b->scopes);
	b->hops = (void *)p;
	p += n->hops * sizeof(*b->hops);
	b->names = (char *)p;
	return 0;
}

static int cmp_drhd_base(const void *a, const void *b)
{
	const struct iopt_dmar_drhd *x = *(const struct iopt_dmar_drhd *const *)a;
	const struct iopt_dmar_drhd *y = *(const struct iopt_dmar_drhd *const *)b;

	return x->reg_base < y->reg_base ? -1 : x->reg_base > y->reg_base;
}

/* A PCI scope as a sortable key: segment, start bus, path. */
struct scope_ref {
	uint16_t segment;
	const struct iopt_dmar_scope *s;
	const struct iopt_dmar_drhd *d;
};

static int cmp_scope(const void *a, const void *b)
{
	const struct scope_ref *x = a, *y = b;

	if (x->segment != y->segment)
		return x->segment < y->segment ? -1 : 1;
	if (x->s->start_bus != y->s->start_bus)
		return x->s->start_bus < y->s->start_bus ? -1 : 1;
	if (x->s->path_len != y->s->path_len)
		return x->s->path_len < y->s->path_len ? -1 : 1;
	return memcmp(x->s->path, y->s->path, x->s->path_len * sizeof(*x->s->path));
}

static bool is_pci_scope(const struct iopt_dmar_scope *s)
{
	return s->type == IOPT_DMAR_SCOPE_PCI_ENDPOINT || s->type == IOPT_DMAR_SCOPE_PCI_SUBHIERARCHY;
}

/* No PCI device scope is listed twice by DRHDs (in one unit or in two). */
static int check_scopes_unique(const struct iopt_dmar_drhd *drhd, uint32_t n_drhd,
			       uint32_t total_scopes)
{
	struct scope_ref *refs;
	size_t n = 0;
	int rc = 0;

	refs = calloc((size_t)total_scopes + 1, sizeof(*refs));
	if (refs == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n_drhd; i++) {
		for (uint32_t j = 0; j < drhd[i].n_scopes; j++) {
			if (!is_pci_scope(&drhd[i].scopes[j]))
				continue;
			refs[n].segment = drhd[i].segment;
			refs[n].s = &drhd[i].scopes[j];
			refs[n++].d = &drhd[i];
		}
	}
	qsort(refs, n, sizeof(*refs), cmp_scope);
	for (size_t i = 1; i < n; i++) {
		if (cmp_scope(&refs[i - 1], &refs[i]) == 0) {
			IOPT_ERRLOG("DRHD: device scope at offset 0x%x repeats the one at offset "
				    "0x%x (units 0x%" PRIx64 " and 0x%" PRIx64 ")",
				    MAX(refs[i].s->table_offset, refs[i - 1].s->table_offset),
				    MIN(refs[i].s->table_offset, refs[i - 1].s->table_offset),
				    refs[i - 1].d->reg_base, refs[i].d->reg_base);
			rc = -EINVAL;
			break;
		}
	}
	free(refs);
	return rc;
}

static int check_drhds(struct iopt_dmar_drhd **sorted, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		const struct iopt_dmar_drhd *a = sorted[i - 1], *d = sorted[i];

		if (d->reg_base - a->reg_base < a->reg_size) {
			IOPT_ERRLOG("DRHD: Register Base Address (offset 0x%x) 0x%" PRIx64
				    " overlaps the unit at 0x%" PRIx64 " (offset 0x%x)",
				    d->table_offset + DRHD_REG_BASE, d->reg_base, a->reg_base,
				    a->table_offset);
			return -EINVAL;
		}
	}
	return 0;
}

/* At most one INCLUDE_PCI_ALL unit per segment; drhd in table order. */
static int check_include_all(const struct iopt_dmar_drhd *drhd, uint32_t n)
{
	uint8_t *seen = calloc(65536 / 8, 1);
	int rc = 0;

	if (seen == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		uint16_t seg = drhd[i].segment;

		if (!drhd[i].include_pci_all)
			continue;
		if (seen[seg / 8] & (1U << (seg % 8))) {
			IOPT_ERRLOG("DRHD: Flags (offset 0x%x) sets INCLUDE_PCI_ALL for segment %u, "
				    "which already has such a unit", drhd[i].table_offset + DRHD_FLAGS,
				    seg);
			rc = -EINVAL;
		}
		seen[seg / 8] |= (uint8_t)(1U << (seg % 8));
	}
	free(seen);
	return rc;
}

static int link_rhsa(struct dmar_builder *b, struct iopt_dmar_drhd **sorted, uint32_t n)
{
	for (uint32_t i = 0; i < b->n.rhsa; i++) {
		struct iopt_dmar_rhsa *r = &b->rhsa[i];
		struct iopt_dmar_drhd key = { .reg_base = r->reg_base }, *kp = &key, **hit;

		hit = n ? bsearch(&kp, sorted, n, sizeof(*sorted), cmp_drhd_base) : NULL;
		if (hit == NULL) {
			IOPT_ERRLOG("RHSA: Register Base Address (offset 0x%x) 0x%" PRIx64
				    " names no DRHD", r->table_offset + RHSA_REG_BASE, r->reg_base);
			return -EINVAL;
		}
		if ((*hit)->has_proximity) {
			IOPT_ERRLOG("RHSA: Register Base Address (offset 0x%x) 0x%" PRIx64
				    " has a second RHSA", r->table_offset + RHSA_REG_BASE, r->reg_base);
			return -EINVAL;
		}
		(*hit)->has_proximity = true;
		(*hit)->proximity_domain = r->proximity_domain;
		(*hit)->numa_node = r->proximity_domain <= INT32_MAX ? (int)r->proximity_domain : -1;
		r->drhd = *hit;
	}
	return 0;
}

/* ANDD device numbers are unique; namespace scopes are linked to theirs. */
static int link_andd(struct dmar_builder *b)
{
	const struct iopt_dmar_andd *by_number[256] = { NULL };

	for (uint32_t i = 0; i < b->n.andd; i++) {
		if (by_number[b->andd[i].device_number] != NULL) {
			IOPT_ERRLOG("ANDD: ACPI Device Number (offset 0x%x) %u is used twice",
				    b->andd[i].table_offset + ANDD_DEVICE_NUMBER,
				    b->andd[i].device_number);
			return -EINVAL;
		}
		by_number[b->andd[i].device_number] = &b->andd[i];
	}
	for (uint32_t i = 0; i < b->n.scopes; i++) {
		struct iopt_dmar_scope *s = &b->scopes[i];

		if (s->type != IOPT_DMAR_SCOPE_ACPI_NAMESPACE)
			continue;
		s->andd = by_number[s->enumeration_id];
		if (s->andd == NULL) {
			IOPT_ERRLOG("device scope Enumeration ID (offset 0x%x) %u names no ANDD",
				    s->table_offset + SCOPE_ENUM_ID, s->enumeration_id);
			return -EINVAL;
		}
	}
	return 0;
}

/* Checks between structures; sets the RHSA links. */
static int cross_check(struct dmar_builder *b)
{
	struct iopt_dmar_drhd **sorted;
	uint32_t n = b->n.drhd;
	int rc;

	sorted = malloc(sizeof(*sorted) * (n + 1));
	if (sorted == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		sorted[i] = &b->drhd[i];
	qsort(sorted, n, sizeof(*sorted), cmp_drhd_base);
	rc = check_drhds(sorted, n);
	if (rc == 0)
		rc = link_rhsa(b, sorted, n);
	free(sorted);
	if (rc == 0)
		rc = check_include_all(b->drhd, n);
	if (rc == 0)
		rc = check_scopes_unique(b->drhd, n, b->n.scopes);
	if (rc == 0)
		rc = link_andd(b);
	return rc;
}

int iopt_dmar_parse(const void *buf, size_t len, uint32_t flags, struct iopt_dmar **out)
{
	struct dmar_builder b = { .t = buf };
	int rc;

	if (buf == NULL || out == NULL)
		return -EINVAL;
	rc = acpi_table_check(buf, len, "DMAR", DMAR_STRUCTS, flags, &b.tlen);
	if (rc != 0)
		return rc;
	rc = walk(&b);
	if (rc != 0)
		return rc;
	rc = alloc_result(&b);
	if (rc != 0)
		return rc;
	b.fill = true;
	rc = walk(&b);
	if (rc == 0)
		rc = cross_check(&b);
	if (rc != 0) {
		free(b.dmar);
		return rc;
	}
	b.dmar->revision = b.t[ACPI_HDR_REVISION];
	b.dmar->host_addr_width = (uint8_t)(b.t[DMAR_HAW] + 1);
	b.dmar->flags = b.t[DMAR_FLAGS];
	b.dmar->n_drhd = b.n.drhd;
	b.dmar->drhd = b.drhd;
	b.dmar->n_rmrr = b.n.rmrr;
	b.dmar->rmrr = b.rmrr;
	b.dmar->n_atsr = b.n.atsr;
	b.dmar->atsr = b.atsr;
	b.dmar->n_rhsa = b.n.rhsa;
	b.dmar->rhsa = b.rhsa;
	b.dmar->n_andd = b.n.andd;
	b.dmar->andd = b.andd;
	b.dmar->n_satc = b.n.satc;
	b.dmar->satc = b.satc;
	*out = b.dmar;
	return 0;
}

void iopt_dmar_free(struct iopt_dmar *dmar)
{
	free(dmar);
}

int iopt_dmar_scope_resolve(const struct iopt_dmar_scope *scope, uint16_t segment,
			    iopt_pci_bridge_buses_fn buses, void *arg, uint16_t *bdf,
			    int *secondary, int *subordinate)
{
	bool want_range = scope != NULL && scope->type == IOPT_DMAR_SCOPE_PCI_SUBHIERARCHY &&
			  (secondary != NULL || subordinate != NULL);
	uint8_t bus, sec = 0, sub = 0;
	uint32_t last;
	int rc;

	if (scope == NULL || bdf == NULL || scope->path_len == 0) {
		IOPT_ERRLOG("scope_resolve: NULL argument or a scope without a path");
		return -EINVAL;
	}
	last = scope->path_len - 1;
	if ((last > 0 || want_range) && buses == NULL)
		return -EOPNOTSUPP;
	bus = scope->start_bus;
	for (uint32_t i = 0; i <= last; i++) {
		const struct iopt_dmar_path_hop *h = &scope->path[i];

		if (i == last && !want_range)
			break;
		rc = buses(arg, segment, bus, h->dev, h->fn, &sec, &sub);
		if (rc != 0)
			return rc;
		if (sec <= bus || sub < sec) {
			IOPT_ERRLOG("device scope at offset 0x%x: bridge %04x:%02x:%02x.%x reports "
				    "secondary bus %u, subordinate %u", scope->table_offset, segment,
				    bus, h->dev, h->fn, sec, sub);
			return -EINVAL;
		}
		if (i < last)
			bus = sec;
	}
	*bdf = (uint16_t)(bus << 8 | scope->path[last].dev << 3 | scope->path[last].fn);
	if (secondary != NULL)
		*secondary = want_range ? sec : -1;
	if (subordinate != NULL)
		*subordinate = want_range ? sub : -1;
	return 0;
}

int iopt_dmar_find_drhd(const struct iopt_dmar *dmar, uint16_t segment, uint16_t bdf,
			iopt_pci_bridge_buses_fn buses, void *arg,
			const struct iopt_dmar_drhd **drhd)
{
	const struct iopt_dmar_drhd *below = NULL, *all = NULL;
	int below_width = 256;

	if (dmar == NULL || drhd == NULL) {
		IOPT_ERRLOG("find_drhd: NULL argument");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < dmar->n_drhd; i++) {
		const struct iopt_dmar_drhd *d = &dmar->drhd[i];

		if (d->segment != segment)
			continue;
		if (d->include_pci_all)
			all = d;
		for (uint32_t j = 0; j < d->n_scopes; j++) {
			const struct iopt_dmar_scope *s = &d->scopes[j];
			int sec, sub, rc;
			uint16_t at;

			if (!is_pci_scope(s))
				continue;
			rc = iopt_dmar_scope_resolve(s, segment, buses, arg, &at, &sec, &sub);
			if (rc != 0)
				return rc;
			if (at == bdf) {
				*drhd = d;
				return 0;
			}
			if (sec >= 0 && (bdf >> 8) >= sec && (bdf >> 8) <= sub &&
			    sub - sec < below_width) {
				below = d;
				below_width = sub - sec;
			}
		}
	}
	if (below == NULL)
		below = all;
	if (below == NULL)
		return -ENOENT;
	*drhd = below;
	return 0;
}
