/*
 * ACPI IORT parser (Arm DEN0049 E.e).
 *
 * As for the DMAR: a first pass checks each node on its own and counts
 * nodes, ID mappings, ITS identifiers and name bytes; a second pass fills one
 * allocation; then the checks that need the whole node list (output
 * references, overlapping input ranges, duplicate SMMU bases and root complex
 * segments) run on the filled result. Each check runs in exactly one pass, so
 * a bad table logs one line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "iopt/firmware.h"

#define LOG_MODULE "iort"
#include "iopt_internal/log.h"
#include "iopt_internal/util.h"

#include "env/acpi_tables.h"

struct iort_counts {
	uint32_t nodes, mappings, its_ids;
	size_t name_bytes;
};

struct iort_builder {
	const uint8_t *t;
	uint32_t tlen;
	bool fill;
	struct iort_counts n;
	struct iopt_iort *iort;
	struct iopt_iort_node *nodes;
	struct iopt_iort_id_mapping *maps;
	uint32_t *its_ids;
	char *names;
};

static const char *node_name(uint8_t type)
{
	static const char *const names[] = { "ITS group", "named component", "root complex",
					     "SMMU", "SMMUv3", "PMCG", "RMR" };

	return type < ARRAY_SIZE(names) ? names[type] : "node";
}

static bool known_type(uint8_t type)
{
	return type <= IORT_TYPE_RMR;
}

/* Fixed part of each known node type, before any ID mapping array. */
static uint32_t node_min_len(uint8_t type)
{
	switch (type) {
	case IORT_TYPE_ITS_GROUP: return IORT_ITS_IDS;
	case IORT_TYPE_NAMED_COMPONENT: return IORT_NC_MIN_SIZE;
	case IORT_TYPE_ROOT_COMPLEX: return IORT_RC_MIN_SIZE;
	case IORT_TYPE_SMMUV3: return IORT_S3_MIN_SIZE;
	default: return IORT_N_DATA;
	}
}

static void read_mem_access(const uint8_t *p, struct iopt_iort_mem_access *m)
{
	m->cache_coherent = le32(p + IORT_MEM_CCA);
	m->hints = p[IORT_MEM_HINTS];
	m->flags = p[IORT_MEM_FLAGS];
}

static void fill_smmuv3(const uint8_t *p, uint32_t data_end, struct iopt_iort_node *node)
{
	struct iopt_iort_smmuv3 *s = &node->u.smmuv3;
	bool rev1 = data_end >= IORT_S3_REV1_SIZE;

	s->base = le64(p + IORT_S3_BASE);
	s->flags = le32(p + IORT_S3_FLAGS);
	s->coherent = s->flags & IORT_S3_F_COHACC;
	s->httu_override = (uint8_t)FIELD_GET(IORT_S3_F_HTTU, s->flags);
	s->vatos_base = le64(p + IORT_S3_VATOS);
	s->model = le32(p + IORT_S3_MODEL);
	s->event_gsiv = le32(p + IORT_S3_EVENT_GSIV);
	s->pri_gsiv = le32(p + IORT_S3_PRI_GSIV);
	s->gerr_gsiv = le32(p + IORT_S3_GERR_GSIV);
	s->sync_gsiv = le32(p + IORT_S3_SYNC_GSIV);
	if (rev1) {
		s->has_proximity = s->flags & IORT_S3_F_PXM_VALID;
		s->proximity_domain = le32(p + IORT_S3_PROXIMITY);
		s->id_mapping_index = le32(p + IORT_S3_ID_INDEX);
		/* Wired interrupts for all four sources mean no MSI, so no index. */
		s->id_mapping_index_valid = (s->flags & IORT_S3_F_DEVID_VALID) ||
					    !(s->event_gsiv && s->pri_gsiv && s->gerr_gsiv &&
					      s->sync_gsiv);
		if (s->id_mapping_index_valid && node->n_mappings == 0)
			s->id_mapping_index_valid = false;
	}
}

/* Type-specific fields in [IORT_N_DATA, data_end) of the node at off. */
static int parse_node_data(struct iort_builder *b, uint32_t off, uint8_t type, uint32_t data_end,
			   struct iopt_iort_node *node)
{
	const uint8_t *p = b->t + off;

	switch (type) {
	case IORT_TYPE_ITS_GROUP: {
		uint32_t n = le32(p + IORT_ITS_COUNT);

		if ((uint64_t)n * 4 > data_end - IORT_ITS_IDS) {
			IOPT_ERRLOG("ITS group: Number of ITSs (offset 0x%x) %u does not fit in the "
				    "node (length 0x%x)", off + IORT_ITS_COUNT, n, data_end);
			return -EINVAL;
		}
		if (node != NULL) {
			node->u.its.n_its = n;
			node->u.its.its_ids = &b->its_ids[b->n.its_ids];
			for (uint32_t i = 0; i < n; i++)
				b->its_ids[b->n.its_ids + i] = le32(p + IORT_ITS_IDS + 4 * i);
		}
		b->n.its_ids += n;
		return 0;
	}
	case IORT_TYPE_NAMED_COMPONENT: {
		const uint8_t *nul = memchr(p + IORT_NC_NAME, '\0', data_end - IORT_NC_NAME);
		size_t n;

		if (nul == NULL) {
			IOPT_ERRLOG("named component: Device Object Name (offset 0x%x) is not "
				    "NUL-terminated inside the node", off + IORT_NC_NAME);
			return -EINVAL;
		}
		n = (size_t)(nul - (p + IORT_NC_NAME)) + 1;
		if (node != NULL) {
			node->u.named.node_flags = le32(p + IORT_NC_FLAGS);
			read_mem_access(p + IORT_NC_MEM, &node->u.named.mem);
			node->u.named.mem_addr_size_limit = p[IORT_NC_ADDR_LIMIT];
			memcpy(b->names + b->n.name_bytes, p + IORT_NC_NAME, n);
			node->u.named.name = b->names + b->n.name_bytes;
		}
		b->n.name_bytes += n;
		return 0;
	}
	case IORT_TYPE_ROOT_COMPLEX:
		if (node != NULL) {
			read_mem_access(p + IORT_RC_MEM, &node->u.rc.mem);
			node->u.rc.ats_attribute = le32(p + IORT_RC_ATS);
			node->u.rc.segment = le32(p + IORT_RC_SEGMENT);
			if (node->revision >= 1 && data_end >= IORT_RC_REV1_SIZE)
				node->u.rc.mem_addr_size_limit = p[IORT_RC_ADDR_LIMIT];
		}
		return 0;
	case IORT_TYPE_SMMUV3:
		if (!IS_ALIGNED(le64(p + IORT_S3_BASE), IORT_S3_BASE_ALIGN)) {
			IOPT_ERRLOG("SMMUv3: Base Address (offset 0x%x) 0x%" PRIx64
				    " is not 64 KiB aligned", off + IORT_S3_BASE,
				    le64(p + IORT_S3_BASE));
			return -EINVAL;
		}
		if (node != NULL)
			fill_smmuv3(p, data_end, node);
		return 0;
	default:
		return 0;
	}
}

static int parse_mappings(struct iort_builder *b, uint32_t off, uint32_t nlen, uint8_t type,
			  struct iopt_iort_node *node, uint32_t *data_end)
{
	const uint8_t *p = b->t + off;
	uint32_t count = le32(p + IORT_N_MAP_COUNT), moff = le32(p + IORT_N_MAP_OFFSET);

	*data_end = nlen;
	if (count == 0 || !known_type(type))
		return 0;
	if (moff < node_min_len(type) || moff > nlen ||
	    (uint64_t)count * IORT_M_SIZE > nlen - moff) {
		IOPT_ERRLOG("%s: ID mapping array (Mapping Offset at offset 0x%x = 0x%x, %u "
			    "mappings) is not inside the node's 0x%x bytes after its fixed part",
			    node_name(type), off + IORT_N_MAP_OFFSET, moff, count, nlen);
		return -EINVAL;
	}
	*data_end = moff;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *m = p + moff + i * IORT_M_SIZE;
		uint32_t mflags = le32(m + IORT_M_FLAGS);
		uint64_t n_ids = (uint64_t)le32(m + IORT_M_NUM_IDS) + 1;

		if (!(mflags & IORT_M_F_SINGLE) && le32(m + IORT_M_INPUT_BASE) + n_ids > BIT_ULL(32)) {
			IOPT_ERRLOG("%s: ID mapping (offset 0x%x): input base 0x%x + %" PRIu64
				    " IDs overflows 32 bits", node_name(type),
				    off + moff + i * IORT_M_SIZE, le32(m + IORT_M_INPUT_BASE), n_ids);
			return -EINVAL;
		}
		if (node != NULL) {
			struct iopt_iort_id_mapping *map = &b->maps[b->n.mappings + i];

			map->input_base = le32(m + IORT_M_INPUT_BASE);
			map->count = n_ids;
			map->output_base = le32(m + IORT_M_OUTPUT_BASE);
			map->output_ref = le32(m + IORT_M_OUTPUT_REF);
			map->flags = mflags;
			map->single = mflags & IORT_M_F_SINGLE;
			map->table_offset = off + moff + i * IORT_M_SIZE;
		}
	}
	if (node != NULL) {
		node->n_mappings = count;
		node->mappings = &b->maps[b->n.mappings];
	}
	b->n.mappings += count;
	return 0;
}

static int parse_node(struct iort_builder *b, uint32_t off, uint32_t nlen)
{
	const uint8_t *p = b->t + off;
	uint8_t type = p[IORT_N_TYPE];
	struct iopt_iort_node *node = b->fill ? &b->nodes[b->n.nodes] : NULL;
	uint32_t data_end;
	int rc;

	if (!known_type(type))
		IOPT_DEBUGLOG("node type %u at offset 0x%x unknown: kept without its fields", type,
			      off);
	if (nlen < node_min_len(type)) {
		IOPT_ERRLOG("%s: Length (offset 0x%x) %u is less than %u", node_name(type),
			    off + IORT_N_LENGTH, nlen, node_min_len(type));
		return -EINVAL;
	}
	if (node != NULL) {
		node->type = type;
		node->revision = p[IORT_N_REVISION];
		node->identifier = le32(p + IORT_N_IDENTIFIER);
		node->table_offset = off;
	}
	rc = parse_mappings(b, off, nlen, type, node, &data_end);
	if (rc == 0)
		rc = parse_node_data(b, off, type, data_end, node);
	if (rc == 0)
		b->n.nodes++;
	return rc;
}

static int walk(struct iort_builder *b)
{
	uint32_t count = le32(b->t + IORT_NODE_COUNT), off = le32(b->t + IORT_NODE_OFFSET);

	memset(&b->n, 0, sizeof(b->n));
	if (off < IORT_HDR_SIZE || off > b->tlen) {
		IOPT_ERRLOG("Node Offset (offset 0x%x) 0x%x is not between the header end 0x%x "
			    "and the table end 0x%x", IORT_NODE_OFFSET, off, IORT_HDR_SIZE, b->tlen);
		return -EINVAL;
	}
	if ((uint64_t)count * IORT_N_DATA > b->tlen - off) {
		IOPT_ERRLOG("Node Count (offset 0x%x) %u: that many nodes cannot fit in the "
			    "0x%x bytes after the node offset", IORT_NODE_COUNT, count, b->tlen - off);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint16_t nlen;
		int rc;

		if (b->tlen - off < IORT_N_DATA) {
			IOPT_ERRLOG("node %u at offset 0x%x truncated by the table end 0x%x", i, off,
				    b->tlen);
			return -EINVAL;
		}
		nlen = le16(b->t + off + IORT_N_LENGTH);
		if (nlen < IORT_N_DATA) {
			IOPT_ERRLOG("%s: Length (offset 0x%x) %u is less than the %u-byte node header",
				    node_name(b->t[off]), off + IORT_N_LENGTH, nlen, IORT_N_DATA);
			return -EINVAL;
		}
		if (nlen > b->tlen - off) {
			IOPT_ERRLOG("%s: Length (offset 0x%x) %u runs past the table end 0x%x",
				    node_name(b->t[off]), off + IORT_N_LENGTH, nlen, b->tlen);
			return -EINVAL;
		}
		rc = parse_node(b, off, nlen);
		if (rc != 0)
			return rc;
		off += nlen;
	}
	return 0;
}

static int alloc_result(struct iort_builder *b)
{
	size_t size = sizeof(struct iopt_iort) + b->n.nodes * sizeof(*b->nodes) +
		      b->n.mappings * sizeof(*b->maps) + b->n.its_ids * sizeof(*b->its_ids) +
		      b->n.name_bytes;
	uint8_t *p = calloc(1, size);

	/* Arrays in decreasing alignment: 8, 8, 8, 4, 1. */
	if (p == NULL)
		return -ENOMEM;
	b->iort = (struct iopt_iort *)p;
	p += sizeof(struct iopt_iort);
	b->nodes = (void *)p;
	p += b->n.nodes * sizeof(*b->nodes);
	b->maps = (void *)p;
	p += b->n.mappings * sizeof(*b->maps);
	b->its_ids = (void *)p;
	p += b->n.its_ids * sizeof(*b->its_ids);
	b->names = (char *)p;
	return 0;
}

static int cmp_node_offset(const void *key, const void *elem)
{
	uint32_t k = *(const uint32_t *)key, o = ((const struct iopt_iort_node *)elem)->table_offset;

	return k < o ? -1 : k > o;
}

/* Whether a node of type src may send IDs to a node of type dst. */
static bool target_ok(uint8_t src, uint8_t dst)
{
	bool translates = dst == IORT_TYPE_ITS_GROUP || dst == IORT_TYPE_SMMU ||
			  dst == IORT_TYPE_SMMUV3 || !known_type(dst);

	if (src == IORT_TYPE_SMMU || src == IORT_TYPE_SMMUV3 || src == IORT_TYPE_PMCG)
		return dst == IORT_TYPE_ITS_GROUP; /* no chains of SMMUs: nothing can loop */
	if (src == IORT_TYPE_RMR)
		return dst == IORT_TYPE_SMMU || dst == IORT_TYPE_SMMUV3;
	return translates;
}

static int link_mappings(struct iort_builder *b)
{
	for (uint32_t i = 0; i < b->n.nodes; i++) {
		struct iopt_iort_node *node = &b->nodes[i];

		for (uint32_t j = 0; j < node->n_mappings; j++) {
			struct iopt_iort_id_mapping *m = &b->maps[node->mappings - b->maps + j];
			const struct iopt_iort_node *dst;

			dst = bsearch(&m->output_ref, b->nodes, b->n.nodes, sizeof(*b->nodes),
				      cmp_node_offset);
			if (dst == NULL || dst == node || !target_ok(node->type, dst->type)) {
				IOPT_ERRLOG("%s: ID mapping Output Reference (offset 0x%x) 0x%x %s",
					    node_name(node->type), m->table_offset + IORT_M_OUTPUT_REF,
					    m->output_ref,
					    dst == NULL ? "is not the offset of a node" :
					    dst == node ? "points at its own node" :
					    "points at a node that cannot take these IDs");
				return -EINVAL;
			}
			m->output = dst;
		}
	}
	return 0;
}

static int cmp_map_input(const void *a, const void *b)
{
	const struct iopt_iort_id_mapping *x = *(const struct iopt_iort_id_mapping *const *)a;
	const struct iopt_iort_id_mapping *y = *(const struct iopt_iort_id_mapping *const *)b;

	return x->input_base < y->input_base ? -1 : x->input_base > y->input_base;
}

/* No two non-single mappings of one node take the same input ID. */
static int check_overlaps(struct iort_builder *b)
{
	const struct iopt_iort_id_mapping **v = calloc((size_t)b->n.mappings + 1, sizeof(*v));
	int rc = 0;

	if (v == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < b->n.nodes && rc == 0; i++) {
		const struct iopt_iort_node *node = &b->nodes[i];
		uint32_t n = 0;

		for (uint32_t j = 0; j < node->n_mappings; j++) {
			if (!node->mappings[j].single)
				v[n++] = &node->mappings[j];
		}
		qsort(v, n, sizeof(*v), cmp_map_input);
		for (uint32_t j = 1; j < n; j++) {
			uint64_t end = (uint64_t)v[j - 1]->input_base + v[j - 1]->count;

			/*
			 * Firmware that took "Number of IDs" for the count overlaps the
			 * next range by its last ID; Linux accepts that, and so do we,
			 * giving the shared ID to the later range (see the lookup).
			 */
			if (end == (uint64_t)v[j]->input_base + 1 && v[j]->count > 1) {
				IOPT_WARNLOG("%s: ID mapping (offset 0x%x) overlaps the next one by "
					     "its last ID (Number of IDs taken as a count?)",
					     node_name(node->type), v[j - 1]->table_offset);
				continue;
			}
			if (end > v[j]->input_base) {
				IOPT_ERRLOG("%s: ID mapping (offset 0x%x) input range overlaps the one "
					    "at offset 0x%x", node_name(node->type),
					    MAX(v[j]->table_offset, v[j - 1]->table_offset),
					    MIN(v[j]->table_offset, v[j - 1]->table_offset));
				rc = -EINVAL;
				break;
			}
		}
	}
	free(v);
	return rc;
}

static int cmp_key64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* SMMUv3 bases and root complex segments are unique. */
static int check_unique(struct iort_builder *b)
{
	/* Pairs of { key (type in bits 63:62), node offset }. */
	uint64_t *keys = calloc((size_t)b->n.nodes * 2 + 2, sizeof(*keys));
	uint32_t n = 0;
	int rc = 0;

	if (keys == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < b->n.nodes; i++) {
		const struct iopt_iort_node *node = &b->nodes[i];

		if (node->type == IORT_TYPE_SMMUV3)
			keys[2 * n] = (node->u.smmuv3.base >> 16) | (1ULL << 62);
		else if (node->type == IORT_TYPE_ROOT_COMPLEX)
			keys[2 * n] = node->u.rc.segment | (2ULL << 62);
		else
			continue;
		keys[2 * n++ + 1] = node->table_offset;
	}
	qsort(keys, n, 2 * sizeof(*keys), cmp_key64);
	for (uint32_t i = 1; i < n; i++) {
		if (keys[2 * i] == keys[2 * i - 2]) {
			bool rc_node = (keys[2 * i] >> 62) == 2;
			uint32_t at = (uint32_t)MAX(keys[2 * i + 1], keys[2 * i - 1]);

			IOPT_ERRLOG("%s (offset 0x%x): %s (offset 0x%x) repeats the node at offset "
				    "0x%x", rc_node ? "root complex" : "SMMUv3", at,
				    rc_node ? "PCI Segment Number" : "Base Address",
				    at + (rc_node ? IORT_RC_SEGMENT : IORT_S3_BASE),
				    (uint32_t)MIN(keys[2 * i + 1], keys[2 * i - 1]));
			rc = -EINVAL;
			break;
		}
	}
	free(keys);
	return rc;
}

static int check_id_index(struct iort_builder *b)
{
	for (uint32_t i = 0; i < b->n.nodes; i++) {
		const struct iopt_iort_node *node = &b->nodes[i];
		const struct iopt_iort_smmuv3 *s = &node->u.smmuv3;

		if (node->type == IORT_TYPE_SMMUV3 && s->id_mapping_index_valid &&
		    s->id_mapping_index >= node->n_mappings) {
			IOPT_ERRLOG("SMMUv3: DeviceID Mapping Index (offset 0x%x) %u is beyond its "
				    "%u mappings", node->table_offset + IORT_S3_ID_INDEX,
				    s->id_mapping_index, node->n_mappings);
			return -EINVAL;
		}
	}
	return 0;
}

int iopt_iort_parse(const void *buf, size_t len, uint32_t flags, struct iopt_iort **out)
{
	struct iort_builder b = { .t = buf };
	int rc;

	if (buf == NULL || out == NULL)
		return -EINVAL;
	rc = acpi_table_check(buf, len, "IORT", IORT_HDR_SIZE, flags, &b.tlen);
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
		rc = link_mappings(&b);
	if (rc == 0)
		rc = check_overlaps(&b);
	if (rc == 0)
		rc = check_unique(&b);
	if (rc == 0)
		rc = check_id_index(&b);
	if (rc != 0) {
		free(b.iort);
		return rc;
	}
	b.iort->revision = b.t[ACPI_HDR_REVISION];
	b.iort->n_nodes = b.n.nodes;
	b.iort->nodes = b.nodes;
	*out = b.iort;
	return 0;
}

void iopt_iort_free(struct iopt_iort *iort)
{
	free(iort);
}

int iopt_iort_rid_to_streamid(const struct iopt_iort *iort, uint32_t segment, uint32_t rid,
			      const struct iopt_iort_node **smmu, uint32_t *sid)
{
	const struct iopt_iort_id_mapping *m = NULL;
	const struct iopt_iort_node *rc = NULL;

	if (iort == NULL || smmu == NULL || sid == NULL) {
		IOPT_ERRLOG("rid_to_streamid: NULL argument");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < iort->n_nodes && rc == NULL; i++) {
		if (iort->nodes[i].type == IORT_TYPE_ROOT_COMPLEX &&
		    iort->nodes[i].u.rc.segment == segment)
			rc = &iort->nodes[i];
	}
	if (rc == NULL)
		return -ENOENT;
	/*
	 * Single mappings name the root complex's own ID, not its RIDs. Ranges
	 * overlap at most by one ID (see check_overlaps()): the later range,
	 * the one with the larger input base, wins.
	 */
	for (uint32_t j = 0; j < rc->n_mappings; j++) {
		const struct iopt_iort_id_mapping *c = &rc->mappings[j];

		if (c->single || rid < c->input_base || rid - c->input_base >= c->count)
			continue;
		if (m == NULL || c->input_base > m->input_base)
			m = c;
	}
	if (m == NULL)
		return -ENOENT;
	if (m->output->type == IORT_TYPE_ITS_GROUP)
		return -ENODEV;
	if (m->output->type != IORT_TYPE_SMMUV3)
		return -EOPNOTSUPP;
	*smmu = m->output;
	*sid = m->output_base + (rid - m->input_base);
	return 0;
}
