#include "ut.h"

#include "env/fdt.c"

#include "../acpi_testdata.h"

/* ---- A tiny DTB writer (devicetree spec v0.4 §5), for hand-built trees ---- */
struct fb {
	uint8_t st[8192];
	uint32_t st_len;
	char strs[1024];
	uint32_t str_len;
};

static void fb_u32(struct fb *b, uint32_t v)
{
	b->st[b->st_len++] = (uint8_t)(v >> 24);
	b->st[b->st_len++] = (uint8_t)(v >> 16);
	b->st[b->st_len++] = (uint8_t)(v >> 8);
	b->st[b->st_len++] = (uint8_t)v;
}

static void fb_bytes(struct fb *b, const void *p, uint32_t n)
{
	if (n != 0)
		memcpy(b->st + b->st_len, p, n);
	b->st_len += n;
	while (b->st_len % 4)
		b->st[b->st_len++] = 0;
}

static void fb_begin(struct fb *b, const char *name)
{
	fb_u32(b, FDT_BEGIN_NODE);
	fb_bytes(b, name, (uint32_t)strlen(name) + 1);
}

static void fb_end(struct fb *b)
{
	fb_u32(b, FDT_END_NODE);
}

static void fb_prop(struct fb *b, const char *name, const void *val, uint32_t len)
{
	uint32_t off = b->str_len;

	memcpy(b->strs + b->str_len, name, strlen(name) + 1);
	b->str_len += (uint32_t)strlen(name) + 1;
	fb_u32(b, FDT_PROP);
	fb_u32(b, len);
	fb_u32(b, off);
	fb_bytes(b, val, len);
}

/* A property of n big-endian cells. */
static void fb_cells(struct fb *b, const char *name, int n, const uint32_t *cells)
{
	uint8_t v[64];

	for (int i = 0; i < n; i++) {
		v[4 * i] = (uint8_t)(cells[i] >> 24);
		v[4 * i + 1] = (uint8_t)(cells[i] >> 16);
		v[4 * i + 2] = (uint8_t)(cells[i] >> 8);
		v[4 * i + 3] = (uint8_t)cells[i];
	}
	fb_prop(b, name, v, (uint32_t)(4 * n));
}

#define FB_CELLS(b, name, ...) \
	fb_cells(b, name, (int)(sizeof((uint32_t[]){ __VA_ARGS__ }) / 4), (uint32_t[]){ __VA_ARGS__ })

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Header (40) + empty reservation map (16) + structure + strings. */
static size_t fb_finish(const struct fb *b, uint8_t *out)
{
	uint32_t off_st = 56, off_str = off_st + b->st_len, total = off_str + b->str_len;

	memset(out, 0, 56);
	put_be32(out + FDT_H_MAGIC, FDT_MAGIC_VALUE);
	put_be32(out + FDT_H_TOTALSIZE, total);
	put_be32(out + FDT_H_OFF_STRUCT, off_st);
	put_be32(out + FDT_H_OFF_STRINGS, off_str);
	put_be32(out + FDT_H_OFF_RSVMAP, 40);
	put_be32(out + FDT_H_VERSION, 17);
	put_be32(out + FDT_H_LAST_COMP, 16);
	put_be32(out + FDT_H_SIZE_STRINGS, b->str_len);
	put_be32(out + FDT_H_SIZE_STRUCT, b->st_len);
	memcpy(out + off_st, b->st, b->st_len);
	memcpy(out + off_str, b->strs, b->str_len);
	return total;
}

static const char g_smmu_compat[] = "arm,smmu-v3";

/* Two SMMUv3s (phandles 5, 6), a virtio-iommu (7), a PCI host in domain 1. */
static void build_tree(struct fb *b)
{
	memset(b, 0, sizeof(*b));
	fb_begin(b, "");
	FB_CELLS(b, "#address-cells", 2);
	FB_CELLS(b, "#size-cells", 2);
	fb_begin(b, "smmuv3@2b400000");
	fb_prop(b, "compatible", g_smmu_compat, sizeof(g_smmu_compat));
	FB_CELLS(b, "reg", 0, 0x2b400000, 0, 0x20000);
	FB_CELLS(b, "#iommu-cells", 1);
	FB_CELLS(b, "phandle", 5);
	fb_prop(b, "dma-coherent", NULL, 0);
	fb_end(b);
	fb_begin(b, "smmuv3@2b500000");
	fb_prop(b, "compatible", "foo,bar\0arm,smmu-v3", 20);
	FB_CELLS(b, "reg", 0x1, 0x2b500000, 0, 0x40000);
	FB_CELLS(b, "#iommu-cells", 1);
	FB_CELLS(b, "phandle", 6);
	fb_prop(b, "status", "disabled", 9);
	fb_end(b);
	fb_begin(b, "viommu");
	fb_prop(b, "compatible", "virtio,pci-iommu", 17);
	FB_CELLS(b, "#iommu-cells", 1);
	FB_CELLS(b, "phandle", 7);
	fb_end(b);
	fb_begin(b, "pcie@40000000");
	fb_prop(b, "compatible", "pci-host-ecam-generic", 22);
	FB_CELLS(b, "linux,pci-domain", 1);
	FB_CELLS(b, "iommu-map", 0, 5, 0x100, 0x100, 0x100, 6, 0, 0x100, 0x200, 7, 0, 0x10);
	fb_end(b);
	fb_end(b);
	fb_u32(b, FDT_END);
}

static struct iopt_fdt_smmu_info *find_expect(const uint8_t *dtb, size_t len, int want,
					      const char *what)
{
	struct iopt_fdt_smmu_info *info = (void *)(uintptr_t)1;
	int rc;

	td_log_reset();
	rc = iopt_fdt_smmuv3_find(dtb, len, &info);
	CU_ASSERT_EQUAL(rc, want);
	if (rc != 0) {
		CU_ASSERT_EQUAL(g_log.errors, 1);
		CU_ASSERT_PTR_EQUAL(info, (void *)(uintptr_t)1);
		if (what != NULL && strstr(g_log.last_error, what) == NULL) {
			printf("\n  error line \"%s\" lacks \"%s\"\n", g_log.last_error, what);
			CU_FAIL("error line does not name the field");
		}
		return NULL;
	}
	CU_ASSERT_EQUAL(g_log.errors, 0);
	return info;
}

static uint8_t *g_virt;
static size_t g_virt_len;
static char g_virt_skip[PATH_MAX + 64];

static int suite_init(void)
{
	char path[PATH_MAX];
	FILE *f;

	td_log_reset();
	td_path(path, sizeof(path), "virt-smmuv3.dtb.skip");
	f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(g_virt_skip, sizeof(g_virt_skip), f) == NULL)
			snprintf(g_virt_skip, sizeof(g_virt_skip), "DTB dump failed");
		g_virt_skip[strcspn(g_virt_skip, "\n")] = '\0';
		fclose(f);
		return 0;
	}
	td_path(path, sizeof(path), "virt-smmuv3.dtb");
	if (iopt_fdt_blob_read(path, (void **)&g_virt, &g_virt_len) != 0) {
		snprintf(g_virt_skip, sizeof(g_virt_skip), "%s not built", path);
		g_virt = NULL;
	}
	return 0;
}

static int suite_fini(void)
{
	iopt_fdt_blob_free(g_virt);
	iopt_log_set_handler(NULL, NULL);
	return 0;
}

static void test_qemu_virt(void)
{
	const struct iopt_fdt_smmuv3 *smmu = NULL;
	struct iopt_fdt_smmu_info *info;
	uint32_t sid = 0;

	if (g_virt == NULL)
		UT_SKIP(g_virt_skip);
	info = find_expect(g_virt, g_virt_len, 0, NULL);
	if (info == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(info->n_smmus, 1);
	CU_ASSERT_EQUAL(info->smmus[0].base, 0x09050000ULL);
	CU_ASSERT_EQUAL(info->smmus[0].size, 0x20000ULL);
	CU_ASSERT_EQUAL(info->smmus[0].iommu_cells, 1);
	CU_ASSERT_TRUE(info->smmus[0].enabled);
	CU_ASSERT_NOT_EQUAL(info->smmus[0].phandle, 0);
	CU_ASSERT_STRING_EQUAL(info->smmus[0].path, "/smmuv3@9050000");
	CU_ASSERT_EQUAL_FATAL(info->n_hosts, 1);
	CU_ASSERT_EQUAL(info->hosts[0].domain, 0);
	CU_ASSERT_EQUAL_FATAL(info->hosts[0].n_maps, 1);
	CU_ASSERT_EQUAL(info->hosts[0].maps[0].rid_base, 0);
	CU_ASSERT_EQUAL(info->hosts[0].maps[0].sid_base, 0);
	CU_ASSERT_EQUAL(info->hosts[0].maps[0].length, 0x10000);
	CU_ASSERT_PTR_EQUAL(info->hosts[0].maps[0].smmu, &info->smmus[0]);
	/* edu at 00:01.0 -> StreamID 8 (QEMU.md). */
	CU_ASSERT_EQUAL(iopt_fdt_rid_to_streamid(info, 0, 0x08, &smmu, &sid), 0);
	CU_ASSERT_PTR_EQUAL(smmu, &info->smmus[0]);
	CU_ASSERT_EQUAL(sid, 8);
	CU_ASSERT_EQUAL(iopt_fdt_rid_to_streamid(info, 1, 0x08, &smmu, &sid), -ENOENT);
	/* NULL arguments: -EINVAL, one error line each, outputs untouched. */
	td_log_reset();
	smmu = NULL;
	sid = 77;
	CU_ASSERT_EQUAL(iopt_fdt_rid_to_streamid(NULL, 0, 0x08, &smmu, &sid), -EINVAL);
	CU_ASSERT_EQUAL(iopt_fdt_rid_to_streamid(info, 0, 0x08, NULL, &sid), -EINVAL);
	CU_ASSERT_EQUAL(iopt_fdt_rid_to_streamid(info, 0, 0x08, &smmu, NULL), -EINVAL);
	CU_ASSERT_EQUAL(g_log.errors, 3);
	CU_ASSERT_PTR_NULL(smmu);
	CU_ASSERT_EQUAL(sid, 77);
	iopt_log_set_handler(NULL, NULL);
	iopt_fdt_smmu_info_free(info);
}

static void test_hand_built(void)
{
	const struct iopt_fdt_smmuv3 *smmu = NULL;
	struct iopt_fdt_smmu_info *info;
	static uint8_t dtb[16384];
	static struct fb b;
	uint32_t sid = 0;
	size_t len;

	build_tree(&b);
	len = fb_finish(&b, dtb);
	info = find_expect(dtb, len, 0, NULL);
	if (info == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(info->n_smmus, 2);
	CU_ASSERT_EQUAL(info->smmus[0].base, 0x2b400000ULL);
	CU_ASSERT_TRUE(info->smmus[0].coherent);
	CU_ASSERT_TRUE(info->smmus[0].enabled);
	CU_ASSERT_EQUAL(info->smmus[1].base, 0x12b500000ULL);
	CU_ASSERT_EQUAL(info->smmus[1].size, 0x40000ULL);
	CU_ASSERT_FALSE(info->smmus[1].enabled);
	CU_ASSERT_FALSE(info->smmus[1].coherent);
	CU_ASSERT_EQUAL_FATAL(info->n_hosts, 1);
	CU_ASSERT_EQUAL(info->hosts[0].domain, 1);
	CU_ASSERT_STRING_EQUAL(info->hosts[0].path, "/pcie@40000000");
	CU_ASSERT_EQUAL_FATAL(info->hosts[0].n_maps, 3);
	CU_ASSERT_EQUAL(iopt_fdt_rid_to_streamid(info, 1, 0x08, &smmu, &sid), 0);
	CU_ASSERT_PTR_EQUAL(smmu, &info->smmus[0]);
	CU_ASSERT_EQUAL(sid, 0x108);
	CU_ASSERT_EQUAL(iopt_fdt_rid_to_streamid(info, 1, 0x180, &smmu, &sid), 0);
	CU_ASSERT_PTR_EQUAL(smmu, &info->smmus[1]);
	CU_ASSERT_EQUAL(sid, 0x80);
	CU_ASSERT_EQUAL(iopt_fdt_rid_to_streamid(info, 1, 0x205, &smmu, &sid), -ENODEV);
	CU_ASSERT_EQUAL(iopt_fdt_rid_to_streamid(info, 1, 0x300, &smmu, &sid), -ENOENT);
	CU_ASSERT_EQUAL(iopt_fdt_rid_to_streamid(info, 0, 0x08, &smmu, &sid), -ENOENT);
	iopt_fdt_smmu_info_free(info);
}

static void test_bad_header(void)
{
	static uint8_t dtb[16384], t[16384];
	static struct fb b;
	size_t len;

	build_tree(&b);
	len = fb_finish(&b, dtb);
	memcpy(t, dtb, len);
	t[0] = 0;
	find_expect(t, len, -EPROTO, "magic");
	find_expect(dtb, 20, -EPROTO, "magic");
	memcpy(t, dtb, len);
	put_be32(t + FDT_H_VERSION, 16);
	find_expect(t, len, -EPROTO, "version");
	find_expect(dtb, len - 1, -EPROTO, "totalsize");
	memcpy(t, dtb, len);
	put_be32(t + FDT_H_OFF_STRUCT, (uint32_t)len);
	find_expect(t, len, -EINVAL, "off_dt_struct");
	memcpy(t, dtb, len);
	put_be32(t + FDT_H_SIZE_STRUCT, 0xfffffff0);
	find_expect(t, len, -EINVAL, "off_dt_struct");
	memcpy(t, dtb, len);
	put_be32(t + FDT_H_OFF_STRINGS, 0xffffff00);
	find_expect(t, len, -EINVAL, "off_dt_strings");
}

/* Build a tree, let edit() corrupt it, expect rc and a message. */
static void expect_tree(void (*edit)(struct fb *b), int want, const char *what)
{
	static uint8_t dtb[16384];
	static struct fb b;
	size_t len;

	memset(&b, 0, sizeof(b));
	edit(&b);
	len = fb_finish(&b, dtb);
	find_expect(dtb, len, want, what);
}

static void e_name_unterminated(struct fb *b)
{
	fb_u32(b, FDT_BEGIN_NODE);
	memcpy(b->st + b->st_len, "abcd", 4); /* no NUL before the block ends */
	b->st_len += 4;
}

static void e_string_unterminated(struct fb *b)
{
	fb_begin(b, "");
	FB_CELLS(b, "#size-cells", 1);
	fb_end(b);
	fb_u32(b, FDT_END);
	b->str_len--; /* cut the NUL of the only name */
}

static void e_nameoff(struct fb *b)
{
	fb_begin(b, "");
	fb_u32(b, FDT_PROP);
	fb_u32(b, 0);
	fb_u32(b, 0x1000);
	fb_end(b);
	fb_u32(b, FDT_END);
	b->strs[0] = 'x';
	b->str_len = 2;
}

static void e_prop_len(struct fb *b)
{
	fb_begin(b, "");
	fb_u32(b, FDT_PROP);
	fb_u32(b, 0x100);
	fb_u32(b, 0);
	fb_end(b);
	fb_u32(b, FDT_END);
	b->str_len = 2;
}

static void e_no_end(struct fb *b)
{
	fb_begin(b, "");
	fb_end(b);
}

static void e_extra_end_node(struct fb *b)
{
	fb_begin(b, "");
	fb_end(b);
	fb_end(b);
	fb_u32(b, FDT_END);
}

static void e_unknown_token(struct fb *b)
{
	fb_begin(b, "");
	fb_u32(b, 0x77);
	fb_end(b);
	fb_u32(b, FDT_END);
}

static void e_deep(struct fb *b)
{
	for (int i = 0; i < 40; i++)
		fb_begin(b, "n");
	for (int i = 0; i < 40; i++)
		fb_end(b);
	fb_u32(b, FDT_END);
}

static void e_bad_reg(struct fb *b)
{
	fb_begin(b, "");
	fb_begin(b, "smmuv3@0");
	fb_prop(b, "compatible", g_smmu_compat, sizeof(g_smmu_compat));
	FB_CELLS(b, "reg", 0, 0x2b400000, 0, 0x20000); /* 4 cells; entries are 2 + 1 */
	fb_end(b);
	fb_end(b);
	fb_u32(b, FDT_END);
}

static void e_bad_cells(struct fb *b)
{
	fb_begin(b, "");
	fb_prop(b, "#address-cells", "\0\0\2", 3);
	fb_end(b);
	fb_u32(b, FDT_END);
}

static void e_map_phandle(struct fb *b)
{
	fb_begin(b, "");
	fb_begin(b, "pcie");
	FB_CELLS(b, "iommu-map", 0, 9, 0, 0x100);
	fb_end(b);
	fb_end(b);
	fb_u32(b, FDT_END);
}

static void e_map_length(struct fb *b)
{
	fb_begin(b, "");
	fb_begin(b, "smmu");
	fb_prop(b, "compatible", g_smmu_compat, sizeof(g_smmu_compat));
	FB_CELLS(b, "reg", 0, 0x2b400000, 0x20000);
	FB_CELLS(b, "#iommu-cells", 1);
	FB_CELLS(b, "phandle", 5);
	fb_end(b);
	fb_begin(b, "pcie");
	FB_CELLS(b, "iommu-map", 0, 5, 0, 0);
	fb_end(b);
	fb_end(b);
	fb_u32(b, FDT_END);
}

static void e_map_truncated(struct fb *b)
{
	fb_begin(b, "");
	fb_begin(b, "smmu");
	FB_CELLS(b, "#iommu-cells", 1);
	FB_CELLS(b, "phandle", 5);
	fb_end(b);
	fb_begin(b, "pcie");
	FB_CELLS(b, "iommu-map", 0, 5, 0);
	fb_end(b);
	fb_end(b);
	fb_u32(b, FDT_END);
}

/* A name whose NUL is the last byte of the blob: its padding is not there. */
static void test_name_at_block_end(void)
{
	static uint8_t dtb[256];
	static struct fb b;
	uint8_t *exact;
	size_t len;

	memset(&b, 0, sizeof(b));
	fb_begin(&b, "ab");
	b.st_len--; /* drop the one padding byte */
	len = fb_finish(&b, dtb);
	exact = malloc(len); /* exact size, so ASan sees any read beyond */
	memcpy(exact, dtb, len);
	find_expect(exact, len, -EINVAL, "without FDT_END");
	free(exact);
}

static void e_dup_phandle(struct fb *b)
{
	fb_begin(b, "");
	fb_begin(b, "a");
	FB_CELLS(b, "#iommu-cells", 1);
	FB_CELLS(b, "phandle", 5);
	fb_end(b);
	fb_begin(b, "b");
	FB_CELLS(b, "#iommu-cells", 1);
	FB_CELLS(b, "phandle", 5);
	fb_end(b);
	fb_end(b);
	fb_u32(b, FDT_END);
}

static void test_malformed(void)
{
	expect_tree(e_name_unterminated, -EINVAL, "node name at offset 0x3c");
	expect_tree(e_string_unterminated, -EINVAL, "nameoff");
	expect_tree(e_nameoff, -EINVAL, "nameoff (offset 0x48) 0x1000");
	expect_tree(e_prop_len, -EINVAL, "property len");
	expect_tree(e_no_end, -EINVAL, "without FDT_END");
	expect_tree(e_extra_end_node, -EINVAL, "closes no node");
	expect_tree(e_unknown_token, -EINVAL, "token 0x77");
	expect_tree(e_deep, -EINVAL, "deeper than 32");
	expect_tree(e_bad_reg, -EINVAL, "property reg");
	expect_tree(e_bad_cells, -EINVAL, "#address-cells");
	expect_tree(e_map_phandle, -EINVAL, "phandle without #iommu-cells");
	expect_tree(e_map_length, -EINVAL, "empty or overflows");
	expect_tree(e_map_truncated, -EINVAL, "truncated");
	expect_tree(e_dup_phandle, -EINVAL, "phandle 0x5 is used by two nodes");
}

/*
 * The QEMU tree, compacted to its blocks, cut at every 4-byte boundary of
 * its structure block and with every structure byte flipped: parsed or
 * rejected with one error line, never an out-of-bounds read.
 */
static void test_every_cut_and_byte(void)
{
	uint32_t st_off, st_size, str_off, str_size;
	uint8_t *t;
	size_t total;
	int bad = 0;

	if (g_virt == NULL)
		UT_SKIP(g_virt_skip);
	st_off = be32(g_virt + FDT_H_OFF_STRUCT);
	st_size = be32(g_virt + FDT_H_SIZE_STRUCT);
	str_off = be32(g_virt + FDT_H_OFF_STRINGS);
	str_size = be32(g_virt + FDT_H_SIZE_STRINGS);
	CU_ASSERT_FATAL(str_off + str_size <= g_virt_len && st_off + st_size <= str_off);
	total = str_off + str_size;
	t = malloc(total);
	memcpy(t, g_virt, total);
	put_be32(t + FDT_H_TOTALSIZE, (uint32_t)total);
	for (uint32_t cut = 0; cut <= st_size; cut += 4) {
		struct iopt_fdt_smmu_info *info = NULL;
		int rc;

		put_be32(t + FDT_H_SIZE_STRUCT, cut);
		td_log_reset();
		rc = iopt_fdt_smmuv3_find(t, total, &info);
		bad += rc != 0 ? g_log.errors != 1 : g_log.errors != 0;
		iopt_fdt_smmu_info_free(info);
	}
	put_be32(t + FDT_H_SIZE_STRUCT, st_size);
	for (uint32_t i = st_off; i < st_off + st_size; i++) {
		struct iopt_fdt_smmu_info *info = NULL;
		int rc;

		t[i] ^= 0xff;
		td_log_reset();
		rc = iopt_fdt_smmuv3_find(t, total, &info);
		bad += rc != 0 ? g_log.errors != 1 : g_log.errors != 0;
		iopt_fdt_smmu_info_free(info);
		t[i] ^= 0xff;
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(t);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_qemu_virt),
	UT_TEST(test_hand_built),
	UT_TEST(test_bad_header),
	UT_TEST(test_malformed),
	UT_TEST(test_name_at_block_end),
	UT_TEST(test_every_cut_and_byte),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "fdt", suite_init, suite_fini, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
