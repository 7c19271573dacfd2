#include "ut.h"

#include "env/acpi_dmar.c"

#include "../acpi_testdata.h"

/* Offsets in the compiled tables (see the .asl files; the tests check them). */
#define Q35_DRHD 48
#define Q35_SCOPE(i) (64 + 8 * (i))
#define Q35_LEN 120
#define MULTI_DRHD0 48
#define MULTI_DRHD1 82
#define MULTI_DRHD2 122
#define MULTI_RMRR 138
#define MULTI_ATSR 170
#define MULTI_RHSA0 186
#define MULTI_RHSA1 206
#define MULTI_ANDD 226
#define MULTI_LEN 249
#define SATC_LEN 16

static uint8_t *g_q35, *g_multi;
static size_t g_q35_len, g_multi_len;

static int suite_init(void)
{
	td_log_reset();
	if (td_load("dmar_q35.aml", &g_q35, &g_q35_len) != 0)
		g_q35 = NULL;
	if (td_load("dmar_multi.aml", &g_multi, &g_multi_len) != 0)
		g_multi = NULL;
	return 0;
}

static int suite_fini(void)
{
	iopt_acpi_table_free(g_q35);
	iopt_acpi_table_free(g_multi);
	iopt_log_set_handler(NULL, NULL);
	return 0;
}

#define NEED_TABLES()                                                           \
	do {                                                                    \
		if (g_q35 == NULL || g_multi == NULL)                           \
			UT_SKIP("compiled DMAR test tables missing (iasl)");    \
	} while (0)

/*
 * The multi table with a SATC structure appended (scope 00:02.0,
 * ATC_REQUIRED) and DRHD 2's Size field set to 1 (8 KiB): iasl 20200925
 * knows neither.
 */
static uint8_t *multi_with_satc(size_t *len)
{
	uint8_t *t = td_dup(g_multi, g_multi_len, SATC_LEN);
	uint8_t *s = t + g_multi_len;

	t[MULTI_DRHD2 + DRHD_SIZE] = 1;
	td_put16(s + 0, DMAR_TYPE_SATC);
	td_put16(s + 2, SATC_LEN);
	s[4] = SATC_F_ATC_REQUIRED;
	td_put16(s + 6, 0);
	s[8] = SCOPE_TYPE_PCI_ENDPOINT;
	s[9] = 8;
	s[13] = 0;
	s[14] = 0x02;
	s[15] = 0;
	*len = g_multi_len + SATC_LEN;
	td_set_length(t, (uint32_t)*len);
	return t;
}

/*
 * Parse and check the outcome: rc as expected; on failure exactly one error
 * line that contains what, and *out untouched; on success no error line.
 */
static struct iopt_dmar *parse_expect(const uint8_t *t, size_t len, uint32_t flags, int want,
				      const char *what)
{
	struct iopt_dmar *d = (struct iopt_dmar *)(uintptr_t)0x1;
	int rc;

	td_log_reset();
	rc = iopt_dmar_parse(t, len, flags, &d);
	CU_ASSERT_EQUAL(rc, want);
	if (rc != 0) {
		CU_ASSERT_EQUAL(g_log.errors, 1);
		CU_ASSERT_PTR_EQUAL(d, (struct iopt_dmar *)(uintptr_t)0x1);
		if (what != NULL && strstr(g_log.last_error, what) == NULL) {
			printf("\n  error line \"%s\" lacks \"%s\"\n", g_log.last_error, what);
			CU_FAIL("error line does not name the field");
		}
		return NULL;
	}
	CU_ASSERT_EQUAL(g_log.errors, 0);
	return d;
}

/* A bus topology for the multi table: 00:1c.0 -> buses 2..5, 02:00.0 -> 3..4. */
static int g_bus_calls;

static int fake_buses(void *arg, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn,
		      uint8_t *sec, uint8_t *sub)
{
	(void)arg;
	g_bus_calls++;
	if (seg == 0 && bus == 0 && dev == 0x1c && fn == 0) {
		*sec = 2;
		*sub = 5;
		return 0;
	}
	if (seg == 0 && bus == 2 && dev == 0 && fn == 0) {
		*sec = 3;
		*sub = 4;
		return 0;
	}
	return -ENODEV;
}

static int looping_buses(void *arg, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn,
			 uint8_t *sec, uint8_t *sub)
{
	(void)arg, (void)seg, (void)dev, (void)fn;
	*sec = bus; /* a bridge whose secondary bus is its own: would loop */
	*sub = bus;
	return 0;
}

static void test_q35(void)
{
	static const uint8_t devfn[6][2] = { { 0, 0 }, { 1, 0 }, { 2, 0 },
					     { 0x1f, 0 }, { 0x1f, 2 }, { 0x1f, 3 } };
	const struct iopt_dmar_drhd *unit;
	struct iopt_dmar *d;

	NEED_TABLES();
	CU_ASSERT_EQUAL(g_q35_len, Q35_LEN);
	d = parse_expect(g_q35, g_q35_len, 0, 0, NULL);
	if (d == NULL)
		return;
	CU_ASSERT_EQUAL(d->host_addr_width, 39);
	CU_ASSERT_EQUAL(d->flags, IOPT_DMAR_F_INTR_REMAP);
	CU_ASSERT_EQUAL(d->n_drhd, 1);
	CU_ASSERT_EQUAL(d->n_rmrr + d->n_atsr + d->n_rhsa + d->n_andd + d->n_satc, 0);
	CU_ASSERT_EQUAL(d->drhd[0].reg_base, 0xfed90000ULL);
	CU_ASSERT_EQUAL(d->drhd[0].reg_size, 4096);
	CU_ASSERT_FALSE(d->drhd[0].include_pci_all);
	CU_ASSERT_EQUAL(d->drhd[0].segment, 0);
	CU_ASSERT_EQUAL(d->drhd[0].numa_node, -1);
	CU_ASSERT_EQUAL(d->drhd[0].table_offset, Q35_DRHD);
	CU_ASSERT_EQUAL_FATAL(d->drhd[0].n_scopes, 7);
	CU_ASSERT_EQUAL(d->drhd[0].scopes[0].type, IOPT_DMAR_SCOPE_IOAPIC);
	CU_ASSERT_EQUAL(d->drhd[0].scopes[0].start_bus, 0xff);
	CU_ASSERT_EQUAL(d->drhd[0].scopes[0].enumeration_id, 0);
	for (int i = 0; i < 6; i++) {
		const struct iopt_dmar_scope *s = &d->drhd[0].scopes[i + 1];
		uint16_t bdf = 0xffff;

		CU_ASSERT_EQUAL(s->type, IOPT_DMAR_SCOPE_PCI_ENDPOINT);
		CU_ASSERT_EQUAL(s->table_offset, Q35_SCOPE(i + 1));
		CU_ASSERT_EQUAL_FATAL(s->path_len, 1);
		CU_ASSERT_EQUAL(s->path[0].dev, devfn[i][0]);
		CU_ASSERT_EQUAL(s->path[0].fn, devfn[i][1]);
		/* One hop: no bridge to read, so no callback is needed. */
		CU_ASSERT_EQUAL(iopt_dmar_scope_resolve(s, 0, NULL, NULL, &bdf, NULL, NULL), 0);
		CU_ASSERT_EQUAL(bdf, devfn[i][0] << 3 | devfn[i][1]);
		unit = NULL;
		CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 0, bdf, NULL, NULL, &unit), 0);
		CU_ASSERT_PTR_EQUAL(unit, &d->drhd[0]);
	}
	/* 00:03.0 is in no scope and there is no INCLUDE_PCI_ALL unit. */
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 0, 3 << 3, NULL, NULL, &unit), -ENOENT);
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 1, 2 << 3, NULL, NULL, &unit), -ENOENT);
	/* NULL arguments: -EINVAL, one error line each, outputs untouched. */
	uint16_t bdf_out = 0x1234;

	td_log_reset();
	unit = NULL;
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(NULL, 0, 8, NULL, NULL, &unit), -EINVAL);
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 0, 8, NULL, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(iopt_dmar_scope_resolve(NULL, 0, NULL, NULL, &bdf_out, NULL, NULL),
			-EINVAL);
	CU_ASSERT_EQUAL(iopt_dmar_scope_resolve(&d->drhd[0].scopes[0], 0, NULL, NULL, NULL, NULL,
						NULL), -EINVAL);
	CU_ASSERT_EQUAL(g_log.errors, 4);
	CU_ASSERT_PTR_NULL(unit);
	CU_ASSERT_EQUAL(bdf_out, 0x1234);
	iopt_log_set_handler(NULL, NULL);
	iopt_dmar_free(d);
}

/* The multi table with SATC, parsed; NULL (and a failed assertion) if not. */
static struct iopt_dmar *parse_multi(void)
{
	struct iopt_dmar *d;
	uint8_t *t;
	size_t len;

	CU_ASSERT_EQUAL(g_multi_len, MULTI_LEN);
	t = multi_with_satc(&len);
	d = parse_expect(t, len, 0, 0, NULL);
	free(t);
	return d;
}

static void test_multi_units(void)
{
	const struct iopt_dmar_drhd *unit;
	const struct iopt_dmar_scope *s;
	int sec = 0, sub = 0;
	struct iopt_dmar *d;
	uint16_t bdf = 0;

	NEED_TABLES();
	d = parse_multi();
	if (d == NULL)
		return;
	CU_ASSERT_EQUAL(d->host_addr_width, 48);
	CU_ASSERT_EQUAL(d->flags, IOPT_DMAR_F_INTR_REMAP | IOPT_DMAR_F_X2APIC_OPT_OUT |
					  IOPT_DMAR_F_DMA_CTRL_PLATFORM_OPT_IN);
	CU_ASSERT_EQUAL_FATAL(d->n_drhd, 3);
	CU_ASSERT_EQUAL(d->drhd[0].table_offset, MULTI_DRHD0);
	CU_ASSERT_EQUAL(d->drhd[1].table_offset, MULTI_DRHD1);
	CU_ASSERT_EQUAL(d->drhd[2].table_offset, MULTI_DRHD2);
	CU_ASSERT_FALSE(d->drhd[0].include_pci_all);
	CU_ASSERT_TRUE(d->drhd[1].include_pci_all);
	CU_ASSERT_TRUE(d->drhd[2].include_pci_all);
	CU_ASSERT_EQUAL(d->drhd[2].segment, 1);
	CU_ASSERT_EQUAL(d->drhd[2].reg_size, 8192);

	/* DRHD 0: bridge scope with a 2-hop path, then endpoint 00:02.0. */
	CU_ASSERT_EQUAL_FATAL(d->drhd[0].n_scopes, 2);
	s = &d->drhd[0].scopes[0];
	CU_ASSERT_EQUAL(s->type, IOPT_DMAR_SCOPE_PCI_SUBHIERARCHY);
	CU_ASSERT_EQUAL_FATAL(s->path_len, 2);
	CU_ASSERT_EQUAL(s->path[0].dev, 0x1c);
	CU_ASSERT_EQUAL(s->path[1].dev, 0);
	CU_ASSERT_EQUAL(iopt_dmar_scope_resolve(s, 0, NULL, NULL, &bdf, NULL, NULL), -EOPNOTSUPP);
	g_bus_calls = 0;
	CU_ASSERT_EQUAL(iopt_dmar_scope_resolve(s, 0, fake_buses, NULL, &bdf, &sec, &sub), 0);
	CU_ASSERT_EQUAL(bdf, 0x0200);
	CU_ASSERT_EQUAL(sec, 3);
	CU_ASSERT_EQUAL(sub, 4);
	CU_ASSERT_EQUAL(g_bus_calls, 2);
	td_log_reset();
	CU_ASSERT_EQUAL(iopt_dmar_scope_resolve(s, 0, looping_buses, NULL, &bdf, NULL, NULL),
			-EINVAL);
	CU_ASSERT_EQUAL(g_log.errors, 1);

	/* DRHD 1: IOAPIC, HPET, ACPI namespace device. */
	CU_ASSERT_EQUAL_FATAL(d->drhd[1].n_scopes, 3);
	CU_ASSERT_EQUAL(d->drhd[1].scopes[0].type, IOPT_DMAR_SCOPE_IOAPIC);
	CU_ASSERT_EQUAL(d->drhd[1].scopes[0].enumeration_id, 8);
	CU_ASSERT_EQUAL(d->drhd[1].scopes[0].start_bus, 0xf0);
	CU_ASSERT_EQUAL(d->drhd[1].scopes[1].type, IOPT_DMAR_SCOPE_HPET);
	CU_ASSERT_EQUAL(iopt_dmar_scope_resolve(&d->drhd[1].scopes[1], 0, NULL, NULL, &bdf, NULL,
						NULL), 0);
	CU_ASSERT_EQUAL(bdf, 0x1f << 3 | 7);
	CU_ASSERT_EQUAL(d->drhd[1].scopes[2].type, IOPT_DMAR_SCOPE_ACPI_NAMESPACE);
	CU_ASSERT_EQUAL(d->drhd[1].scopes[2].enumeration_id, 1);
	CU_ASSERT_PTR_EQUAL(d->drhd[1].scopes[2].andd, &d->andd[0]);

	/* Which unit covers a device. */
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 0, 0x0010, fake_buses, NULL, &unit), 0);
	CU_ASSERT_PTR_EQUAL(unit, &d->drhd[0]);
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 0, 0x0200, fake_buses, NULL, &unit), 0);
	CU_ASSERT_PTR_EQUAL(unit, &d->drhd[0]); /* the bridge itself */
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 0, 0x0408, fake_buses, NULL, &unit), 0);
	CU_ASSERT_PTR_EQUAL(unit, &d->drhd[0]); /* below it */
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 0, 0x0500, fake_buses, NULL, &unit), 0);
	CU_ASSERT_PTR_EQUAL(unit, &d->drhd[1]); /* below 00:1c.0 but not 02:00.0 */
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 0, 0x0028, fake_buses, NULL, &unit), 0);
	CU_ASSERT_PTR_EQUAL(unit, &d->drhd[1]); /* INCLUDE_PCI_ALL */
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 1, 0x0028, fake_buses, NULL, &unit), 0);
	CU_ASSERT_PTR_EQUAL(unit, &d->drhd[2]);
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 2, 0x0028, fake_buses, NULL, &unit), -ENOENT);
	CU_ASSERT_EQUAL(iopt_dmar_find_drhd(d, 0, 0x0028, NULL, NULL, &unit), -EOPNOTSUPP);
	iopt_dmar_free(d);
}

static void test_multi_others(void)
{
	struct iopt_dmar *d;

	NEED_TABLES();
	d = parse_multi();
	if (d == NULL)
		return;
	/* RMRR, ATSR. */
	CU_ASSERT_EQUAL_FATAL(d->n_rmrr, 1);
	CU_ASSERT_EQUAL(d->rmrr[0].table_offset, MULTI_RMRR);
	CU_ASSERT_EQUAL(d->rmrr[0].base, 0x3e000000ULL);
	CU_ASSERT_EQUAL(d->rmrr[0].limit, 0x3e0fffffULL);
	CU_ASSERT_EQUAL_FATAL(d->rmrr[0].n_scopes, 1);
	CU_ASSERT_EQUAL(d->rmrr[0].scopes[0].path[0].dev, 0x14);
	CU_ASSERT_EQUAL_FATAL(d->n_atsr, 1);
	CU_ASSERT_FALSE(d->atsr[0].all_ports);
	CU_ASSERT_EQUAL_FATAL(d->atsr[0].n_scopes, 1);
	CU_ASSERT_EQUAL(d->atsr[0].scopes[0].type, IOPT_DMAR_SCOPE_PCI_SUBHIERARCHY);

	/* RHSA -> units -> NUMA nodes (identity). */
	CU_ASSERT_EQUAL_FATAL(d->n_rhsa, 2);
	CU_ASSERT_PTR_EQUAL(d->rhsa[0].drhd, &d->drhd[0]);
	CU_ASSERT_PTR_EQUAL(d->rhsa[1].drhd, &d->drhd[2]);
	CU_ASSERT_TRUE(d->drhd[0].has_proximity);
	CU_ASSERT_EQUAL(d->drhd[0].numa_node, 0);
	CU_ASSERT_FALSE(d->drhd[1].has_proximity);
	CU_ASSERT_EQUAL(d->drhd[1].numa_node, -1);
	CU_ASSERT_EQUAL(d->drhd[2].proximity_domain, 1);
	CU_ASSERT_EQUAL(d->drhd[2].numa_node, 1);

	/* ANDD and SATC. */
	CU_ASSERT_EQUAL_FATAL(d->n_andd, 1);
	CU_ASSERT_EQUAL(d->andd[0].device_number, 1);
	CU_ASSERT_STRING_EQUAL(d->andd[0].name, "\\_SB.PCI0.UAR1");
	CU_ASSERT_EQUAL_FATAL(d->n_satc, 1);
	CU_ASSERT_TRUE(d->satc[0].atc_required);
	CU_ASSERT_EQUAL(d->satc[0].table_offset, MULTI_LEN);
	CU_ASSERT_EQUAL_FATAL(d->satc[0].n_scopes, 1);
	CU_ASSERT_EQUAL(d->satc[0].scopes[0].path[0].dev, 2);
	iopt_dmar_free(d);
}

/* Header-level rejections: -EPROTO. */
static void test_header(void)
{
	uint8_t *t;

	NEED_TABLES();
	t = td_dup(g_q35, g_q35_len, 0);
	parse_expect(t, g_q35_len - 1, 0, -EPROTO, "Length (offset 4)"); /* beyond the buffer */
	parse_expect(t, 20, 0, -EPROTO, "shorter than");
	td_set_length(t, 40); /* shorter than the DMAR header */
	parse_expect(t, g_q35_len, 0, -EPROTO, "Length (offset 4)");
	td_set_length(t, (uint32_t)g_q35_len);
	t[9] ^= 1;
	parse_expect(t, g_q35_len, 0, -EPROTO, "Checksum (offset 9)");
	{
		struct iopt_dmar *d = NULL;

		td_log_reset();
		CU_ASSERT_EQUAL(iopt_dmar_parse(t, g_q35_len, IOPT_FW_F_ALLOW_BAD_CHECKSUM, &d), 0);
		CU_ASSERT_EQUAL(g_log.warnings, 1);
		CU_ASSERT_EQUAL(g_log.errors, 0);
		iopt_dmar_free(d);
	}
	t[0] = 'X';
	td_fix_checksum(t, g_q35_len);
	parse_expect(t, g_q35_len, 0, -EPROTO, "Signature");
	CU_ASSERT_EQUAL(iopt_dmar_parse(NULL, 10, 0, &(struct iopt_dmar *){ NULL }), -EINVAL);
	CU_ASSERT_EQUAL(iopt_dmar_parse(g_q35, g_q35_len, 0, NULL), -EINVAL);
	free(t);
}

/* Lying lengths: -EINVAL naming the field. */
static void test_lengths(void)
{
	uint8_t *t;

	NEED_TABLES();
	t = td_dup(g_q35, g_q35_len, 0);
	/* Table truncated inside the DRHD (Length says so, checksum fixed). */
	td_set_length(t, Q35_SCOPE(3) + 4);
	parse_expect(t, g_q35_len, 0, -EINVAL, "Length (offset 0x32)");
	/* Truncated inside a structure header. */
	td_set_length(t, Q35_DRHD + 2);
	parse_expect(t, g_q35_len, 0, -EINVAL, "structure header at offset 0x30");
	td_set_length(t, (uint32_t)g_q35_len);
	/* DRHD longer than the table. */
	td_put16(t + Q35_DRHD + 2, 0x49);
	td_fix_checksum(t, g_q35_len);
	parse_expect(t, g_q35_len, 0, -EINVAL, "runs past the table end");
	/* Zero-length DRHD (would loop). */
	td_put16(t + Q35_DRHD + 2, 0);
	td_fix_checksum(t, g_q35_len);
	parse_expect(t, g_q35_len, 0, -EINVAL, "Length (offset 0x32) 0 is less");
	td_put16(t + Q35_DRHD + 2, 0x48);
	/* Zero-length device scope. */
	t[Q35_SCOPE(2) + 1] = 0;
	td_fix_checksum(t, g_q35_len);
	parse_expect(t, g_q35_len, 0, -EINVAL, "device scope Length (offset 0x51) 0");
	/* Device scope longer than its DRHD. */
	t[Q35_SCOPE(2) + 1] = 0x40;
	td_fix_checksum(t, g_q35_len);
	parse_expect(t, g_q35_len, 0, -EINVAL, "runs past the end of its structure");
	/* Odd scope length (not 6 + 2 * hops), still inside the DRHD. */
	t[Q35_SCOPE(6) + 1] = 7;
	t[Q35_SCOPE(2) + 1] = 8;
	td_fix_checksum(t, g_q35_len);
	parse_expect(t, g_q35_len, 0, -EINVAL, "less than 8");
	t[Q35_SCOPE(6) + 1] = 8;
	/* A path hop with device 32. */
	t[Q35_SCOPE(3) + 6] = 32;
	td_fix_checksum(t, g_q35_len);
	parse_expect(t, g_q35_len, 0, -EINVAL, "Path (offset 0x5e)");
	free(t);
}

/* Entries that contradict each other. */
static void test_overlaps(void)
{
	uint8_t *t;

	NEED_TABLES();
	t = td_dup(g_q35, g_q35_len, 0);
	/* 00:02.0 listed twice. */
	t[Q35_SCOPE(3) + 6] = 1;
	td_fix_checksum(t, g_q35_len);
	parse_expect(t, g_q35_len, 0, -EINVAL, "repeats");
	free(t);

	t = td_dup(g_multi, g_multi_len, 0);
	/* Second unit at the first's register page. */
	td_put64(t + MULTI_DRHD1 + 8, 0xfed90000ULL);
	td_fix_checksum(t, g_multi_len);
	parse_expect(t, g_multi_len, 0, -EINVAL, "overlaps");
	td_put64(t + MULTI_DRHD1 + 8, 0xfed91000ULL);
	/* Unit 2 (8 KiB) at 0xfed90000 overlapping unit 1 at 0xfed91000 from below. */
	td_put16(t + MULTI_DRHD2 + 6, 0);
	t[MULTI_DRHD2 + 4] = 0;
	t[MULTI_DRHD2 + DRHD_SIZE] = 1;
	td_put64(t + MULTI_DRHD2 + 8, 0xfed90000ULL - 0x1000);
	td_fix_checksum(t, g_multi_len);
	parse_expect(t, g_multi_len, 0, -EINVAL, "overlaps");
	memcpy(t, g_multi, g_multi_len);
	/* Two INCLUDE_PCI_ALL units on segment 0. */
	t[MULTI_DRHD0 + 4] = 1;
	td_fix_checksum(t, g_multi_len);
	parse_expect(t, g_multi_len, 0, -EINVAL, "INCLUDE_PCI_ALL");
	t[MULTI_DRHD0 + 4] = 0;
	/* Unaligned register base. */
	td_put64(t + MULTI_DRHD0 + 8, 0xfed90800ULL);
	td_fix_checksum(t, g_multi_len);
	parse_expect(t, g_multi_len, 0, -EINVAL, "not 4 KiB aligned");
	td_put64(t + MULTI_DRHD0 + 8, 0xfed90000ULL);
	/* RHSA naming no unit, and two RHSAs for one unit. */
	td_put64(t + MULTI_RHSA1 + 8, 0xfed93000ULL);
	td_fix_checksum(t, g_multi_len);
	parse_expect(t, g_multi_len, 0, -EINVAL, "names no DRHD");
	td_put64(t + MULTI_RHSA1 + 8, 0xfed90000ULL);
	td_fix_checksum(t, g_multi_len);
	parse_expect(t, g_multi_len, 0, -EINVAL, "second RHSA");
	td_put64(t + MULTI_RHSA1 + 8, 0xfed92000ULL);
	/* RMRR limit below base; unaligned limit. */
	td_put64(t + MULTI_RMRR + 16, 0x3dffffffULL);
	td_fix_checksum(t, g_multi_len);
	parse_expect(t, g_multi_len, 0, -EINVAL, "RMRR: region (offset 0x92)");
	td_put64(t + MULTI_RMRR + 16, 0x3e0ffffeULL);
	td_fix_checksum(t, g_multi_len);
	parse_expect(t, g_multi_len, 0, -EINVAL, "RMRR");
	td_put64(t + MULTI_RMRR + 16, 0x3e0fffffULL);
	/* Namespace scope naming no ANDD. */
	t[MULTI_ANDD + ANDD_DEVICE_NUMBER] = 2;
	td_fix_checksum(t, g_multi_len);
	parse_expect(t, g_multi_len, 0, -EINVAL, "Enumeration ID (offset 0x76) 1 names no ANDD");
	t[MULTI_ANDD + ANDD_DEVICE_NUMBER] = 1;
	/* ANDD name not terminated inside the structure. */
	t[g_multi_len - 1] = 'X';
	td_fix_checksum(t, g_multi_len);
	parse_expect(t, g_multi_len, 0, -EINVAL, "Object Name (offset 0xea)");
	free(t);

	/* A second ANDD with the same device number, appended. */
	t = td_dup(g_multi, g_multi_len, MULTI_LEN - MULTI_ANDD);
	memcpy(t + g_multi_len, g_multi + MULTI_ANDD, MULTI_LEN - MULTI_ANDD);
	td_set_length(t, (uint32_t)g_multi_len + MULTI_LEN - MULTI_ANDD);
	parse_expect(t, g_multi_len + MULTI_LEN - MULTI_ANDD, 0, -EINVAL,
		     "ACPI Device Number (offset 0x100) 1 is used twice");
	free(t);
}

/* Unknown structure and scope types are skipped by length. */
static void test_unknown_types(void)
{
	struct iopt_dmar *d;
	uint8_t *t;

	NEED_TABLES();
	t = td_dup(g_q35, g_q35_len, 12);
	td_put16(t + g_q35_len, 0x99);
	td_put16(t + g_q35_len + 2, 12);
	td_set_length(t, (uint32_t)g_q35_len + 12);
	t[Q35_SCOPE(6)] = 0x42; /* a scope type from the future */
	td_fix_checksum(t, g_q35_len + 12);
	d = parse_expect(t, g_q35_len + 12, 0, 0, NULL);
	if (d != NULL) {
		CU_ASSERT_EQUAL(d->n_drhd, 1);
		CU_ASSERT_EQUAL(d->drhd[0].n_scopes, 6);
		iopt_dmar_free(d);
	}
	free(t);
}

/*
 * Every truncation of the table (Length and checksum fixed so the walk is
 * reached) and every single-byte corruption: parsed, or rejected with exactly
 * one error line; ASan checks that nothing is read out of bounds and nothing
 * leaks.
 */
static void test_every_truncation_and_byte(void)
{
	static const uint8_t vals[] = { 0x00, 0xff, 0x01, 0x80 };
	const struct iopt_dmar_drhd *unit;
	uint8_t *full, *t;
	size_t len;
	int bad = 0;

	NEED_TABLES();
	full = multi_with_satc(&len);
	for (size_t l = 0; l <= len; l++) {
		struct iopt_dmar *d = NULL;
		int rc;

		t = td_dup(full, l, 0);
		if (l >= 10)
			td_set_length(t, (uint32_t)l);
		td_log_reset();
		rc = iopt_dmar_parse(t, l, 0, &d);
		bad += rc != 0 ? g_log.errors != 1 : g_log.errors != 0;
		iopt_dmar_free(d);
		free(t);
	}
	t = td_dup(full, len, 0);
	for (size_t i = 10; i < len; i++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			struct iopt_dmar *d = NULL;
			int rc;

			t[i] = vals[v] == 0x01 ? full[i] ^ 1 : vals[v];
			td_fix_checksum(t, len);
			td_log_reset();
			rc = iopt_dmar_parse(t, len, 0, &d);
			bad += rc != 0 ? g_log.errors != 1 : g_log.errors != 0;
			if (rc == 0) {
				for (uint16_t bdf = 0; bdf < 0x600; bdf += 0x41)
					(void)iopt_dmar_find_drhd(d, 0, bdf, fake_buses, NULL, &unit);
			}
			iopt_dmar_free(d);
			t[i] = full[i];
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(t);
	free(full);
}

static void test_read_file(void)
{
	char path[PATH_MAX];
	void *buf;
	size_t len;

	NEED_TABLES();
	td_path(path, sizeof(path), "dmar_q35.aml");
	CU_ASSERT_EQUAL(iopt_acpi_table_read(path, &buf, &len), 0);
	CU_ASSERT_EQUAL(len, Q35_LEN);
	iopt_acpi_table_free(buf);
	td_log_reset();
	td_path(path, sizeof(path), "no-such-table.aml");
	CU_ASSERT_EQUAL(iopt_acpi_table_read(path, &buf, &len), -ENOENT);
	CU_ASSERT_EQUAL(g_log.errors, 1);
	/* A file that is not an ACPI table (its Length does not match). */
	td_path(path, sizeof(path), "dmar_q35.iasl.log");
	td_log_reset();
	CU_ASSERT_EQUAL(iopt_acpi_table_read(path, &buf, &len), -EPROTO);
	CU_ASSERT_EQUAL(g_log.errors, 1);
	CU_ASSERT_EQUAL(iopt_acpi_table_read(NULL, &buf, &len), -EINVAL);
	CU_ASSERT_EQUAL(iopt_acpi_table_read("", &buf, &len), -EINVAL);
	/* A signature reads sysfs; as root, the MADT is there on any ACPI machine. */
	if (access("/sys/firmware/acpi/tables/APIC", R_OK) == 0) {
		CU_ASSERT_EQUAL_FATAL(iopt_acpi_table_read("APIC", &buf, &len), 0);
		CU_ASSERT_TRUE(len >= 44 && memcmp(buf, "APIC", 4) == 0);
		iopt_acpi_table_free(buf);
	}
	/* DMAR: present, or a clean errno, never a crash. */
	if (iopt_acpi_table_read("DMAR", &buf, &len) == 0) {
		CU_ASSERT_TRUE(len >= 48 && memcmp(buf, "DMAR", 4) == 0);
		iopt_acpi_table_free(buf);
	}
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_q35),
	UT_TEST(test_multi_units),
	UT_TEST(test_multi_others),
	UT_TEST(test_header),
	UT_TEST(test_lengths),
	UT_TEST(test_overlaps),
	UT_TEST(test_unknown_types),
	UT_TEST(test_every_truncation_and_byte),
	UT_TEST(test_read_file),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "dmar", suite_init, suite_fini, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
