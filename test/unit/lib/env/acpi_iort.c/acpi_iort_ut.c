#include "ut.h"

#include "env/acpi_iort.c"

#include "../acpi_testdata.h"

/* Offsets in iort_smmuv3.aml (see the .asl; the tests check them). */
#define T_ITS 0x30
#define T_SMMU 0x48
#define T_RC 0xa0
#define T_NC 0xd8
#define T_LEN 284
#define T_SMMU_MAP (T_SMMU + 0x44)
#define T_RC_MAP (T_RC + 0x24)
#define T_NC_MAP (T_NC + 0x30)

static uint8_t *g_iort;
static size_t g_iort_len;

static int suite_init(void)
{
	td_log_reset();
	if (td_load("iort_smmuv3.aml", &g_iort, &g_iort_len) != 0)
		g_iort = NULL;
	return 0;
}

static int suite_fini(void)
{
	iopt_acpi_table_free(g_iort);
	iopt_log_set_handler(NULL, NULL);
	return 0;
}

#define NEED_TABLE()                                                          \
	do {                                                                  \
		if (g_iort == NULL)                                           \
			UT_SKIP("compiled IORT test table missing (iasl)");   \
	} while (0)

static struct iopt_iort *parse_expect(const uint8_t *t, size_t len, int want, const char *what)
{
	struct iopt_iort *r = (struct iopt_iort *)(uintptr_t)0x1;
	int rc;

	td_log_reset();
	rc = iopt_iort_parse(t, len, 0, &r);
	CU_ASSERT_EQUAL(rc, want);
	if (rc != 0) {
		CU_ASSERT_EQUAL(g_log.errors, 1);
		CU_ASSERT_PTR_EQUAL(r, (struct iopt_iort *)(uintptr_t)0x1);
		if (what != NULL && strstr(g_log.last_error, what) == NULL) {
			printf("\n  error line \"%s\" lacks \"%s\"\n", g_log.last_error, what);
			CU_FAIL("error line does not name the field");
		}
		return NULL;
	}
	CU_ASSERT_EQUAL(g_log.errors, 0);
	return r;
}

static void test_parse(void)
{
	const struct iopt_iort_node *its, *smmu, *rc, *nc, *hit = NULL;
	struct iopt_iort *r;
	uint32_t sid = 0;

	NEED_TABLE();
	CU_ASSERT_EQUAL(g_iort_len, T_LEN);
	r = parse_expect(g_iort, g_iort_len, 0, NULL);
	if (r == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(r->n_nodes, 4);
	its = &r->nodes[0];
	smmu = &r->nodes[1];
	rc = &r->nodes[2];
	nc = &r->nodes[3];
	CU_ASSERT_EQUAL(its->type, IOPT_IORT_NODE_ITS_GROUP);
	CU_ASSERT_EQUAL(its->table_offset, T_ITS);
	CU_ASSERT_EQUAL_FATAL(its->u.its.n_its, 1);
	CU_ASSERT_EQUAL(its->u.its.its_ids[0], 0);

	CU_ASSERT_EQUAL(smmu->type, IOPT_IORT_NODE_SMMUV3);
	CU_ASSERT_EQUAL(smmu->table_offset, T_SMMU);
	CU_ASSERT_EQUAL(smmu->u.smmuv3.base, 0x09050000ULL);
	CU_ASSERT_TRUE(smmu->u.smmuv3.coherent);
	CU_ASSERT_EQUAL(smmu->u.smmuv3.httu_override, 0);
	CU_ASSERT_TRUE(smmu->u.smmuv3.has_proximity);
	CU_ASSERT_EQUAL(smmu->u.smmuv3.proximity_domain, 0);
	CU_ASSERT_EQUAL(smmu->u.smmuv3.model, IOPT_IORT_SMMUV3_MODEL_GENERIC);
	CU_ASSERT_EQUAL(smmu->u.smmuv3.event_gsiv, 0x6a);
	CU_ASSERT_EQUAL(smmu->u.smmuv3.pri_gsiv, 0x6b);
	CU_ASSERT_EQUAL(smmu->u.smmuv3.gerr_gsiv, 0x6c);
	CU_ASSERT_EQUAL(smmu->u.smmuv3.sync_gsiv, 0x6d);
	CU_ASSERT_FALSE(smmu->u.smmuv3.id_mapping_index_valid); /* all wired */
	CU_ASSERT_EQUAL_FATAL(smmu->n_mappings, 1);
	CU_ASSERT_TRUE(smmu->mappings[0].single);
	CU_ASSERT_EQUAL(smmu->mappings[0].output_base, 0x10000);
	CU_ASSERT_PTR_EQUAL(smmu->mappings[0].output, its);

	CU_ASSERT_EQUAL(rc->type, IOPT_IORT_NODE_ROOT_COMPLEX);
	CU_ASSERT_EQUAL(rc->u.rc.segment, 0);
	CU_ASSERT_EQUAL(rc->u.rc.mem.cache_coherent, 1);
	CU_ASSERT_EQUAL(rc->u.rc.mem.flags, 3);
	CU_ASSERT_EQUAL(rc->u.rc.ats_attribute, 0);
	CU_ASSERT_EQUAL(rc->u.rc.mem_addr_size_limit, 0x30);
	CU_ASSERT_EQUAL_FATAL(rc->n_mappings, 1);
	CU_ASSERT_EQUAL(rc->mappings[0].input_base, 0);
	CU_ASSERT_EQUAL(rc->mappings[0].count, 0x10000); /* the field says 0xffff */
	CU_ASSERT_EQUAL(rc->mappings[0].table_offset, T_RC_MAP);
	CU_ASSERT_PTR_EQUAL(rc->mappings[0].output, smmu);
	CU_ASSERT_FALSE(rc->mappings[0].single);

	CU_ASSERT_EQUAL(nc->type, IOPT_IORT_NODE_NAMED_COMPONENT);
	CU_ASSERT_STRING_EQUAL(nc->u.named.name, "\\_SB.DMA0");
	CU_ASSERT_EQUAL(nc->u.named.mem_addr_size_limit, 0x28);
	CU_ASSERT_EQUAL_FATAL(nc->n_mappings, 1);
	CU_ASSERT_EQUAL(nc->mappings[0].count, 4);
	CU_ASSERT_EQUAL(nc->mappings[0].output_base, 0x20000);
	CU_ASSERT_PTR_EQUAL(nc->mappings[0].output, smmu);

	/* edu at 00:01.0 has RID 8 and StreamID 8 on QEMU's virt. */
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(r, 0, 0x0008, &hit, &sid), 0);
	CU_ASSERT_PTR_EQUAL(hit, smmu);
	CU_ASSERT_EQUAL(sid, 8);
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(r, 0, 0xffff, &hit, &sid), 0);
	CU_ASSERT_EQUAL(sid, 0xffff);
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(r, 0, 0x10000, &hit, &sid), -ENOENT);
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(r, 1, 0x0008, &hit, &sid), -ENOENT);
	td_log_reset();
	hit = NULL;
	sid = 77;
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(NULL, 0, 0, &hit, &sid), -EINVAL);
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(r, 0, 8, NULL, &sid), -EINVAL);
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(r, 0, 8, &hit, NULL), -EINVAL);
	CU_ASSERT_EQUAL(g_log.errors, 3);
	CU_ASSERT_PTR_NULL(hit);
	CU_ASSERT_EQUAL(sid, 77);
	iopt_log_set_handler(NULL, NULL);
	iopt_iort_free(r);
}

static void test_header_and_nodes(void)
{
	uint8_t *t;

	NEED_TABLE();
	t = td_dup(g_iort, g_iort_len, 0);
	parse_expect(t, g_iort_len - 1, -EPROTO, "Length (offset 4)");
	t[9] ^= 0x55;
	parse_expect(t, g_iort_len, -EPROTO, "Checksum");
	td_fix_checksum(t, g_iort_len);
	/* Node count that cannot fit (and would overflow count * size). */
	td_put32(t + IORT_NODE_COUNT, 0x10000000);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "Node Count (offset 0x24)");
	td_put32(t + IORT_NODE_COUNT, 4);
	/* Node offset inside the header, or beyond the table. */
	td_put32(t + IORT_NODE_OFFSET, 0x20);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "Node Offset (offset 0x28)");
	td_put32(t + IORT_NODE_OFFSET, 0x1000);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "Node Offset");
	td_put32(t + IORT_NODE_OFFSET, T_ITS);
	/* Table truncated inside the root complex node. */
	td_set_length(t, T_RC + 0x20);
	parse_expect(t, g_iort_len, -EINVAL, "root complex: Length (offset 0xa1)");
	/* Truncated before a node header. */
	td_set_length(t, T_RC + 8);
	parse_expect(t, g_iort_len, -EINVAL, "node 2 at offset 0xa0 truncated");
	td_set_length(t, (uint32_t)g_iort_len);
	/* Zero-length node: would loop. */
	td_put16(t + T_SMMU + IORT_N_LENGTH, 0);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "SMMUv3: Length (offset 0x49) 0");
	/* SMMUv3 node shorter than its fixed fields. */
	td_put16(t + T_SMMU + IORT_N_LENGTH, 0x30);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "SMMUv3: Length (offset 0x49) 48 is less than 60");
	td_put16(t + T_SMMU + IORT_N_LENGTH, 0x58);
	/* Mapping array beyond its node. */
	td_put32(t + T_RC + IORT_N_MAP_OFFSET, 0x30);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "Mapping Offset at offset 0xac");
	/* Mapping array inside the node header. */
	td_put32(t + T_RC + IORT_N_MAP_OFFSET, 0x8);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "ID mapping array");
	td_put32(t + T_RC + IORT_N_MAP_OFFSET, 0x24);
	/* Mapping count that overflows count * 20. */
	td_put32(t + T_RC + IORT_N_MAP_COUNT, 0xcccccccd);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "ID mapping array");
	td_put32(t + T_RC + IORT_N_MAP_COUNT, 1);
	/* ITS count beyond the node. */
	td_put32(t + T_ITS + IORT_ITS_COUNT, 3);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "Number of ITSs (offset 0x40)");
	td_put32(t + T_ITS + IORT_ITS_COUNT, 1);
	/* Named component name running into its mappings. */
	memset(t + T_NC + IORT_NC_NAME, 'A', 0x30 - IORT_NC_NAME);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "Device Object Name (offset 0xf5)");
	memcpy(t, g_iort, g_iort_len);
	/* Unaligned SMMUv3 base. */
	td_put64(t + T_SMMU + IORT_S3_BASE, 0x09051000);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "Base Address (offset 0x58)");
	free(t);
}

static void test_mappings(void)
{
	uint8_t *t;

	NEED_TABLE();
	t = td_dup(g_iort, g_iort_len, 0);
	/* Output reference into the middle of a node, beyond the table, at itself. */
	td_put32(t + T_RC_MAP + IORT_M_OUTPUT_REF, T_SMMU + 4);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "Output Reference (offset 0xd0) 0x4c is not the offset");
	td_put32(t + T_RC_MAP + IORT_M_OUTPUT_REF, 0xffff0000);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "is not the offset of a node");
	td_put32(t + T_RC_MAP + IORT_M_OUTPUT_REF, T_RC);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "its own node");
	/* Root complex mapping to the named component: cannot take IDs. */
	td_put32(t + T_RC_MAP + IORT_M_OUTPUT_REF, T_NC);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "cannot take these IDs");
	td_put32(t + T_RC_MAP + IORT_M_OUTPUT_REF, T_SMMU);
	/* SMMUv3 mapping back to the root complex: a loop. */
	td_put32(t + T_SMMU_MAP + IORT_M_OUTPUT_REF, T_RC);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "Output Reference (offset 0x98)");
	td_put32(t + T_SMMU_MAP + IORT_M_OUTPUT_REF, T_ITS);
	/* Input range beyond 32 bits. */
	td_put32(t + T_RC_MAP + IORT_M_INPUT_BASE, 0xffff0001);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "overflows 32 bits");
	td_put32(t + T_RC_MAP + IORT_M_INPUT_BASE, 0);
	/* SMMUv3 using MSIs with its DeviceID mapping index beyond its mappings. */
	td_put32(t + T_SMMU + IORT_S3_EVENT_GSIV, 0);
	td_put32(t + T_SMMU + IORT_S3_ID_INDEX, 1);
	td_fix_checksum(t, g_iort_len);
	parse_expect(t, g_iort_len, -EINVAL, "DeviceID Mapping Index (offset 0x88)");
	td_put32(t + T_SMMU + IORT_S3_ID_INDEX, 0);
	td_fix_checksum(t, g_iort_len);
	{
		struct iopt_iort *r = parse_expect(t, g_iort_len, 0, NULL);

		if (r != NULL) {
			CU_ASSERT_TRUE(r->nodes[1].u.smmuv3.id_mapping_index_valid);
			iopt_iort_free(r);
		}
	}
	free(t);
}

/* A synthetic IORT: ITS group, root complex with two mappings to it. */
static size_t build_two_maps(uint8_t *t, uint32_t second_input, uint32_t seg2)
{
	const uint32_t its = 48, rc = 72, rc2 = 148, len = 148 + 56;

	memset(t, 0, len);
	memcpy(t, "IORT", 4);
	t[8] = 3;
	td_put32(t + IORT_NODE_COUNT, 3);
	td_put32(t + IORT_NODE_OFFSET, its);
	t[its] = IORT_TYPE_ITS_GROUP;
	td_put16(t + its + 1, 24);
	td_put32(t + its + IORT_ITS_COUNT, 1);
	t[rc] = IORT_TYPE_ROOT_COMPLEX;
	td_put16(t + rc + 1, 76);
	td_put32(t + rc + IORT_N_MAP_COUNT, 2);
	td_put32(t + rc + IORT_N_MAP_OFFSET, 36);
	td_put32(t + rc + 36 + IORT_M_NUM_IDS, 0xff);
	td_put32(t + rc + 36 + IORT_M_OUTPUT_REF, its);
	td_put32(t + rc + 56 + IORT_M_INPUT_BASE, second_input);
	td_put32(t + rc + 56 + IORT_M_NUM_IDS, 0xff);
	td_put32(t + rc + 56 + IORT_M_OUTPUT_REF, its);
	t[rc2] = IORT_TYPE_ROOT_COMPLEX;
	td_put16(t + rc2 + 1, 56);
	td_put32(t + rc2 + IORT_RC_SEGMENT, seg2);
	td_set_length(t, len);
	return len;
}

static void test_overlaps(void)
{
	const struct iopt_iort_node *smmu;
	uint8_t t[256];
	struct iopt_iort *r;
	uint32_t sid;
	size_t len;

	len = build_two_maps(t, 0x100, 1);
	r = parse_expect(t, len, 0, NULL);
	if (r != NULL) {
		CU_ASSERT_EQUAL(r->n_nodes, 3);
		/* Straight to the ITS: not behind an SMMU. */
		CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(r, 0, 0x180, &smmu, &sid), -ENODEV);
		iopt_iort_free(r);
	}
	len = build_two_maps(t, 0x80, 1);
	parse_expect(t, len, -EINVAL, "input range overlaps");
	/* Overlap by exactly the last ID: accepted with a warning. */
	len = build_two_maps(t, 0xff, 1);
	r = parse_expect(t, len, 0, NULL);
	CU_ASSERT_EQUAL(g_log.warnings, 1);
	iopt_iort_free(r);
	len = build_two_maps(t, 0x100, 0);
	parse_expect(t, len, -EINVAL, "PCI Segment Number (offset 0xb0)");
}

/* Unknown (newer) node types are kept by type only and may be mapping targets. */
static void test_unknown_node_type(void)
{
	const struct iopt_iort_node *smmu;
	struct iopt_iort *r;
	uint32_t sid;
	uint8_t *t;

	NEED_TABLE();
	t = td_dup(g_iort, g_iort_len, 0);
	t[T_SMMU + IORT_N_TYPE] = 0x42;
	td_fix_checksum(t, g_iort_len);
	r = parse_expect(t, g_iort_len, 0, NULL);
	if (r != NULL) {
		CU_ASSERT_EQUAL(r->n_nodes, 4);
		CU_ASSERT_EQUAL(r->nodes[1].type, 0x42);
		CU_ASSERT_EQUAL(r->nodes[1].n_mappings, 0);
		CU_ASSERT_PTR_EQUAL(r->nodes[2].mappings[0].output, &r->nodes[1]);
		CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(r, 0, 8, &smmu, &sid), -EOPNOTSUPP);
		iopt_iort_free(r);
	}
	free(t);
}

/* The lookup on a result built by hand: ranges sharing one ID, later one wins. */
static void test_lookup_shared_id(void)
{
	struct iopt_iort_node nodes[2] = { 0 };
	struct iopt_iort_id_mapping maps[2] = { 0 };
	struct iopt_iort r = { .n_nodes = 2, .nodes = nodes };
	const struct iopt_iort_node *smmu = NULL;
	uint32_t sid = 0;

	nodes[0].type = IOPT_IORT_NODE_SMMUV3;
	nodes[1].type = IOPT_IORT_NODE_ROOT_COMPLEX;
	nodes[1].u.rc.segment = 3;
	nodes[1].n_mappings = 2;
	nodes[1].mappings = maps;
	maps[0] = (struct iopt_iort_id_mapping){ .input_base = 0x100, .count = 0x101,
						 .output_base = 0x1000, .output = &nodes[0] };
	maps[1] = (struct iopt_iort_id_mapping){ .input_base = 0x200, .count = 0x100,
						 .output_base = 0x5000, .output = &nodes[0] };
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(&r, 3, 0x1ff, &smmu, &sid), 0);
	CU_ASSERT_EQUAL(sid, 0x10ff);
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(&r, 3, 0x200, &smmu, &sid), 0);
	CU_ASSERT_EQUAL(sid, 0x5000);
	CU_ASSERT_PTR_EQUAL(smmu, &nodes[0]);
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(&r, 3, 0x300, &smmu, &sid), -ENOENT);
	maps[1].single = true; /* single mappings never match a RID */
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(&r, 3, 0x200, &smmu, &sid), 0);
	CU_ASSERT_EQUAL(sid, 0x1100);
	nodes[0].type = IOPT_IORT_NODE_SMMU;
	CU_ASSERT_EQUAL(iopt_iort_rid_to_streamid(&r, 3, 0x200, &smmu, &sid), -EOPNOTSUPP);
}

/* As for the DMAR: every truncation and single-byte corruption. */
static void test_every_truncation_and_byte(void)
{
	static const uint8_t vals[] = { 0x00, 0xff, 0x01, 0x80 };
	const struct iopt_iort_node *smmu;
	uint32_t sid;
	uint8_t *t;
	int bad = 0;

	NEED_TABLE();
	for (size_t l = 0; l <= g_iort_len; l++) {
		struct iopt_iort *r = NULL;
		int rc;

		t = td_dup(g_iort, l, 0);
		if (l >= 10)
			td_set_length(t, (uint32_t)l);
		td_log_reset();
		rc = iopt_iort_parse(t, l, 0, &r);
		bad += rc != 0 ? g_log.errors != 1 : g_log.errors != 0;
		iopt_iort_free(r);
		free(t);
	}
	t = td_dup(g_iort, g_iort_len, 0);
	for (size_t i = 10; i < g_iort_len; i++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			struct iopt_iort *r = NULL;
			int rc;

			t[i] = vals[v] == 0x01 ? g_iort[i] ^ 1 : vals[v];
			td_fix_checksum(t, g_iort_len);
			td_log_reset();
			rc = iopt_iort_parse(t, g_iort_len, 0, &r);
			bad += rc != 0 ? g_log.errors != 1 : g_log.errors != 0;
			if (rc == 0)
				(void)iopt_iort_rid_to_streamid(r, 0, 8, &smmu, &sid);
			iopt_iort_free(r);
			t[i] = g_iort[i];
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(t);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_parse),
	UT_TEST(test_header_and_nodes),
	UT_TEST(test_mappings),
	UT_TEST(test_overlaps),
	UT_TEST(test_lookup_shared_id),
	UT_TEST(test_unknown_node_type),
	UT_TEST(test_every_truncation_and_byte),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "iort", suite_init, suite_fini, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
